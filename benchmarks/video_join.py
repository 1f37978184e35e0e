"""Time from `join` to the first remote video frame, through our signaling vs. direct.

    python benchmarks/video_join.py [--trials 5]

Through the server: the host is in the room; the guest connects, sends `join`, waits,
is admitted by the host's client as soon as the waiting notice arrives, offers, and
receives the host's first frame. Baseline, same run: two aiortc peers in this process
exchanging offer and answer directly in memory. The ratio is our signaling overhead
(socket, authentication, waiting room, database writes) on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from _video_support import served_app
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.contrib.media import MediaRelay

from telemed.video.client import RoomClient, SyntheticVideoTrack


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
        elapsed = time.perf_counter() - t0
        await admitter
        return elapsed
    finally:
        await guest.close()
        await host.close()


async def direct() -> float:
    config = RTCConfiguration(iceServers=[])
    a, b = RTCPeerConnection(config), RTCPeerConnection(config)
    relay = MediaRelay()
    src_a, src_b = SyntheticVideoTrack(), SyntheticVideoTrack()
    got = asyncio.Event()

    @b.on("track")
    def on_track(track) -> None:  # type: ignore[no-untyped-def]
        async def first() -> None:
            await track.recv()
            got.set()

        asyncio.ensure_future(first())

    try:
        t0 = time.perf_counter()
        a.addTrack(relay.subscribe(src_a))
        await a.setLocalDescription(await a.createOffer())
        await b.setRemoteDescription(a.localDescription)
        b.addTrack(relay.subscribe(src_b))
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
        await asyncio.wait_for(got.wait(), 30)
        return time.perf_counter() - t0
    finally:
        await a.close()
        await b.close()
        src_a.stop()
        src_b.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    with served_app() as app:
        host_token, guest_token = app.token("specialist"), app.token("county-doctor")
        ours, base = [], []
        for _ in range(args.trials):
            room_id = app.room(["county-doctor"])
            ours.append(asyncio.run(through_server(app.base_url, room_id, host_token, guest_token)))
            base.append(asyncio.run(direct()))
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    print(f"trials: {args.trials}")
    print(
        "join -> first remote frame through signaling (waiting room, admit): "
        f"median {m_ours * 1000:.0f} ms  (min {min(ours) * 1000:.0f}, max {max(ours) * 1000:.0f})"
    )
    print(
        "baseline, two aiortc peers connected directly: "
        f"median {m_base * 1000:.0f} ms  (min {min(base) * 1000:.0f}, max {max(base) * 1000:.0f})"
    )
    print(
        f"ratio (ours / direct): {m_ours / m_base:.2f}x, overhead {(m_ours - m_base) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
