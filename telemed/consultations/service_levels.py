"""Service levels (服务时限): time to accept and time to report, and the compliance report.

Limits come from `TELEMED_CONSULTATIONS__*` settings per urgency; a service class may
carry its own report limits (pathology takes longer), and settings may override
those per class. Report limits run from acceptance.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from telemed.consultations.models import Consultation, SlaBreach
from telemed.consultations.schemas import ComplianceReport, ComplianceRow
from telemed.consultations.service_classes import SERVICE_CLASSES, ServiceClass, Urgency, info
from telemed.core.db import UTCDateTime, local_day
from telemed.core.settings import ConsultationSettings
from telemed.network.models import Institution, League


def accept_minutes(settings: ConsultationSettings, urgency: str) -> int:
    return settings.accept_minutes[urgency]


def report_minutes(settings: ConsultationSettings, service_class: str, urgency: str) -> int:
    override = settings.class_report_minutes.get(service_class, {})
    if urgency in override:
        return override[urgency]
    own = info(service_class).report_minutes
    return own.get(urgency, settings.report_minutes[urgency])


def class_levels(
    settings: ConsultationSettings,
) -> dict[ServiceClass, tuple[dict[str, int], dict[str, int]]]:
    """Effective (accept, report) minutes per urgency of every service class."""
    return {
        code: (
            {u.value: accept_minutes(settings, u) for u in Urgency},
            {u.value: report_minutes(settings, code, u) for u in Urgency},
        )
        for code in SERVICE_CLASSES
    }


@dataclass
class Tally:
    """Counts of requests and of the service levels they met (one group of a report)."""

    requests: int = 0
    accept_measured: int = 0
    accepted_in_time: int = 0
    accept_breaches: int = 0
    report_measured: int = 0
    reported_in_time: int = 0
    report_breaches: int = 0

    def row(self, key: str, name: str) -> ComplianceRow:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return ComplianceRow(
            key=key,
            name=name,
            **asdict(self),
            accept_compliance=ratio(self.accepted_in_time, self.accept_measured),
            report_compliance=ratio(self.reported_in_time, self.report_measured),
        )


# One row per request and kind at most (unique constraint): outer joins do not multiply rows.
_ACCEPT_BREACH = aliased(SlaBreach, name="accept_breach")
_REPORT_BREACH = aliased(SlaBreach, name="report_breach")


def _measures() -> list[Any]:
    """The counts of `Tally` as SQL aggregates over submitted requests.

    A request counts for acceptance once it was accepted, expired or breached; for
    reporting once it was reported or breached.
    """
    c = Consultation

    def n(cond: Any) -> Any:
        return func.count().filter(cond)

    accept_breached = col(_ACCEPT_BREACH.id).is_not(None)
    report_breached = col(_REPORT_BREACH.id).is_not(None)
    accepted = col(c.accepted_at).is_not(None)
    reported = col(c.reported_at).is_not(None)
    return [
        func.count().label("requests"),
        n(or_(accepted, col(c.state) == "expired", accept_breached)).label("accept_measured"),
        n(col(c.accepted_at) <= col(c.accept_due_at)).label("accepted_in_time"),
        n(accept_breached).label("accept_breaches"),
        n(or_(reported, report_breached)).label("report_measured"),
        n(col(c.reported_at) <= col(c.report_due_at)).label("reported_in_time"),
        n(report_breached).label("report_breaches"),
    ]


_FIELDS = tuple(f.name for f in fields(Tally))


def _grouped(
    session: Session, keys: list[Any], conds: list[Any]
) -> list[tuple[tuple[Any, ...], Tally]]:
    """One GROUP BY over submitted requests joined to their receiving hospital and league."""
    stmt = (
        select(*keys, *_measures())
        .select_from(Consultation)
        .join(Institution, col(Institution.id) == Consultation.receiving_institution_id)
        .join(League, col(League.code) == Institution.league_code)
        .outerjoin(
            _ACCEPT_BREACH,
            (col(_ACCEPT_BREACH.consultation_id) == Consultation.id)
            & (col(_ACCEPT_BREACH.kind) == "accept"),
        )
        .outerjoin(
            _REPORT_BREACH,
            (col(_REPORT_BREACH.consultation_id) == Consultation.id)
            & (col(_REPORT_BREACH.kind) == "report"),
        )
        .where(col(Consultation.submitted_at).is_not(None), *conds)
        .group_by(*keys)
    )
    out = []
    for row in session.execute(stmt).all():
        values = tuple(row)
        out.append(
            (values[: len(keys)], Tally(**dict(zip(_FIELDS, values[len(keys) :], strict=True))))
        )
    return out


def _window(start: datetime | None, end: datetime | None) -> list[Any]:
    conds: list[Any] = []
    if start:
        conds.append(col(Consultation.submitted_at) >= start)
    if end:
        conds.append(col(Consultation.submitted_at) < end)
    return conds


def compliance(
    *,
    session: Session,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    institution_id: object | None = None,
    league: str | None = None,
    service_class: str | None = None,
) -> ComplianceReport:
    """Share of requests accepted and reported in time, by receiving institution, league, class."""
    conds = _window(start, end)
    if institution_id:
        conds.append(col(Consultation.receiving_institution_id) == institution_id)
    if league:
        conds.append(col(Institution.league_code) == league)
    if service_class:
        conds.append(col(Consultation.service_class) == service_class)
    by_inst = [
        t.row(str(k[0]), k[1])
        for k, t in _grouped(
            session, [col(Consultation.receiving_institution_id), col(Institution.name_zh)], conds
        )
    ]
    by_league = [
        t.row(k[0], k[1])
        for k, t in _grouped(session, [col(Institution.league_code), col(League.name_zh)], conds)
    ]
    by_class = [
        t.row(k[0], info(k[0]).name_zh)
        for k, t in _grouped(session, [col(Consultation.service_class)], conds)
    ]
    return ComplianceReport(
        start=start,
        end=end,
        generated_at=now,
        by_institution=sorted(by_inst, key=lambda r: r.name),
        by_league=sorted(by_league, key=lambda r: r.key),
        by_service_class=sorted(by_class, key=lambda r: r.key),
    )


def by_league(
    *, session: Session, start: datetime, end: datetime
) -> dict[str, tuple[Tally, dict[str, int]]]:
    """Per league of the receiving hospital: the tally and the requests by state,
    over requests submitted in [start, end)."""
    conds = _window(start, end)
    tallies = {k[0]: t for k, t in _grouped(session, [col(Institution.league_code)], conds)}
    states: dict[str, dict[str, int]] = defaultdict(dict)
    keys: list[Any] = [col(Institution.league_code), col(Consultation.state)]
    for league_code, state, n in session.execute(
        select(*keys, func.count().label("n"))  # type: ignore[call-overload]
        .select_from(Consultation)
        .join(Institution, col(Institution.id) == Consultation.receiving_institution_id)
        .where(col(Consultation.submitted_at).is_not(None), *conds)
        .group_by(*keys)
    ).all():
        states[league_code][state] = int(n)
    return {code: (t, states[code]) for code, t in tallies.items()}


@cache
def share_met_select() -> Any:
    """Per receiving institution: deadlines `measured` (accept and report) and deadlines
    `met` over requests submitted in [:sla_start, :sla_end) (bound parameters), one GROUP
    BY to join as a subquery on `receiving_institution_id` (the caller narrows the
    institutions with a `where`). Built once: a proposal's hot path."""
    measures = {m.name: m for m in _measures()}
    return (
        select(
            col(Consultation.receiving_institution_id).label("receiving_institution_id"),
            (measures["accept_measured"] + measures["report_measured"]).label("measured"),
            (measures["accepted_in_time"] + measures["reported_in_time"]).label("met"),
        )
        .select_from(Consultation)
        .join(Institution, col(Institution.id) == Consultation.receiving_institution_id)
        .join(League, col(League.code) == Institution.league_code)
        .outerjoin(
            _ACCEPT_BREACH,
            (col(_ACCEPT_BREACH.consultation_id) == Consultation.id)
            & (col(_ACCEPT_BREACH.kind) == "accept"),
        )
        .outerjoin(
            _REPORT_BREACH,
            (col(_REPORT_BREACH.consultation_id) == Consultation.id)
            & (col(_REPORT_BREACH.kind) == "report"),
        )
        .where(
            col(Consultation.submitted_at).is_not(None),
            col(Consultation.submitted_at) >= bindparam("sla_start", type_=UTCDateTime()),
            col(Consultation.submitted_at) < bindparam("sla_end", type_=UTCDateTime()),
        )
        .group_by(col(Consultation.receiving_institution_id))
    )


def share_met(measured: int | None, met: int | None) -> float | None:
    """Deadlines met of deadlines measured (4 decimals); None when nothing was measured."""
    return round((met or 0) / measured, 4) if measured else None


def by_day(*, session: Session, start: datetime, end: datetime, tz: str) -> dict[date, Tally]:
    """Per calendar day in `tz` of submission: the tally of requests submitted in [start, end)."""
    day = local_day(session, col(Consultation.submitted_at), tz)
    return {k[0]: t for k, t in _grouped(session, [day], _window(start, end))}
