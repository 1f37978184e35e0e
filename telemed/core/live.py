"""Live events: what the push channel (`GET /api/v1/events`, telemed.inbox.api_events) is
woken by, and how a write's wake-up reaches every worker.

Two kinds of wake-up, both announced in the transaction of the write, so that they arrive
when it commits and never when it rolls back:

- `n` (a user's notifications changed): a new in-app row for them, or rows marked read.
  On PostgreSQL a trigger on `notification` (core 0031) announces every in-app insert,
  however it is written (the booking's one-statement CTE included); `notify_user` announces
  a change of the read marks.
- `w` (a worklist object changed): a watched model (`watch`: consultations, referrals,
  registered by telemed.wiring) was created or changed state in an ORM flush.

PostgreSQL: `pg_notify('telemed_live', payload)` inside the transaction; every worker
LISTENs on one connection of its own (`Hub.start`) and hands the payload to its local
subscribers. SQLite (`make run`, one process): the wake-ups are kept on the session and
handed to this process's hub after the commit.

A subscriber is a bounded queue: a writer only ever enqueues without waiting; a full queue
is marked `behind` (the connection tells its client to refetch) instead of blocking
anyone. The hub carries no patient data: who may see what is decided by the stream, per
object, at delivery (`visible`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from telemed.core.notifications import Notification

__all__ = [
    "CHANNEL",
    "Hub",
    "Subscriber",
    "Wake",
    "hub",
    "install",
    "notify_user",
    "register_visibility",
    "visible",
    "watch",
]

log = logging.getLogger("telemed.live")

CHANNEL = "telemed_live"
_PENDING = "telemed.live.pending"  # SQLite: wake-ups waiting for the commit

# model -> (kind, state attribute): the worklist objects whose changes wake subscribers
_WATCHED: dict[type, tuple[str, str]] = {}
# kind -> may this user hear of that object's change (its list routes show it to them now,
# or showed it in the state before the change: a row leaving a list is news too)
Visibility = Callable[[Session, Any, uuid.UUID, str | None], bool]
_VISIBILITY: dict[str, Visibility] = {}


@dataclass(frozen=True)
class Wake:
    """One wake-up: `n` for user `user`, or `w` about object `kind`/`id` (now in state
    `change`, before in `before`; None: created)."""

    type: str
    user: uuid.UUID | None = None
    kind: str | None = None
    id: uuid.UUID | None = None
    change: str | None = None
    before: str | None = None

    def payload(self) -> str:
        if self.type == "n":
            return json.dumps({"t": "n", "u": str(self.user)})
        return json.dumps(
            {"t": "w", "k": self.kind, "id": str(self.id), "c": self.change, "b": self.before}
        )

    @classmethod
    def parse(cls, payload: str) -> Wake | None:
        try:
            d = json.loads(payload)
            if d["t"] == "n":
                return cls("n", user=uuid.UUID(d["u"]))
            before = d.get("b")
            return cls(
                "w",
                kind=str(d["k"]),
                id=uuid.UUID(d["id"]),
                change=str(d["c"]),
                before=None if before is None else str(before),
            )
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable live payload", extra={"payload": payload[:200]})
            return None


def watch(model: type, kind: str, state_attr: str) -> None:
    """Wake subscribers when a `model` row is inserted or its `state_attr` changes."""
    _WATCHED[model] = (kind, state_attr)


def register_visibility(kind: str, check: Visibility) -> None:
    """How the stream decides, per object at delivery, whether a user may hear of it:
    `check(session, user, id, state_before_the_change)`."""
    _VISIBILITY[kind] = check


def visible(session: Session, user: Any, wake: Wake) -> bool:
    """May `user` hear of worklist change `wake`? (No check registered: no.)"""
    check = _VISIBILITY.get(wake.kind or "")
    return check is not None and wake.id is not None and check(session, user, wake.id, wake.before)


# ------------------------------------------------------------------ announcing, in the write


def _is_postgres(session: Session) -> bool:
    try:
        return session.get_bind().dialect.name == "postgresql"
    except Exception:  # an unbound session announces nothing
        return False


def _announce(session: Session, wakes: list[Wake]) -> None:
    if not wakes:
        return
    if _is_postgres(session):
        session.connection().execute(
            text("SELECT pg_notify(:c, p) FROM unnest(CAST(:ps AS text[])) AS p"),
            {"c": CHANNEL, "ps": [w.payload() for w in wakes]},
        )
    else:
        session.info.setdefault(_PENDING, []).extend(wakes)


def notify_user(session: Session, user_id: uuid.UUID) -> None:
    """Announce, in the caller's transaction, that `user_id`'s notifications changed."""
    _announce(session, [Wake("n", user=user_id)])


def _flushed(session: Session, flush_context: Any) -> None:
    wakes: list[Wake] = []
    postgres = _is_postgres(session)
    for obj in session.new:
        if isinstance(obj, Notification):
            # PostgreSQL: the table's trigger announces every in-app insert
            if not postgres and obj.channel == "in_app" and obj.user_id is not None:
                wakes.append(Wake("n", user=obj.user_id))
            continue
        watched = _WATCHED.get(type(obj))
        if watched is not None:
            wakes.append(Wake("w", kind=watched[0], id=obj.id, change=getattr(obj, watched[1])))
    for obj in session.dirty:
        watched = _WATCHED.get(type(obj))
        if watched is None:
            continue
        history = inspect(obj).attrs[watched[1]].history
        if history.has_changes():
            before = history.deleted[0] if history.deleted else None
            wakes.append(
                Wake(
                    "w",
                    kind=watched[0],
                    id=obj.id,
                    change=getattr(obj, watched[1]),
                    before=None if before is None else str(before),
                )
            )
    _announce(session, list(dict.fromkeys(wakes)))


def _committed(session: Session) -> None:
    for w in session.info.pop(_PENDING, []):
        hub.dispatch(w)


def _rolled_back(session: Session, previous_transaction: Any = None) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Watch every session's flushes for the wake-ups above (idempotent; telemed.wiring)."""
    if event.contains(Session, "after_flush", _flushed):
        return
    event.listen(Session, "after_flush", _flushed)
    event.listen(Session, "after_commit", _committed)
    event.listen(Session, "after_soft_rollback", _rolled_back)


