"""Reports of tiered care: referrals up/down per alliance and league, acceptance times,
closure rate (closed of completed) and referrals waiting past their contact date."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from referrals.models import Referral
from referrals.schemas import GroupCounts, ReferralReport
from referrals.states import WAITING
from telemed.core.db import local_day, local_week
from telemed.identity.models import User
from telemed.network.models import Alliance, AllianceMember, Department, Institution, League


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


@dataclass
class LeagueReferrals:
    """Referrals sent from one league's hospitals (drafts not counted)."""

    total: int = 0
    up: int = 0
    down: int = 0
    completed: int = 0  # completed or closed
    closed: int = 0

    @property
    def closure_rate(self) -> float | None:
        """Closed of completed, as `referral_report` counts it."""
        return round(self.closed / self.completed, 4) if self.completed else None


def by_league(*, session: Session, since: datetime, until: datetime) -> dict[str, LeagueReferrals]:
    """Per league of the sending hospital: referrals sent in [since, until), one GROUP BY."""

    def n(cond: Any) -> Any:
        return func.count().filter(cond)

    rows = session.execute(
        sa_select(
            col(Institution.league_code),
            func.count(),
            n(col(Referral.direction) == "up"),
            n(col(Referral.direction) == "down"),
            n(col(Referral.status).in_(("completed", "closed"))),
            n(col(Referral.status) == "closed"),
        )
        .join(Institution, col(Institution.id) == Referral.from_institution_id)
        .where(
            col(Referral.requested_at).is_not(None),
            col(Referral.requested_at) >= since,
            col(Referral.requested_at) < until,
        )
        .group_by(col(Institution.league_code))
    ).all()
    return {code: LeagueReferrals(*(int(v) for v in counts)) for code, *counts in rows}


def by_day(*, session: Session, since: datetime, until: datetime, tz: str) -> dict[date, int]:
    """Referrals sent per calendar day in `tz`, over [since, until)."""
    day = local_day(session, col(Referral.requested_at), tz)
    rows = session.execute(
        select(day, func.count())
        .where(col(Referral.requested_at) >= since, col(Referral.requested_at) < until)
        .group_by(day)
    ).all()
    return {d: int(n) for d, n in rows}


@dataclass
class ReceivedReferrals:
    """Referrals one hospital received in a group (drafts are never received)."""

    up: int = 0
    down: int = 0
    completed: int = 0  # completed or closed
    closed: int = 0


def received_by_week(
    *, session: Session, since: datetime, until: datetime, tz: str, scope: Any | None = None
) -> dict[tuple[Any, str, date], ReceivedReferrals]:
    """Per receiving hospital, specialty and ISO week (in `tz`) of sending, over referrals
    sent in [since, until): up, down, completed (or closed) and closed. The specialty is the
    receiving department's, else the named specialist's, else '' (not named).
    `scope`: a SELECT of institution ids to keep."""
    spec = func.coalesce(col(Department.specialty_code), col(User.specialty_code), "")
    week = local_week(session, col(Referral.requested_at), tz)
    keys = [col(Referral.to_institution_id), spec, week]

    def n(cond: Any) -> Any:
        return func.count().filter(cond)

    conds: list[Any] = [
        col(Referral.requested_at).is_not(None),
        col(Referral.requested_at) >= since,
        col(Referral.requested_at) < until,
    ]
    if scope is not None:
        conds.append(col(Referral.to_institution_id).in_(scope))
    rows = session.execute(
        sa_select(
            *keys,
            n(col(Referral.direction) == "up"),
            n(col(Referral.direction) == "down"),
            n(col(Referral.status).in_(("completed", "closed"))),
            n(col(Referral.status) == "closed"),
        )
        .select_from(Referral)
        .outerjoin(Department, col(Department.id) == Referral.to_department_id)
        .outerjoin(User, col(User.id) == Referral.to_specialist_id)
        .where(*conds)
        .group_by(*keys)
    ).all()
    return {(i, s, w): ReceivedReferrals(*(int(v) for v in counts)) for i, s, w, *counts in rows}


def sent_outside_alliances(
    *, session: Session, since: datetime, until: datetime
) -> dict[Any, tuple[int, int]]:
    """Per alliance: (referrals its member hospitals sent in [since, until), of them those
    to a hospital outside the alliance)."""
    sender = aliased(AllianceMember, name="sender")
    receiver = aliased(AllianceMember, name="receiver")
    rows = session.execute(
        sa_select(
            col(sender.alliance_id),
            func.count(),
            func.count().filter(col(receiver.institution_id).is_(None)),
        )
        .select_from(Referral)
        .join(sender, col(sender.institution_id) == Referral.from_institution_id)
        .outerjoin(
            receiver,
            and_(
                col(receiver.alliance_id) == sender.alliance_id,
                col(receiver.institution_id) == Referral.to_institution_id,
            ),
        )
        .where(
            col(Referral.requested_at).is_not(None),
            col(Referral.requested_at) >= since,
            col(Referral.requested_at) < until,
        )
        .group_by(col(sender.alliance_id))
    ).all()
    return {a: (int(total), int(outside)) for a, total, outside in rows}
