"""A worker's short memory of slots known to be full: the common refusal of a slot
release (a 200-place release refuses thousands) answered without the booking path.

Set when this worker refuses a booking or hold `409 slot_full` for everyone (a refusal
that depends on the caller, such as a slot whose places reserved for contracted residents
are still open, is not remembered: another caller may take one); forgotten after
`ttl` seconds (settings `scheduling.full_slot_memory_seconds`) or at once when this
worker gives a place of the slot back (`places.release_place`, expired holds released).
A place given back by another worker, or capacity added, is seen at the latest `ttl`
seconds later: the memory never refuses a slot with a free place for longer than that.
Exactness: the database still enforces capacity; this only short-cuts refusals.

Only requests WITHOUT an Idempotency-Key are short-cut: a retry with the key of an
earlier, successful request must get that booking back (a replay), which only the
database knows; a keyed request always takes the full path (one statement for a full
slot). The answer comes before authentication, only to a request carrying a bearer
token, and tells no more than the slot list: that the slot whose id the caller sent is
full.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from starlette.types import Message, Receive, Scope

from telemed.core.errors import Conflict, DomainError

__all__ = ["SlotFull", "forget", "known_full", "remember"]

_HOLD = re.compile(r"/api/v1/slots/([0-9a-fA-F-]{36})/hold")
_BODY_LIMIT = 4096  # a booking's JSON is ~60 bytes; larger bodies are not read here

_full: dict[uuid.UUID, float] = {}  # slot id -> monotonic time it is forgotten


class SlotFull(Conflict):
    """409 slot_full; `for_everyone` when no caller could have a place now (only those
    refusals are remembered)."""

    code = "slot_full"

    def __init__(self, slot_id: uuid.UUID | None, *, for_everyone: bool) -> None:
        extra = {"slot_id": str(slot_id)} if slot_id is not None else {}
        super().__init__("this slot is fully booked", **extra)
        self.for_everyone = for_everyone


def remember(slot_id: uuid.UUID, ttl: float) -> None:
    """This worker just refused `slot_id` 409 slot_full."""
    if ttl > 0:
        _full[slot_id] = time.monotonic() + ttl
        if len(_full) > 10_000:  # forget the expired ones now and then
            now = time.monotonic()
            for key in [k for k, until in _full.items() if until <= now]:
                del _full[key]


def forget(slot_id: uuid.UUID) -> None:
    """A place of `slot_id` was given back by this worker."""
    _full.pop(slot_id, None)


def is_full(slot_id: uuid.UUID) -> bool:
    until = _full.get(slot_id)
    if until is None:
        return False
    if until <= time.monotonic():
        _full.pop(slot_id, None)
        return False
    return True


def _refusal(slot_id: uuid.UUID) -> Conflict:
    return SlotFull(slot_id, for_everyone=True)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def known_full(scope: Scope, receive: Receive) -> tuple[DomainError | None, Receive]:
    """`telemed.core.admission.Shortcut` of the booking routes: 409 slot_full for an
    unkeyed booking or hold of a slot this worker knows to be full."""
    if not _full or _header(scope, b"idempotency-key") is not None:
        return None, receive
    auth = _header(scope, b"authorization")
    if auth is None or not auth[:7].lower() == b"bearer ":
        return None, receive
    hold = _HOLD.fullmatch(scope["path"])
    if hold is not None:
        slot_id = uuid.UUID(hold.group(1))
        return (_refusal(slot_id) if is_full(slot_id) else None), receive
    messages: list[Message] = []
    body = b""
    while True:  # the body, buffered for the app (it is read again from `replay`)
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False) or len(body) > _BODY_LIMIT:
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    sent = _slot_of(body) if len(body) <= _BODY_LIMIT else None
    if sent is not None and is_full(sent):
        return _refusal(sent), replay
    return None, replay


def _slot_of(body: bytes) -> uuid.UUID | None:
    """The straight booking's slot (not a hold's confirmation), None when not plain."""
    try:
        data = json.loads(body)
        if not isinstance(data, dict) or data.get("hold_id") is not None:
            return None
        return uuid.UUID(str(data["slot_id"]))
    except (ValueError, KeyError, TypeError):
        return None
