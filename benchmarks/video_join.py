"""Join -> first remote video frame through our signaling, against a direct aiortc pair.

    python benchmarks/video_join.py [--trials 10] [--database postgres|sqlite] [--against DIR]

Each trial runs three measurements, in alternating order (ABC, then CBA, ...) so that the
machine's load hits each alike:

- **ours**: the host is in the room; the guest's `RoomClient` opens the socket
  (`?token=`), sends `join`, waits, is admitted by the host's client as soon as the
  waiting notice arrives, offers to the host and receives the host's first video frame.
  Timed from before the socket opens to that frame.
- **direct** (the baseline): the same two `RoomClient`s, the same tracks (audio and
  video) and the same aiortc code (offer, answer, ICE, DTLS), but the offer and the answer
  are handed from one client to the other in memory: no server at all. Timed from the
  guest's offer to its first frame of the host.
- **signaling only**: the same protocol steps with canned SDP text instead of aiortc
  (socket, authentication, join, waiting notice, admit, offer relayed, answer relayed):
  what the server adds, split by step.

The server is uvicorn in its own process (one worker) on PostgreSQL with its default
durability, so the socket uses the PostgreSQL channel as a deployed worker does.

`--against DIR` serves a second app from another checkout (e.g. `git worktree add
/tmp/before main`) on its own database and adds its "ours" and "signaling only" to every
trial, in the same alternation: a before/after comparison under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from _video_support import Served, durability, served_app

from telemed.video.client import RoomClient, ws_url


async def through_server(base: str, room_id: str, host_token: str, guest_token: str) -> float:
    host = RoomClient(base, host_token, room_id)
    guest = RoomClient(base, guest_token, room_id)
    try:
        await host.join()

        async def admit_when_waiting() -> None:
            msg = await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
            await host.admit(msg["waiting"][0]["user_id"])

        admitter = asyncio.create_task(admit_when_waiting())
        t0 = time.perf_counter()
        await guest.join()
        await guest.wait_frames(count=1, within=30)
        elapsed = guest.first_frame_at[f"{host.peer_id}:video"] - t0
        await admitter
        return elapsed
    finally:
        await guest.close()
        await host.close()


class _InMemory(RoomClient):
    """A RoomClient whose messages go straight to another one (no socket, no server)."""

    other: _InMemory

    async def send(self, message: dict[str, Any]) -> None:
        to = message.pop("to")
        assert to == self.other.peer_id
        message["from"] = self.peer_id
        # like a socket: the other side handles it in its own task
        self.other._tasks.append(asyncio.create_task(self.other._on_message(message)))


async def direct() -> float:
    guest, host = _InMemory("memory:", "", "r"), _InMemory("memory:", "", "r")
    guest.other, host.other = host, guest
    guest.peer_id, host.peer_id = "guest", "host"
    try:
        t0 = time.perf_counter()
        await guest._offer_to([{"peer": "host"}])
        await guest.wait_frames(count=1, within=30)
        return guest.first_frame_at["host:video"] - t0
    finally:
        await guest.close()
        await host.close()


# A syntactically real offer/answer of aiortc's shape; the server never parses SDP.
CANNED_SDP = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" + "a=x:" + "0" * 3000 + "\r\n"


async def signaling_only(
    base: str, room_id: str, host_token: str, guest_token: str
) -> dict[str, float]:
    """The protocol's steps with canned SDP; the time of each step since the socket opened."""
    from websockets.asyncio.client import connect

    url = ws_url(base, room_id)

    async def next_of(ws: Any, kind: str, where: Any = None) -> dict[str, Any]:
        while True:
            msg = json.loads(await ws.recv())
            if msg.get("type") == kind and (where is None or where(msg)):
                return msg

    async with connect(f"{url}?token={host_token}") as host:
        await host.send(json.dumps({"type": "join"}))
        host_joined = await next_of(host, "joined")

        async def host_side() -> None:
            waiting = await next_of(host, "waiting", lambda m: bool(m["waiting"]))
            guest_id = waiting["waiting"][0]["user_id"]
            await host.send(json.dumps({"type": "admit", "user_id": guest_id}))
            offer = await next_of(host, "offer")
            answer = {"type": "answer", "to": offer["from"], "sdp": CANNED_SDP}
            await host.send(json.dumps(answer))

        answering = asyncio.create_task(host_side())
        marks: dict[str, float] = {}
        t0 = time.perf_counter()
        async with connect(f"{url}?token={guest_token}") as guest:
            marks["socket open"] = time.perf_counter() - t0
            await guest.send(json.dumps({"type": "join"}))
            await next_of(guest, "joined")
            marks["joined (waiting)"] = time.perf_counter() - t0
            await next_of(guest, "admit")
            marks["admitted"] = time.perf_counter() - t0
            await guest.send(
                json.dumps({"type": "offer", "to": host_joined["peer"], "sdp": CANNED_SDP})
            )
            await next_of(guest, "answer")
            marks["answer"] = time.perf_counter() - t0
            await answering
            await guest.send(json.dumps({"type": "bye"}))
        await host.send(json.dumps({"type": "bye"}))
    return marks


