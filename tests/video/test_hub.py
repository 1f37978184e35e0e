"""The in-process channel delivers envelopes to the addressed peer or the audience only."""

from __future__ import annotations

import asyncio
from typing import Any

from telemed.video.channel import MemoryChannel
from telemed.video.hub import Hub, LocalPeer


def test_memory_channel_routes_by_address_and_audience() -> None:
    async def scenario() -> dict[str, list[str]]:
        hub = Hub(MemoryChannel())
        await hub.ensure_started()
        got: dict[str, list[str]] = {}

        def peer(pid: str, user: str, *, host: bool = False, admitted: bool = True) -> LocalPeer:
            async def deliver(env: dict[str, Any]) -> None:
                got.setdefault(pid, []).append(env["event"]["type"])

            return LocalPeer("r1", pid, user, host, admitted, deliver)

        for p in (peer("h", "u-h", host=True), peer("a", "u-a"), peer("w", "u-w", admitted=False)):
            hub.add(p)
        await hub.publish("r1", {"type": "chat"}, sender="a")  # admitted, not the sender
        await hub.publish("r1", {"type": "participants"}, audience="everyone")
        await hub.publish("r1", {"type": "waiting"}, audience="hosts")
        await hub.publish("r1", {"type": "offer"}, to="a", sender="h")
        await hub.publish("r1", {"type": "_admitted"}, to="user:u-w")
        await hub.publish("other-room", {"type": "chat"})
        await hub.close()
        return got

    got = asyncio.run(scenario())
    assert got == {
        "h": ["chat", "participants", "waiting"],
        "a": ["participants", "offer"],
        "w": ["_admitted"],
    }
