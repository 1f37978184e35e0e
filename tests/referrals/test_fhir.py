"""Referrals as FHIR R4 ServiceRequest + Task, validated with fhir.resources (R4B)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task
from sqlmodel import Session

from referrals import fhir, service
from referrals.states import REFERRAL
from telemed.core.settings import get_settings
from tests.referrals.conftest import league_hospital, staff_of, up_referral, user_named

Login = Callable[[str], dict[str, str]]


def test_every_state_maps_to_fhir_codes() -> None:
    states = {"draft"} | {target for _, target in REFERRAL.transitions.values()}
    assert states == set(fhir.TASK_STATUS) == set(fhir.SERVICE_REQUEST_STATUS)
    assert set(fhir.TASK_STATUS.values()) <= fhir.TASK_STATUS_CODES
    assert set(fhir.SERVICE_REQUEST_STATUS.values()) <= fhir.REQUEST_STATUS_CODES


def test_service_request_and_task_validate(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    cd = user_named(session, "county-doctor")
    rx = staff_of(session, league_hospital(session))[0]
    r = up_referral(
        session,
        clock,
        urgency="urgent",
        clinical_summary="TnI 0.8",
        diagnosis_text="不稳定型心绞痛",
    )
    settings = get_settings()
    for action, by, kw in (
        ("submit", cd, {}),
        ("receive", rx, {}),
        ("accept", rx, {}),
        ("book", rx, {"appointment_at": clock.at + timedelta(hours=3)}),
    ):
        service.transition(
            session=session,
            referral_id=r.id,
            action=action,
            by=by,
            now=clock.at,
            settings=settings,
            **kw,
        )
    session.commit()
    h = login("county-doctor")
    sr = client.get(f"/fhir/R4/ServiceRequest/{r.id}", headers=h)
    assert sr.status_code == 200
    body = sr.json()
    ServiceRequest.model_validate(body)
    assert body["status"] == "active" and body["intent"] == "order" and body["priority"] == "urgent"
    assert body["subject"]["reference"] == f"Patient/{r.patient_id}"
    assert body["reasonCode"][0]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10",
        "code": "I20.9",
        "display": "不稳定型心绞痛",
    }
    assert body["occurrenceDateTime"]

    t = client.get(f"/fhir/R4/Task/{r.id}", headers=h).json()
    Task.model_validate(t)
    assert t["status"] == "ready" and t["businessStatus"]["text"] == "booked"
    assert t["focus"]["reference"] == f"ServiceRequest/{r.id}"

    b = client.get("/fhir/R4/Task", params={"focus": f"ServiceRequest/{r.id}"}, headers=h).json()
    Bundle.model_validate(b)
    assert b["type"] == "searchset" and b["total"] == 1
    assert b["entry"][0]["resource"]["id"] == str(r.id)
    by_status = client.get("/fhir/R4/Task", params={"status": "ready"}, headers=h).json()
    assert str(r.id) in {e["resource"]["id"] for e in by_status.get("entry", [])}
    none = client.get(
        "/fhir/R4/Task",
        params={"status": "completed", "focus": f"ServiceRequest/{r.id}"},
        headers=h,
    ).json()
    assert none["total"] == 0
    bad = client.get("/fhir/R4/Task", params={"patient": "Patient/not-a-uuid"}, headers=h)
    assert bad.status_code == 422


def test_outcome_is_in_the_task_output(session: Session, clock) -> None:
    r = up_referral(session, clock)
    r.status = "completed"
    r.outcome_kind = "discharge_summary"
    r.outcome_summary = "PCI to LAD"
    r.outcome_recommendations = "DAPT 12 months"
    r.outcome_sent_at = clock.at
    t = fhir.task(r)
    assert t["status"] == "completed"
    assert t["output"][0]["valueString"] == "PCI to LAD\nDAPT 12 months"
    Task.model_validate(t)
