"""Figures of the network dashboard: hospitals, consultations with their service levels and
referrals with their closure, per league and per day, each counted by one GROUP BY in the
domain that owns the rows (`service_levels`, `referrals.reports`, `network.service`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from referrals import reports as referral_reports
from telemed.consultations import service_levels
from telemed.core.clock import SHANGHAI
from telemed.core.errors import Invalid
from telemed.dashboard.schemas import DayFigures, Figures, LeagueFigures, NetworkDashboard
from telemed.network import service as network_service

TIMEZONE = "Asia/Shanghai"
DEFAULT_DAYS = 30
MAX_DAYS = 366


def date_range(*, start: date | None, end: date | None, now: datetime) -> tuple[date, date]:
    """The days asked for (inclusive); by default the last 30 days up to today in Shanghai."""
    end = end or now.astimezone(SHANGHAI).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Invalid("the start day is after the end day", field="start", code="bad_range")
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid(
            f"the range is longer than {MAX_DAYS} days", field="end", code="range_too_long"
        )
    return start, end


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in Shanghai, as UTC."""
    since = datetime.combine(start, time(), SHANGHAI).astimezone(UTC)
    until = datetime.combine(end + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)
    return since, until


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _figures(
    hospitals: int,
    tally: service_levels.Tally,
    states: dict[str, int],
    refs: referral_reports.LeagueReferrals,
) -> dict[str, object]:
    measured = tally.accept_measured + tally.report_measured
    met = tally.accepted_in_time + tally.reported_in_time
    return {
        "hospitals": hospitals,
        "consultations": tally.requests,
        "consultations_by_state": dict(sorted(states.items())),
        "accept_measured": tally.accept_measured,
        "accepted_in_time": tally.accepted_in_time,
        "accept_breaches": tally.accept_breaches,
        "report_measured": tally.report_measured,
        "reported_in_time": tally.reported_in_time,
        "report_breaches": tally.report_breaches,
        "sla_compliance": _ratio(met, measured),
        "referrals": refs.total,
        "referrals_up": refs.up,
        "referrals_down": refs.down,
        "referrals_completed": refs.completed,
        "referrals_closed": refs.closed,
        "closure_rate": refs.closure_rate,
    }


def network_dashboard(
    *, session: Session, now: datetime, start: date | None = None, end: date | None = None
) -> NetworkDashboard:
    """Every league's figures, the network totals and a dense per-day series."""
    first, last = date_range(start=start, end=end, now=now)
    since, until = _utc_bounds(first, last)
    cons = service_levels.by_league(session=session, start=since, end=until)
    refs = referral_reports.by_league(session=session, since=since, until=until)
    leagues: list[LeagueFigures] = []
    total_tally = service_levels.Tally()
    total_states: dict[str, int] = {}
    total_refs = referral_reports.LeagueReferrals()
    total_hospitals = 0
    for league, hospitals in network_service.leagues_with_hospitals(session=session):
        tally, states = cons.get(league.code, (service_levels.Tally(), {}))
        r = refs.get(league.code, referral_reports.LeagueReferrals())
        leagues.append(
            LeagueFigures(
                code=league.code,
                name_zh=league.name_zh,
                name_en=league.name_en,
                **_figures(hospitals, tally, states, r),  # type: ignore[arg-type]
            )
        )
        total_hospitals += hospitals
        for name, value in vars(tally).items():
            setattr(total_tally, name, getattr(total_tally, name) + value)
        for state, n in states.items():
            total_states[state] = total_states.get(state, 0) + n
        for name, value in vars(r).items():
            setattr(total_refs, name, getattr(total_refs, name) + value)

    cons_days = service_levels.by_day(session=session, start=since, end=until, tz=TIMEZONE)
    ref_days = referral_reports.by_day(session=session, since=since, until=until, tz=TIMEZONE)
    days = []
    for i in range((last - first).days + 1):
        d = first + timedelta(days=i)
        t = cons_days.get(d, service_levels.Tally())
        days.append(
            DayFigures(
                day=d,
                consultations=t.requests,
                referrals=ref_days.get(d, 0),
                sla_compliance=_ratio(
                    t.accepted_in_time + t.reported_in_time, t.accept_measured + t.report_measured
                ),
            )
        )
    return NetworkDashboard(
        start=first,
        end=last,
        timezone=TIMEZONE,
        generated_at=now,
        totals=Figures(**_figures(total_hospitals, total_tally, total_states, total_refs)),  # type: ignore[arg-type]
        leagues=leagues,
        days=days,
    )
