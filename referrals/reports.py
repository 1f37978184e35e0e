"""Reports of tiered care: referrals up/down per alliance and league, acceptance times,
closure rate (closed of completed) and referrals waiting past their contact date."""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from referrals.models import Referral
from referrals.schemas import GroupCounts, ReferralReport
from referrals.states import WAITING
from telemed.network.models import Alliance, AllianceMember, League


def _groups(rows: Any) -> list[GroupCounts]:
    out: dict[str, GroupCounts] = {}
    for key, name, direction, n in rows:
        g = out.setdefault(str(key), GroupCounts(key=str(key), name=name))
        setattr(g, direction, getattr(g, direction) + int(n))
    return sorted(out.values(), key=lambda g: g.key)


def referral_report(
    *,
    session: Session,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    league_code: str | None = None,
) -> ReferralReport:
    """Counts over referrals sent (requested) in [since, until); drafts are not counted."""
    from telemed.network.models import Institution

    src = Institution.__table__.alias("src")  # type: ignore[attr-defined]
    conds: list[Any] = [col(Referral.requested_at).is_not(None)]
    if since:
        conds.append(col(Referral.requested_at) >= since)
    if until:
        conds.append(col(Referral.requested_at) < until)
    base = select(Referral).join(src, src.c.id == Referral.from_institution_id).where(*conds)
    if league_code:
        base = base.where(src.c.league_code == league_code)
    ids = base.with_only_columns(col(Referral.id)).subquery()
    mine = col(Referral.id).in_(select(ids.c.id))

    by_direction = dict(
        session.execute(
            select(Referral.direction, func.count()).where(mine).group_by(col(Referral.direction))
        ).all()
    )
    by_status = dict(
        session.execute(
            select(Referral.status, func.count()).where(mine).group_by(col(Referral.status))
        ).all()
    )
    by_league = _groups(
        session.execute(
            select(League.code, League.name_zh, Referral.direction, func.count())
            .join(src, src.c.id == Referral.from_institution_id)
            .join(League, col(League.code) == src.c.league_code)
            .where(mine)
            .group_by(col(League.code), col(League.name_zh), col(Referral.direction))
        ).all()
    )
    by_alliance = _groups(
        session.execute(
            select(Alliance.code, Alliance.name_zh, Referral.direction, func.count())
            .join(
                AllianceMember, col(AllianceMember.institution_id) == Referral.from_institution_id
            )
            .join(Alliance, col(Alliance.id) == AllianceMember.alliance_id)
            .where(mine)
            .group_by(col(Alliance.code), col(Alliance.name_zh), col(Referral.direction))
        ).all()
    )
    pairs = session.execute(
        select(Referral.requested_at, Referral.accepted_at).where(
            mine, col(Referral.accepted_at).is_not(None)
        )
    ).all()
    hours = [(a - r).total_seconds() / 3600 for r, a in pairs if r is not None and a is not None]
    completed = int(by_status.get("completed", 0)) + int(by_status.get("closed", 0))
    waiting = session.execute(
        select(func.count()).where(
            mine, col(Referral.status).in_(WAITING), col(Referral.contact_by) < now
        )
    ).scalar_one()
    return ReferralReport(
        since=since,
        until=until,
        total=sum(int(v) for v in by_direction.values()),
        by_direction={k: int(v) for k, v in by_direction.items()},
        by_status={k: int(v) for k, v in by_status.items()},
        by_league=by_league,
        by_alliance=by_alliance,
        acceptance_hours_mean=round(statistics.fmean(hours), 2) if hours else None,
        acceptance_hours_median=round(statistics.median(hours), 2) if hours else None,
        closure_rate=round(int(by_status.get("closed", 0)) / completed, 4) if completed else None,
        waiting_past_contact_date=int(waiting),
    )
