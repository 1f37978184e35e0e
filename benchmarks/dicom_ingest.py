"""Imaging ingest benchmark: our C-STORE path into Orthanc vs storescu straight into Orthanc.

    PYTHONPATH=. .venv/bin/python benchmarks/dicom_ingest.py [--count 300] [--size 512]

Starts a throwaway PostgreSQL (migrated + demo seed) and a real Orthanc with the DICOMweb
plugin (both DCMTK sides with TCP_NODELAY=1), generates two 300 x 512^2 CT series with
pydicom, then measures in the same run:
1. baseline: dcmtk `storescu` -> Orthanc's DICOM port (instances/s);
2. ours: `storescu` (AE DEMO_COUNTY) -> our gateway (registry check, durable spool, ack)
   -> forwarder -> Orthanc REST + index: instances/s at ack and end to end (all archived);
3. time from the last ack to the study visible in the reader's `/dicom-web/studies`;
4. latency of one rendered 512^2 frame through our proxy vs straight from Orthanc.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import pydicom  # noqa: E402

from tests.support import orthanc as orthanc_support  # noqa: E402
from tests.support import pgserver  # noqa: E402
from tests.support.dicom_files import benchmark_series  # noqa: E402
from tests.support.ports import free_port, wait_port  # noqa: E402

STORESCU = "/usr/bin/storescu"


def storescu(files: list[Path], port: int, calling: str, called: str) -> float:
    env = {**os.environ, "TCP_NODELAY": "1"}
    t = time.perf_counter()
    r = subprocess.run(
        [STORESCU, "-aet", calling, "-aec", called, "127.0.0.1", str(port), *map(str, files)],
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"storescu failed: {r.stderr[-500:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--renders", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3, help="alternating direct/feed rounds")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="telemed-bench-"))
    n_series = 1 + 2 * args.rounds
    print(f"generating {n_series} x {args.count} CT slices of {args.size}^2 ...", flush=True)
    direct_sets = [
        benchmark_series(work / f"direct{i}", args.count, args.size) for i in range(args.rounds)
    ]
    feed_sets = [
        benchmark_series(work / f"feed{i}", args.count, args.size) for i in range(args.rounds)
    ]
    ours_files = benchmark_series(work / "ours", args.count, args.size)
    mb = sum(p.stat().st_size for p in ours_files) / 1e6
    print(f"series size {mb:.0f} MB", flush=True)

    pg = pgserver.start()
    orthanc = orthanc_support.start(always_allow_store=False)
    try:
        url = pg.url_for("postgres")
        os.environ.update(
            {
                "TELEMED_ENV": "development",
                "TELEMED_DATABASE_URL": url,
                "TELEMED_ORTHANC_URL": orthanc.url,
                "TELEMED_ORTHANC_USERNAME": orthanc.username,
                "TELEMED_ORTHANC_PASSWORD": orthanc.password,
                "TELEMED_DICOM__SPOOL_DIR": str(work / "spool"),
                "TELEMED_LOG_LEVEL": "WARNING",
                "TELEMED_DICOM__FORWARDER_WORKERS": os.environ.get("BENCH_WORKERS", "3"),
            }
        )
        from sqlmodel import Session

        from telemed.cli import upgrade_database
        from telemed.core.db import get_engine
        from telemed.core.settings import get_settings
        from telemed.seed import seed_demo

        upgrade_database(url)
        with Session(get_engine()) as s:
            seed_demo(s, get_settings())
            s.commit()

        from dicom.archive import OrthancArchive
        from dicom.orthanc_feed import ChangeFeed, sync_modalities

        oa = OrthancArchive(orthanc.url, orthanc.username, orthanc.password)
        sync_modalities(engine=get_engine(), archive=oa)  # registered AEs only

        # 1. baseline: storescu straight into Orthanc (nothing else running).
        t_direct = storescu(direct_sets[0], orthanc.dicom_port, "DEMO_COUNTY", orthanc.aet)
        direct_rate = args.count / t_direct

        # 2. ours: storescu -> gateway -> spool -> forwarder -> Orthanc + index.
        import uvicorn

        from dicom.runtime import start_gateway
        from telemed.app import create_app

        gw_port = free_port()
        forwarder, gateway = start_gateway(get_settings(), port=gw_port)
        api_port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(), host="127.0.0.1", port=api_port, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        wait_port(api_port)
        api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=60)
        token = api.post(
            "/api/v1/auth/token", data={"username": "county-doctor", "password": "telemed-demo"}
        ).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        study_uid = str(pydicom.dcmread(ours_files[0], stop_before_pixels=True).StudyInstanceUID)

        t0 = time.perf_counter()
        t_ack = storescu(ours_files, gw_port, "DEMO_COUNTY", "TELEMED")
        acked_at = time.perf_counter()
        visible_at = None
        while visible_at is None and time.perf_counter() - acked_at < 300:
            r = api.get("/dicom-web/studies", params={"StudyInstanceUID": study_uid})
            if r.status_code == 200 and r.json():
                n = r.json()[0].get("00201208", {}).get("Value", [0])[0]
                if int(n) >= args.count:
                    visible_at = time.perf_counter()
                    break
            time.sleep(0.01)
        forwarder.wait_idle(300)
        t_all = time.perf_counter() - t0
        ack_rate = args.count / t_ack
        e2e_rate = args.count / t_all
        visible_s = (visible_at - acked_at) if visible_at else float("nan")

        # 4. rendered frame latency: proxy vs Orthanc.
        meta = api.get(f"/dicom-web/studies/{study_uid}/metadata").json()
        series_uid = meta[0]["0020000E"]["Value"][0]
        sops = [m["00080018"]["Value"][0] for m in meta][: args.renders]
        direct_client = orthanc.client()
        path = "/dicom-web/studies/{}/series/{}/instances/{}/frames/1/rendered?window=40,400,linear"
        proxy_path = "/dicom-web/studies/{}/series/{}/instances/{}/frames/1/rendered?window=40,400"

        def timed(client: httpx.Client, p: str) -> float:
            t = time.perf_counter()
            r = client.get(p, headers={"Accept": "image/png"})
            r.raise_for_status()
            return (time.perf_counter() - t) * 1000

        timed(direct_client, path.format(study_uid, series_uid, sops[0]))  # warm
        timed(api, proxy_path.format(study_uid, series_uid, sops[0]))
        direct_ms = [timed(direct_client, path.format(study_uid, series_uid, s)) for s in sops]
        proxy_ms = [timed(api, proxy_path.format(study_uid, series_uid, s)) for s in sops]
        gateway.stop()
        forwarder.stop()

        # 5. production path: Orthanc's own port (registry-fed) + change feed into the
        # index, alternating with the baseline (the same port with no feed running) so
        # both see the same machine load. Round 0 reuses the baseline above.
        from sqlmodel import select as _select

        from dicom.models import Study

        def indexed(uid: str) -> bool:
            with Session(get_engine()) as s2:
                st = s2.exec(_select(Study).where(Study.study_uid == uid)).first()
                return st is not None and st.instance_count >= args.count

        def catch_up(feed: ChangeFeed) -> None:
            while feed.poll_once():
                pass

        direct_rates, feed_rates, visible = [direct_rate], [], []
        for i in range(args.rounds):
            if i > 0:
                direct_rates.append(
                    args.count
                    / storescu(direct_sets[i], orthanc.dicom_port, "DEMO_COUNTY", orthanc.aet)
                )
            feed = ChangeFeed(engine=get_engine(), archive=oa, poll_interval=0.05)
            catch_up(feed)  # index the baseline's study before timing
            feed.start()
            feed_uid = str(
                pydicom.dcmread(feed_sets[i][0], stop_before_pixels=True).StudyInstanceUID
            )
            t_feed = storescu(feed_sets[i], orthanc.dicom_port, "DEMO_COUNTY", orthanc.aet)
            acked2 = time.perf_counter()
            while not indexed(feed_uid) and time.perf_counter() - acked2 < 300:
                time.sleep(0.01)
            visible.append(time.perf_counter() - acked2)
            feed.stop()
            feed_rates.append(args.count / t_feed)
            print(
                f"round {i + 1}: direct {direct_rates[-1]:.1f} inst/s, "
                f"feed {feed_rates[-1]:.1f} inst/s (ratio {feed_rates[-1] / direct_rates[-1]:.2f})",
                flush=True,
            )
        feed_rate = statistics.median(feed_rates)
        direct_med = statistics.median(direct_rates)
        feed_visible = statistics.median(visible)
        server.should_exit = True

        print()
        print(f"## dicom ingest ({args.count} x {args.size}^2 CT, {mb:.0f} MB; TCP_NODELAY=1)")
        print(
            f"baseline storescu -> Orthanc          {direct_rate:7.1f} inst/s  ({t_direct:.2f} s)"
        )
        print(f"gateway: storescu -> gateway (acked)  {ack_rate:7.1f} inst/s  ({t_ack:.2f} s)")
        print(f"gateway end to end (archived+indexed) {e2e_rate:7.1f} inst/s  ({t_all:.2f} s)")
        print(f"ratio acked / direct                  {ack_rate / direct_rate:7.2f}")
        print(f"ratio end-to-end / direct             {e2e_rate / direct_rate:7.2f}")
        print(f"last ack -> visible in /dicom-web/studies  {visible_s:.2f} s")
        print(
            f"rendered frame median: proxy {statistics.median(proxy_ms):.1f} ms, "
            f"Orthanc {statistics.median(direct_ms):.1f} ms "
            f"(ratio {statistics.median(proxy_ms) / statistics.median(direct_ms):.2f}); "
            f"p90 proxy {sorted(proxy_ms)[int(0.9 * len(proxy_ms)) - 1]:.1f} ms"
        )
        print(f"forwarder retries {forwarder.retries}, rejected {forwarder.rejected}")
        print()
        print("## production path: storescu -> Orthanc's port (registry-fed) + change feed")
        print(f"(median of {args.rounds} alternating rounds)")
        print(f"baseline storescu -> Orthanc          {direct_med:7.1f} inst/s")
        print(f"registry-fed Orthanc port + feed      {feed_rate:7.1f} inst/s")
        ratios = [f / d for f, d in zip(feed_rates, direct_rates, strict=True)]
        print(f"ratio of the medians                  {feed_rate / direct_med:7.2f}")
        print(f"median of per-round ratios (goal>=0.8) {statistics.median(ratios):6.2f}")
        print(f"last ack -> indexed (in /dicom-web)   {feed_visible:.2f} s")
    finally:
        orthanc.cleanup()
        pg.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
