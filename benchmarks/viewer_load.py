"""Opening a CT series in the browser over a rural link: the Cornerstone3D viewer (this
build, frames in their stored JPEG-LS code stream, decoded in the browser) against a baseline
measured in the same run: the same viewer asking for explicit little endian frames, or
main's build and server (`--baseline main`).

    PYTHONPATH=. .venv/bin/python benchmarks/viewer_load.py [--slices 40] [--size 512]
        [--rounds 2] [--mbit 10] [--rtt 80] [--baseline uncompressed|main]
        [--baseline-root /work/main]

`--baseline uncompressed` (the default since main's own viewer is Cornerstone3D too): the
baseline is this viewer and server with every frame request's Accept rewritten to
`transfer-syntax=1.2.840.10008.1.2.1` (explicit VR little endian, decoded on the server), the
frames of both sides going through the same Playwright route. `--baseline main`: the
comparison described below, against `--baseline-root`'s app and build (main's viewer is
Cornerstone3D as well since h-viewer, so both sides are found and loaded the same way: the
before and after of a change to the viewer's loading).

`--first-only` measures the first image only (no wait for the whole stack: a 300-slice round
takes seconds instead of minutes). Every round of each side prints the first image's
breakdown: each request from the open to the first lit pixel (the page's resource timing:
start, sent, first byte, end in ms after the open; bytes on the wire and content encoding from
CDP), Cornerstone's first STACK_NEW_IMAGE (decoded) and IMAGE_RENDERED, and the server's
time per route over the same span (the app's `/metrics` histograms before and after). The
first image is timed on the page's clock: the pane is looked at in every animation frame
(scaled to 64², so the look costs little) from the moment the hash changes.

The issue's full size: `--slices 300 --rounds 3` (about 15 minutes here).

Starts a throwaway PostgreSQL (migrated + demo seed), stores a `--slices` x `--size`^2 CT
phantom (tests/support/ct_phantom.py: body, bone shell, lung, noise) as JPEG-LS lossless in a
local archive, and serves it twice on the same database and archive: the app of this tree with
its frontend build, and the app of `--baseline-root` (main's checkout) with main's build. In
Chromium with CDP network emulation (`--mbit` down and up, `--rtt` ms latency), in rounds that
alternate which viewer goes first, each viewer opens the study after the app shell is loaded
and cached (a warm-up study first): time to first image (its pane has lit pixels), time to
the whole stack loaded (every frame fetched by the stack prefetch) and the bytes transferred
(CDP encodedDataLength of every response after the open). Prints medians, ratios, settings
and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TELEMED_SECRET_KEY", "benchmark-secret-key-not-for-production")

import httpx  # noqa: E402
from pydicom.uid import JPEGLSLossless  # noqa: E402

from tests.e2e.viewer_support import stow_to  # noqa: E402
from tests.support import pgserver  # noqa: E402
from tests.support.ct_phantom import phantom_datasets  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.uvicorn import app_env  # noqa: E402

CHROMIUM = os.environ.get("TELEMED_CHROMIUM", "/usr/bin/chromium")
LIT = """(sel) => { const src = document.querySelector(sel); if (!src || !src.width) return [0, 0];
  const c = document.createElement('canvas'); c.width = src.width; c.height = src.height;
  const g = c.getContext('2d'); g.drawImage(src, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data; let lit = 0;
  for (let i = 0; i < d.length; i += 16) if (d[i] > 8) lit++;
  return [lit / (d.length / 16), performance.now()] }"""
# Open `h`, keeping resource timing for every request of the open, and look at the pane in
# every animation frame (scaled to 64², cheap) until it has lit pixels: `__firstLit` is that
# moment on the page's clock, free of the harness's polling; returns the clock at the open.
OPEN = """([h, sel]) => { performance.clearResourceTimings();
  performance.setResourceTimingBufferSize(20000); window.__firstLit = 0; window.__cs = {};
  for (const ev of ['STACK_NEW_IMAGE', 'IMAGE_RENDERED']) document.addEventListener(
    `CORNERSTONE_${ev}`, () => { window.__cs[ev] ??= performance.now() }, true);
  const c = document.createElement('canvas'); c.width = 64; c.height = 64;
  const g = c.getContext('2d', { willReadFrequently: true });
  const look = () => { const src = document.querySelector(sel);
    if (src && src.width) { g.clearRect(0, 0, 64, 64); g.drawImage(src, 0, 0, 64, 64);
      const d = g.getImageData(0, 0, 64, 64).data; let lit = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 8) lit++;
      if (lit / (d.length / 4) > 0.05) { window.__firstLit = performance.now(); return } }
    requestAnimationFrame(look) };
  const t0 = performance.now(); location.hash = h; requestAnimationFrame(look); return t0 }"""
# every request of the open up to `until` (ms, the page's clock), relative to `t0`
TIMELINE = """([t0, until]) => performance.getEntriesByType('resource')
  .filter((e) => e.startTime >= t0 && e.startTime <= until)
  .map((e) => ({ url: e.name, start: e.startTime - t0, sent: e.requestStart - t0,
    first_byte: e.responseStart - t0, end: e.responseEnd - t0, bytes: e.transferSize }))"""
METRICS_TOKEN = "viewer-load-benchmark-metrics"
SIDES = {
    "new": {"canvas": "[data-testid=viewer-element] canvas", "slice": "[data-testid=pane]"},
    "old": {"canvas": "[data-testid=viewer-element] canvas", "slice": "[data-testid=pane]"},
}
# `--baseline uncompressed` (main's own viewer is Cornerstone3D now): the same viewer and server,
# its frame requests asking for explicit VR little endian instead of the stored code stream
SIDES["uncompressed"] = SIDES["new"]
EXPLICIT_LE = (
    'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1'
)


def _frames_as(page: Any, accept: str | None) -> None:
    """Route every frame request (both sides, so both pay the interception): unchanged, or
    with `accept` as its Accept header."""

    def handle(route: Any) -> None:
        headers = dict(route.request.headers)
        if accept is not None:
            headers["accept"] = accept
        route.continue_(headers=headers)

    page.route("**/frames/**", handle)


def prepare(db_url: str) -> None:
    from sqlmodel import Session

    from telemed.cli import upgrade_database
    from telemed.core.db import get_engine
    from telemed.core.settings import get_settings
    from telemed.seed import seed_demo

    upgrade_database(db_url)
    with Session(get_engine()) as s:
        seed_demo(s, get_settings())
        s.commit()


def start_app(
    env: dict[str, str], cwd: Path, dist: Path, log: Any
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "telemed.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=cwd,
        env={**env, "TELEMED_FRONTEND_DIR": str(dist), "PYTHONPATH": str(cwd)},
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code < 500:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the app in {cwd} did not start")


def open_study(
    browser: Any,
    base: str,
    token: str,
    side: str,
    warm: str,
    study: str,
    slices: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
    page = ctx.new_page()
    page.add_init_script(f"localStorage.setItem('telemed.token', {json.dumps(token)})")
    page.goto(f"/#/viewer/{warm}")  # the app shell and the viewer's code, cached
    sel = SIDES[side]
    wait_lit(page, sel["canvas"], 120)
    page.evaluate("() => { location.hash = '#/' }")  # leave the viewer (a new study mounts it anew)
    page.get_by_test_id("who").wait_for(state="attached")
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": args.rtt,
            "downloadThroughput": args.mbit * 1e6 / 8,
            "uploadThroughput": args.mbit * 1e6 / 8,
        },
    )
    got: dict[str, Any] = {"bytes": 0, "frames": 0}
    frame_ids: set[str] = set()
    urls: dict[str, str] = {}  # request id -> URL
    wire: dict[str, tuple[int, str]] = {}  # URL -> (bytes on the wire, content encoding)

    def on_response(ev: dict[str, Any]) -> None:
        url = ev["response"]["url"]
        urls[ev["requestId"]] = url
        headers = {k.lower(): v for k, v in ev["response"].get("headers", {}).items()}
        wire[url] = (0, headers.get("content-encoding", ""))
        if "/frames/" in url:
            frame_ids.add(ev["requestId"])

    def on_finished(ev: dict[str, Any]) -> None:
        got["bytes"] += ev.get("encodedDataLength", 0)
        url = urls.get(ev["requestId"])
        if url in wire:
            wire[url] = (int(ev.get("encodedDataLength", 0)), wire[url][1])
        if ev["requestId"] in frame_ids:
            got["frames"] += 1

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.loadingFinished", on_finished)
    if args.baseline == "uncompressed":
        _frames_as(page, EXPLICIT_LE if side == "uncompressed" else None)
    served = route_seconds(base)
    t0 = time.monotonic()
    page_t0 = page.evaluate(OPEN, [f"#/viewer/{study}", sel["canvas"]])
    page.wait_for_function("() => window.__firstLit > 0", timeout=300_000, polling=50)
    harness = time.monotonic() - t0
    page_first = page.evaluate("() => window.__firstLit")
    events = page.evaluate("() => window.__cs")
    timeline = page.evaluate(TIMELINE, [page_t0, page_first])
    for e in timeline:
        e["wire"], e["encoding"] = wire.get(e["url"], (e["bytes"], "?"))
    server = route_seconds(base, since=served)
    out: dict[str, Any] = {
        "first": (page_first - page_t0) / 1000,
        "first_harness": harness,
        "events": {k: v - page_t0 for k, v in events.items()},
        "timeline": timeline,
        "server": server,
    }
    if args.first_only:
        ctx.close()
        return {**out, "whole": float("nan"), "bytes": float("nan"), "frames": got["frames"]}
    deadline = time.monotonic() + 900
    while got["frames"] < slices and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    whole = time.monotonic() - t0
    ctx.close()
    return {**out, "whole": whole, "bytes": got["bytes"], "frames": got["frames"]}


def wait_lit(page: Any, sel: str, timeout: float) -> float:
    """Wait until the pane has lit pixels; the page's clock (ms) when it was seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lit, at = page.evaluate(LIT, sel)
        if lit > 0.05:
            return float(at)
        page.wait_for_timeout(10)
    raise RuntimeError(f"no image in {sel}")


