"""Referral decisions under contention, and the referral report.

    python benchmarks/referral_decisions.py [--referrals 300] [--threads 8]

Starts a throwaway PostgreSQL (migrated, demo-seeded), creates N referrals waiting at the
league hospital in state `received`, and races an accept and a reject for every referral
from T threads (each call its own transaction through `referrals.service.transition`: row
lock, state machine, event, notifications). Checks that every referral has exactly one
decision. Baseline in the same run: the same number of transactions each doing one plain
`UPDATE referral SET updated_at = ...` of the same rows from the same threads.
Then times `referrals.reports.referral_report` over those referrals against a plain
`SELECT status, count(*) ... GROUP BY status` baseline.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from _scheduling_harness import database  # type: ignore[import-not-found]


def prepare(n: int) -> tuple[list[uuid.UUID], uuid.UUID, uuid.UUID]:
    """N received referrals county hospital -> league hospital; two deciding doctors."""
    from sqlalchemy import insert
    from sqlmodel import Session, select

    from referrals.models import Referral
    from telemed.core.db import get_engine
    from telemed.core.ids import uuid7
    from telemed.identity.models import User
    from telemed.network.models import Institution, Tier

    now = datetime.now(UTC)
    with Session(get_engine()) as s:
        cd = s.execute(select(User).where(User.username == "county-doctor")).scalar_one()
        patient = s.execute(select(User).where(User.username == "patient")).scalar_one()
        county = s.get(Institution, cd.institution_id)
        assert county is not None
        league = s.execute(
            select(Institution).where(
                Institution.tier == Tier.LEAGUE, Institution.league_code == county.league_code
            )
        ).scalar_one()
        a, b = (
            s.execute(
                select(User.id).where(User.institution_id == league.id).order_by(User.username)
            )
            .scalars()
            .all()[:2]
        )
        ids = [uuid7() for _ in range(n)]
        s.execute(
            insert(Referral),
            [
                {
                    "id": rid,
                    "patient_id": patient.patient_id,
                    "from_doctor_id": cd.id,
                    "from_institution_id": county.id,
                    "to_institution_id": league.id,
                    "direction": "up",
                    "urgency": "routine",
                    "reason": "benchmark",
                    "diagnosis_code": "I10",
                    "status": "received",
                    "attachments": [],
                    "contact_by": now + timedelta(days=14),
                    "requested_at": now - timedelta(hours=random.randint(1, 48)),
                    "created_at": now,
                    "updated_at": now,
                }
                for rid in ids
            ],
        )
        s.commit()
    return ids, a, b


def race(ids: list[uuid.UUID], a: uuid.UUID, b: uuid.UUID, threads: int) -> tuple[float, int]:
    from sqlmodel import Session

    from referrals import service
    from telemed.core.db import get_engine
    from telemed.core.errors import Conflict
    from telemed.core.settings import get_settings
    from telemed.identity.models import User

    settings = get_settings()
    tasks = [(rid, "accept", a) for rid in ids] + [(rid, "reject", b) for rid in ids]
    random.shuffle(tasks)

    def decide(task: tuple[uuid.UUID, str, uuid.UUID]) -> int:
        rid, action, user_id = task
        with Session(get_engine(), expire_on_commit=False) as s:
            by = s.get(User, user_id)
            assert by is not None
            try:
                service.transition(
                    session=s,
                    referral_id=rid,
                    action=action,
                    by=by,
                    now=datetime.now(UTC),
                    settings=settings,
                    reason="no capacity" if action == "reject" else None,
                )
                s.commit()
                return 1
            except Conflict:
                s.rollback()
                return 0

    t = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        wins = sum(pool.map(decide, tasks))
    return time.perf_counter() - t, wins


def baseline(ids: list[uuid.UUID], threads: int) -> float:
    from sqlalchemy import text
    from sqlmodel import Session

    from telemed.core.db import get_engine

    tasks = ids + ids
    random.shuffle(tasks)

    def touch(rid: uuid.UUID) -> None:
        with Session(get_engine()) as s:
            s.execute(
                text("UPDATE referral SET updated_at = :t WHERE id = :id"),
                {"t": datetime.now(UTC), "id": rid},
            )
            s.commit()

    t = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(touch, tasks))
    return time.perf_counter() - t


def check(ids: list[uuid.UUID]) -> int:
    """Referrals with other than exactly one decision (must be 0)."""
    from sqlalchemy import func
    from sqlmodel import Session, col, select

    from referrals.models import ReferralEvent
    from telemed.core.db import get_engine

    with Session(get_engine()) as s:
        rows = dict(
            s.execute(
                select(ReferralEvent.referral_id, func.count())
                .where(
                    col(ReferralEvent.referral_id).in_(ids),
                    col(ReferralEvent.action).in_(["accept", "reject"]),
                )
                .group_by(col(ReferralEvent.referral_id))
            ).all()
        )
    return sum(1 for rid in ids if rows.get(rid) != 1)


def report_times(runs: int) -> tuple[float, float]:
    from sqlalchemy import text
    from sqlmodel import Session

    from referrals.reports import referral_report
    from telemed.core.db import get_engine

    rep, base = [], []
    with Session(get_engine()) as s:
        for _ in range(runs):
            t = time.perf_counter()
            referral_report(session=s, now=datetime.now(UTC))
            rep.append(time.perf_counter() - t)
            t = time.perf_counter()
            s.execute(text("SELECT status, count(*) FROM referral GROUP BY status")).all()
            base.append(time.perf_counter() - t)
    return statistics.median(rep), statistics.median(base)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--referrals", type=int, default=300)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    with database():
        ids, a, b = prepare(args.referrals)
        took, wins = race(ids, a, b, args.threads)
        bad = check(ids)
        base = baseline(ids, args.threads)
        n = 2 * len(ids)
        print(
            f"decisions: {n} accept/reject calls on {len(ids)} referrals, {args.threads} threads: "
            f"{n / took:.0f} calls/s, {wins} winners, referrals without exactly one decision: {bad}"
        )
        print(f"baseline: {n} plain UPDATE transactions: {n / base:.0f} tx/s")
        print(f"ratio (decisions / baseline): {base / took:.2f}")
        rep, rbase = report_times(7)
        print(
            f"report over {len(ids)} referrals: {rep * 1000:.1f} ms (median of 7); "
            f"baseline GROUP BY status: {rbase * 1000:.1f} ms; ratio {rep / rbase:.1f}x"
        )
        assert bad == 0 and wins == len(ids)


if __name__ == "__main__":
    main()
