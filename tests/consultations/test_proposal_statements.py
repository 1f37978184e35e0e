"""The proposal's hot path: a fixed number of SQL statements whatever the network holds (so
it cannot grow silently), and the service-level history it joins in, checked against the
consultations counted with plain SQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlmodel import Session, col, select

from telemed.consultations import service
from telemed.consultations.models import Consultation
from telemed.core.audit import AuditEvent
from telemed.core.clock import now as clock_now
from telemed.identity.models import Patient, Role, Title, User
from telemed.network.models import Institution

API = "/api/v1/consultations/proposals"


def _statements(session: Session, call: Any) -> list[str]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        if "SAVEPOINT" not in args[2]:  # the test's transaction, not the request's work
            seen.append(args[2])

    session.expunge_all()  # nothing cached: every row the request reads is read
    conn = session.connection()
    event.listen(conn, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(conn, "before_cursor_execute", count)
    return seen


def _add_specialists(session: Session, n: int, specialty: str) -> None:
    hospitals = session.execute(
        select(Institution).where(col(Institution.tier).in_(["league", "regional"]))
    ).scalars()
    for i, inst in zip(range(n), hospitals, strict=False):
        session.add(
            User(
                username=f"extra-{specialty}-{i}",
                password_hash="x",
                role=Role.SPECIALIST,
                full_name=f"加{i}",
                institution_id=inst.id,
                specialty_code=specialty,
                title=Title.CHIEF,
                created_at=clock_now(),
            )
        )
    session.flush()


def test_a_proposal_takes_six_statements_whatever_the_candidates(
    client: TestClient, login: Any, session: Session, demo_patient: Patient
) -> None:
    headers = login("county-doctor")
    body = {
        "service_class": "consultation",
        "wanted_specialty": "cardiology",
        "patient_id": str(demo_patient.id),
        "urgency": "routine",
        "limit": 50,
    }

    def propose() -> None:
        r = client.post(API, json=body, headers=headers)
        assert r.status_code == 200, r.text
        found.append(len(r.json()))

    found: list[int] = []
    propose()  # the caller's token is then in the worker's cache (telemed.identity.token_cache)
    few = _statements(session, propose)
    _add_specialists(session, 10, "cardiology")
    many = _statements(session, propose)
    assert found[2] == found[1] + 10 <= 50  # the extra specialists are candidates
    # (the token and user from the worker's cache) requester, patient, place and contract;
    # the audited read (event and its patient link); candidates with their service levels;
    # placing alliances; slots
    assert len(few) == len(many) == 6, "\n".join(many)
    assert sum(s.startswith("INSERT INTO audit_event") for s in many) == 2
    reads = session.execute(
        select(AuditEvent).where(
            AuditEvent.object_type == "patient",
            AuditEvent.object_id == str(demo_patient.id),
            AuditEvent.action == "read",
        )
    ).scalars()
    assert sum(1 for e in reads if e.detail.get("purpose") == "routing_preview") == 3


def test_the_service_level_history_shown_is_the_share_of_deadlines_met(
    session: Session, users: Any, demo_patient: Patient, clock: Any
) -> None:
    doctor = users("county-doctor")
    now = clock()

    def propose() -> list[Any]:
        return service.propose(
            session=session,
            viewer=doctor,
            requesting_institution_id=doctor.institution_id,
            service_class="consultation",
            specialty="cardiology",
            title=None,
            now=now,
            patient_id=demo_patient.id,
        )

    first = propose()[0]
    target = first.institution_id

    def add(days_ago: float, *, accept_late: bool | None, report_late: bool | None) -> None:
        submitted = now - timedelta(days=days_ago)
        due = submitted + timedelta(hours=2)
        session.add(
            Consultation(
                patient_id=demo_patient.id,
                requesting_doctor_id=doctor.id,
                requesting_institution_id=doctor.institution_id,
                receiving_institution_id=target,
                service_class="consultation",
                urgency="routine",
                summary="s",
                question="q",
                wanted_specialty="cardiology",
                state="reported" if report_late is not None else "accepted",
                created_at=submitted,
                updated_at=submitted,
                submitted_at=submitted,
                accept_due_at=due,
                accepted_at=due + timedelta(hours=1 if accept_late else -1),
                report_due_at=due + timedelta(days=1),
                reported_at=(
                    None if report_late is None else due + timedelta(days=2 if report_late else 0)
                ),
            )
        )

    add(3, accept_late=False, report_late=True)
    add(10, accept_late=True, report_late=None)
    add(30, accept_late=False, report_late=False)
    add(100, accept_late=True, report_late=True)  # outside the 90 days
    session.flush()
    measured, met = session.execute(
        text(
            """
            SELECT count(*) FILTER (WHERE c.accepted_at IS NOT NULL OR c.state = 'expired'
                       OR EXISTS (SELECT 1 FROM consultation_sla_breach b
                                  WHERE b.consultation_id = c.id AND b.kind = 'accept'))
                 + count(*) FILTER (WHERE c.reported_at IS NOT NULL
                       OR EXISTS (SELECT 1 FROM consultation_sla_breach b
                                  WHERE b.consultation_id = c.id AND b.kind = 'report')),
                   count(*) FILTER (WHERE c.accepted_at <= c.accept_due_at)
                 + count(*) FILTER (WHERE c.reported_at <= c.report_due_at)
            FROM consultation c
            WHERE c.receiving_institution_id = :inst AND c.submitted_at >= :start
              AND c.submitted_at < :now
            """
        ),
        {"inst": target, "start": now - timedelta(days=90), "now": now},
    ).one()
    assert measured >= 5  # the three requests in the window: 3 acceptances, 2 reports
    shown = {p.institution_id: p.sla_share for p in propose()}
    assert shown[target] == round(met / measured, 4)
    assert shown[target] != first.sla_share  # the new history changed what is shown