def route_seconds(
    base: str, since: dict[str, tuple[float, float]] | None = None
) -> dict[str, tuple[float, float]]:
    """Requests answered and seconds spent per route template, from the app's `/metrics`
    histograms (the difference to `since` when given): the server's side of the timeline."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
    ).text
    now: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "telemed_http_request_duration_seconds":
            continue
        for sample in family.samples:
            route = sample.labels.get("route", "")
            if sample.name.endswith("_count"):
                now.setdefault(route, [0.0, 0.0])[0] += sample.value
            elif sample.name.endswith("_sum"):
                now.setdefault(route, [0.0, 0.0])[1] += sample.value
    before = since or {}
    out = {}
    for route, (n, secs) in now.items():
        n0, s0 = before.get(route, (0.0, 0.0))
        if n - n0 > 0:
            out[route] = (n - n0, secs - s0)
    return out


def _short(url: str) -> str:
    """A request's path with the long UIDs cut (`…`), for the printed timeline."""
    path = url.split("://", 1)[-1].split("/", 1)[-1]
    return "/" + "/".join(p if len(p) < 24 else p[:6] + "…" for p in path.split("/"))


def print_breakdown(res: dict[str, Any]) -> None:
    """The first image's timeline: every request from the open to the first lit pixel (the
    page's resource timing, ms after the open) and the server's time per route."""
    print(
        f"  first image {res['first'] * 1000:.0f} ms after the open (page clock; "
        f"{res['first_harness']:.2f} s seen by the harness):"
    )
    print("    start   sent  1st byte  end  bytes (wire, encoding)  request")
    for e in sorted(res["timeline"], key=lambda e: e["start"]):
        print(
            f"    {e['start']:5.0f} {e['sent']:6.0f} {e['first_byte']:8.0f} {e['end']:6.0f} "
            f"{e['wire']:9d} {e['encoding'] or '-':>5}  {_short(e['url'])}"
        )
    for name, at in sorted(res["events"].items(), key=lambda kv: kv[1]):
        print(f"    {at:5.0f} ms  Cornerstone {name} (first)")
    print("  server, per route (requests, mean ms) from the open to the first image:")
    for route, (n, secs) in sorted(res["server"].items(), key=lambda kv: -kv[1][1]):
        print(f"    {int(n):4d} × {secs / n * 1000:6.1f} ms  {route}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=40)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--mbit", type=float, default=10.0)
    ap.add_argument("--rtt", type=float, default=80.0)
    ap.add_argument("--baseline-root", type=Path, default=Path("/work/main"))
    ap.add_argument(
        "--baseline",
        choices=["main", "uncompressed"],
        default="uncompressed",
        help="main: --baseline-root's app and viewer; uncompressed: this viewer asking for "
        "explicit little endian frames",
    )
    ap.add_argument(
        "--first-only",
        action="store_true",
        help="measure the first image only (no whole-stack wait: quick at 300 slices)",
    )
    args = ap.parse_args()
    new_dist = ROOT / "frontend" / "dist"
    old_dist = args.baseline_root / "frontend" / "dist"
    for d in (new_dist, old_dist) if args.baseline == "main" else (new_dist,):
        if not (d / "index.html").exists():
            sys.exit(f"{d} missing: build it (cd {d.parent} && npx vite build)")

    pg = pgserver.start()
    work = Path(tempfile.mkdtemp(prefix="telemed-viewerbench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        db_url = pg.url_for("postgres")
        os.environ["TELEMED_DATABASE_URL"] = db_url
        prepare(db_url)
        env = app_env(
            TELEMED_DATABASE_URL=db_url,
            TELEMED_DICOM__ARCHIVE_DIR=str(work / "archive"),
            TELEMED_DICOM__SPOOL_DIR=str(work / "spool"),
            TELEMED_DICOM__GATEWAY_ENABLED="false",
            TELEMED_METRICS__TOKEN=METRICS_TOKEN,
        )
        log = (work / "server.log").open("w")
        new_proc, new_base = start_app(env, ROOT, new_dist, log)
        procs.append(new_proc)
        if args.baseline == "main":
            old_proc, old_base = start_app(env, args.baseline_root, old_dist, log)
            procs.append(old_proc)
        token = httpx.post(
            f"{new_base}/api/v1/auth/token",
            data={"username": "county-doctor", "password": "telemed-demo"},
            timeout=60,
        ).json()["access_token"]
        warm = stow_to(new_base, token, list(phantom_datasets(2, 64, JPEGLSLossless)))
        study = stow_to(
            new_base,
            token,
            list(phantom_datasets(args.slices, args.size, JPEGLSLossless)),
            timeout=900,
        )
        old = "old" if args.baseline == "main" else "uncompressed"
        bases = {"new": new_base, old: old_base if args.baseline == "main" else new_base}
        run(args, bases, token, warm, study)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
        pg.stop()


def run(args: argparse.Namespace, bases: dict[str, str], token: str, warm: str, study: str) -> None:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[dict[str, Any]]] = {side: [] for side in bases}
    old = [side for side in bases if side != "new"][0]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        for r in range(args.rounds):
            order = ["new", old] if r % 2 == 0 else [old, "new"]
            for side in order:
                res = open_study(browser, bases[side], token, side, warm, study, args.slices, args)
                results[side].append(res)
                print(
                    f"round {r + 1} {side}: first {res['first']:.2f} s, "
                    f"whole {res['whole']:.1f} s, {res['bytes'] / 1e6:.1f} MB, "
                    f"{res['frames']} frames",
                    flush=True,
                )
        browser.close()
    for side, runs in results.items():
        for r, res in enumerate(runs):
            print(f"breakdown of the first image, {side}, round {r + 1}:")
            print_breakdown(res)
    med = {
        s: {k: statistics.median(x[k] for x in results[s]) for k in ("first", "whole", "bytes")}
        for s in results
    }
    print(
        f"settings: {args.slices} slices {args.size}^2 JPEG-LS lossless, {args.mbit} Mbit/s, "
        f"{args.rtt} ms RTT, {args.rounds} rounds alternating, baseline "
        f"{args.baseline_root if args.baseline == 'main' else 'uncompressed frames'}"
    )
    for k, unit in (
        (("first", "s"),) if args.first_only else (("first", "s"), ("whole", "s"), ("bytes", "MB"))
    ):
        n, o = med["new"][k], med[old][k]
        scale = 1e6 if k == "bytes" else 1
        print(
            f"{k:>6}: new {n / scale:.2f} {unit}  old (baseline) {o / scale:.2f} {unit}  "
            f"old/new {o / n:.2f}x"
        )
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
