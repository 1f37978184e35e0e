"""The video part of `telemed demo`: a consented, recorded session through the server.

The specialist opens a room for the county doctor, both join with the Python client
(synthetic camera and microphone), the specialist admits the doctor from the waiting
room, media flows both ways, both consent, the server peer records a few seconds, and
the recording is listed with its duration. Raises `VideoDemoFailed` on the first failed step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from telemed.video.client import RoomClient

DEMO_PASSWORD = "telemed-demo"
DEMO_ROOM_TITLE = "远程会诊视频 (demo)"


class VideoDemoFailed(Exception):
    """A step of the video demo did not do what it should."""


def _login(http: httpx.Client, username: str) -> tuple[str, dict[str, str]]:
    r = http.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    if r.status_code != 200:
        raise VideoDemoFailed(f"{username} cannot log in: {r.text}")
    token = r.json()["access_token"]
    return token, {"Authorization": f"Bearer {token}"}


def run(server: str, say: Callable[[str], None] = print, *, seconds: float = 3.0) -> dict[str, Any]:
    """Run the video story against a running server; return the recording."""
    with httpx.Client(base_url=server, timeout=30) as http:
        host_token, host_h = _login(http, "specialist")
        guest_token, guest_h = _login(http, "county-doctor")
        guest_id = http.get("/api/v1/auth/me", headers=guest_h).json()["id"]
        now = datetime.now(UTC)
        say("[v1] specialist 张主任 opens a video room for county doctor 李医生")
        r = http.post(
            "/api/v1/rooms",
            headers=host_h,
            json={
                "title": DEMO_ROOM_TITLE,
                "starts_at": now.isoformat(),
                "ends_at": (now + timedelta(minutes=30)).isoformat(),
                "invited_user_ids": [guest_id],
            },
        )
        if r.status_code != 201:
            raise VideoDemoFailed(f"room not created: {r.text}")
        room_id = r.json()["id"]
        recording = asyncio.run(
            _session(server, room_id, host_token, guest_token, guest_id, say, seconds)
        )
        listed = http.get(f"/api/v1/rooms/{room_id}/recordings", headers=guest_h).json()
        if not listed or listed[0]["status"] != "finished":
            raise VideoDemoFailed(f"recording not listed as finished: {listed}")
        say(
            f"     ok: recording {listed[0]['id']} of {listed[0]['duration_seconds']:.1f} s, "
            f"kept until {listed[0]['retention_until'][:10]}"
        )
        return recording


async def _session(
    server: str,
    room_id: str,
    host_token: str,
    guest_token: str,
    guest_id: str,
    say: Callable[[str], None],
    seconds: float,
) -> dict[str, Any]:
    host = RoomClient(server, host_token, room_id)
    guest = RoomClient(server, guest_token, room_id)
    try:
        await host.join()
        joined = await guest.join()
        say(f"[v2] county doctor joins and waits (state: {joined['state']})")
        await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
        await host.admit(guest_id)
        await guest.wait_admitted()
        say("[v3] specialist admits the county doctor; media flows both ways")
        got_g = await guest.wait_frames(count=15)
        got_h = await host.wait_frames(count=15)
        frames = f"doctor {sum(got_g.values())}, specialist {sum(got_h.values())}"
        say(f"     ok: frames received: {frames}")
        say("[v4] both consent to recording; the server records")
        await host.consent(True)
        await guest.consent(True)
        await host.wait_message("consent", where=lambda m: m["user_id"] == guest_id)
        await host.record("start")
        started = await host.wait_message("recording", within=60)
        if started["state"] != "started":
            raise VideoDemoFailed(f"recording did not start: {started}")
        await asyncio.sleep(seconds)  # the length of the demo recording
        await host.record("stop")
        stopped = await host.wait_message("recording", within=60)
        if stopped["state"] != "stopped":
            raise VideoDemoFailed(f"recording did not finish: {stopped}")
        return stopped
    except (TimeoutError, ConnectionError) as exc:
        raise VideoDemoFailed(f"video session step timed out or dropped: {exc!r}") from exc
    finally:
        await guest.close()
        await host.close()
