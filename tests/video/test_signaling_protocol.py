"""The signaling socket refuses bad input without killing the room."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from telemed.core import clock
from telemed.identity.models import User
from telemed.video.client import RoomClient, ws_url
from telemed.video.models import Recording, RoomEvent


async def _raw(base: str, room_id: str, query: str = "") -> Any:
    from websockets.asyncio.client import connect

    return await connect(ws_url(base, room_id) + query, open_timeout=20)


async def _closed(ws: Any) -> tuple[int | None, str | None]:
    from websockets.exceptions import ConnectionClosed

    try:
        while True:
            await asyncio.wait_for(ws.recv(), 20)
    except ConnectionClosed:
        return ws.close_code, ws.close_reason


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_unauthenticated_sockets_are_closed_with_a_reason(
    live_server: str, make_room: Callable[..., str]
) -> None:
    room_id = make_room()

    async def scenario() -> None:
        ws = await _raw(live_server, room_id)
        await ws.send(json.dumps({"type": "join"}))  # no auth first
        assert await _closed(ws) == (4401, "authenticate first: {type: auth, token}")
        ws = await _raw(live_server, room_id, "?token=not-a-token")
        code, reason = await _closed(ws)
        assert (code, reason) == (4401, "invalid token")
        ws = await _raw(live_server, room_id)
        await ws.send("this is not json")
        code, _ = await _closed(ws)
        assert code == 4401

    run(scenario())


def test_a_pending_forced_password_change_closes_the_socket_with_its_code(
    live_server: str,
    tokens: Callable[[str], str],
    make_room: Callable[..., str],
    committed_engine: Engine,
) -> None:
    """The socket is a door like the API: until the password is changed, nothing else."""
    room_id = make_room(invited=("county-doctor",))
    token = tokens("county-doctor")

    def must_change(flag: bool) -> None:
        with Session(committed_engine) as s:
            user = s.execute(select(User).where(User.username == "county-doctor")).scalar_one()
            user.must_change_password = flag
            s.commit()

    async def scenario() -> None:
        ws = await _raw(live_server, room_id)
        await ws.send(json.dumps({"type": "auth", "token": token}))
        error = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert error["type"] == "error" and error["code"] == "password_change_required"
        assert await _closed(ws) == (4403, "password_change_required")
        ws = await _raw(live_server, room_id, f"?token={token}")  # the query form too
        assert json.loads(await asyncio.wait_for(ws.recv(), 20))["code"] == (
            "password_change_required"
        )
        assert (await _closed(ws))[0] == 4403

    async def after_the_change() -> None:
        client = RoomClient(live_server, token, room_id, send_media=False)
        try:
            assert (await client.join())["state"] == "waiting"
        finally:
            await client.close()

    must_change(True)
    try:
        run(scenario())
    finally:
        must_change(False)
    run(after_the_change())


def test_uninvited_and_unknown_rooms_are_refused(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str]
) -> None:
    room_id = make_room(invited=("county-doctor",))

    async def scenario() -> None:
        # specialist2 is not invited: the room does not exist for them.
        ws = await _raw(live_server, room_id, f"?token={tokens('specialist2')}")
        assert await _closed(ws) == (4404, "room not found")
        ws = await _raw(
            live_server, "0190b5c4-0000-7000-8000-000000000000", f"?token={tokens('specialist')}"
        )
        assert (await _closed(ws))[0] == 4404

    run(scenario())


def test_room_opens_only_inside_its_window(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str]
) -> None:
    room_id = make_room(starts_in=timedelta(hours=3))

    async def scenario() -> None:
        c = RoomClient(live_server, tokens("specialist"), room_id)
        await c.connect()
        await c.send({"type": "join"})
        code, reason = await c.wait_closed()
        assert code == 4410 and reason and reason.startswith("the room opens at")
        await c.close()

    run(scenario())


def test_malformed_and_oversized_messages_are_refused_and_the_socket_lives(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str]
) -> None:
    room_id = make_room()

    async def scenario() -> None:
        host = RoomClient(live_server, tokens("specialist"), room_id, send_media=False)
        try:
            await host.join()
            await host.ws.send("{not json")
            assert (await host.wait_message("error"))["code"] == "bad_message"
            await host.send({"no": "type"})
            assert (await host.wait_message("error"))["code"] == "bad_message"
            await host.send({"type": "teleport"})
            assert (await host.wait_message("error"))["code"] == "unknown_type"
            await host.send({"type": "offer", "to": 5})
            assert (await host.wait_message("error"))["code"] == "bad_message"
            await host.send({"type": "chat", "text": "x" * 100_000})
            assert (await host.wait_message("error"))["code"] == "too_large"
            await host.send({"type": "admit", "user_id": "not-a-uuid"})
            assert (await host.wait_message("error"))["code"] == "bad_message"
            await host.send({"type": "ping"})
            await host.wait_message("pong")
            await host.chat("still here")
            chat = await host.wait_message("chat")
            assert chat["text"] == "still here"
        finally:
            await host.close()

    run(scenario())


def test_a_flooding_participant_is_rate_limited_then_disconnected(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str]
) -> None:
    room_id = make_room()

    async def scenario() -> None:
        host = RoomClient(live_server, tokens("specialist"), room_id, send_media=False)
        try:
            await host.join()
            for _ in range(400):
                if host.closed:
                    break
                await host.send({"type": "ping"})
            err = await host.wait_message("error", where=lambda m: m["code"] == "rate_limited")
            assert "slow down" in err["detail"]
            code, reason = await host.wait_closed()
            assert code == 4429, reason
        finally:
            await host.close()

    run(scenario())


def test_waiting_room_deny_closes_the_guest(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str], users
) -> None:  # type: ignore[no-untyped-def]
    room_id = make_room()

    async def scenario() -> None:
        host = RoomClient(live_server, tokens("specialist"), room_id, send_media=False)
        guest = RoomClient(live_server, tokens("county-doctor"), room_id, send_media=False)
        try:
            await host.join()
            assert (await guest.join())["state"] == "waiting"
            # A waiting guest cannot signal nor admit themself.
            await guest.send({"type": "offer", "to": host.peer_id, "sdp": "v=0"})
            assert (await guest.wait_message("error"))["code"] == "not_admitted"
            await guest.admit(str(users["county-doctor"].id))
            assert (await guest.wait_message("error"))["code"] == "forbidden"
            await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
            await host.deny(str(users["county-doctor"].id))
            assert (await guest.wait_message("deny"))["type"] == "deny"
            assert (await guest.wait_closed())[0] == 4403
            again = RoomClient(live_server, tokens("county-doctor"), room_id, send_media=False)
            await again.connect()
            await again.send({"type": "join"})
            assert (await again.wait_closed())[0] == 4403
            await again.close()
        finally:
            await guest.close()
            await host.close()

    run(scenario())


def _recording_runs(engine: Engine, room_id: str, by: Any) -> Any:
    """A recording row in state `recording` for the room (as the server peer leaves it
    while it records)."""
    now = clock.now()
    with Session(engine) as s:
        rec = Recording(
            room_id=uuid.UUID(room_id),
            path="/nonexistent/recording.mp4",
            started_by_id=by,
            started_at=now,
            retention_until=now + timedelta(days=1),
        )
        s.add(rec)
        s.commit()
        return rec.id


def test_reconnecting_participant_keeps_admission_and_peers_are_told(
    live_server: str,
    tokens: Callable[[str], str],
    make_room: Callable[..., str],
    users,  # type: ignore[no-untyped-def]
    committed_engine: Engine,
) -> None:
    room_id = make_room()
    guest_id = str(users["county-doctor"].id)

    async def scenario() -> None:
        host = RoomClient(live_server, tokens("specialist"), room_id, send_media=False)
        guest = RoomClient(live_server, tokens("county-doctor"), room_id, send_media=False)
        back = RoomClient(live_server, tokens("county-doctor"), room_id, send_media=False)
        try:
            host_joined = await host.join()
            assert host_joined["recording"] is None  # nothing recorded yet
            await guest.join()
            await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
            await host.admit(guest_id)
            await guest.wait_admitted()
            await guest.chat("血压 150/95")
            await host.wait_message("chat")
            await guest.drop()  # connection lost, no bye
            bye = await host.wait_message("bye", where=lambda m: m.get("user_id") == guest_id)
            assert bye["reconnecting"] is True and bye["grace_until"]
            roster = await host.wait_message(
                "participants",
                where=lambda m: any(p["state"] == "reconnecting" for p in m["participants"]),
            )
            assert roster["participants"][-1]["user_id"] == guest_id
            recording_id = _recording_runs(committed_engine, room_id, users["specialist"].id)
            joined = await back.join()
            assert joined["state"] == "admitted"  # no second admission needed
            assert [p["peer"] for p in joined["peers"]] == [host.peer_id]
            # the returning participant is told at once that the session is being recorded
            assert joined["recording"] == str(recording_id)
        finally:
            await back.close()
            await guest.close()
            await host.close()

    run(scenario())

    def kinds() -> list[str]:
        with Session(committed_engine) as s:
            return [
                e.kind
                for e in s.execute(
                    select(RoomEvent).where(RoomEvent.room_id == room_id).order_by(RoomEvent.at)  # type: ignore[arg-type]
                ).scalars()
            ]

    # The server records the last leaves after the sockets closed: wait for the session end.
    deadline = time.monotonic() + 30
    while "session_ended" not in kinds() and time.monotonic() < deadline:
        time.sleep(0.05)
    got = kinds()
    assert got[:4] == ["join", "join", "admit", "chat"]
    leaves = [e for e in got if e == "leave"]
    # (the last leave and the session end share a timestamp: their order is not asserted)
    assert len(leaves) == 3 and got.count("join") == 3 and got.count("session_ended") == 1
