"""Ingest benchmark: `storescu` -> our gateway, and -> Orthanc with our filter plugin (both
stored AND indexed), vs `storescu` -> a plain Orthanc's DICOM port, in alternating rounds.

    PYTHONPATH=. .venv/bin/python benchmarks/dicom_ingest.py [--count 300] [--size 512]
        [--rounds 3] [--no-filter] [--timeout 300]

Starts a throwaway PostgreSQL with its default durability (fsync, synchronous commit, full
page writes on), migrated + demo seed, and two real Orthanc 1.10 with the DICOMweb plugin
and the same configuration (DCMTK sides with TCP_NODELAY=1; Orthanc's default
`SyncStorageArea`, an fdatasync per stored file): the *archive* (with our filter plugin
when `--filter`), which our gateway forwards into, our API reads and the change feed
follows, and a *plain* one for the baseline. Our gateway and the feed run as their own
processes (`telemed dicom gateway`, `telemed dicom orthanc-feed --view-file`, as deployed).
Each round sends a fresh `--count` x `--size`^2 CT study (pydicom) through each arm, in
this order:

- gateway: `storescu` (AE DEMO_COUNTY) -> our gateway (allow-list, owner check, durable
  spool, ack) -> forwarder -> Orthanc + our index; done when the study is stored in Orthanc
  with every instance AND the reader's QIDO through our API (`/dicom-web/studies`) shows
  them all. The API is polled only after the last ack, so it takes no CPU from the round.
- orthanc+filter (`--filter`, on by default when orthanc-python is installed): `storescu`
  -> the archive Orthanc, whose filter plugin (`dicom/orthanc_plugin/filter.py`: AE
  allow-list, one owner per study, size limit, from the view file the feed writes) checks
  each instance before Orthanc stores it; the feed indexes it; done as for the gateway.
  CPU = Orthanc + feed process.
- direct: `storescu` (AE DEMO_COUNTY) -> the plain Orthanc's port; done at the last
  C-STORE-RSP (Orthanc stores before it answers). CPU = that Orthanc.

Printed per round and as medians: instances/s of each arm, the ratio to direct of the same
round, CPU seconds per instance (/proc utime+stime, children included, over the round), and
the time from the last ack to the study visible. The settings and the load average are
printed with the figures. `BENCH_KEEP=1` keeps the work directory (logs).
"""

from __future__ import annotations

import argparse
import os
import shutil
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

STORESCU = shutil.which("storescu") or "/usr/bin/storescu"
TICK = os.sysconf("SC_CLK_TCK")


def storescu(files: list[Path], port: int, called: str) -> float:
    """Send `files` in one association; returns the seconds until the last C-STORE-RSP."""
    env = {**os.environ, "TCP_NODELAY": "1"}
    t = time.perf_counter()
    r = subprocess.run(
        [STORESCU, "-aet", "DEMO_COUNTY", "-aec", called, "127.0.0.1", str(port), *map(str, files)],
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - t
    if r.returncode != 0 or "E: " in r.stderr:
        raise RuntimeError(f"storescu failed: {r.stderr[-500:]}")
    return elapsed


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) and its children, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / TICK
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += cpu_seconds(int(child))
    return total


