"""Network dashboard over many rows: `network_dashboard()` (one GROUP BY per figure) on
--consultations requests and --referrals referrals spread over a year, against two
baselines measured in the same run on the same window:

* scan floor: `count(*)` of the window's consultations and referrals (one pass, no grouping);
* row loading: fetching the window's consultations and referrals as ORM objects, the least a
  per-row Python tally would have to do before counting anything.

    python benchmarks/dashboard.py  # --consultations 200000 --referrals 100000 --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks._scheduling_harness import database  # sets up sys.path and the env

FILL = """
WITH ids AS (
  SELECT (SELECT id FROM patient ORDER BY id LIMIT 1) AS patient_id,
         (SELECT id FROM user_account WHERE username = 'county-doctor') AS doctor_id,
         (SELECT institution_id FROM user_account WHERE username = 'county-doctor') AS inst_id,
         (SELECT array_agg(id ORDER BY id) FROM institution WHERE in_network) AS hospitals
), rows AS (
  SELECT i, ids.*, :now - (i % 365) * interval '1 day' - (i % 1440) * interval '1 minute' AS at
  FROM generate_series(1, :n) AS i, ids
)
INSERT INTO consultation (id, patient_id, requesting_doctor_id, requesting_institution_id,
  service_class, urgency, live_session, summary, question, wanted_specialty,
  receiving_institution_id, state, created_at, updated_at, submitted_at, accepted_at,
  reported_at, accept_due_at, report_due_at, fee_cents, currency, payment_state)
SELECT gen_random_uuid(), patient_id, doctor_id, inst_id, 'imaging_diagnosis', 'urgent', false,
  'bench', 'bench', 'radiology', hospitals[1 + i % array_length(hospitals, 1)],
  (ARRAY['submitted','accepted','reported','closed','expired'])[1 + i % 5], at, at, at,
  CASE WHEN i % 5 IN (1, 2, 3) THEN at + (i % 180) * interval '1 minute' END,
  CASE WHEN i % 5 IN (2, 3) THEN at + (i % 2000) * interval '1 minute' END,
  at + interval '120 minutes', at + interval '1560 minutes', 0, 'CNY', 'unpaid'
FROM rows
"""

BREACHES = """
INSERT INTO consultation_sla_breach (id, consultation_id, kind, due_at, detected_at, escalated_to)
SELECT gen_random_uuid(), id, 'accept', accept_due_at, accept_due_at, '[]'::json
FROM consultation WHERE summary = 'bench' AND (accepted_at > accept_due_at OR state = 'expired')
"""

REFERRALS = """
WITH ids AS (
  SELECT (SELECT id FROM patient ORDER BY id LIMIT 1) AS patient_id,
         (SELECT id FROM user_account WHERE username = 'county-doctor') AS doctor_id,
         (SELECT array_agg(id ORDER BY id) FROM institution WHERE in_network) AS hospitals
), rows AS (
  SELECT i, ids.*, :now - (i % 365) * interval '1 day' - (i % 1440) * interval '1 minute' AS at
  FROM generate_series(1, :n) AS i, ids
)
INSERT INTO referral (id, patient_id, from_doctor_id, from_institution_id, to_institution_id,
  direction, urgency, green_channel, reason, diagnosis_code, diagnosis_text, clinical_summary,
  attachments, insurance_notes, status, escalation_level, created_at, requested_at, updated_at)
SELECT gen_random_uuid(), patient_id, doctor_id,
  hospitals[1 + i % array_length(hospitals, 1)],
  hospitals[1 + (i + 7) % array_length(hospitals, 1)],
  CASE WHEN i % 3 = 0 THEN 'down' ELSE 'up' END, 'routine', false, 'bench', 'I20.9', '', '',
  '[]'::json, '', (ARRAY['requested','accepted','completed','closed','closed'])[1 + i % 5], 0,
  at, at, at
FROM rows
"""


def _windows() -> list[tuple[Any, Any]]:
    from referrals.models import Referral
    from telemed.consultations.models import Consultation

    return [(Consultation, Consultation.submitted_at), (Referral, Referral.requested_at)]


def _scan(s: Any, since: datetime, until: datetime) -> None:
    from sqlalchemy import func, select

    for model, column in _windows():
        s.execute(
            select(func.count()).select_from(model).where(column >= since, column < until)
        ).scalar_one()


def _load(s: Any, since: datetime, until: datetime) -> None:
    from sqlalchemy import select

    for model, column in _windows():
        s.execute(select(model).where(column >= since, column < until)).scalars().all()
        s.expunge_all()


def timed(fn: Callable[[], object], runs: int, *, warm: bool = True) -> float:
    """Median seconds of `runs` calls (after one warm-up unless `warm` is False)."""
    if warm:
        fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--consultations", type=int, default=200_000)
    ap.add_argument("--referrals", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with database() as (url, _dsn):
        from sqlalchemy import text
        from sqlmodel import Session

        from telemed.core.clock import SHANGHAI
        from telemed.core.db import get_engine
        from telemed.dashboard import service

        now = datetime.now(UTC)
        engine = get_engine()
        t = time.perf_counter()
        with Session(engine) as s:
            s.execute(text(FILL), {"now": now, "n": args.consultations})
            s.execute(text(BREACHES))
            s.execute(text(REFERRALS), {"now": now, "n": args.referrals})
            s.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE"))
        print(
            f"# filled {args.consultations} consultations, {args.referrals} referrals over 365 "
            f"days in {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        for days in (30, 365):
            end = now.astimezone(SHANGHAI).date()
            start = end - timedelta(days=days - 1)
            since = datetime.combine(start, datetime.min.time(), UTC) - timedelta(hours=8)
            until = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC) - timedelta(
                hours=8
            )
            with Session(engine) as s:
                out = service.network_dashboard(session=s, now=now, start=start, end=end)

                def dashboard(s: Session = s, start: date = start, end: date = end) -> None:
                    service.network_dashboard(session=s, now=now, start=start, end=end)

                d = timed(dashboard, args.runs)
                f = timed(lambda s=s, a=since, b=until: _scan(s, a, b), args.runs)
                lo = timed(lambda s=s, a=since, b=until: _load(s, a, b), 1, warm=False)
            print(
                f"{days:>3} days: {out.totals.consultations} consultations, "
                f"{out.totals.referrals} referrals | dashboard {d * 1000:.0f} ms | "
                f"scan floor {f * 1000:.0f} ms (x{d / f:.1f}) | "
                f"loading the rows {lo * 1000:.0f} ms (dashboard is x{lo / d:.1f} faster)",
                flush=True,
            )


if __name__ == "__main__":
    main()
