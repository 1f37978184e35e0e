"""Utilization on the network dashboard at the full network: `utilization()` (one grouped
statement per figure) over the slots of every demo doctor of the 131 network hospitals
(--slots-per-day a day for --days days up to now, --booked of them booked, a tenth of those
no-shows), --consultations requests with their `accept` transitions and --referrals
referrals spread over a year, against two baselines measured in the same run on the same
window:

* scan floor: `count(*)` of the window's slots, bookings, transitions, consultations and
  referrals (one pass each, no grouping);
* row loading: fetching those rows as ORM objects, the least a per-row Python tally would
  have to do before counting anything.

    python benchmarks/utilization.py  # --consultations 200000 --referrals 100000 --runs 5
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a plain script

from benchmarks._scheduling_harness import database
from benchmarks.dashboard import BREACHES, FILL, REFERRALS, timed

SLOTS = """
INSERT INTO scheduling_slot (id, institution_id, specialist_id, specialty_code, service_class,
  league_code, tier, institution_name, specialist_name, start_at, end_at, capacity, reserved,
  release_at, booked, reserved_booked, status, created_at)
SELECT gen_random_uuid(), u.institution_id, u.id, u.specialty_code, 'outpatient',
  i.league_code, i.tier, i.name_zh, u.full_name,
  :start + d * interval '1 day' + k * interval '30 minutes',
  :start + d * interval '1 day' + (k + 1) * interval '30 minutes', 1, 0,
  :start + d * interval '1 day' - interval '48 hours', 0, 0, 'active', :start
FROM user_account u JOIN institution i ON i.id = u.institution_id,
  generate_series(0, :days - 1) AS d, generate_series(0, :per_day - 1) AS k
WHERE u.username LIKE 'dr-%' AND i.in_network AND u.specialty_code IS NOT NULL
"""

# person_id is random: no two bookings of one person overlap (the exclusion constraint)
BOOKINGS = """
INSERT INTO scheduling_booking (id, slot_id, booked_by_id, person_id, status, start_at, end_at,
  institution_id, specialist_id, service_class, uses_reserved, needs_reschedule, status_reason,
  status_changed_at, created_at)
SELECT gen_random_uuid(), s.id, s.specialist_id, gen_random_uuid(),
  CASE WHEN random() < 0.1 THEN 'noshow' ELSE 'fulfilled' END, s.start_at, s.end_at,
  s.institution_id, s.specialist_id, s.service_class, false, false, '', s.start_at,
  s.start_at - interval '1 day'
FROM scheduling_slot s WHERE s.start_at >= :start AND random() < :booked
"""

ACCEPTS = """
INSERT INTO consultation_transition (id, consultation_id, action, from_state, to_state, at,
  reason, data)
SELECT gen_random_uuid(), id, 'accept', 'submitted', 'accepted', accepted_at, '', '{}'::json
FROM consultation WHERE summary = 'bench' AND accepted_at IS NOT NULL
"""


def _windows() -> list[tuple[Any, Any]]:
    from referrals.models import Referral
    from scheduling.models import Booking, Slot
    from telemed.consultations.models import Consultation, ConsultationTransition

    return [
        (Slot, Slot.start_at),
        (Booking, Booking.start_at),
        (ConsultationTransition, ConsultationTransition.at),
        (Consultation, Consultation.submitted_at),
        (Referral, Referral.requested_at),
    ]


def _scan(s: Any, since: datetime, until: datetime) -> int:
    from sqlalchemy import func, select

    return sum(
        s.execute(
            select(func.count()).select_from(model).where(column >= since, column < until)
        ).scalar_one()
        for model, column in _windows()
    )


def _load(s: Any, since: datetime, until: datetime) -> None:
    from sqlalchemy import select

    for model, column in _windows():
        s.execute(select(model).where(column >= since, column < until)).scalars().all()
        s.expunge_all()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--consultations", type=int, default=200_000)
    ap.add_argument("--referrals", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=91)
    ap.add_argument("--slots-per-day", type=int, default=10)
    ap.add_argument("--booked", type=float, default=0.7)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with database() as (url, _dsn):
        from sqlalchemy import text
        from sqlmodel import Session

        from telemed.core.clock import SHANGHAI
        from telemed.core.db import get_engine
        from telemed.dashboard import utilization
        from telemed.dashboard.utilization import iso_week

        now = datetime.now(UTC)
        start = now - timedelta(days=args.days)
        engine = get_engine()
        t = time.perf_counter()
        with Session(engine) as s:
            s.execute(text(FILL), {"now": now, "n": args.consultations})
            s.execute(text(BREACHES))
            s.execute(text(ACCEPTS))
            s.execute(text(REFERRALS), {"now": now, "n": args.referrals})
            s.execute(
                text(SLOTS), {"start": start, "days": args.days, "per_day": args.slots_per_day}
            )
            s.execute(text(BOOKINGS), {"start": start, "booked": args.booked})
            s.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE"))
        print(
            f"# filled {args.consultations} consultations, {args.referrals} referrals over 365 "
            f"days, {args.days} days of {args.slots_per_day} slots a day per demo doctor, "
            f"in {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        today = now.astimezone(SHANGHAI).date()
        monday = today - timedelta(days=today.weekday())
        for weeks in (4, 13):
            first = monday - timedelta(weeks=weeks - 1)
            since = datetime.combine(first, datetime.min.time(), SHANGHAI).astimezone(UTC)
            until = datetime.combine(
                monday + timedelta(days=7), datetime.min.time(), SHANGHAI
            ).astimezone(UTC)
            params = {"from_week": iso_week(first), "to_week": iso_week(monday)}
            with Session(engine) as s:
                out = utilization.utilization(session=s, now=now, **params)

                def board(s: Session = s, p: dict[str, str] = params) -> None:
                    utilization.utilization(session=s, now=now, **p)

                d = timed(board, args.runs)
                rows = _scan(s, since, until)
                f = timed(lambda s=s, a=since, b=until: _scan(s, a, b), args.runs)
                lo = timed(lambda s=s, a=since, b=until: _load(s, a, b), 1, warm=False)
            print(
                f"{weeks:>2} weeks: {rows} rows in the window -> {len(out.rows)} utilization rows, "
                f"{out.totals.offered} places offered, {out.totals.booked} booked, "
                f"{len(out.overloaded)} overloaded | utilization {d * 1000:.0f} ms | "
                f"scan floor {f * 1000:.0f} ms (x{d / f:.1f}) | "
                f"loading the rows {lo * 1000:.0f} ms (utilization is x{lo / d:.1f} faster)",
                flush=True,
            )


if __name__ == "__main__":
    main()
