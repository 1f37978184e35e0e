"""The server peer: consented recording to a playable file; relayed three-party rooms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import av
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from telemed.video.client import RoomClient
from telemed.video.models import Recording, RoomEvent
from tests.video.pairs import admit_pair, consent_all


async def _admitted_pair(
    base: str, tokens: Callable[[str], str], room_id: str, guest_id: str
) -> tuple[RoomClient, RoomClient]:
    host = RoomClient(base, tokens("specialist"), room_id)
    guest = RoomClient(base, tokens("county-doctor"), room_id)
    await admit_pair(host, guest, guest_id, frames=5)
    return host, guest


def test_recording_needs_everyones_consent_and_refusal_blocks_it(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str], users
) -> None:  # type: ignore[no-untyped-def]
    room_id = make_room()
    guest_id = str(users["county-doctor"].id)

    async def scenario() -> None:
        host, guest = await _admitted_pair(live_server, tokens, room_id, guest_id)
        try:
            await host.record("start")
            err = await host.wait_message("error")
            assert err["code"] == "consent_required" and len(err["users"]) == 2
            await host.consent(True)
            await guest.consent(False)
            await host.wait_message("consent", where=lambda m: m["user_id"] == guest_id)
            await host.record("start")
            err = await host.wait_message("error")
            assert err["code"] == "consent_refused" and err["users"] == [guest_id]
            await guest.record("start")  # not the host
            assert (await guest.wait_message("error"))["code"] in ("forbidden", "consent_refused")
        finally:
            await guest.close()
            await host.close()

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_consented_recording_produces_a_playable_file_of_the_right_length(
    live_server: str,
    tokens: Callable[[str], str],
    make_room: Callable[..., str],
    users,  # type: ignore[no-untyped-def]
    committed_engine: Engine,
) -> None:
    room_id = make_room()
    guest_id = str(users["county-doctor"].id)
    timing: dict[str, float] = {}

    async def scenario() -> None:
        host, guest = await _admitted_pair(live_server, tokens, room_id, guest_id)
        try:
            await consent_all(host, guest, guest_id)
            await host.record("start")
            started = await host.wait_message("recording", within=40)
            assert started["state"] == "started", started
            timing["start"] = time.monotonic()
            # Record for a known stretch: wait until the guest received 45 more frames.
            before = guest.received()[host.peer_id]  # type: ignore[index]
            await guest.wait_frames(count=before + 45)
            await host.record("stop")
            stopped = await host.wait_message("recording", within=40)
            timing["stop"] = time.monotonic()
            assert stopped["state"] == "stopped", stopped
            timing["duration"] = stopped["duration_seconds"]
        finally:
            await guest.close()
            await host.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
    with Session(committed_engine) as s:
        rec = s.execute(select(Recording).where(Recording.room_id == room_id)).scalar_one()  # type: ignore[arg-type]
        kinds = [
            e.kind
            for e in s.execute(select(RoomEvent).where(RoomEvent.room_id == room_id)).scalars()  # type: ignore[arg-type]
        ]
    assert rec.status == "finished" and Path(rec.path).exists()
    assert sorted(rec.access_user_ids) == sorted([guest_id, str(users["specialist"].id)])
    assert {"consent", "recording_started", "recording_stopped"} <= set(kinds)
    with av.open(rec.path) as container:
        kinds_in_file = sorted(s.type for s in container.streams)
        duration = float(container.duration) / 1_000_000
        decoded = sum(1 for _ in container.decode(video=0))
    assert kinds_in_file == ["audio", "audio", "video", "video"]
    wall = timing["stop"] - timing["start"]
    assert rec.duration_seconds is not None and abs(rec.duration_seconds - duration) < 0.01
    # The file covers the recorded stretch (frames start flowing right after "started").
    assert abs(duration - wall) < 1.5, (duration, wall)
    assert decoded >= 20
    Path(rec.path).unlink()


def test_three_party_relay_room_delivers_everyones_frames_to_the_others(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str], users
) -> None:  # type: ignore[no-untyped-def]
    room_id = make_room(invited=("county-doctor", "specialist2"), mode="relay")

    async def scenario() -> None:
        host = RoomClient(live_server, tokens("specialist"), room_id)
        a = RoomClient(live_server, tokens("county-doctor"), room_id)
        b = RoomClient(live_server, tokens("specialist2"), room_id)
        clients = [host, a, b]
        try:
            await host.join()
            for c, name in ((a, "county-doctor"), (b, "specialist2")):
                await c.join()
                await host.wait_message(
                    "waiting",
                    where=lambda m, n=name: any(
                        w["user_id"] == str(users[n].id) for w in m["waiting"]
                    ),
                )
                await host.admit(str(users[name].id))
                await c.wait_admitted()
            for c in clients:
                got = await c.wait_frames(sources=2, count=15, within=60)
                others = {x.peer_id for x in clients if x is not c}
                assert others <= set(got), (c.peer_id, got)
                await c.wait_frames(sources=2, count=10, kind="audio", within=30)
            # Nobody offered to anybody but the server: media went through the relay.
            for c in clients:
                assert all(key[0].startswith("server-") for key in c.pcs), list(c.pcs)
        finally:
            for c in clients:
                await c.close()

    asyncio.run(asyncio.wait_for(scenario(), 150))