def _ms(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:6.1f} ms  "
        f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--against", type=Path, help="another checkout's app, measured alike")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        apps = {"this tree": stack.enter_context(served_app(args.database))}
        if args.against:
            other = stack.enter_context(served_app(args.database, args.against.resolve()))
            apps[str(args.against)] = other
        tokens = {n: (a.token("specialist"), a.token("county-doctor")) for n, a in apps.items()}
        print(f"trials: {args.trials}; database: {durability(apps['this tree'].database_url)}")
        print("server: uvicorn, 1 worker, loopback; media: 160x120 video at 15 fps + audio")
        print(f"load average at start: {os.getloadavg()}")
        ours: dict[str, list[float]] = {n: [] for n in apps}
        sig: dict[str, list[dict[str, float]]] = {n: [] for n in apps}
        base: list[float] = []
        steps = []
        for name, app in apps.items():
            host_t, guest_t = tokens[name]

            def run_ours(app: Served = app, n: str = name, h: str = host_t, g: str = guest_t):
                rid = app.room(["county-doctor"])
                ours[n].append(asyncio.run(through_server(app.base_url, rid, h, g)))

            def run_signaling(app: Served = app, n: str = name, h: str = host_t, g: str = guest_t):
                rid = app.room(["county-doctor"])
                sig[n].append(asyncio.run(signaling_only(app.base_url, rid, h, g)))

            steps += [run_ours, run_signaling]

        def run_direct() -> None:
            base.append(asyncio.run(direct()))

        steps.insert(1, run_direct)
        for step in steps:  # one warm-up round of each (pools, imports), not counted
            step()
        for name in apps:
            ours[name].clear(), sig[name].clear()
        base.clear()
        for trial in range(args.trials):
            for step in steps if trial % 2 == 0 else steps[::-1]:
                step()
        print(f"load average at end: {os.getloadavg()}")
    m_base = statistics.median(base)
    print(f"baseline, the same clients connected directly:     {_ms(base)}")
    for name in apps:
        m_ours = statistics.median(ours[name])
        print(f"[{name}] join -> first remote frame through our signaling: {_ms(ours[name])}")
        ratios = [o / b for o, b in zip(ours[name], base, strict=True)]
        print(
            f"[{name}] ratio of medians (ours / direct): {m_ours / m_base:.2f}x "
            f"(overhead {(m_ours - m_base) * 1000:.0f} ms); "
            f"per-trial ratios {min(ratios):.2f}-{max(ratios):.2f}x"
        )
        print(f"[{name}] signaling only (canned SDP), time since the socket opened:")
        for mark in sig[name][0]:
            print(f"  {mark:18s} {_ms([s[mark] for s in sig[name]])}")


if __name__ == "__main__":
    main()
