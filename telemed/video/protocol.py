"""Messages of the signaling socket (docs/video.md): their types, validation, rate limit."""

from __future__ import annotations

import time
import uuid
from typing import Any

__all__ = [
    "CLIENT_TYPES",
    "PURPOSES",
    "SIGNAL_TYPES",
    "BadMessage",
    "LinkKey",
    "TokenBucket",
    "jsonable",
    "link_of",
    "text_of",
    "uuid_of",
]

SIGNAL_TYPES = {"offer", "answer", "candidate"}
PURPOSES = {"mesh", "upstream", "downstream"}
CLIENT_TYPES = SIGNAL_TYPES | {
    *("join", "bye", "admit", "deny", "chat", "consent", "record", "ping"),
    *("hand", "speak"),  # a lecture: raised hands, the presenter lets one attendee speak
}


class TokenBucket:
    """Per-socket rate limit: `rate` messages a second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        """Spend one token; False when the socket is over its rate."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class BadMessage(Exception):
    """A message the socket refuses; answered with an `error` of `code`, the socket stays."""

    def __init__(self, detail: str, code: str = "bad_message") -> None:
        super().__init__(detail)
        self.code = code


def text_of(msg: dict[str, Any], key: str, limit: int = 200) -> str:
    """The non-empty string `msg[key]`, at most `limit` characters."""
    value = msg.get(key)
    if not isinstance(value, str) or not value:
        raise BadMessage(f"{key!r} must be a non-empty string")
    if len(value) > limit:
        raise BadMessage(f"{key!r} is limited to {limit} characters")
    return value


LinkKey = tuple[str, str, str | None]  # (remote peer, purpose, source)


def link_of(peer: str, event: dict[str, Any]) -> LinkKey:
    """The connection a signaling message belongs to (docs/video.md: peer, purpose, source)."""
    source = event.get("source")
    return (peer, str(event.get("purpose") or "mesh"), str(source) if source else None)


def uuid_of(msg: dict[str, Any], key: str) -> uuid.UUID:
    """The UUID `msg[key]`."""
    try:
        return uuid.UUID(text_of(msg, key, 64))
    except ValueError as exc:
        raise BadMessage(f"{key!r} must be a UUID") from exc


def jsonable(extra: dict[str, Any]) -> dict[str, Any]:
    """The members of a domain error's `extra` that go into the socket's `error` message."""
    return {k: v for k, v in extra.items() if isinstance(v, str | int | float | bool | list)}
