"""Rooms of a consultation: participants, window and session record come from consultations."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.consultations import service as consultations_service
from telemed.core.audit import AuditEvent
from telemed.core.errors import NotFound
from telemed.core.settings import get_settings
from telemed.identity.models import Patient, User
from telemed.video import service

CONSENT = {
    "given_by": "巴特尔",
    "relationship": "self",
    "method": "verbal",
    "given_at": datetime(2026, 11, 1, 8, 0, tzinfo=UTC).isoformat(),
    "note": "explained risks and data sharing; patient agreed",
}


def _user(session: Session, username: str) -> User:
    return session.execute(select(User).where(User.username == username)).scalar_one()


def test_a_consultation_room_takes_its_people_and_window_and_feeds_the_record(
    client: TestClient, login: Callable[[str], dict[str, str]], session: Session, clock
) -> None:  # type: ignore[no-untyped-def]
    patient = session.execute(select(Patient).where(Patient.name == "巴特尔")).scalars().first()
    assert patient is not None
    specialist, doctor = _user(session, "specialist"), _user(session, "county-doctor")
    r = client.post(
        "/api/v1/consultations",
        json={
            "patient_id": str(patient.id),
            "service_class": "consultation",
            "urgency": "emergency",
            "summary": "男，64岁，胸痛3小时",
            "question": "请协助诊治",
            "wanted_specialty": "cardiology",
            "chosen_specialist_id": str(specialist.id),
            "override_reason": "指定专家（测试）",  # a named specialist: docs/routing.md
            "consent": CONSENT,
        },
        headers=login("county-doctor"),
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert client.post(
        f"/api/v1/consultations/{cid}/submit", headers=login("county-doctor")
    ).is_success
    accepted = client.post(f"/api/v1/consultations/{cid}/accept", headers=login("specialist"))
    assert accepted.is_success, accepted.text
    window = consultations_service.session_window(session=session, consultation_id=uuid.UUID(cid))
    assert window is not None

    r = client.post(
        "/api/v1/rooms",
        json={"title": "急诊会诊", "consultation_id": cid},
        headers=login("specialist"),
    )
    assert r.status_code == 201, r.text
    room = r.json()
    assert room["starts_at"].startswith(window[0].isoformat()[:19])
    expected = consultations_service.participants(session=session, consultation_id=uuid.UUID(cid))
    assert {str(u) for u in expected} <= set(room["participant_ids"])
    assert str(doctor.id) in room["participant_ids"]
    # The same session cannot get a second room.
    again = client.post(
        "/api/v1/rooms",
        json={"title": "again", "consultation_id": cid},
        headers=login("specialist"),
    )
    assert again.status_code == 409
    # A specialist taking no part in the consultation cannot make it a room: 404, and the
    # refused attempt is in the audit log (kept after the request's rollback), with the patient.
    refused = client.post(
        "/api/v1/rooms",
        json={"title": "outsider", "consultation_id": cid},
        headers={**login("specialist2"), "X-Request-ID": "room-outsider"},
    )
    assert refused.status_code == 404
    row = session.execute(
        select(AuditEvent).where(AuditEvent.request_id == "room-outsider")
    ).scalar_one()
    assert (row.action, row.object_type, row.object_id) == ("refused", "consultation", cid)
    assert row.actor_id == _user(session, "specialist2").id
    assert row.detail["reason"] == "creates a room for a consultation it takes no part in"
    created = session.execute(
        select(AuditEvent).where(AuditEvent.object_id == room["id"], AuditEvent.action == "create")
    ).scalar_one()
    assert created.object_type == "video_room" and created.patient_id == patient.id
    # Its participants find it from the consultation's page; others get an empty list.
    for username in ("county-doctor", "specialist"):
        listed = client.get(
            "/api/v1/rooms", params={"consultation_id": cid}, headers=login(username)
        )
        assert [x["id"] for x in listed.json()] == [room["id"]], username
    outsider = client.get(
        "/api/v1/rooms", params={"consultation_id": cid}, headers=login("specialist2")
    )
    assert outsider.status_code == 200 and outsider.json() == []
    # Someone outside the consultation does not see the room.
    with pytest.raises(NotFound):
        service.room_for(
            session=session, room_id=uuid.UUID(room["id"]), user=_user(session, "specialist2")
        )

    settings = get_settings().video
    rid = uuid.UUID(room["id"])
    service.join(
        session=session, room_id=rid, user=specialist, peer_id="h", now=clock.at, settings=settings
    )
    state = client.get(f"/api/v1/consultations/{cid}", headers=login("county-doctor")).json()
    assert state["state"] == "in_session"
    service.join(
        session=session, room_id=rid, user=doctor, peer_id="g", now=clock.at, settings=settings
    )
    service.admit(session=session, room_id=rid, by=specialist, user_id=doctor.id, now=clock.at)
    service.record_consent(session=session, room_id=rid, user=doctor, granted=True, now=clock.at)
    kinds = [
        e.kind
        for e in consultations_service.session_events(
            session=session, consultation_id=uuid.UUID(cid)
        )
    ]
    assert kinds == ["join", "join", "admit", "consent"]
