"""A recording left `recording` by a server that died is swept as failed, with the reason."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, select

from telemed.core.settings import get_settings
from telemed.identity.models import User
from telemed.video import service
from telemed.video.models import Recording, RoomEvent
from telemed.video.schemas import RoomCreate


def _recorded_room(session: Session, now: datetime) -> tuple[uuid.UUID, User, User]:
    users = {
        u.username: u
        for u in session.execute(
            select(User).where(User.username.in_(["specialist", "county-doctor"]))  # type: ignore[attr-defined]
        ).scalars()
    }
    host, guest = users["specialist"], users["county-doctor"]
    settings = get_settings().video
    room = service.create_room(
        session=session,
        data=RoomCreate(
            title="stale",
            starts_at=now,
            ends_at=now + timedelta(minutes=30),
            invited_user_ids=[guest.id],
        ),
        by=host,
        now=now,
        settings=settings,
    )
    for user, peer in ((host, "p-host"), (guest, "p-guest")):
        service.join(
            session=session, room_id=room.id, user=user, peer_id=peer, now=now, settings=settings
        )
    service.admit(session=session, room_id=room.id, by=host, user_id=guest.id, now=now)
    for user in (host, guest):
        service.record_consent(session=session, room_id=room.id, user=user, granted=True, now=now)
    return room.id, host, guest


def test_a_recording_without_heartbeat_is_failed_with_its_reason_and_no_longer_announced(
    session: Session, clock
) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings().video
    room_id, host, guest = _recorded_room(session, clock.at)
    rec = service.start_recording(
        session=session, room_id=room_id, by=host, now=clock.at, settings=settings
    )
    assert rec.heartbeat_at == clock.at
    # The server peer beats while it records.
    clock.advance(seconds=settings.recording_stale_seconds - 1)
    assert service.recording_heartbeat(
        session=session, recording_id=rec.id, now=clock.at, instance="host-a:4242", warnings=["w"]
    )
    last_beat = clock.at
    clock.advance(seconds=settings.recording_stale_seconds - 1)
    assert service.sweep_stale_recordings(session=session, now=clock.at, settings=settings) == []
    assert service.running_recording(
        session=session, room_id=room_id, now=clock.at, settings=settings
    )
    # ... then the server dies: no beat any more.
    clock.advance(seconds=2)
    # Joiners are not told about it from the moment it is stale, sweep or not.
    assert (
        service.join(
            session=session,
            room_id=room_id,
            user=guest,
            peer_id="p-guest-2",
            now=clock.at,
            settings=settings,
        ).recording_id
        is None
    )
    swept = service.sweep_stale_recordings(session=session, now=clock.at, settings=settings)
    assert [r.id for r in swept] == [rec.id]
    session.refresh(rec)
    assert rec.status == "failed" and rec.ended_at == last_beat
    assert rec.error is not None and "host-a:4242" in rec.error
    assert last_beat.isoformat() in rec.error and rec.warnings == ["w"]
    stopped = [
        e
        for e in session.execute(
            select(RoomEvent).where(
                RoomEvent.room_id == room_id, RoomEvent.kind == "recording_stopped"
            )  # type: ignore[arg-type]
        ).scalars()
    ]
    assert [e.data["status"] for e in stopped] == ["failed"]
    assert stopped[0].data["reason"] == rec.error
    # Idempotent: a second sweep (the runner retrying) changes nothing.
    assert service.sweep_stale_recordings(session=session, now=clock.at, settings=settings) == []
    # A heartbeat arriving late does not revive it, and a new recording may start.
    assert service.recording_heartbeat(session=session, recording_id=rec.id, now=clock.at) is None
    again = service.start_recording(
        session=session, room_id=room_id, by=host, now=clock.at, settings=settings
    )
    assert again.status == "recording"


def test_a_stale_recording_does_not_block_a_new_one_before_the_sweep_ran(
    session: Session, clock
) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings().video
    room_id, host, _ = _recorded_room(session, clock.at)
    first = service.start_recording(
        session=session, room_id=room_id, by=host, now=clock.at, settings=settings
    )
    clock.advance(seconds=settings.recording_stale_seconds + 1)
    second = service.start_recording(
        session=session, room_id=room_id, by=host, now=clock.at, settings=settings
    )
    assert second.id != first.id
    assert service.running_recording(
        session=session, room_id=room_id, now=clock.at, settings=settings
    ) == session.get(Recording, second.id)
