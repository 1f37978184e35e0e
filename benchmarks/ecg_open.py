"""Time from opening an ECG to a fully drawn 12-lead tracing, over an emulated rural link.

    python benchmarks/ecg_open.py [--rounds 5] [--mbit 10] [--rtt 80]

The app is served (SQLite, local archive, the built frontend/dist) with a synthetic 10 s,
500 Hz, 12-lead ECG stored by STOW-RS. Chromium (Debian's, headless, DPR 2) is logged in;
the link is emulated through CDP (`Network.emulateNetworkConditions`: throughput and
added latency per request) with the HTTP cache disabled, and each round reloads the app's
home page first, so every round is a cold open (the reader's code chunk is fetched too).

Subject: `location.hash = '#/ecg/<study>'` until the canvas reports it has drawn (the
reader's `data-drawn-at`, a performance.now() taken after the last lead was stroked).
Baseline, same run, alternating rounds: fetching the raw DICOM instance (WADO-RS
instance retrieve, what a client-side waveform decoder would have to download before it
could draw anything) over the same link. Bytes are Chromium's encoded bytes received.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dicom import ecg_synth  # noqa: E402
from tests.support.uvicorn import app_env, serve  # noqa: E402

CHROMIUM = os.environ.get("TELEMED_CHROMIUM", "/usr/bin/chromium")
DRAWN = """(t0) => { const c = document.querySelector('[data-testid=ecg-canvas]');
  const at = c && c.dataset.drawnAt ? Number(c.dataset.drawnAt) : 0; return at > t0 ? at : 0 }"""
FETCH_RAW = """async ([url, token]) => {
  const t0 = performance.now()
  const r = await fetch(url, { headers: { Authorization: 'Bearer ' + token,
    Accept: 'multipart/related; type="application/dicom"' }, cache: 'no-store' })
  const body = await r.arrayBuffer()
  return { ms: performance.now() - t0, status: r.status, size: body.byteLength }
}"""


def _prepare(tmp: Path) -> dict[str, str]:
    os.environ.setdefault("TELEMED_SECRET_KEY", "benchmark-secret-key-" + "x" * 24)
    db_url = f"sqlite:///{tmp / 'telemed.db'}"
    env = app_env(
        TELEMED_ENV="development",
        TELEMED_DATABASE_URL=db_url,
        TELEMED_FRONTEND_DIR=str(ROOT / "frontend" / "dist"),
        TELEMED_DICOM__ARCHIVE_DIR=str(tmp / "archive"),
        TELEMED_DICOM__SPOOL_DIR=str(tmp / "spool"),
        TELEMED_DICOM__GATEWAY_ENABLED="false",
        PYTHONPATH=str(ROOT),
    )
    os.environ.update({"TELEMED_ENV": "development", "TELEMED_DATABASE_URL": db_url})
    from sqlmodel import Session

    from telemed.cli import upgrade_database
    from telemed.core.db import make_engine
    from telemed.core.settings import get_settings
    from telemed.seed import seed_demo

    get_settings.cache_clear()
    upgrade_database(db_url)
    engine = make_engine(db_url)
    with Session(engine) as s:
        seed_demo(s, get_settings())
        s.commit()
    engine.dispose()
    return env


def _store(base: str, token: str) -> tuple[str, str, str]:
    from tests.support.dicom_files import stow

    ds = ecg_synth.ecg_dataset()
    stow(base, token, [ds]).raise_for_status()
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


def _poll(page: Any, script: str, arg: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(script, arg)
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(script)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mbit", type=float, default=10.0, help="link throughput, Mbit/s")
    ap.add_argument("--rtt", type=float, default=80.0, help="added latency per request, ms")
    args = ap.parse_args()
    if not (ROOT / "frontend" / "dist" / "index.html").exists():
        sys.exit("build the frontend first: cd frontend && npx vite build")
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="telemed-bench-ecg-"))
    env = _prepare(tmp)
    with serve(env) as base, sync_playwright() as pw:
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "county-doctor", "password": "telemed-demo"},
            timeout=60,
        ).json()["access_token"]
        study, series, sop = _store(base, token)
        # the measurements are computed once per instance: warm them so no round waits on them
        httpx.get(
            f"{base}/api/v1/studies/{study}/ecg/measurements",
            headers={"Authorization": f"Bearer {token}"},
            timeout=300,
        ).raise_for_status()
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_context(
            base_url=base, device_scale_factor=2, viewport={"width": 1280, "height": 860}
        ).new_page()
        page.goto("/#/login")
        page.locator("#login-username").fill("county-doctor")
        page.locator("#login-password").fill("telemed-demo")
        page.locator("#login-password").press("Enter")
        page.get_by_test_id("who").wait_for(state="attached", timeout=60_000)
        cdp = page.context.new_cdp_session(page)
        received = [0]
        cdp.on(
            "Network.loadingFinished",
            lambda e: received.__setitem__(0, received[0] + e["encodedDataLength"]),
        )
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": args.rtt,
                "downloadThroughput": args.mbit * 1e6 / 8,
                "uploadThroughput": args.mbit * 1e6 / 8,
            },
        )
        raw_url = f"{base}/dicom-web/studies/{study}/series/{series}/instances/{sop}"
        subject: list[tuple[float, int]] = []
        baseline: list[tuple[float, int]] = []
        for _ in range(args.rounds):
            for kind in ("subject", "baseline"):
                page.goto("/#/")
                page.get_by_test_id("who").wait_for(state="attached", timeout=60_000)
                page.wait_for_load_state("networkidle")
                received[0] = 0
                if kind == "subject":
                    t0 = page.evaluate("performance.now()")
                    page.evaluate(f"location.hash = '#/ecg/{study}'")
                    drawn = _poll(page, DRAWN, t0)
                    subject.append((drawn - t0, received[0]))
                else:
                    r = page.evaluate(FETCH_RAW, [raw_url, token])
                    assert r["status"] == 200, r
                    baseline.append((r["ms"], received[0]))
        browser.close()
    load = os.getloadavg()
    ms_s, ms_b = [m for m, _ in subject], [m for m, _ in baseline]
    bytes_s = statistics.median([b for _, b in subject])
    bytes_b = statistics.median([b for _, b in baseline])
    print(
        f"settings: rounds={args.rounds} link={args.mbit} Mbit/s latency={args.rtt} ms, "
        "cache disabled, DPR 2, 12 leads x 10 s x 500 Hz"
    )
    print(
        f"ECG open -> 12-lead drawn: median {statistics.median(ms_s):.0f} ms "
        f"(min {min(ms_s):.0f}, max {max(ms_s):.0f}), bytes {bytes_s:.0f}"
    )
    print(
        f"baseline raw DICOM fetch:  median {statistics.median(ms_b):.0f} ms "
        f"(min {min(ms_b):.0f}, max {max(ms_b):.0f}), bytes {bytes_b:.0f}"
    )
    print(f"ratio subject/baseline: {statistics.median(ms_s) / statistics.median(ms_b):.2f}")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
