"""Opening a whole-slide image over an emulated rural link, against downloading its base level.

    python benchmarks/slide_open.py
    # options: --width 4096 --height 3072 --rounds 3 --mbit 10 --rtt 80 --viewport 1280x860

A throwaway PostgreSQL with the demo seed, uvicorn serving the app and the built web app
(frontend/dist; `bash scripts/frontend.sh build` first), a synthetic three-level VL WSI
pyramid (tests/support/wsi.py: base --width x --height at 0.25 um/px = 40x, then 20x, 10x;
256 px JPEG tiles) stored by STOW-RS in a local archive. Chromium (Playwright, Debian's
binary) on a link emulated by CDP `Network.emulateNetworkConditions` (--mbit down and up,
--rtt ms latency), a fresh browser context (empty cache) each measurement.

Rounds alternate, so machine load hits both:
- *baseline*: every tile of the base level fetched through /dicom-web/ (six at a time, as a
  browser does per host) — what a viewer without a pyramid or tile addressing would move;
- *subject*: `#/slide/<study>` until OpenSeadragon reports the first full-screen view drawn
  (the lowest level), then the 20x button until that view is drawn.
Printed per round and as medians: seconds and bytes (CDP encodedDataLength: what crossed
the link, page and scripts included), tiles per level, the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TELEMED_ENV", "test")
os.environ.setdefault("TELEMED_SECRET_KEY", "benchmark-secret-key-not-for-production")
os.environ.setdefault("TELEMED_LOG_LEVEL", "WARNING")

import httpx  # noqa: E402

from benchmarks._scheduling_harness import database  # noqa: E402
from tests.support.uvicorn import serve  # noqa: E402
from tests.support.wsi import slide_levels, slide_pyramid, stow_slide  # noqa: E402

CHROMIUM = os.environ.get("TELEMED_CHROMIUM", "/usr/bin/chromium")
LOADED = "document.querySelector('[data-testid=slide-canvas]')?.dataset.fullyLoaded"

FETCH_ALL = """async ([urls, token]) => {
  let next = 0, bytes = 0
  async function worker() {
    while (next < urls.length) {
      const url = urls[next++]
      const headers = { Authorization: `Bearer ${token}`, Accept: 'image/jpeg' }
      const r = await fetch(url, { headers })
      if (!r.ok) throw new Error(`${r.status} ${url}`)
      bytes += (await r.arrayBuffer()).byteLength
    }
  }
  await Promise.all(Array.from({ length: 6 }, worker))
  return bytes
}"""


class Link:
    """A page on the emulated link, counting the bytes that crossed it."""

    def __init__(self, browser: Any, base: str, token: str, args: argparse.Namespace) -> None:
        w, h = (int(v) for v in args.viewport.split("x"))
        self.context = browser.new_context(viewport={"width": w, "height": h}, base_url=base)
        self.context.add_init_script(f"localStorage.setItem('telemed.token', {token!r})")
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        rate = args.mbit * 1_000_000 / 8
        self.cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": args.rtt,
                "downloadThroughput": rate,
                "uploadThroughput": rate,
            },
        )
        self.bytes = 0
        self.tile_bytes = 0
        self._tile_ids: set[str] = set()
        self.tiles: Counter[str] = Counter()
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.page.on("request", self._request)

    def _sent(self, e: dict[str, Any]) -> None:
        if "/frames/" in e["request"]["url"]:
            self._tile_ids.add(e["requestId"])

    def _finished(self, e: dict[str, Any]) -> None:
        n = int(e.get("encodedDataLength", 0))
        self.bytes += n
        if e["requestId"] in self._tile_ids:
            self.tile_bytes += n

    def _request(self, req: Any) -> None:
        if "/frames/" in req.url:
            self.tiles[req.url.split("/instances/")[1].split("/")[0]] += 1

    def settle(self, timeout: float = 300) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.page.wait_for_timeout(50)
            if self.page.evaluate(LOADED) == "true":
                return
        raise RuntimeError("the slide view did not finish loading")

    def close(self) -> None:
        self.context.close()


def baseline(
    browser: Any, base: str, token: str, slide: list[Any], args: argparse.Namespace
) -> dict[str, Any]:
    ds = slide[0]
    prefix = (
        f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}/frames"
    )
    urls = [f"{prefix}/{n}/rendered" for n in range(1, int(ds.NumberOfFrames) + 1)]
    link = Link(browser, base, token, args)
    try:
        link.page.goto("/")  # same origin for fetch; the shell's bytes are not counted below
        link.page.wait_for_load_state("networkidle")
        link.bytes = 0
        t = time.perf_counter()
        link.page.evaluate(FETCH_ALL, [urls, token])
        return {"seconds": time.perf_counter() - t, "bytes": link.bytes, "tiles": len(urls)}
    finally:
        link.close()


def subject(
    browser: Any, base: str, token: str, slide: list[Any], args: argparse.Namespace
) -> dict[str, Any]:
    link = Link(browser, base, token, args)
    names = {str(d.SOPInstanceUID): f"L{n}" for n, d in enumerate(slide)}
    try:
        t = time.perf_counter()
        link.page.goto(f"/#/slide/{slide[0].StudyInstanceUID}")
        link.settle()
        opened, opened_bytes = time.perf_counter() - t, link.bytes
        opened_tiles, opened_tile_bytes = Counter(link.tiles), link.tile_bytes
        link.page.evaluate(
            "document.querySelector('[data-testid=slide-canvas]').dataset.fullyLoaded = 'false'"
        )
        t = time.perf_counter()
        link.page.get_by_test_id("slide-zoom-20").click()
        link.settle()
        zoomed = time.perf_counter() - t
        mag = float(link.page.get_by_test_id("slide-mag").get_attribute("data-mag") or 0)
        return {
            "open_seconds": opened,
            "open_bytes": opened_bytes,
            "open_tiles": {names[k]: v for k, v in opened_tiles.items()},
            "open_tile_bytes": opened_tile_bytes,
            "zoom_seconds": zoomed,
            "zoom_bytes": link.bytes - opened_bytes,
            "zoom_tiles": {names[k]: v for k, v in (link.tiles - opened_tiles).items()},
            "magnification": mag,
        }
    finally:
        link.close()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--width", type=int, default=4096, help="base level width (px)")
    ap.add_argument("--height", type=int, default=3072, help="base level height (px)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating baseline/subject rounds")
    ap.add_argument("--mbit", type=float, default=10.0, help="link throughput, Mbit/s each way")
    ap.add_argument("--rtt", type=float, default=80.0, help="link latency (ms)")
    ap.add_argument("--viewport", default="1280x860")
    args = ap.parse_args()
    dist = ROOT / "frontend" / "dist"
    if not (dist / "index.html").exists():
        sys.exit("frontend/dist missing: run `bash scripts/frontend.sh build` first")
    from playwright.sync_api import sync_playwright

    levels = slide_levels(width=args.width, height=args.height)
    slide = slide_pyramid(levels=levels, patient_name="BENCH^SLIDE")
    print(
        f"# settings: base {args.width}x{args.height} px at 0.25 um (40x), levels "
        f"{[f'{lv.width}x{lv.height}:{len(lv.tiles)} tiles' for lv in levels]}, "
        f"link {args.mbit} Mbit/s each way, {args.rtt} ms latency, viewport {args.viewport}, "
        f"{args.rounds} rounds",
        flush=True,
    )
    with database() as (url, _dsn), tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "TELEMED_DATABASE_URL": url,
            "TELEMED_FRONTEND_DIR": str(dist),
            "TELEMED_DICOM__ARCHIVE_DIR": f"{tmp}/archive",
            "TELEMED_DICOM__SPOOL_DIR": f"{tmp}/spool",
            "TELEMED_DICOM__GATEWAY_ENABLED": "false",
        }
        with serve(env, start_timeout=240) as base:
            token = httpx.post(
                f"{base}/api/v1/auth/token",
                data={"username": "county-doctor", "password": "telemed-demo"},
                timeout=60,
            ).json()["access_token"]
            stow_slide(base, token, slide)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                base_runs, subj_runs = [], []
                for rnd in range(args.rounds):
                    b = baseline(browser, base, token, slide, args)
                    s = subject(browser, base, token, slide, args)
                    base_runs.append(b)
                    subj_runs.append(s)
                    print(
                        f"round {rnd + 1}: baseline {b['seconds']:.2f} s {b['bytes'] / 1e6:.2f} MB"
                        f" ({b['tiles']} tiles) | open {s['open_seconds']:.2f} s"
                        f" {s['open_bytes'] / 1e6:.2f} MB"
                        f" (tiles {s['open_tile_bytes'] / 1e6:.2f} MB)"
                        f" {s['open_tiles']} | 20x (mag"
                        f" {s['magnification']:.1f}) +{s['zoom_seconds']:.2f} s"
                        f" +{s['zoom_bytes'] / 1e6:.2f} MB {s['zoom_tiles']}"
                        f" | load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
                browser.close()
    med = statistics.median
    b_s, b_b = med(r["seconds"] for r in base_runs), med(r["bytes"] for r in base_runs)
    o_s, o_b = med(r["open_seconds"] for r in subj_runs), med(r["open_bytes"] for r in subj_runs)
    z_s, z_b = med(r["zoom_seconds"] for r in subj_runs), med(r["zoom_bytes"] for r in subj_runs)
    print(f"baseline, whole base level:   {b_s:.2f} s, {b_b / 1e6:.2f} MB (median)")
    print(f"slide open, first full view:  {o_s:.2f} s, {o_b / 1e6:.2f} MB (median; page included)")
    print(f"zoom to 20x, view drawn:      +{z_s:.2f} s, +{z_b / 1e6:.2f} MB (median)")
    print(
        f"open + 20x vs baseline: time {(o_s + z_s) / b_s:.2f}, bytes {(o_b + z_b) / b_b:.2f};"
        f" load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
