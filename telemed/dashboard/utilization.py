"""Utilization (资源利用) on the network dashboard: per hospital, specialty and ISO week
(Asia/Shanghai) the places offered and their use, the consultation decisions with their
median times, and the referrals received with their closure; the specialists overloaded
this week; the alliances sending work outside themselves. Each figure is one grouped
statement in the domain that owns the rows (`scheduling.reports`,
`telemed.consultations.reports`, `referrals.reports`); this module only joins the groups."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select
from sqlmodel import Session, col, select

from referrals import reports as referral_reports
from scheduling import reports as scheduling_reports
from telemed.consultations import reports as consultation_reports
from telemed.core.clock import SHANGHAI
from telemed.core.errors import Invalid
from telemed.dashboard.schemas import (
    AllianceOutside,
    OverloadedSpecialist,
    OverloadRule,
    UtilizationDashboard,
    UtilizationRow,
    UtilizationTotals,
)
from telemed.identity.models import User
from telemed.network.models import Alliance, AllianceMember, Department, Institution, League

TIMEZONE = "Asia/Shanghai"
DEFAULT_WEEKS = 4
MAX_WEEKS = 53
# Overloaded this week: booked ≥ 90 % of at least 4 places offered, or ≥ 10 open requests.
OVERLOAD = OverloadRule(booked_share=0.9, min_offered=4, open_worklist=10)
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def iso_week(d: date) -> str:
    """`2026-W49` for any day of that ISO week."""
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def _monday(text: str, field: str) -> date:
    m = _WEEK.match(text)
    try:
        if m is None:
            raise ValueError(text)
        return date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError:
        raise Invalid(
            f"{text!r} is not an ISO week such as 2026-W49", field=field, code="bad_week"
        ) from None


def week_range(*, from_week: str | None, to_week: str | None, now: datetime) -> tuple[date, date]:
    """Mondays of the first and last week asked for; by default the last four weeks up to
    the current one (Asia/Shanghai)."""
    today = now.astimezone(SHANGHAI).date()
    last = _monday(to_week, "to_week") if to_week else today - timedelta(days=today.weekday())
    first = (
        _monday(from_week, "from_week") if from_week else last - timedelta(weeks=DEFAULT_WEEKS - 1)
    )
    if first > last:
        raise Invalid("the first week is after the last", field="from_week", code="bad_range")
    if (last - first).days // 7 + 1 > MAX_WEEKS:
        raise Invalid(
            f"the range is longer than {MAX_WEEKS} weeks", field="to_week", code="range_too_long"
        )
    return first, last


def _utc(d: date) -> datetime:
    return datetime.combine(d, time(), SHANGHAI).astimezone(UTC)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _scope(session: Session, league: str | None, alliance: str | None) -> Select[Any] | None:
    """A SELECT of the institution ids the filters keep (None: every institution)."""
    if league is None and alliance is None:
        return None
    scope = select(Institution.id)
    if league is not None:
        if session.get(League, league) is None:
            raise Invalid(f"no league {league!r}", field="league", code="unknown_league")
        scope = scope.where(col(Institution.league_code) == league)
    if alliance is not None:
        if session.execute(select(Alliance.id).where(Alliance.code == alliance)).first() is None:
            raise Invalid(f"no alliance {alliance!r}", field="alliance", code="unknown_alliance")
        members = (
            select(AllianceMember.institution_id)
            .join(Alliance, col(Alliance.id) == AllianceMember.alliance_id)
            .where(Alliance.code == alliance)
        )
        scope = scope.where(col(Institution.id).in_(members))
    return scope


def _rows(session: Session, first: date, last: date, scope: Any) -> list[UtilizationRow]:
    since, until = _utc(first), _utc(last + timedelta(days=7))
    slots = scheduling_reports.slot_use(
        session=session, since=since, until=until, tz=TIMEZONE, scope=scope
    )
    work = consultation_reports.workload(
        session=session, since=since, until=until, tz=TIMEZONE, scope=scope
    )
    refs = referral_reports.received_by_week(
        session=session, since=since, until=until, tz=TIMEZONE, scope=scope
    )
    keys = set(slots) | set(work) | set(refs)
    inst_ids = {k[0] for k in keys}
    insts = {
        i.id: i
        for i in session.execute(
            select(Institution).where(col(Institution.id).in_(list(inst_ids)))
        ).scalars()
    }
    depts = {
        (d.institution_id, d.specialty_code): d.name_zh
        for d in session.execute(
            select(Department).where(col(Department.institution_id).in_(list(inst_ids)))
        ).scalars()
    }
    rows = []
    for key in keys:
        inst_id, spec, monday = key
        inst = insts[inst_id]
        s = slots.get(key, scheduling_reports.SlotUse())
        w = work.get(key, consultation_reports.Workload())
        r = refs.get(key, referral_reports.ReceivedReferrals())
        rows.append(
            UtilizationRow(
                week=iso_week(monday),
                week_start=monday,
                institution_id=str(inst.id),
                institution_code=inst.code,
                institution_name_zh=inst.name_zh,
                institution_name_en=inst.name_en,
                league_code=inst.league_code,
                tier=inst.tier,
                specialty_code=spec,
                specialty_name_zh=depts.get((inst_id, spec), ""),
                offered=s.offered,
                booked=s.booked,
                used=s.used,
                noshows=s.noshows,
                booked_share=_ratio(s.booked, s.offered),
                consultations_accepted=w.accepted,
                consultations_declined=w.declined,
                consultations_redirected=w.redirected,
                median_accept_minutes=w.median_accept_minutes,
                median_report_minutes=w.median_report_minutes,
                referrals_up=r.up,
                referrals_down=r.down,
                referrals_completed=r.completed,
                referrals_closed=r.closed,
                closure_rate=_ratio(r.closed, r.completed),
            )
        )
    rows.sort(key=lambda x: (x.week_start, x.league_code, x.institution_code, x.specialty_code))
    return rows


def _totals(rows: list[UtilizationRow]) -> UtilizationTotals:
    def total(name: str) -> int:
        return sum(int(getattr(r, name)) for r in rows)

    names = [n for n in UtilizationTotals.model_fields if n not in ("booked_share", "closure_rate")]
    sums = {n: total(n) for n in names}
    return UtilizationTotals(
        **sums,
        booked_share=_ratio(sums["booked"], sums["offered"]),
        closure_rate=_ratio(sums["referrals_closed"], sums["referrals_completed"]),
    )


def overloaded(*, session: Session, now: datetime, scope: Any = None) -> list[OverloadedSpecialist]:
    """Specialists overloaded in the current ISO week (Asia/Shanghai), by `OVERLOAD`:
    booked of offered places ≥ 0.9 with ≥ 4 offered, or ≥ 10 open requests; busiest first."""
    today = now.astimezone(SHANGHAI).date()
    monday = today - timedelta(days=today.weekday())
    load = scheduling_reports.specialist_load(
        session=session, since=_utc(monday), until=_utc(monday + timedelta(days=7)), scope=scope
    )
    staff = select(User.id).where(col(User.specialty_code).is_not(None))
    if scope is not None:
        staff = staff.where(col(User.institution_id).in_(scope))
    worklist = consultation_reports.open_worklist(session=session, specialist_ids=staff)
    flagged: dict[uuid.UUID, list[str]] = {}
    for who in set(load) | set(worklist):
        use = load.get(who, scheduling_reports.SlotUse())
        reasons = []
        share = _ratio(use.booked, use.offered)
        if use.offered >= OVERLOAD.min_offered and share is not None:
            if share >= OVERLOAD.booked_share:
                reasons.append("booked_share")
        if worklist.get(who, 0) >= OVERLOAD.open_worklist:
            reasons.append("open_worklist")
        if reasons:
            flagged[who] = reasons
    people = session.execute(
        select(User, Institution)
        .join(Institution, col(Institution.id) == User.institution_id)
        .where(col(User.id).in_(list(flagged)))
    ).all()
    out = []
    for user, inst in people:
        use = load.get(user.id, scheduling_reports.SlotUse())
        out.append(
            OverloadedSpecialist(
                specialist_id=str(user.id),
                name=user.full_name,
                title=user.title,
                institution_id=str(inst.id),
                institution_name_zh=inst.name_zh,
                league_code=inst.league_code,
                specialty_code=user.specialty_code or "",
                offered=use.offered,
                booked=use.booked,
                booked_share=_ratio(use.booked, use.offered),
                open_worklist=worklist.get(user.id, 0),
                reasons=flagged[user.id],
            )
        )
    out.sort(key=lambda o: (-(o.booked_share or 0), -o.open_worklist, o.name, o.specialist_id))
    return out


def outside(
    *,
    session: Session,
    first: date,
    last: date,
    league: str | None = None,
    alliance: str | None = None,
) -> list[AllianceOutside]:
    """Alliances whose members sent consultations or referrals in the weeks, with the share
    sent to hospitals outside the alliance; highest share first."""
    since, until = _utc(first), _utc(last + timedelta(days=7))
    cons = consultation_reports.sent_outside_alliances(session=session, since=since, until=until)
    refs = referral_reports.sent_outside_alliances(session=session, since=since, until=until)
    ids = set(cons) | set(refs)
    stmt = select(Alliance).where(col(Alliance.id).in_(list(ids)))
    if league is not None:
        stmt = stmt.where(col(Alliance.league_code) == league)
    if alliance is not None:
        stmt = stmt.where(col(Alliance.code) == alliance)
    out = []
    for a in session.execute(stmt).scalars():
        c_all, c_out = cons.get(a.id, (0, 0))
        r_all, r_out = refs.get(a.id, (0, 0))
        out.append(
            AllianceOutside(
                alliance_code=a.code,
                name_zh=a.name_zh,
                kind=a.kind,
                league_code=a.league_code,
                specialty_code=a.specialty_code,
                consultations=c_all,
                consultations_outside=c_out,
                referrals=r_all,
                referrals_outside=r_out,
                outside_share=_ratio(c_out + r_out, c_all + r_all),
            )
        )
    out.sort(key=lambda o: (-(o.outside_share or 0), o.alliance_code))
    return out


def utilization(
    *,
    session: Session,
    now: datetime,
    from_week: str | None = None,
    to_week: str | None = None,
    league: str | None = None,
    alliance: str | None = None,
) -> UtilizationDashboard:
    """The utilization rows of the weeks with their totals, this week's overloaded
    specialists and the alliances' work sent outside, under the league/alliance filters."""
    first, last = week_range(from_week=from_week, to_week=to_week, now=now)
    scope = _scope(session, league, alliance)
    rows = _rows(session, first, last, scope)
    weeks = [iso_week(first + timedelta(weeks=i)) for i in range((last - first).days // 7 + 1)]
    return UtilizationDashboard(
        from_week=weeks[0],
        to_week=weeks[-1],
        weeks=weeks,
        current_week=iso_week(now.astimezone(SHANGHAI).date()),
        timezone=TIMEZONE,
        generated_at=now,
        league=league,
        alliance=alliance,
        overload_rule=OVERLOAD,
        totals=_totals(rows),
        rows=rows,
        overloaded=overloaded(session=session, now=now, scope=scope),
        outside=outside(session=session, first=first, last=last, league=league, alliance=alliance),
    )
