"""The join path takes no detours: a worker's own peers are served without the channel's
round trip, and joining and admitting open only the transactions they need."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlmodel import Session

from telemed.video import handlers, signaling
from telemed.video.channel import MemoryChannel, PostgresChannel
from telemed.video.client import RoomClient
from telemed.video.hub import Hub, LocalPeer

T = TypeVar("T")


class SpyChannel(MemoryChannel):
    """The in-process channel, keeping what was put on it (what other workers would get)."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[dict[str, Any]] = []

    async def publish(self, envelope: dict[str, Any]) -> None:
        self.published.append(envelope)
        await super().publish(envelope)  # echoed back to the hub, as LISTEN does


def _peer(got: dict[str, list[str]], pid: str, user: str, **kw: Any) -> LocalPeer:
    async def deliver(env: dict[str, Any]) -> None:
        got.setdefault(pid, []).append(env["event"]["type"])
        if env["event"]["type"] == kw.get("when"):
            kw["done"].set()

    return LocalPeer("r1", pid, user, kw.get("host", False), kw.get("admitted", True), deliver)


def test_local_peers_get_each_envelope_once_and_addressed_ones_skip_the_channel() -> None:
    async def scenario() -> tuple[dict[str, list[str]], list[str]]:
        spy = SpyChannel()
        hub = Hub(spy)
        await hub.ensure_started()
        got: dict[str, list[str]] = {}
        for p in (_peer(got, "h", "u-h", host=True), _peer(got, "a", "u-a")):
            hub.add(p)
        await hub.publish("r1", {"type": "offer"}, to="a", sender="h")  # local peer: no channel
        await hub.publish("r1", {"type": "answer"}, to="elsewhere", sender="a")  # another worker
        await hub.publish("r1", {"type": "participants"}, audience="everyone")
        await hub.publish("r1", {"type": "_admitted"}, to="user:u-a")  # the user may be elsewhere
        # an envelope of another worker arrives through the channel and is delivered
        await spy.publish(
            {"room": "r1", "to": "a", "audience": "admitted", "sender": "x", "event": {"type": "x"}}
        )
        await hub.close()
        return got, [e["event"]["type"] for e in spy.published]

    got, published = asyncio.run(scenario())
    assert got == {"a": ["offer", "participants", "_admitted", "x"], "h": ["participants"]}
    assert published == ["answer", "participants", "_admitted", "x"]


def test_two_workers_on_postgres_each_deliver_once(database_url: str) -> None:
    """Worker A's own peers are served by A alone; B still gets what is for its peers."""

    class SpyPostgres(PostgresChannel):
        """Worker B's channel, keeping the room's envelopes its LISTEN connection received."""

        seen: list[str] = []

        async def start(self, handler: Any) -> None:
            async def spy(env: dict[str, Any]) -> None:
                if env.get("room") == "r1":
                    self.seen.append(env["event"]["type"])
                await handler(env)

            await super().start(spy)

    async def scenario() -> tuple[dict[str, list[str]], list[str]]:
        a, b = Hub(PostgresChannel(database_url)), Hub(SpyPostgres(database_url))
        await a.ensure_started()
        await b.ensure_started()
        got: dict[str, list[str]] = {}
        done_a, done_b = asyncio.Event(), asyncio.Event()
        a.add(_peer(got, "pa", "u-a", host=True, when="waiting", done=done_a))
        b.add(_peer(got, "pb", "u-b", when="answer", done=done_b))
        await a.publish("r1", {"type": "offer"}, to="pa", sender="pb")  # A's own: not notified
        await a.publish("r1", {"type": "participants"}, audience="everyone")
        await a.publish("r1", {"type": "answer"}, to="pb", sender="pa")  # B's peer
        await b.publish("r1", {"type": "waiting"}, audience="hosts")  # from B to A's host

        await asyncio.wait_for(asyncio.gather(done_a.wait(), done_b.wait()), 30)
        await a.close()
        await b.close()
        return got, SpyPostgres.seen

    got, seen_by_b = asyncio.run(scenario())
    assert got["pa"] == ["offer", "participants", "waiting"]
    assert got["pb"] == ["participants", "answer"]  # in the order A sent them
    # B's listener carried A's broadcast and B's peer's answer (and B's own echo, skipped),
    # never the offer addressed to A's own peer
    assert sorted(seen_by_b) == ["answer", "participants", "waiting"]


def test_join_and_admission_open_one_transaction_each(
    live_server: str,
    tokens: Callable[[str], str],
    make_room: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Authentication, the join and the host's admit: three transactions, no re-read of the
    roster after them (the roster broadcast uses the one read under the room's lock)."""
    room_id = make_room()
    opened: list[str] = []
    real = signaling.in_transaction

    async def counting(fn: Callable[[Session], T]) -> T:
        opened.append(fn.__qualname__)
        return await real(fn)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        host = RoomClient(live_server, tokens("specialist"), room_id, send_media=False)
        guest = RoomClient(live_server, tokens("county-doctor"), room_id, send_media=False)
        try:
            await host.join()
            monkeypatch.setattr(signaling, "in_transaction", counting)
            monkeypatch.setattr(handlers, "in_transaction", counting)
            await guest.join()
            waiting = await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
            await host.admit(guest.user_id or "")
            admit = await guest.wait_message("admit")
            roster = await host.wait_message(
                "participants",
                where=lambda m: [p["state"] for p in m["participants"]] == ["admitted"] * 2,
            )
            monkeypatch.undo()
            return waiting, {"admit": admit, "roster": roster}
        finally:
            await guest.close()
            await host.close()

    waiting, after = asyncio.run(scenario())
    guest_id = after["roster"]["participants"][1]["user_id"]
    assert [w["user_id"] for w in waiting["waiting"]] == [guest_id]
    assert [p["host"] for p in after["admit"]["peers"]] == [True]
    steps = [name.split(".")[-3] for name in opened]  # Class.method.<locals>.fn
    assert steps == ["authenticate", "join", "admission"], opened
