"""Time-limited TURN credentials in coturn's shared-secret scheme.

coturn started with `use-auth-secret` and `static-auth-secret=S` accepts the
username `expiry:userid` (expiry in Unix seconds) with the password
`base64(HMAC-SHA1(S, username))` until `expiry`. Nothing is stored server side.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from telemed.core.settings import VideoSettings
from telemed.video.schemas import IceServer, IceServersPublic

__all__ = ["ice_servers", "turn_credential"]


def turn_credential(*, secret: str, user_id: str, expires_at: datetime) -> tuple[str, str]:
    """(username, password) valid until `expires_at`."""
    username = f"{int(expires_at.timestamp())}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(*, settings: VideoSettings, user_id: str, now: datetime) -> IceServersPublic:
    """STUN servers as configured, TURN servers with fresh credentials for `user_id`."""
    stun = [u for u in settings.turn_urls if u.startswith(("stun:", "stuns:"))]
    turn = [u for u in settings.turn_urls if u.startswith(("turn:", "turns:"))]
    servers: list[IceServer] = []
    if stun:
        servers.append(IceServer(urls=stun))
    expires_at = None
    if turn:
        expires_at = now + timedelta(seconds=settings.turn_ttl_seconds)
        username, password = turn_credential(
            secret=settings.turn_secret, user_id=user_id, expires_at=expires_at
        )
        servers.append(IceServer(urls=turn, username=username, credential=password))
    return IceServersPublic(
        ice_servers=servers, ttl_seconds=settings.turn_ttl_seconds, expires_at=expires_at
    )
