"""The service-level sweep: breaches, escalation, expiry. Safe in several workers.

The job runner runs `sweep` every minute (task `consultations.sla_sweep`, telemed.jobs).
Rows are claimed with `FOR UPDATE SKIP LOCKED`, so two workers never handle one request
at once, and a breach is inserted with ON CONFLICT DO NOTHING on (consultation, kind), so
a breach is recorded and escalated exactly once even when workers race.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from telemed.consultations import payments
from telemed.consultations.messages import coordinators_of, notify, urgency_term
from telemed.consultations.models import Consultation, SlaBreach
from telemed.consultations.steps import transition
from telemed.consultations.workflow import cancel_imaging_orders
from telemed.core.ids import uuid7
from telemed.core.settings import Settings
from telemed.identity.models import Role, User

log = logging.getLogger("telemed.consultations.sla")


@dataclass
class SweepResult:
    accept_breaches: list[str] = field(default_factory=list)
    report_breaches: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)


def _record_breach(
    session: Session, c: Consultation, kind: str, due: datetime, now: datetime, escalated: set
) -> bool:
    """Insert the breach once; False when another worker recorded it first."""
    dialect = session.get_bind().dialect.name
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(SlaBreach.__table__)  # type: ignore[attr-defined]
    stmt = ins.values(
        id=uuid7(),
        consultation_id=c.id,
        kind=kind,
        due_at=due,
        detected_at=now,
        escalated_to=sorted(str(u) for u in escalated),
    ).on_conflict_do_nothing(index_elements=["consultation_id", "kind"])
    return session.execute(stmt.returning(ins.table.c.id)).first() is not None


def _escalation_targets(session: Session, c: Consultation) -> set:
    who = coordinators_of(session=session, institution_id=c.receiving_institution_id)
    if not who:  # no coordinator at the receiving hospital: the network's admins
        who = set(
            session.execute(
                select(User.id).where(User.role == Role.ADMIN, col(User.is_active).is_(True))
            ).scalars()  # type: ignore[attr-defined]
        )
    return who


def _no_breach(kind: str):  # type: ignore[no-untyped-def]
    return ~exists().where(
        col(SlaBreach.consultation_id) == Consultation.id, col(SlaBreach.kind) == kind
    )


def sweep(*, session: Session, now: datetime, settings: Settings, batch: int = 200) -> SweepResult:
    """One pass: mark breaches, escalate, expire; the caller commits."""
    out = SweepResult()
    # 1. nobody accepted in time: breach, escalate to the receiving coordinator
    due = (
        session.execute(
            select(Consultation)
            .where(
                Consultation.state == "submitted",
                col(Consultation.accept_due_at) <= now,
                _no_breach("accept"),
            )
            .order_by(Consultation.accept_due_at)  # type: ignore[arg-type]
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for c in due:
        targets = _escalation_targets(session, c)
        assert c.accept_due_at is not None
        if _record_breach(session, c, "accept", c.accept_due_at, now, targets):
            notify(session, targets, c, "accept_breach", now, urgency=urgency_term(c.urgency))
            out.accept_breaches.append(str(c.id))
    # 2. still nobody after the grace: expire, tell the requester, refund
    stale = (
        session.execute(
            select(Consultation)
            .where(Consultation.state == "submitted", Consultation.expires_at <= now)  # type: ignore[operator]
            .order_by(Consultation.expires_at)  # type: ignore[arg-type]
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for c in stale:
        transition(
            session,
            c,
            "expire",
            by=None,
            now=now,
            data={"reason_code": "not_accepted_in_time"},
        )
        payments.refund_if_paid(session=session, c=c, by_id=None, now=now)
        cancel_imaging_orders(session, c, now)
        notify(session, {c.requesting_doctor_id}, c, "expired", now)
        out.expired.append(str(c.id))
    # 3. accepted but not reported in time
    late = (
        session.execute(
            select(Consultation)
            .where(
                Consultation.state.in_(("accepted", "scheduled", "in_session")),  # type: ignore[attr-defined]
                Consultation.report_due_at <= now,  # type: ignore[operator]
                _no_breach("report"),
            )
            .order_by(Consultation.report_due_at)  # type: ignore[arg-type]
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for c in late:
        targets = _escalation_targets(session, c)
        if c.assigned_specialist_id:
            targets.add(c.assigned_specialist_id)
        assert c.report_due_at is not None
        if _record_breach(session, c, "report", c.report_due_at, now, targets):
            notify(session, targets, c, "report_breach", now)
            out.report_breaches.append(str(c.id))
    session.flush()
    return out
