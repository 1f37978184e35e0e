"""A host and an admitted guest in a room: the start of most video tests."""

from __future__ import annotations

from telemed.video.client import RoomClient


async def admit_pair(
    host: RoomClient, guest: RoomClient, guest_id: str, *, frames: int = 0
) -> None:
    """Both join, the host admits the guest; with `frames`, until media flows both ways."""
    await host.join()
    await guest.join()
    await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
    await host.admit(guest_id)
    await guest.wait_admitted()
    if frames:
        await guest.wait_frames(count=frames)
        await host.wait_frames(count=frames)


async def consent_all(host: RoomClient, guest: RoomClient, guest_id: str) -> None:
    """Both consent to recording; returns once the host saw the guest's answer."""
    await host.consent(True)
    await guest.consent(True)
    await host.wait_message("consent", where=lambda m: m["user_id"] == guest_id)
