"""Every refused signaling message gets the documented error; nothing is forwarded blindly."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from telemed.video.client import RoomClient, ws_url
from tests.video.pairs import admit_pair


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 90))


async def _pair(
    base: str, tokens: Callable[[str], str], room_id: str, guest_id: str
) -> tuple[RoomClient, RoomClient]:
    host = RoomClient(base, tokens("specialist"), room_id, send_media=False)
    guest = RoomClient(base, tokens("county-doctor"), room_id, send_media=False, mesh=False)
    await admit_pair(host, guest, guest_id)
    return host, guest


def test_deny_of_a_participant_who_left_is_not_waiting_and_does_not_ban_them(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str], users
) -> None:  # type: ignore[no-untyped-def]
    room_id = make_room()
    guest_id = str(users["county-doctor"].id)

    async def scenario() -> None:
        host, guest = await _pair(live_server, tokens, room_id, guest_id)
        back = RoomClient(live_server, tokens("county-doctor"), room_id, send_media=False)
        try:
            await guest.close()  # bye: leaves on purpose
            await host.wait_message("bye", where=lambda m: m.get("user_id") == guest_id)
            await host.deny(guest_id)
            err = await host.wait_message("error")
            assert err["code"] == "not_waiting", err
            # Not banned: on return they wait again, and the host can admit them.
            assert (await back.join())["state"] == "waiting"
            await host.admit(guest_id)
            await back.wait_admitted()
        finally:
            await back.close()
            await host.close()

    run(scenario())


def test_answer_without_offer_and_offer_to_unknown_peer_are_refused_not_forwarded(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str], users
) -> None:  # type: ignore[no-untyped-def]
    room_id = make_room()
    guest_id = str(users["county-doctor"].id)

    async def scenario() -> None:
        host, guest = await _pair(live_server, tokens, room_id, guest_id)
        try:
            await guest.send({"type": "answer", "to": host.peer_id, "sdp": "v=0"})
            err = await guest.wait_message("error")
            assert err["code"] == "no_offer" and host.peer_id in err["detail"], err
            await guest.send({"type": "offer", "to": "no-such-peer", "sdp": "v=0"})
            assert (await guest.wait_message("error"))["code"] == "unknown_peer"
            await guest.send({"type": "candidate", "to": "no-such-peer", "candidate": None})
            assert (await guest.wait_message("error"))["code"] == "unknown_peer"
            await guest.send({"type": "offer", "to": guest.peer_id, "sdp": "v=0"})
            assert (await guest.wait_message("error"))["code"] == "unknown_peer"  # oneself
            await guest.send({"type": "offer", "to": "server-0123", "sdp": "v=0"})
            assert (await guest.wait_message("error"))["code"] == "invalid"
            await guest.send({"type": "offer", "to": host.peer_id, "sdp": "v=0", "purpose": "x"})
            assert (await guest.wait_message("error"))["code"] == "bad_message"
            # A real offer is forwarded; its answer (the host client's own) too, but once.
            await guest.send({"type": "offer", "to": host.peer_id, "sdp": "v=0", "purpose": "mesh"})
            offer = await host.wait_message("offer")
            assert offer["from"] == guest.peer_id and "to" not in offer
            answer = await guest.wait_message("answer")
            assert answer["from"] == host.peer_id
            await host.send({"type": "answer", "to": guest.peer_id, "sdp": "v=2"})
            assert (await host.wait_message("error"))["code"] == "no_offer"
            await guest.send({"type": "ping"})
            await guest.wait_message("pong")
            # Nothing refused reached the other side.
            assert [m["sdp"] for m in guest.messages if m["type"] == "answer"] == [answer["sdp"]]
            assert len([m for m in host.messages if m["type"] == "offer"]) == 1
        finally:
            await guest.close()
            await host.close()

    run(scenario())


def test_stop_with_nothing_recording_and_overlong_chat_get_their_own_errors(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str], users
) -> None:  # type: ignore[no-untyped-def]
    room_id = make_room()
    guest_id = str(users["county-doctor"].id)

    async def scenario() -> None:
        host, guest = await _pair(live_server, tokens, room_id, guest_id)
        try:
            await host.record("stop")
            err = await host.wait_message("error")
            assert err["code"] == "not_recording", err
            await guest.record("stop")
            assert (await guest.wait_message("error"))["code"] == "forbidden"
            await host.chat("长" * 2001)
            err = await host.wait_message("error")
            assert err["code"] == "invalid" and "2000" in err["detail"], err
            # it names the limit, so the room page can say so (room.errors.chat_length)
            assert err["max_chars"] == 2000 and err["errors"][0]["field"] == "text", err
            await host.chat("   ")
            assert (await host.wait_message("error"))["code"] == "invalid"
            await host.send({"type": "chat", "text": 7})
            err = await host.wait_message("error")
            assert err["code"] == "bad_message" and "string" in err["detail"]
            await host.chat("长" * 2000)  # the limit itself is fine
            assert len((await guest.wait_message("chat"))["text"]) == 2000
        finally:
            await guest.close()
            await host.close()

    run(scenario())


def test_a_dropped_participant_is_announced_with_an_iso_8601_grace_until(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str], users
) -> None:  # type: ignore[no-untyped-def]
    room_id = make_room()
    guest_id = str(users["county-doctor"].id)

    async def scenario() -> None:
        host, guest = await _pair(live_server, tokens, room_id, guest_id)
        try:
            await guest.drop()
            bye = await host.wait_message("bye", where=lambda m: m.get("user_id") == guest_id)
            assert set(bye) == {"type", "peer", "user_id", "reconnecting", "grace_until"}
            assert re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", bye["grace_until"]
            ), bye
            assert datetime.fromisoformat(bye["grace_until"]).tzinfo is not None
        finally:
            await host.close()

    run(scenario())


async def _raw_join(base: str, token: str, room_id: str) -> Any:
    from websockets.asyncio.client import connect

    ws = await connect(ws_url(base, room_id) + f"?token={token}", open_timeout=20)
    await ws.send(json.dumps({"type": "join"}))
    return ws


async def _next(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if msg["type"] == kind:
            return msg


def test_bogus_messages_to_the_server_peer_are_answered_with_errors_not_tracebacks(
    live_server: str,
    tokens: Callable[[str], str],
    make_room: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    room_id = make_room(mode="relay")

    async def scenario() -> None:
        # A hand-written client: the relay room's server peer offers to the host.
        ws = await _raw_join(live_server, tokens("specialist"), room_id)
        try:
            offer = await _next(ws, "offer")
            server = offer["from"]
            assert server.startswith("server-") and offer["purpose"] == "upstream"
            bogus = [
                # an answer whose SDP is no SDP
                {"type": "answer", "to": server, "sdp": "garbage", "purpose": "upstream"},
                # a second answer: the offer was answered (badly) already
                {"type": "answer", "to": server, "sdp": "garbage", "purpose": "upstream"},
                # a candidate that is no candidate
                {
                    "type": "candidate",
                    "to": server,
                    "purpose": "upstream",
                    "candidate": {"candidate": "candidate:nonsense", "sdpMid": "0"},
                },
                # a downstream connection the server never offered
                {
                    "type": "candidate",
                    "to": server,
                    "purpose": "downstream",
                    "source": "nobody",
                    "candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"},
                },
            ]
            codes = []
            for msg in bogus:
                await ws.send(json.dumps(msg))
                codes.append((await _next(ws, "error"))["code"])
            assert codes == ["invalid", "no_offer", "invalid", "unknown_peer"], codes
        finally:
            await ws.close()

    with caplog.at_level(logging.WARNING):
        run(scenario())
    # (the refusals are logged as warnings: the log is captured, and holds no traceback)
    assert any("refused" in r.getMessage() for r in caplog.records if "server" in r.name)
    tracebacks = [r for r in caplog.records if r.exc_info and "server" in r.name]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
