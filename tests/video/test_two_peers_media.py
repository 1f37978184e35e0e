"""Two aiortc peers meet through the server's signaling; media flows both ways."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from telemed.video.client import RoomClient


def test_host_admits_guest_and_media_flows_both_ways(
    live_server: str, tokens: Callable[[str], str], make_room: Callable[..., str], users
) -> None:  # type: ignore[no-untyped-def]
    room_id = make_room()

    async def scenario() -> None:
        host = RoomClient(live_server, tokens("specialist"), room_id)
        guest = RoomClient(live_server, tokens("county-doctor"), room_id, token_in_query=False)
        try:
            joined = await host.join()
            assert joined["state"] == "admitted" and joined["host"] is True
            g = await guest.join()
            assert g["state"] == "waiting"
            waiting = await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
            assert waiting["waiting"][0]["user_id"] == str(users["county-doctor"].id)
            await host.admit(str(users["county-doctor"].id))
            await guest.wait_admitted()
            got_guest = await guest.wait_frames(sources=1, count=20)
            got_host = await host.wait_frames(sources=1, count=20)
            assert list(got_guest) == [host.peer_id] and list(got_host) == [guest.peer_id]
            await guest.wait_frames(sources=1, count=10, kind="audio")
            await host.wait_frames(sources=1, count=10, kind="audio")
        finally:
            await guest.close()
            await host.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
