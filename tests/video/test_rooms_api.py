"""Rooms over HTTP: who creates and sees them, their window, ICE servers, recordings access."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.core.audit import AuditEvent
from telemed.core.settings import get_settings
from telemed.identity.models import User
from telemed.video import retention, service
from telemed.video.models import Recording, RoomParticipant


def _ids(session: Session, *names: str) -> list[str]:
    rows = session.execute(select(User).where(User.username.in_(names))).scalars()  # type: ignore[attr-defined]
    by_name = {u.username: str(u.id) for u in rows}
    return [by_name[n] for n in names]


def _room_body(clock, invited: list[str], **kw) -> dict:  # type: ignore[no-untyped-def]
    return {
        "title": "心内科远程会诊",
        "starts_at": (clock.at + timedelta(minutes=30)).isoformat(),
        "ends_at": (clock.at + timedelta(minutes=60)).isoformat(),
        "invited_user_ids": invited,
        **kw,
    }


def test_specialist_creates_a_room_that_only_participants_see(
    client: TestClient, login: Callable[[str], dict[str, str]], session: Session, clock
) -> None:  # type: ignore[no-untyped-def]
    (guest,) = _ids(session, "county-doctor")
    r = client.post("/api/v1/rooms", json=_room_body(clock, [guest]), headers=login("specialist"))
    assert r.status_code == 201, r.text
    room = r.json()
    assert room["ws_path"] == f"/api/v1/rooms/{room['id']}/ws"
    settings = get_settings().video
    opens_at = datetime.fromisoformat(room["opens_at"].replace("Z", "+00:00"))
    assert opens_at == clock.at + timedelta(minutes=30 - settings.room_opens_minutes_before)
    assert guest in room["participant_ids"]
    assert client.get(f"/api/v1/rooms/{room['id']}", headers=login("county-doctor")).is_success
    hidden = client.get(f"/api/v1/rooms/{room['id']}", headers=login("specialist2"))
    assert hidden.status_code == 404
    assert (
        client.get(
            f"/api/v1/rooms/{room['id']}/ice-servers", headers=login("specialist2")
        ).status_code
        == 404
    )


def test_only_coordinators_and_specialists_create_rooms_and_bad_input_is_422(
    client: TestClient, login: Callable[[str], dict[str, str]], session: Session, clock
) -> None:  # type: ignore[no-untyped-def]
    (guest,) = _ids(session, "specialist")
    r = client.post(
        "/api/v1/rooms", json=_room_body(clock, [guest]), headers=login("county-doctor")
    )
    assert r.status_code == 403
    body = _room_body(clock, [guest])
    body["ends_at"] = body["starts_at"]
    r = client.post("/api/v1/rooms", json=body, headers=login("coordinator"))
    assert r.status_code == 422
    r = client.post(
        "/api/v1/rooms",
        json=_room_body(clock, ["0190b5c4-0000-7000-8000-000000000000"]),
        headers=login("coordinator"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "invited_user_ids"
    r = client.post(
        "/api/v1/rooms",
        json=_room_body(clock, [guest], mode="relay", max_participants=50),
        headers=login("coordinator"),
    )
    assert r.status_code == 422 and "at most" in r.json()["detail"]
    # A coordinator creates a room hosted by a specialist.
    (host,) = _ids(session, "specialist")
    (doc,) = _ids(session, "county-doctor")
    r = client.post(
        "/api/v1/rooms", json=_room_body(clock, [doc], host_id=host), headers=login("coordinator")
    )
    assert r.status_code == 201 and r.json()["host_id"] == host


def test_ice_servers_carry_coturn_shared_secret_credentials(
    client: TestClient, login: Callable[[str], dict[str, str]], session: Session, clock
) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings()
    saved = (settings.video.turn_urls, settings.video.turn_secret)
    settings.video.turn_urls = ["stun:turn.example:3478", "turn:turn.example:3478?transport=udp"]
    settings.video.turn_secret = "shared-secret"
    try:
        (guest,) = _ids(session, "county-doctor")
        room = client.post(
            "/api/v1/rooms", json=_room_body(clock, [guest]), headers=login("specialist")
        ).json()
        r = client.get(f"/api/v1/rooms/{room['id']}/ice-servers", headers=login("county-doctor"))
        assert r.status_code == 200, r.text
        stun, turn = r.json()["ice_servers"]
        assert stun == {"urls": ["stun:turn.example:3478"], "username": None, "credential": None}
        expiry, user_id = turn["username"].split(":")
        assert user_id == guest
        assert int(expiry) == int(clock.at.timestamp()) + settings.video.turn_ttl_seconds
        digest = hmac.new(b"shared-secret", turn["username"].encode(), hashlib.sha1).digest()
        assert turn["credential"] == base64.b64encode(digest).decode()
    finally:
        settings.video.turn_urls, settings.video.turn_secret = saved


def test_recordings_are_served_only_to_entitled_users_audited_and_purged_after_retention(
    client: TestClient,
    login: Callable[[str], dict[str, str]],
    session: Session,
    clock,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    host_id, guest_id = _ids(session, "specialist", "county-doctor")
    room = client.post(
        "/api/v1/rooms", json=_room_body(clock, [guest_id]), headers=login("specialist")
    ).json()
    settings = get_settings().video
    host = session.get(User, host_id)
    guest = session.get(User, guest_id)
    assert host and guest
    clock.advance(minutes=20)  # inside the window
    for u, peer in ((host, "p-host"), (guest, "p-guest")):
        service.join(
            session=session,
            room_id=room["id"],
            user=u,
            peer_id=peer,
            now=clock.at,
            settings=settings,
        )
    service.admit(session=session, room_id=room["id"], by=host, user_id=guest.id, now=clock.at)
    service.record_consent(
        session=session, room_id=room["id"], user=host, granted=True, now=clock.at
    )
    service.record_consent(
        session=session, room_id=room["id"], user=guest, granted=True, now=clock.at
    )
    rec = service.start_recording(
        session=session, room_id=room["id"], by=host, now=clock.at, settings=settings
    )
    path = tmp_path / "r.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    rec.path = str(path)
    service.finish_recording(
        session=session, recording_id=rec.id, now=clock.at, duration_seconds=3.0, size_bytes=12
    )
    listed = client.get(f"/api/v1/rooms/{room['id']}/recordings", headers=login("county-doctor"))
    assert [r["id"] for r in listed.json()] == [str(rec.id)]
    got = client.get(f"/api/v1/recordings/{rec.id}/file", headers=login("county-doctor"))
    assert got.status_code == 200 and got.content.startswith(b"\x00\x00\x00\x18ftyp")
    assert session.execute(
        select(AuditEvent).where(
            AuditEvent.object_type == "video_recording", AuditEvent.object_id == str(rec.id)
        )
    ).first()
    assert (
        client.get(f"/api/v1/recordings/{rec.id}/file", headers=login("specialist2")).status_code
        == 404
    )
    # The session record lists join, admit, consent and recording events.
    kinds = [
        e["kind"]
        for e in client.get(
            f"/api/v1/rooms/{room['id']}/events", headers=login("specialist")
        ).json()
    ]
    assert kinds == [
        "join",
        "join",
        "admit",
        "consent",
        "consent",
        "recording_started",
        "recording_stopped",
    ]
    assert retention.purge_expired_recordings(session=session, now=clock.at) == []
    purged = retention.purge_expired_recordings(
        session=session, now=clock.at + timedelta(days=settings.recording_retention_days + 1)
    )
    assert purged == [rec.id] and not path.exists()
    session.expire_all()
    assert session.get(Recording, rec.id) is None  # file and row gone; the audit keeps it


def test_room_capacity_is_enforced_on_admission(
    client: TestClient, login: Callable[[str], dict[str, str]], session: Session, clock
) -> None:  # type: ignore[no-untyped-def]
    host_id, a_id, b_id = _ids(session, "specialist", "county-doctor", "specialist2")
    room = client.post(
        "/api/v1/rooms",
        json=_room_body(clock, [a_id, b_id], max_participants=2),
        headers=login("specialist"),
    ).json()
    settings = get_settings().video
    clock.advance(minutes=20)
    users = {uid: session.get(User, uid) for uid in (host_id, a_id, b_id)}
    for uid in (host_id, a_id, b_id):
        service.join(
            session=session,
            room_id=room["id"],
            user=users[uid],  # type: ignore[arg-type]
            peer_id=f"p-{uid}",
            now=clock.at,
            settings=settings,
        )
    host = users[host_id]
    assert host is not None
    service.admit(session=session, room_id=room["id"], by=host, user_id=a_id, now=clock.at)  # type: ignore[arg-type]
    import pytest

    from telemed.core.errors import Conflict

    with pytest.raises(Conflict) as full:
        service.admit(session=session, room_id=room["id"], by=host, user_id=b_id, now=clock.at)  # type: ignore[arg-type]
    assert full.value.code == "room_full"
    waiting = session.execute(
        select(RoomParticipant).where(RoomParticipant.room_id == room["id"])
    ).scalars()
    assert sorted(p.status for p in waiting) == ["admitted", "admitted", "waiting"]
