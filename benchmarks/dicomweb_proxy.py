"""DICOMweb through our `/dicom-web/` proxy vs straight from Orthanc, alternating rounds.

    PYTHONPATH=. .venv/bin/python benchmarks/dicomweb_proxy.py [--count 300] [--size 512]
        [--rounds 5] [--repeat 15] [--workers 1]

Starts a throwaway PostgreSQL (durable: default fsync and synchronous commit; migrated +
demo seed), a real Orthanc 1.10 with its DICOMweb plugin, and the app under uvicorn (a
separate process, `--workers`), uploads a `--count` x `--size`^2 CT series through our
STOW-RS as county-doctor (plus one instance compressed to JPEG-LS lossless in its own
study), then measures, in `--rounds` rounds that alternate
which side goes first (so machine load hits both), each operation `--repeat` times:

- QIDO study by UID   `GET /dicom-web/studies?StudyInstanceUID=<uid>`
- metadata            `GET /dicom-web/studies/<uid>/metadata` (all `--count` instances)
- frame               `GET .../frames/<middle>`, explicit little endian (the default)
- frame, JPEG-LS      `GET .../frames/1` with `transfer-syntax=*` (the stored code stream)
- rendered            `GET .../frames/<middle>/rendered` (PNG)

The proxy side is the reader's path: a bearer token, the access check, the audit row and
the archive behind. The app's own request floor (`GET /api/v1/auth/me`: token, session,
middleware, no archive) is printed beside it. Both sides use one keep-alive httpx client
with the same headers (`Accept-Encoding` from `--accept-encoding`). Prints the medians,
their ratio (proxy / direct), the settings and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TELEMED_SECRET_KEY", "benchmark-secret-key-not-for-production")

import httpx  # noqa: E402
from pydicom.uid import JPEGLSLossless  # noqa: E402

from tests.support import orthanc as orthanc_support  # noqa: E402
from tests.support import pgserver  # noqa: E402
from tests.support.dicom_files import ct_series, iter_benchmark, to_bytes  # noqa: E402
from tests.support.uvicorn import app_env, serve  # noqa: E402

ANY = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
PLAIN = 'multipart/related; type="application/octet-stream"'
JSON = "application/dicom+json"


def stow(api: httpx.Client, blobs: list[bytes]) -> None:
    boundary = "benchmarkboundary0123456789"
    body = b"".join(
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + b + b"\r\n"
        for b in blobs
    )
    body += f"--{boundary}--\r\n".encode()
    ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
    r = api.post("/dicom-web/studies", content=body, headers={"Content-Type": ctype})
    if r.status_code != 200:
        raise RuntimeError(f"STOW failed: {r.status_code} {r.text[:300]}")


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=300, help="instances in the CT series")
    ap.add_argument("--size", type=int, default=512, help="rows = columns of each slice")
    ap.add_argument("--rounds", type=int, default=5, help="alternating proxy/direct rounds")
    ap.add_argument("--repeat", type=int, default=15, help="requests per operation per round")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers of the app")
    ap.add_argument("--accept-encoding", default="identity", help="both sides' Accept-Encoding")
    ap.add_argument(
        "--async-commit",
        action="store_true",
        help="diagnosis only: the app's sessions with synchronous_commit=off (what the "
        "durable commit of each read's audit row costs); not how the app runs",
    )
    args = ap.parse_args()

    pg = pgserver.start(durable=True)  # PostgreSQL's default fsync and synchronous commit
    orthanc = orthanc_support.start()
    work = Path(tempfile.mkdtemp(prefix="telemed-dwbench-"))
    try:
        db_url = pg.url_for("postgres")
        os.environ["TELEMED_DATABASE_URL"] = db_url
        prepare(db_url)
        env = app_env(
            TELEMED_DATABASE_URL=db_url,
            TELEMED_ORTHANC_URL=orthanc.url,
            TELEMED_ORTHANC_USERNAME=orthanc.username,
            TELEMED_ORTHANC_PASSWORD=orthanc.password,
            TELEMED_DICOM__SPOOL_DIR=str(work / "spool"),
            TELEMED_ENV="development",
        )
        if args.async_commit:
            env["PGOPTIONS"] = "-c synchronous_commit=off"
        log = (work / "server.log").open("w")
        with serve(env, log, workers=args.workers) as base:
            run(args, base, orthanc)
    finally:
        orthanc.cleanup()
        pg.stop()


def run(args: argparse.Namespace, base: str, orthanc: orthanc_support.OrthancServer) -> None:
    headers = {"Accept-Encoding": args.accept_encoding}
    api = httpx.Client(base_url=base, timeout=300, headers=headers)
    token = api.post(
        "/api/v1/auth/token", data={"username": "county-doctor", "password": "telemed-demo"}
    ).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"
    direct = httpx.Client(
        base_url=orthanc.dicomweb_url, auth=orthanc.auth, timeout=300, headers=headers
    )

    print(f"uploading {args.count} x {args.size}^2 CT through our STOW-RS ...", flush=True)
    t = time.perf_counter()
    batch: list[bytes] = []
    first = None
    for ds in iter_benchmark(args.count, args.size):
        first = first or ds
        batch.append(to_bytes(ds))
        if len(batch) == 25:
            stow(api, batch)
            batch = []
    if batch:
        stow(api, batch)
    assert first is not None
    (jls,) = ct_series(1, size=args.size)
    jls.compress(JPEGLSLossless)
    stow(api, [to_bytes(jls)])
    print(f"uploaded in {time.perf_counter() - t:.1f} s", flush=True)

    study, series = str(first.StudyInstanceUID), str(first.SeriesInstanceUID)
    metadata = api.get(f"/dicom-web/studies/{study}/metadata", headers={"Accept": JSON}).json()
    assert len(metadata) == args.count, len(metadata)
    middle = sorted(metadata, key=lambda m: int(m["00200013"]["Value"][0]))[args.count // 2]
    sop = middle["00080018"]["Value"][0]
    inst = f"/studies/{study}/series/{series}/instances/{sop}"
    jls_inst = (
        f"/studies/{jls.StudyInstanceUID}/series/{jls.SeriesInstanceUID}"
        f"/instances/{jls.SOPInstanceUID}"
    )
    ops: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
        "QIDO study by UID": ("/studies", {"StudyInstanceUID": study}, {"Accept": JSON}),
        f"metadata ({args.count} instances)": (f"/studies/{study}/metadata", {}, {"Accept": JSON}),
        "frame (explicit LE)": (inst + "/frames/1", {}, {"Accept": PLAIN}),
        "frame (stored JPEG-LS)": (jls_inst + "/frames/1", {}, {"Accept": ANY}),
        "rendered frame (PNG)": (inst + "/frames/1/rendered", {}, {"Accept": "image/png"}),
    }
    sides: dict[str, Callable[[str, dict[str, str], dict[str, str]], httpx.Response]] = {
        "proxy": lambda p, q, h: api.get("/dicom-web" + p, params=q, headers=h),
        "direct": lambda p, q, h: direct.get(p, params=q, headers=h),
    }
    for name, (path, params, hdrs) in ops.items():  # warm both sides; same answers?
        a, b = (sides[s](path, params, hdrs) for s in ("proxy", "direct"))
        if a.status_code != 200 or b.status_code != 200:
            raise RuntimeError(f"{name}: proxy {a.status_code} direct {b.status_code}")
        if name.startswith("frame") and a.content.count(b"\r\n\r\n") < 1:
            raise RuntimeError(f"{name}: not a multipart answer")

    times: dict[tuple[str, str], list[float]] = {}
    for rnd in range(args.rounds):
        order = ("proxy", "direct") if rnd % 2 == 0 else ("direct", "proxy")
        for name, (path, params, hdrs) in ops.items():
            repeat = max(3, args.repeat // 5) if name.startswith("metadata") else args.repeat
            for side in order:
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    r = sides[side](path, params, hdrs)
                    elapsed = (time.perf_counter() - t0) * 1000
                    if r.status_code != 200:
                        raise RuntimeError(f"{side} {name}: {r.status_code}")
                    times.setdefault((name, side), []).append(elapsed)
        print(f"round {rnd + 1}/{args.rounds} done ({' then '.join(order)})", flush=True)

    floor: list[float] = []  # the app's own request floor, measured after the rounds
    for _ in range(args.repeat * 2):
        t0 = time.perf_counter()
        api.get("/api/v1/auth/me").raise_for_status()
        floor.append((time.perf_counter() - t0) * 1000)
    load = os.getloadavg()
    print()
    print(
        f"## DICOMweb proxy vs Orthanc direct ({args.count} x {args.size}^2 CT; "
        f"{args.rounds} alternating rounds x {args.repeat} requests, metadata "
        f"{max(3, args.repeat // 5)}; app workers {args.workers}; "
        f"Accept-Encoding {args.accept_encoding}; audit commit "
        f"{'synchronous_commit=off (diagnosis)' if args.async_commit else 'durable'})"
    )
    print(f"{'operation':28s} {'proxy ms':>9s} {'direct ms':>10s} {'ratio':>6s} {'added ms':>9s}")
    for name in ops:
        p = statistics.median(times[(name, "proxy")])
        d = statistics.median(times[(name, "direct")])
        print(f"{name:28s} {p:9.1f} {d:10.1f} {p / d:6.2f} {p - d:9.1f}")
    print(f"{'app floor: GET /api/v1/auth/me':28s} {statistics.median(floor):9.1f}")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cpus {os.cpu_count()}")


if __name__ == "__main__":
    main()
