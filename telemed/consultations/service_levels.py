"""Service levels (服务时限): time to accept and time to report, and the compliance report.

Limits come from `TELEMED_CONSULTATIONS__*` settings per urgency; a service class may
carry its own report limits (pathology takes longer), and settings may override
those per class. Report limits run from acceptance.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session, select

from telemed.consultations.models import Consultation, SlaBreach
from telemed.consultations.schemas import ComplianceReport, ComplianceRow
from telemed.consultations.service_classes import SERVICE_CLASSES, ServiceClass, Urgency, info
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


class _Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.requests = 0
        self.accept_measured = self.accepted_in_time = self.accept_breaches = 0
        self.report_measured = self.reported_in_time = self.report_breaches = 0

    def row(self, key: str) -> ComplianceRow:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return ComplianceRow(
            key=key,
            name=self.name,
            requests=self.requests,
            accept_measured=self.accept_measured,
            accepted_in_time=self.accepted_in_time,
            accept_breaches=self.accept_breaches,
            accept_compliance=ratio(self.accepted_in_time, self.accept_measured),
            report_measured=self.report_measured,
            reported_in_time=self.reported_in_time,
            report_breaches=self.report_breaches,
            report_compliance=ratio(self.reported_in_time, self.report_measured),
        )


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
    """Share of requests accepted and reported in time, by receiving institution, league, class.

    A request counts for acceptance once it was accepted, expired or breached; for
    reporting once it was reported or breached.
    """
    stmt = (
        select(Consultation, Institution.name_zh, Institution.league_code, League.name_zh)
        .join(Institution, Institution.id == Consultation.receiving_institution_id)  # type: ignore[arg-type]
        .join(League, League.code == Institution.league_code)  # type: ignore[arg-type]
        .where(Consultation.submitted_at.is_not(None))  # type: ignore[union-attr]
    )
    if start:
        stmt = stmt.where(Consultation.submitted_at >= start)  # type: ignore[operator]
    if end:
        stmt = stmt.where(Consultation.submitted_at < end)  # type: ignore[operator]
    if institution_id:
        stmt = stmt.where(Consultation.receiving_institution_id == institution_id)
    if league:
        stmt = stmt.where(Institution.league_code == league)
    if service_class:
        stmt = stmt.where(Consultation.service_class == service_class)
    rows = session.execute(stmt).all()
    ids = [r[0].id for r in rows]
    breaches: dict[object, set[str]] = defaultdict(set)
    if ids:
        for cid, kind in session.execute(
            select(SlaBreach.consultation_id, SlaBreach.kind).where(
                SlaBreach.consultation_id.in_(ids)  # type: ignore[attr-defined]
            )
        ).all():
            breaches[cid].add(kind)

    by_inst: dict[str, _Tally] = {}
    by_league: dict[str, _Tally] = {}
    by_class: dict[str, _Tally] = {}
    for c, inst_name, league_code, league_name in rows:
        kinds = breaches.get(c.id, set())
        tallies = (
            by_inst.setdefault(str(c.receiving_institution_id), _Tally(inst_name)),
            by_league.setdefault(league_code, _Tally(league_name)),
            by_class.setdefault(c.service_class, _Tally(info(c.service_class).name_zh)),
        )
        for t in tallies:
            t.requests += 1
            if c.accepted_at is not None or c.state == "expired" or "accept" in kinds:
                t.accept_measured += 1
                if (
                    c.accepted_at is not None
                    and c.accept_due_at
                    and c.accepted_at <= c.accept_due_at
                ):
                    t.accepted_in_time += 1
            if "accept" in kinds:
                t.accept_breaches += 1
            if c.reported_at is not None or "report" in kinds:
                t.report_measured += 1
                if (
                    c.reported_at is not None
                    and c.report_due_at
                    and c.reported_at <= c.report_due_at
                ):
                    t.reported_in_time += 1
            if "report" in kinds:
                t.report_breaches += 1
    return ComplianceReport(
        start=start,
        end=end,
        generated_at=now,
        by_institution=[t.row(k) for k, t in sorted(by_inst.items(), key=lambda kv: kv[1].name)],
        by_league=[t.row(k) for k, t in sorted(by_league.items())],
        by_service_class=[t.row(k) for k, t in sorted(by_class.items())],
    )
