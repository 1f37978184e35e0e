"""A user chooses the app's language (zh-CN, en, mn-Mong) with PUT /auth/me/language; it
shows in GET /auth/me (null until chosen), an unknown code is 422 invalid_value, and a
patient's preferred language (what they are told things in) follows their choice."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.core.audit import AuditEvent
from telemed.identity.models import Patient, User

Login = Callable[[str], dict[str, str]]


def _me(client: TestClient, headers: dict[str, str]) -> dict[str, object]:
    return dict(client.get("/api/v1/auth/me", headers=headers).json())


def test_a_patient_chooses_mongolian_and_their_preferred_language_follows(
    client: TestClient, login: Login, session: Session
) -> None:
    headers = login("patient")
    assert _me(client, headers)["language"] is None  # not chosen yet
    r = client.put("/api/v1/auth/me/language", json={"language": "mn-Mong"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["language"] == "mn-Mong" and r.json()["username"] == "patient"
    assert _me(client, headers)["language"] == "mn-Mong"
    user = session.execute(select(User).where(User.username == "patient")).scalar_one()
    patient = session.get(Patient, user.patient_id)
    assert patient is not None and patient.preferred_language == "mn-Mong"
    seen = client.get(f"/api/v1/patients/{patient.id}", headers=headers).json()
    assert seen["preferred_language"] == "mn-Mong"
    events = session.execute(
        select(AuditEvent).where(AuditEvent.action == "set_language")
    ).scalars()
    assert [e.detail for e in events if e.object_id == str(user.id)] == [{"language": "mn-Mong"}]
    back = client.put("/api/v1/auth/me/language", json={"language": "zh-CN"}, headers=headers)
    assert back.json()["language"] == "zh-CN"
    session.refresh(patient)
    assert patient.preferred_language == "zh-CN"


def test_staff_choose_a_language_for_themselves_only(
    client: TestClient, login: Login, session: Session
) -> None:
    patient = session.execute(select(Patient).where(Patient.name == "巴特尔")).scalars().first()
    assert patient is not None
    before = patient.preferred_language
    headers = login("family-doctor")
    r = client.put("/api/v1/auth/me/language", json={"language": "en"}, headers=headers)
    assert r.status_code == 200 and r.json()["language"] == "en"
    assert _me(client, headers)["language"] == "en"
    session.refresh(patient)
    assert patient.preferred_language == before


def test_an_unknown_language_is_422_invalid_value(client: TestClient, login: Login) -> None:
    headers = login("patient")
    for code in ("mn", "fr", "MN-MONG", ""):
        r = client.put("/api/v1/auth/me/language", json={"language": code}, headers=headers)
        assert r.status_code == 422, (code, r.text)
        body = r.json()
        assert body["code"] == "invalid_value" and body["errors"][0]["field"] == "language"
        assert body["allowed"] == ["zh-CN", "en", "mn-Mong"]
    for body in ({}, {"language": None}, {"language": 7}):
        r = client.put("/api/v1/auth/me/language", json=body, headers=headers)
        assert r.status_code == 422 and r.json()["code"] == "invalid", body
    assert _me(client, headers)["language"] is None


def test_choosing_a_language_needs_a_login(client: TestClient) -> None:
    r = client.put("/api/v1/auth/me/language", json={"language": "mn-Mong"})
    assert r.status_code == 401
