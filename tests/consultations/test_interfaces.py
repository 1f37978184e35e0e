"""The functions other domains (video) call: participants, session window, session events."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from telemed.consultations import service

API = "/api/v1/consultations"


def test_video_facing_functions(
    client: TestClient, login: Any, make_request: Any, session: Session, users: Any, clock: Any
) -> None:
    c = make_request(
        service_class="consultation",
        urgency="emergency",
        specialty="cardiology",
        specialist="specialist",
    )
    cid = c["id"]
    import uuid

    assert service.session_window(session=session, consultation_id=uuid.UUID(cid)) is None
    client.post(f"{API}/{cid}/accept", headers=login("specialist"))
    start, end = service.session_window(session=session, consultation_id=uuid.UUID(cid))  # type: ignore[misc]
    assert start == clock() and (end - start).total_seconds() == 30 * 60
    who = service.participants(session=session, consultation_id=uuid.UUID(cid))
    assert {users("county-doctor").id, users("specialist").id, users("coordinator").id} <= who
    service.mark_in_session(
        session=session, consultation_id=uuid.UUID(cid), by=users("specialist"), now=clock()
    )
    service.mark_in_session(
        session=session, consultation_id=uuid.UUID(cid), by=users("specialist"), now=clock()
    )
    service.record_session_event(
        session=session,
        consultation_id=uuid.UUID(cid),
        kind="join",
        data={"user": "specialist"},
        now=clock(),
    )
    assert [
        e.kind for e in service.session_events(session=session, consultation_id=uuid.UUID(cid))
    ] == ["join"]
    assert (
        client.get(f"{API}/{cid}", headers=login("county-doctor")).json()["state"] == "in_session"
    )
