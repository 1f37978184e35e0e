"""Rooms on Janus (mode `janus`): the Janus room of a session and its participants' tokens.

The app keeps admission; Janus only forwards media. A room's Janus room is created (with its
secret) on the first admission, each admitted participant is handed a token that the room
lists as allowed, the token is withdrawn when they leave, and the Janus room is destroyed
when the session ends. Secrets and tokens are derived from the Janus API secret (HMAC-SHA256),
so every worker computes the same without storing them: the room secret from the room id,
a participant's token from room, user and the moment of their admission (a new admission, a
new token; a reconnection inside the grace period, the same one).

One `JanusRooms` per event loop (like the signaling hub), holding the app's Janus client.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import uuid
from datetime import datetime
from typing import Any

import httpx

from telemed.core.settings import VideoSettings
from telemed.video.sfu import JanusError, JanusSfu

__all__ = [
    "JanusRooms",
    "feed_id",
    "janus_rooms",
    "participant_token",
    "publish_rights",
    "room_secret",
]

log = logging.getLogger("telemed.video.janus_rooms")

ROOM_EXISTS = 427  # JANUS_VIDEOROOM_ERROR_ROOM_EXISTS
NO_SUCH_ROOM = 426  # JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM
NO_SUCH_SESSION = 458  # JANUS_ERROR_SESSION_NOT_FOUND: the control session timed out


def _derive(video: VideoSettings, purpose: str) -> str:
    key = (video.janus_api_secret or "").encode()
    digest = hmac.new(key, purpose.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def room_secret(video: VideoSettings, room_id: uuid.UUID | str) -> str:
    """The secret of a room's Janus room (create, allowed, destroy)."""
    return _derive(video, f"room:{room_id}")


def participant_token(
    video: VideoSettings, room_id: uuid.UUID | str, user_id: uuid.UUID | str, admitted_at: datetime
) -> str:
    """The Janus token of one admission of a participant."""
    return _derive(video, f"token:{room_id}:{user_id}:{admitted_at.isoformat()}")


def feed_id(video: VideoSettings, room_id: uuid.UUID | str, user_id: uuid.UUID | str) -> str:
    """The publisher id a participant joins the Janus room with (the `sfu` message's `feed`):
    nobody else can compute it, so a publisher is known to be whom its display names."""
    return _derive(video, f"feed:{room_id}:{user_id}")[:32]


def publish_rights(*, kind: str, host: bool, may_speak: bool) -> str:
    """What a participant may publish on Janus: `media` (camera, microphone, screen) in
    consultation rooms and for a lecture's presenter; a lecture's attendee `audio` while the
    presenter lets them speak, else `none` (they only subscribe)."""
    if kind != "training" or host:
        return "media"
    return "audio" if may_speak else "none"


class JanusRooms:
    """The app's side of rooms on Janus for one event loop."""

    def __init__(self, video: VideoSettings) -> None:
        self.video = video
        self.http = httpx.AsyncClient(timeout=15)
        sfu = JanusSfu.from_settings(self.http, video)
        if sfu is None:
            raise RuntimeError("Janus is not configured (TELEMED_VIDEO__JANUS_*)")
        self.sfu = sfu
        self.created: set[str] = set()
        self.lock = asyncio.Lock()
        # rooms this worker records now (janus_record.py): room id -> JanusRoomRecorder
        self.recorders: dict[str, Any] = {}

    @property
    def public_url(self) -> str:
        """The Janus API as the browser reaches it."""
        return self.video.janus_public_url or self.video.janus_url or ""

    async def _call(self, fn: Any, **kw: Any) -> Any:
        """One call of the app's Janus client, again once on a fresh control session when
        Janus dropped the old one (its `session_timeout`)."""
        try:
            return await fn(**kw)
        except JanusError as exc:
            if exc.code != NO_SUCH_SESSION and exc.code != 0:
                raise
            await self.sfu.close()
            return await fn(**kw)

    async def ensure_room(self, room_id: str, *, title: str, publishers: int) -> None:
        """Create the room's Janus room unless this worker (or another) did already."""
        if room_id in self.created:
            return
        async with self.lock:
            if room_id in self.created:
                return
            try:
                await self._call(
                    self.sfu.create_room,
                    room=room_id,
                    secret=room_secret(self.video, room_id),
                    description=title,
                    publishers=publishers,
                )
            except JanusError as exc:
                if exc.code != ROOM_EXISTS:
                    raise
            self.created.add(room_id)

    async def admit(
        self, room_id: str, *, title: str, publishers: int, user_id: str, admitted_at: datetime
    ) -> str:
        """The admitted participant's token, granted in Janus and in the room's allowed list."""
        await self.ensure_room(room_id, title=title, publishers=publishers)
        token = participant_token(self.video, room_id, user_id, admitted_at)
        secret = room_secret(self.video, room_id)
        try:
            await self._call(self.sfu.grant, room=room_id, secret=secret, token=token)
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                raise
            self.created.discard(room_id)  # destroyed meanwhile (the session ended): again
            await self.ensure_room(room_id, title=title, publishers=publishers)
            await self._call(self.sfu.grant, room=room_id, secret=secret, token=token)
        return token

    async def release(self, room_id: str, *, token: str, display: str | None = None) -> None:
        """Withdraw a participant's token; with `display`, drop their publishers from the room."""
        secret = room_secret(self.video, room_id)
        await self._call(self.sfu.revoke, room=room_id, secret=secret, token=token)
        if display is not None:
            await self.kick(room_id, display=display)

    async def kick(self, room_id: str, *, display: str) -> None:
        """Drop the publishers of the room shown as `display` (the participant's user id)."""
        secret = room_secret(self.video, room_id)
        try:
            for p in await self._call(self.sfu.participants, room=room_id):
                if p.get("display") == display:
                    await self.sfu.kick(room=room_id, secret=secret, participant=str(p["id"]))
        except JanusError as exc:
            log.info("janus room %s: could not drop %s: %s", room_id, display, exc)

    async def guard(self, room_id: str, *, may_publish: set[str]) -> list[str]:
        """Drop the publishers of a lecture that may not publish: whose display is not among
        `may_publish` (user ids: the presenter, the attendee with the word) or whose id is not
        the one we issued for that display. Returns the dropped ids."""
        secret, dropped = room_secret(self.video, room_id), []
        for p in await self._call(self.sfu.participants, room=room_id):
            if not p.get("publisher"):
                continue
            display, pid = str(p.get("display", "")), str(p.get("id"))
            if display in may_publish and pid == feed_id(self.video, room_id, display):
                continue
            try:
                await self.sfu.kick(room=room_id, secret=secret, participant=pid)
                dropped.append(pid)
            except JanusError as exc:
                log.info("janus room %s: could not drop %s: %s", room_id, pid, exc)
        return dropped

    async def end(self, room_id: str) -> None:
        """The session ended: destroy its Janus room (its participants are dropped)."""
        self.created.discard(room_id)
        try:
            await self._call(
                self.sfu.destroy_room, room=room_id, secret=room_secret(self.video, room_id)
            )
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                log.warning("janus room %s not destroyed: %s", room_id, exc)


_rooms: dict[asyncio.AbstractEventLoop, JanusRooms] = {}


def janus_rooms(video: VideoSettings) -> JanusRooms:
    """The Janus rooms of the running event loop (one per process and loop)."""
    loop = asyncio.get_running_loop()
    rooms = _rooms.get(loop)
    if rooms is None or rooms.video is not video:
        rooms = _rooms[loop] = JanusRooms(video)
    return rooms