def study_uid_of(files: list[Path]) -> str:
    return str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3, help="alternating gateway/direct rounds")
    ap.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "2")))
    ap.add_argument(
        "--filter",
        action=argparse.BooleanOptionalAction,
        default=orthanc_support.filter_available(),
        help="third arm: Orthanc with our filter plugin + change feed",
    )
    ap.add_argument("--timeout", type=float, default=300, help="seconds until visible")
    args = ap.parse_args()
    kinds = ("gw", "filter", "direct") if args.filter else ("gw", "direct")

    work = Path(tempfile.mkdtemp(prefix="telemed-bench-"))
    print(
        f"settings: {args.rounds} rounds x ({', '.join(kinds)}), {args.count} x {args.size}^2 CT "
        f"per round (fresh study each), forwarder workers {args.workers}, PostgreSQL durable "
        "(fsync on), TCP_NODELAY=1",
        flush=True,
    )
    sets = {
        (kind, i): benchmark_series(work / f"{kind}{i}", args.count, args.size)
        for i in range(args.rounds)
        for kind in kinds
    }
    mb = sum(p.stat().st_size for p in sets[("gw", 0)]) / 1e6
    print(f"study size {mb:.0f} MB", flush=True)

    pg = pgserver.start(durable=True)
    view = work / "orthanc-view.json"
    # The archive of the gateway's forwarder, our API and (with --filter) the filter arm;
    # the direct arm stores into a plain Orthanc of the same configuration.
    orthanc = orthanc_support.start(
        always_allow_store=False, filter_view=view if args.filter else None
    )
    plain = orthanc_support.start(always_allow_store=False)
    gw_proc: subprocess.Popen[bytes] | None = None
    spy: subprocess.Popen[bytes] | None = None
    feed_proc: subprocess.Popen[bytes] | None = None
    filtered = None
    server = None
    try:
        url = pg.url_for("postgres")
        env = {
            "TELEMED_ENV": "development",
            "TELEMED_DATABASE_URL": url,
            "TELEMED_ORTHANC_URL": orthanc.url,
            "TELEMED_ORTHANC_USERNAME": orthanc.username,
            "TELEMED_ORTHANC_PASSWORD": orthanc.password,
            "TELEMED_DICOM__SPOOL_DIR": str(work / "spool"),
            "TELEMED_LOG_LEVEL": "WARNING",
            "TELEMED_DICOM__FORWARDER_WORKERS": str(args.workers),
        }
        os.environ.update(env)
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
        from dicom.orthanc_feed import sync_modalities

        oa = OrthancArchive(orthanc.url, orthanc.username, orthanc.password)
        sync_modalities(engine=get_engine(), archive=oa)  # DEMO_COUNTY may store directly
        sync_modalities(
            engine=get_engine(), archive=OrthancArchive(plain.url, plain.username, plain.password)
        )

        gw_port = free_port()
        gw_proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from telemed.cli import main; main()",
                "dicom",
                "gateway",
                "--port",
                str(gw_port),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=open(work / "gateway.log", "wb"),
            stderr=subprocess.STDOUT,
        )
        wait_port(gw_port, timeout=60)
        if args.filter:
            filtered = orthanc
            feed_proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from telemed.cli import main; main()",
                    "dicom",
                    "orthanc-feed",
                    "--view-file",
                    str(view),
                    "--state-file",
                    str(work / "feed.seq"),
                ],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), "TELEMED_ORTHANC_URL": filtered.url},
                stdout=open(work / "feed.log", "wb"),
                stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + 60
            while not view.exists():  # the feed writes the view once it has started
                if time.monotonic() > deadline or feed_proc.poll() is not None:
                    raise RuntimeError(f"feed did not start: {(work / 'feed.log').read_text()}")
                time.sleep(0.1)
        if os.environ.get("BENCH_PYSPY"):  # e.g. /tmp/pyspy/bin/py-spy: profile the gateway
            spy = subprocess.Popen(
                [
                    os.environ["BENCH_PYSPY"],
                    "record",
                    "--gil",
                    "-p",
                    str(gw_proc.pid),
                    "-r",
                    "250",
                    "--format",
                    "raw",
                    "-o",
                    os.environ.get("BENCH_PYSPY_OUT", "/tmp/gateway-profile.txt"),
                ],
            )

        import uvicorn

        from telemed.app import create_app

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

        def visible(uid: str) -> bool:
            r = api.get("/dicom-web/studies", params={"StudyInstanceUID": uid})
            if r.status_code != 200 or not r.json():
                return False
            n = r.json()[0].get("00201208", {}).get("Value", [0])[0]
            return int(n) >= args.count

        def stored(client: httpx.Client, uid: str) -> bool:
            found = client.post("/tools/lookup", content=uid).json()
            if not found:
                return False
            st = client.get(f"/studies/{found[0]['ID']}/statistics").json()
            return int(st.get("CountInstances", 0)) >= args.count

        def end_to_end(
            files: list[Path], port: int, called: str, client: httpx.Client, pids: list[int]
        ) -> tuple[float, float, float, float]:
            """(inst/s stored+visible, inst/s acked, CPU s/inst of `pids`, ack -> visible s)"""
            uid = study_uid_of(files)
            c0 = sum(cpu_seconds(p) for p in pids)
            t0 = time.perf_counter()
            t_ack = storescu(files, port, called)
            acked = time.perf_counter()
            seen = False
            while time.perf_counter() - acked < args.timeout:
                if visible(uid):
                    seen = True
                    break
                time.sleep(0.01)
            seen_at = time.perf_counter()
            while not stored(client, uid) and time.perf_counter() - acked < args.timeout:
                time.sleep(0.01)
            done = max(seen_at, time.perf_counter())
            cpu = sum(cpu_seconds(p) for p in pids) - c0
            if not seen:
                logs = [work / "feed.log", work / "gateway.log"]
                tails = "\n".join(p.read_text()[-2000:] for p in logs if p.exists())
                tails += filtered.log() if filtered is not None else ""
                raise RuntimeError(f"{called}: study not visible after {args.timeout} s\n{tails}")
            n = args.count
            return n / (done - t0), n / t_ack, cpu / n, seen_at - acked

        # warm-up: one small association (the gateway's first connection, DB pool, imports)
        storescu(benchmark_series(work / "warm", 3, 64), gw_port, "TELEMED")
        arms: dict[str, list[tuple[float, float, float, float]]] = {"gw": [], "filter": []}
        if filtered is not None and feed_proc is not None:
            storescu(benchmark_series(work / "warm2", 3, 64), filtered.dicom_port, filtered.aet)
            arm_filter = (filtered.dicom_port, filtered.aet, filtered.client())
            filter_pids = [filtered.process.pid, feed_proc.pid]  # type: ignore[union-attr]
        gw_client = orthanc.client()
        direct_rates: list[float] = []
        direct_cpu: list[float] = []
        loads: list[float] = []

        def direct(i: int) -> None:
            c0 = cpu_seconds(plain.process.pid)  # type: ignore[union-attr]
            t_direct = storescu(sets[("direct", i)], plain.dicom_port, plain.aet)
            direct_rates.append(args.count / t_direct)
            direct_cpu.append((cpu_seconds(plain.process.pid) - c0) / args.count)  # type: ignore[union-attr]

        def run(kind: str, i: int) -> None:
            if kind == "direct":
                direct(i)
            elif kind == "gw":
                arms["gw"].append(
                    end_to_end(sets[("gw", i)], gw_port, "TELEMED", gw_client, [gw_proc.pid])  # type: ignore[union-attr]
                )
            else:
                arms["filter"].append(end_to_end(sets[("filter", i)], *arm_filter, filter_pids))

        for i in range(args.rounds):
            loads.append(os.getloadavg()[0])
            # the order alternates too: gateway, filter, direct; then direct, filter, gateway
            for kind in kinds if i % 2 == 0 else tuple(reversed(kinds)):
                run(kind, i)
            line = (
                f"round {i + 1} (load {loads[-1]:.2f}): direct {direct_rates[-1]:6.1f} inst/s, "
                f"Orthanc CPU {direct_cpu[-1] * 1000:.1f} ms/inst"
            )
            for kind, name in (("gw", "gateway"), ("filter", "orthanc+filter")):
                if arms[kind]:
                    rate, acked, cpu, vis = arms[kind][-1]
                    line += (
                        f"; {name} {rate:6.1f} end to end ({acked:.1f} acked), ratio "
                        f"{rate / direct_rates[-1]:.2f}, CPU {cpu * 1000:.1f} ms/inst, "
                        f"ack -> visible {vis:.2f} s"
                    )
            print(line, flush=True)

        print()
        print(
            f"## gateway ingest ({args.count} x {args.size}^2 CT, {mb:.0f} MB, {args.rounds} "
            f"alternating rounds, load average {statistics.mean(loads):.2f})"
        )
        med = statistics.median
        rows = [
            ("direct storescu -> Orthanc (median)", f"{med(direct_rates):.1f} inst/s"),
            ("direct Orthanc CPU per instance (median)", f"{med(direct_cpu) * 1000:.1f} ms"),
        ]
        for kind, name in (("gw", "gateway"), ("filter", "orthanc+filter")):
            if not arms[kind]:
                continue
            rates, acks, cpus, waits = (list(col) for col in zip(*arms[kind], strict=True))
            ratios = [r / d for r, d in zip(rates, direct_rates, strict=True)]
            rows += [
                (f"{name} end to end, stored+indexed", f"{med(rates):.1f} inst/s"),
                (f"{name} acked (median)", f"{med(acks):.1f} inst/s"),
                (f"{name} ratio per round", ", ".join(f"{r:.2f}" for r in ratios)),
                (f"{name} median ratio (goal >= 0.8)", f"{med(ratios):.2f}"),
                (f"{name} CPU per instance (median)", f"{med(cpus) * 1000:.1f} ms"),
                (f"{name} last ack -> visible (median, < 1 s)", f"{med(waits):.2f} s"),
                (f"{name} last ack -> visible (max)", f"{max(waits):.2f} s"),
            ]
        for label, value in rows:
            print(f"{label:<52}{value}")
    finally:
        if server is not None:
            server.should_exit = True
        if gw_proc is not None:
            if spy is not None:
                spy.send_signal(2)
                spy.wait(timeout=30)
            gw_proc.terminate()
            try:
                gw_proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                gw_proc.kill()
        if feed_proc is not None:
            feed_proc.terminate()
            feed_proc.wait(timeout=30)
        plain.cleanup()
        orthanc.cleanup()
        pg.stop()
        if not os.environ.get("BENCH_KEEP"):  # keep logs for a look
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