# ------------------------------------------------------------------ delivering, per worker


@dataclass(eq=False)
class Subscriber:
    """One open stream of one user: its wake-ups, bounded; `behind` once some were lost."""

    user_id: uuid.UUID
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Wake]
    behind: bool = False

    def offer(self, wake: Wake) -> None:
        """Enqueue without waiting (in the subscriber's loop); a full queue marks it behind."""
        try:
            self.queue.put_nowait(wake)
        except asyncio.QueueFull:
            self.behind = True

    async def next(self, seconds: float) -> Wake | None:
        """The next wake-up, or None after `seconds` without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), seconds)
        except TimeoutError:
            return None


@dataclass
class Hub:
    """This process's subscribers, and its listening connection on PostgreSQL."""

    subscribers: set[Subscriber] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    listener: asyncio.Task[None] | None = None
    listening: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def subscribe(self, user_id: uuid.UUID, queue_size: int) -> Subscriber:
        sub = Subscriber(user_id, asyncio.get_running_loop(), asyncio.Queue(queue_size))
        with self.lock:
            self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self.lock:
            self.subscribers.discard(sub)

    def dispatch(self, wake: Wake) -> None:
        """Hand a wake-up to the subscribers it concerns (from any thread, never waiting)."""
        with self.lock:
            targets = [s for s in self.subscribers if wake.type == "w" or s.user_id == wake.user]
        for sub in targets:
            try:
                sub.loop.call_soon_threadsafe(sub.offer, wake)
            except RuntimeError:  # that loop is closed: the stream is gone
                self.unsubscribe(sub)

    def wake_all(self) -> None:
        """Mark every subscriber behind (a gap in the feed: they refetch)."""
        with self.lock:
            subs = list(self.subscribers)
        for sub in subs:
            sub.behind = True
            with contextlib.suppress(RuntimeError):
                sub.loop.call_soon_threadsafe(sub.offer, Wake("n", user=sub.user_id))

    async def start(self, database_url: str) -> None:
        """Listen on PostgreSQL once per process (a no-op on SQLite); returns once listening."""
        if not database_url.startswith("postgresql"):
            return
        loop = asyncio.get_running_loop()
        if self.listener is None or self.listener.done() or self.loop is not loop:
            self.loop, self.listening = loop, asyncio.Event()
            self.listener = loop.create_task(self._listen(database_url, self.listening))
        assert self.listening is not None
        await asyncio.wait_for(self.listening.wait(), 10)

    async def stop(self) -> None:
        if self.listener is not None:
            self.listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.listener
            self.listener = None

    async def _listen(self, database_url: str, listening: asyncio.Event) -> None:
        import psycopg

        conninfo = make_url(database_url).set(drivername="postgresql")
        dsn = conninfo.render_as_string(hide_password=False)
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if listening.is_set():  # a reconnect: what came meanwhile is unknown
                        self.wake_all()
                    listening.set()
                    delay = 0.5
                    async for note in conn.notifies():
                        wake = Wake.parse(note.payload)
                        if wake is not None:
                            self.dispatch(wake)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live listener lost its connection; reconnecting", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)


hub = Hub()
