"""The fixed cost of one audited DICOMweb read, in process: look-up + audit rows + commit.

    PYTHONPATH=. .venv/bin/python benchmarks/audited_read.py [--rounds 6] [--repeat 200]
        [--fsync-off]

Starts a throwaway durable PostgreSQL (default fsync and synchronous commit; migrated + demo
seed), indexes one study (its `dicom_study` row) sent by county-doctor's institution, with
its patient, then in `--rounds` rounds alternating which side goes first, `--repeat`
transactions per side:

- baseline: what a read cost before issue 17's audit work: the study and its links loaded
  through the ORM (`get_visible_study`), the audit event and its patient row added to the
  session and flushed by the unit of work at commit (two INSERTs), the commit;
- subject: `dicom.service.open_study`: look-up and audit rows in one statement, the commit.

Both write the same rows. Prints the medians (ms), their ratio, the part before the commit
(look-up + audit rows), the settings and the load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TELEMED_SECRET_KEY", "benchmark-secret-key-not-for-production")

from pydicom.uid import generate_uid  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from tests.support import pgserver  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6, help="alternating rounds")
    ap.add_argument("--repeat", type=int, default=200, help="reads per side per round")
    ap.add_argument(
        "--fsync-off",
        action="store_true",
        help="diagnosis only: the test harness's PostgreSQL (fsync, synchronous commit off), "
        "to see the CPU part without the disk",
    )
    args = ap.parse_args()
    pg = pgserver.start(durable=not args.fsync_off)
    try:
        os.environ["TELEMED_DATABASE_URL"] = pg.url_for("postgres")
        run(args)
    finally:
        pg.stop()


def run(args: argparse.Namespace) -> None:
    from dicom import service
    from dicom.models import Study
    from telemed.cli import upgrade_database
    from telemed.core import clock
    from telemed.core.audit import AuditEvent, AuditEventPatient
    from telemed.core.db import get_engine
    from telemed.core.settings import get_settings
    from telemed.identity.models import Patient, User
    from telemed.seed import seed_demo
    from telemed.wiring import wire

    wire()
    upgrade_database(os.environ["TELEMED_DATABASE_URL"])
    engine = get_engine()
    with Session(engine) as s:
        seed_demo(s, get_settings())
        s.commit()
    with Session(engine, expire_on_commit=False) as s:
        user = s.exec(select(User).where(User.username == "county-doctor")).one()
        patient = s.exec(select(Patient)).first()
        assert patient is not None
        uid = generate_uid()
        now = clock.now()
        s.add(  # the index row a STOW-RS from county-doctor's institution leaves
            Study(
                study_uid=uid,
                modality="CT",
                source_institution_id=user.institution_id,
                patient_id=patient.id,
                source_ae="BENCH",
                created_at=now,
                updated_at=now,
            )  # fmt: skip
        )
        s.commit()

    work: list[float] = []  # when each read's commit began

    def baseline() -> None:
        with Session(engine, expire_on_commit=False) as s:
            study = service.get_visible_study(session=s, user=user, study_uid=uid)
            event = AuditEvent(
                at=clock.now(), actor_id=user.id, actor_role=user.role, action="read",
                object_type="study", object_id=study.study_uid, patient_id=study.patient_id,
                detail={"what": "frames"},
            )  # fmt: skip
            s.add(event)
            s.add(AuditEventPatient(event_id=event.id, patient_id=patient.id))
            s.flush()  # what commit would flush first: the unit of work's two INSERTs
            work.append(time.perf_counter())
            s.commit()

    def subject() -> None:
        with Session(engine, expire_on_commit=False) as s:
            service.open_study(session=s, user=user, study_uid=uid, what="frames", now=clock.now())
            work.append(time.perf_counter())
            s.commit()

    sides = {"baseline (ORM)": baseline, "subject (one statement)": subject}
    for fn in sides.values():  # warm: pool, statement caches, prepared statements
        for _ in range(20):
            fn()
    times: dict[str, list[float]] = {k: [] for k in sides}
    before_commit: dict[str, list[float]] = {k: [] for k in sides}
    for rnd in range(args.rounds):
        order = list(sides) if rnd % 2 == 0 else list(reversed(sides))
        for name in order:
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                sides[name]()
                times[name].append((time.perf_counter() - t0) * 1000)
                before_commit[name].append((work[-1] - t0) * 1000)
    with Session(engine) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.object_id == uid)).all()
    assert len(rows) == 2 * (20 + args.rounds * args.repeat), len(rows)
    load = os.getloadavg()
    print(
        f"## audited read, in process ({args.rounds} alternating rounds x {args.repeat} "
        f"reads per side; {'fsync off (diagnosis)' if args.fsync_off else 'durable'} "
        "PostgreSQL; one look-up + audit rows + commit per read)"
    )
    base = statistics.median(times["baseline (ORM)"])
    for name, samples in times.items():
        med = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        pre = statistics.median(before_commit[name])
        print(
            f"{name:26s} median {med:6.2f} ms  p90 {p90:6.2f} ms  ratio {med / base:5.2f}"
            f"  (look-up + audit rows {pre:5.2f} ms, then the commit)"
        )
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cpus {os.cpu_count()}")


if __name__ == "__main__":
    main()
