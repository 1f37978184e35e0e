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


def _submitted(
    client: TestClient, login: Callable[[str], dict[str, str]], session: Session, **kw: str
) -> str:
    """A submitted request of the county doctor to the demo specialist (routine: no session
    is scheduled before it is accepted)."""
    patient = session.execute(select(Patient).where(Patient.name == "巴特尔")).scalars().first()
    assert patient is not None
    body = {
        "patient_id": str(patient.id),
        "service_class": "consultation",
        "urgency": "routine",
        "summary": "男，64岁，咳嗽两周",
        "question": "请协助诊治",
        "wanted_specialty": "cardiology",
        "chosen_specialist_id": str(_user(session, "specialist").id),
        "override_reason": "指定专家（测试）",
        "consent": CONSENT,
        **kw,
    }
    r = client.post("/api/v1/consultations", json=body, headers=login("county-doctor"))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    sent = client.post(f"/api/v1/consultations/{cid}/submit", headers=login("county-doctor"))
    assert sent.is_success, sent.text
    return str(cid)


def test_a_reading_request_gets_no_room_and_an_unscheduled_session_one_from_now(
    client: TestClient, login: Callable[[str], dict[str, str]], session: Session, clock
) -> None:  # type: ignore[no-untyped-def]
    reading = _submitted(client, login, session, service_class="imaging_diagnosis")
    refused = client.post(
        "/api/v1/rooms",
        json={"title": "影像", "consultation_id": reading},
        headers=login("admin"),
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "no_live_session"
    assert problem["errors"][0]["field"] == "consultation_id"
    assert refused.headers["content-type"].startswith("application/problem+json")

    live = _submitted(client, login, session)
    assert (
        consultations_service.session_window(session=session, consultation_id=uuid.UUID(live))
        is None
    )
    opened = client.post(
        "/api/v1/rooms", json={"title": "会诊", "consultation_id": live}, headers=login("admin")
    )
    assert opened.status_code == 201, opened.text
    room = opened.json()
    starts = datetime.fromisoformat(room["starts_at"])
    ends = datetime.fromisoformat(room["ends_at"])
    assert abs((starts - clock.at).total_seconds()) < 1
    assert (ends - starts).total_seconds() == service.DEFAULT_SESSION_MINUTES * 60
    # while that room is open, a second one is refused (whatever the clock says now) ...
    clock.advance(minutes=5)
    again = client.post(
        "/api/v1/rooms", json={"title": "再开", "consultation_id": live}, headers=login("admin")
    )
    assert again.status_code == 409 and again.json()["code"] == "room_exists"
    # ... and once its window closed, the next session gets its own room.
    clock.advance(
        minutes=get_settings().video.room_closes_minutes_after + service.DEFAULT_SESSION_MINUTES
    )
    later = client.post(
        "/api/v1/rooms", json={"title": "复诊", "consultation_id": live}, headers=login("admin")
    )
    assert later.status_code == 201, later.text
    assert later.json()["id"] != room["id"]
