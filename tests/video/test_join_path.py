"""The join path takes no detours: a worker's own peers are served without the channel's
round trip, and joining and admitting open only the transactions they need."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from telemed.core.audit import REFUSED, AuditEvent
from telemed.identity.models import User
from telemed.video import handlers, signaling
from telemed.video.channel import MemoryChannel, PostgresChannel
from telemed.video.client import RoomClient
from telemed.video.hub import Hub, LocalPeer
from telemed.video.models import RoomEvent, RoomParticipant

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
    # B's listener carried A's broadcast and B's peer's answer (perhaps B's own echo too,
    # skipped), never the offer addressed to A's own peer
    assert seen_by_b[:2] == ["participants", "answer"] and "offer" not in seen_by_b


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """Record the socket's transactions (by the step that opens them) once started; the
    authentication's waits until a join's has started, so a join sent at once is early."""
    opened: list[str] = []
    join_started = threading.Event()
    real = signaling.in_transaction

    async def recording(fn: Callable[[Session], T]) -> T:
        step = fn.__qualname__.split(".")[-3]  # Class.method.<locals>.fn
        opened.append(step)
        if step == "join":
            join_started.set()
        if step == "verify":
            await anyio.to_thread.run_sync(join_started.wait, 20)
            opened.append("verify ran" + (" after the join started" * join_started.is_set()))
        return await real(fn)

    def start() -> list[str]:
        monkeypatch.setattr(signaling, "in_transaction", recording)
        monkeypatch.setattr(handlers, "in_transaction", recording)
        return opened

    return start


def test_join_and_admission_open_one_transaction_each(
    live_server: str,
    tokens: Callable[[str], str],
    make_room: Callable[..., str],
    transactions: Callable[[], list[str]],
) -> None:
    """Authentication, the join (started while the authentication still runs) and the
    host's admit: three transactions on the way to the answer; the roster is broadcast from
    the one read under the room's lock, and re-read only afterwards."""
    room_id = make_room()
    opened: list[list[str]] = []

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        host = RoomClient(live_server, tokens("specialist"), room_id, send_media=False)
        guest = RoomClient(live_server, tokens("county-doctor"), room_id, send_media=False)
        try:
            await host.join()
            recorded = transactions()  # from the guest's socket on
            await guest.join()
            waiting = await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
            await host.admit(guest.user_id or "")
            admit = await guest.wait_message("admit")
            roster = await host.wait_message(
                "participants",
                where=lambda m: [p["state"] for p in m["participants"]] == ["admitted"] * 2,
            )
            opened.append(list(recorded))  # before anyone leaves
            return waiting, {"admit": admit, "roster": roster}
        finally:
            await guest.close()
            await host.close()

    waiting, after = asyncio.run(scenario())
    guest_id = after["roster"]["participants"][1]["user_id"]
    assert [w["user_id"] for w in waiting["waiting"]] == [guest_id]
    assert [p["host"] for p in after["admit"]["peers"]] == [True]
    steps = opened[0]
    # the re-reads of the roster come after the broadcasts (the host's own join's may land
    # anywhere here); besides them: nothing but these, in this order
    assert [s for s in steps if s != "roster"] == [
        "verify",
        "join",
        "verify ran after the join started",
        "admission",
    ]
    assert "roster" in steps


def test_an_early_join_of_an_outsider_leaves_only_the_authentications_refusal(
    live_server: str,
    tokens: Callable[[str], str],
    make_room: Callable[..., str],
    users: dict[str, User],
    committed_engine: Engine,
    transactions: Callable[[], list[str]],
) -> None:
    """The join's transaction ran (and refused) while the authentication refused too: the
    record holds the authentication's refusal alone, as for a join sent later."""
    since = datetime.now(UTC).replace(microsecond=0)
    room_id = make_room(invited=("county-doctor",))
    opened = transactions()

    async def scenario() -> tuple[int | None, str | None]:
        outsider = RoomClient(live_server, tokens("specialist2"), room_id, send_media=False)
        try:
            await outsider.connect()
            await outsider.send({"type": "join"})
            return await outsider.wait_closed()
        finally:
            await outsider.close()

    assert asyncio.run(scenario()) == (4404, "room not found")
    assert opened[:3] == ["verify", "join", "verify ran after the join started"]
    with Session(committed_engine) as s:
        rows = s.execute(
            select(AuditEvent).where(AuditEvent.object_id == room_id, col(AuditEvent.at) >= since)
        ).scalars()
        refusals = [
            (e.actor_id, e.action, e.detail["reason"]) for e in rows if e.action != "create"
        ]
        joined = s.execute(
            select(RoomParticipant).where(RoomParticipant.room_id == uuid.UUID(room_id))
        ).all()
        events = s.execute(select(RoomEvent).where(RoomEvent.room_id == uuid.UUID(room_id))).all()
    assert refusals == [(users["specialist2"].id, REFUSED, "not a participant of the room")]
    assert joined == [] and events == []
