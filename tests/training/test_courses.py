"""Courses: created and published by a coordinator of the speaker's hospital only; the state
machine refuses illegal transitions with 409; drafts are hidden from everybody else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.core import clock as core_clock
from telemed.core.audit import REFUSED, AuditEvent
from telemed.identity.models import Role
from tests.referrals.conftest import league_hospital, new_doctor, user_named
from tests.training.conftest import course_data

API = "/api/v1/training/courses"
Login = Callable[[str], dict[str, str]]


def _body(session: Session, **kw: object) -> dict[str, object]:
    return course_data(session, **kw).model_dump(mode="json")


def test_coordinator_of_the_speakers_hospital_creates_and_publishes(
    client: TestClient, login: Login, session: Session
) -> None:
    r = client.post(API, json=_body(session), headers=login("coordinator"))
    assert r.status_code == 201, r.text
    course = r.json()
    assert course["status"] == "draft"
    assert course["speaker_name"] == "张主任"
    assert course["target_tiers"] == ["county", "township"]
    # a draft is not in the county doctor's catalogue, and not readable by id
    ids = [c["id"] for c in client.get(API, headers=login("county-doctor")).json()]
    assert course["id"] not in ids
    r = client.get(f"{API}/{course['id']}", headers=login("county-doctor"))
    assert r.status_code == 404
    refusal = session.execute(
        select(AuditEvent).where(AuditEvent.action == REFUSED, AuditEvent.object_id == course["id"])
    ).scalar_one()
    assert refusal.object_type == "training_course"

    r = client.post(f"{API}/{course['id']}/transitions", json={"action": "publish"},
                    headers=login("coordinator"))  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published"
    ids = [c["id"] for c in client.get(API, headers=login("county-doctor")).json()]
    assert course["id"] in ids


def test_coordinator_of_another_hospital_may_not_create_or_publish(
    client: TestClient, session: Session, login: Login
) -> None:
    other = new_doctor(session, league_hospital(session), role=Role.COORDINATOR)
    other.password_hash = user_named(session, "coordinator").password_hash
    session.add(other)
    session.flush()
    r = client.post(API, json=_body(session), headers=login(other.username))
    assert r.status_code == 403
    assert r.json()["code"] == "not_course_manager"

    draft = client.post(API, json=_body(session), headers=login("coordinator")).json()
    # their draft does not exist for the other coordinator
    r = client.post(f"{API}/{draft['id']}/transitions", json={"action": "publish"},
                    headers=login(other.username))  # fmt: skip
    assert r.status_code == 404
    client.post(f"{API}/{draft['id']}/transitions", json={"action": "publish"},
                headers=login("coordinator"))  # fmt: skip
    # published, it is visible, but still not theirs to cancel
    r = client.post(f"{API}/{draft['id']}/transitions", json={"action": "cancel"},
                    headers=login(other.username))  # fmt: skip
    assert r.status_code == 403
    assert client.get(f"{API}/{draft['id']}", headers=login("coordinator")).json()["status"] == (
        "published"
    )
    # doctors may not create courses at all
    r = client.post(API, json=_body(session), headers=login("specialist"))
    assert r.status_code == 403


def test_illegal_transitions_are_409(client: TestClient, login: Login, session: Session) -> None:
    h = login("coordinator")
    c = client.post(API, json=_body(session), headers=h).json()
    r = client.post(f"{API}/{c['id']}/transitions", json={"action": "finish"}, headers=h)
    assert r.status_code == 409
    assert r.json()["code"] == "invalid_transition"
    assert r.headers["content-type"].startswith("application/problem+json")
    for action, status in (("publish", 200), ("publish", 409), ("finish", 200), ("cancel", 409)):
        r = client.post(f"{API}/{c['id']}/transitions", json={"action": action}, headers=h)
        assert r.status_code == status, (action, r.text)
    assert client.get(f"{API}/{c['id']}", headers=h).json()["status"] == "finished"


def test_invalid_course_data_is_422(client: TestClient, login: Login, session: Session) -> None:
    start = core_clock.now() + timedelta(days=2)
    bad = _body(session, starts_at=start, ends_at=start - timedelta(minutes=1))
    r = client.post(API, json=bad, headers=login("coordinator"))
    assert r.status_code == 422
    patient_speaker = _body(session) | {"speaker_id": str(user_named(session, "patient").id)}
    r = client.post(API, json=patient_speaker, headers=login("coordinator"))
    assert r.status_code == 422
    r = client.post(API, json=_body(session) | {"capacity": 0}, headers=login("coordinator"))
    assert r.status_code == 422
