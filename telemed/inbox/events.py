"""One user's push channel (`GET /api/v1/events`): Server-Sent Events of their new
notifications, unread count and worklist changes, woken by telemed.core.live.

The stream holds no database connection while it waits: each step (checking the token,
reading new notifications, deciding who may hear of an object) opens a short session of
its own in a worker thread. Every event has an `id:` `<cursor>.<n>`: the cursor is the
newest notification id told (`0` before any), so a client reconnecting with
`Last-Event-ID` is told every notification after it, from the table.

Notifications are found in the table by id (UUIDv7, in time order); a transaction that
commits later than a younger one is still found, for `LAG_MS` behind the cursor (ids
already told are remembered meanwhile).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlmodel import Session, col, select

from telemed.core import clock, live
from telemed.core.db import get_engine
from telemed.core.errors import DomainError
from telemed.core.notifications import Notification
from telemed.core.settings import LiveSettings
from telemed.identity import service as identity_service
from telemed.identity.models import User
from telemed.inbox import service

__all__ = ["LAG_MS", "Cursor", "authenticate", "stream"]

log = logging.getLogger("telemed.live")

LAG_MS = 30_000  # how long a late-committing notification is still looked for
RETRY_MS = 2_000  # what the client waits before reconnecting (SSE `retry:`)
ZERO = uuid.UUID(int=0)


def _floor(cursor: uuid.UUID) -> uuid.UUID:
    """The smallest UUIDv7 of `LAG_MS` before `cursor`'s time."""
    return uuid.UUID(int=max(0, (cursor.int >> 80) - LAG_MS) << 80) if cursor.int else ZERO


@dataclass
class Cursor:
    """Where a stream is: the newest notification told, the ids told since `_floor` of it,
    the count of events sent, the unread count last sent."""

    newest: uuid.UUID = ZERO
    told: set[uuid.UUID] = field(default_factory=set)
    sent: int = 0
    unread: int | None = None

    @classmethod
    def parse(cls, last_event_id: str | None) -> Cursor | None:
        """The cursor of a `Last-Event-ID` (None: absent or not ours)."""
        if not last_event_id:
            return None
        head, _, _ = last_event_id.partition(".")
        try:
            return cls(newest=ZERO if head == "0" else uuid.UUID(head))
        except ValueError:
            return None

    def event(self, name: str, data: dict[str, Any]) -> str:
        self.sent += 1
        head = "0" if self.newest == ZERO else self.newest.hex
        body = json.dumps(data, ensure_ascii=False)
        return f"id: {head}.{self.sent}\nevent: {name}\ndata: {body}\n\n"


def _session() -> Session:
    return Session(get_engine(), expire_on_commit=False)


def authenticate(token: str) -> User:
    """The token's user (401 problems as the API's), without holding a connection after."""
    with _session() as s:
        user = identity_service.user_for_token(session=s, token=token, now=clock.now())
        return identity_service.ensure_password_changed(user)


def _still_valid(token: str) -> bool:
    try:
        authenticate(token)
    except DomainError:  # logged out, revoked, expired, disabled
        return False
    return True


def _start(user_id: uuid.UUID, resume: Cursor | None) -> Cursor:
    """A new stream's cursor: after the newest notification, or the resumed one; the ids
    in the look-back window up to it count as told."""
    with _session() as s:
        cursor = resume
        if cursor is None:
            newest = s.execute(
                select(Notification.id)
                .where(Notification.user_id == user_id, Notification.channel == "in_app")
                .order_by(col(Notification.id).desc())
                .limit(1)
            ).scalar_one_or_none()
            cursor = Cursor(newest=newest or ZERO)
        window = service.after(session=s, user_id=user_id, floor=_floor(cursor.newest))
        cursor.told = {i for i, _ in window if i <= cursor.newest}
        return cursor


def _news(user_id: uuid.UUID, cursor: Cursor) -> tuple[list[tuple[uuid.UUID, str]], int]:
    """The notifications not told yet (oldest first) and the unread count."""
    with _session() as s:
        rows = service.after(session=s, user_id=user_id, floor=_floor(cursor.newest))
        return [r for r in rows if r[0] not in cursor.told], service.unread_count(
            session=s, user_id=user_id
        )


def _visible(user: User, wake: live.Wake) -> bool:
    with _session() as s:
        return live.visible(s, user, wake)


def _notification_events(cursor: Cursor, news: list[tuple[uuid.UUID, str]], unread: int) -> str:
    out = []
    for ident, kind in news:
        cursor.told.add(ident)
        cursor.newest = max(cursor.newest, ident)
        out.append(cursor.event("notification", {"id": str(ident), "kind": kind, "unread": unread}))
    if not news and unread != cursor.unread:  # read elsewhere: the count changed
        out.append(cursor.event("unread", {"unread": unread}))
    cursor.unread = unread
    floor = _floor(cursor.newest)
    cursor.told = {i for i in cursor.told if i > floor}
    return "".join(out)


async def stream(
    *, token: str, user: User, last_event_id: str | None, settings: LiveSettings, database_url: str
) -> AsyncIterator[str]:
    """The user's events until the client goes or the token stops being valid."""
    sub = live.hub.subscribe(user.id, settings.queue_size)
    try:
        try:  # listening before the first read: nothing lost
            await live.hub.start(database_url)
        except TimeoutError:  # no LISTEN connection yet: keep-alives still find notifications
            log.warning("the live listener is not connected; this stream polls at keep-alives")
        cursor = await anyio.to_thread.run_sync(_start, user.id, Cursor.parse(last_event_id))
        yield f"retry: {RETRY_MS}\n\n"
        news, unread = await anyio.to_thread.run_sync(_news, user.id, cursor)
        yield cursor.event("unread", {"unread": unread})  # first on every stream
        cursor.unread = unread
        yield _notification_events(cursor, news, unread) or ""  # resumed: what was missed
        while True:
            wake = await sub.next(settings.keepalive_seconds)
            if not await anyio.to_thread.run_sync(_still_valid, token):
                yield cursor.event("end", {"reason": "token_invalid"})
                return
            if sub.behind:  # wake-ups were lost: the client refetches what it shows
                sub.behind = False
                yield cursor.event("worklist", {"kind": None, "id": None, "change": "resync"})
            if wake is not None and wake.type == "w":
                if await anyio.to_thread.run_sync(_visible, user, wake):
                    yield cursor.event(
                        "worklist", {"kind": wake.kind, "id": str(wake.id), "change": wake.change}
                    )
                continue
            news, unread = await anyio.to_thread.run_sync(_news, user.id, cursor)
            yield _notification_events(cursor, news, unread) or (
                ": keep-alive\n\n" if wake is None else ""
            )
    finally:
        live.hub.unsubscribe(sub)
