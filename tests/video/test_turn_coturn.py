"""TURN credentials from the API work against a real coturn (Debian package) on loopback."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from telemed.core.settings import VideoSettings
from telemed.video import turn
from telemed.video.client import SyntheticVideoTrack
from tests.support.ports import free_port

SECRET = "coturn-test-secret"


@pytest.fixture(scope="module")
def coturn() -> Iterator[int]:
    """turnserver with use-auth-secret on a free loopback port; its listening port."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.skip("coturn is not installed (apt-get install coturn)")
    port = free_port()
    relay_low = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="telemed-coturn-"))
    log = workdir / "turn.log"
    proc = subprocess.Popen(
        [
            binary,
            "-n",
            "--listening-ip=127.0.0.1",
            f"--listening-port={port}",
            "--relay-ip=127.0.0.1",
            f"--min-port={relay_low}",
            f"--max-port={relay_low + 50}",
            "--use-auth-secret",
            f"--static-auth-secret={SECRET}",
            "--realm=telemed.test",
            "--allow-loopback-peers",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--fingerprint",
            f"--pidfile={workdir / 'turn.pid'}",
            f"--log-file={log}",
            "--simple-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_udp_ready(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_udp_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    """Block until coturn answers a STUN Binding request on its UDP port."""
    import os
    import socket
    import time

    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12)
    deadline = time.monotonic() + 30
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("turnserver exited")
            sock.sendto(request, ("127.0.0.1", port))
            try:
                data, _ = sock.recvfrom(2048)
            except TimeoutError:
                continue
            if data[:2] == b"\x01\x01":  # Binding success response
                return
    raise TimeoutError("turnserver did not answer on its UDP port")


def _servers(port: int, *, expires_in: timedelta) -> list[RTCIceServer]:
    settings = VideoSettings(turn_urls=[f"turn:127.0.0.1:{port}?transport=udp"], turn_secret=SECRET)
    now = datetime.now(UTC)
    if expires_in < timedelta(0):
        # Credentials issued long ago that have expired by now.
        settings.turn_ttl_seconds = 60
        now = now + expires_in - timedelta(seconds=60)
    public = turn.ice_servers(settings=settings, user_id="user-1", now=now)
    return [
        RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
        for s in public.ice_servers
    ]


async def _relay_offer(servers: list[RTCIceServer]) -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection(
        RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY)
    )
    pc.addTrack(SyntheticVideoTrack())
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


def test_generated_credentials_give_a_relay_candidate_and_media_flows_through_coturn(
    coturn: int,
) -> None:
    async def scenario() -> None:
        servers = _servers(coturn, expires_in=timedelta(hours=1))
        caller, sdp = await _relay_offer(servers)
        assert "typ relay" in sdp and "typ host" not in sdp
        callee = RTCPeerConnection(
            RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY)
        )
        got = asyncio.Event()

        @callee.on("track")
        def on_track(track) -> None:  # type: ignore[no-untyped-def]
            async def read() -> None:
                for _ in range(5):
                    await track.recv()
                got.set()

            asyncio.ensure_future(read())

        await callee.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await callee.setLocalDescription(await callee.createAnswer())
        assert "typ relay" in callee.localDescription.sdp
        await caller.setRemoteDescription(callee.localDescription)
        try:
            await asyncio.wait_for(got.wait(), 30)  # frames went through the TURN relay
        finally:
            await caller.close()
            await callee.close()

    asyncio.run(scenario())


def test_expired_credentials_are_refused_by_coturn(coturn: int) -> None:
    async def scenario() -> None:
        from aioice import stun
        from aioice.turn import create_turn_endpoint

        servers = _servers(coturn, expires_in=-timedelta(minutes=5))
        username, password = servers[0].username, servers[0].credential
        with pytest.raises(stun.TransactionFailed) as refused:
            await create_turn_endpoint(
                asyncio.DatagramProtocol,
                server_addr=("127.0.0.1", coturn),
                username=username,
                password=password,
            )
        assert refused.value.response.error_code == 401
        pc, sdp = await _relay_offer(servers)
        assert "typ relay" not in sdp
        await pc.close()

    asyncio.run(scenario())


def test_credentials_follow_the_coturn_shared_secret_scheme() -> None:
    import base64
    import hashlib
    import hmac

    expires = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    username, password = turn.turn_credential(secret="s3cret", user_id="u1", expires_at=expires)
    assert username == f"{int(expires.timestamp())}:u1"
    expected = base64.b64encode(hmac.new(b"s3cret", username.encode(), hashlib.sha1).digest())
    assert password == expected.decode()
