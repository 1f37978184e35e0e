"""The worker's cache of resolved bearer tokens: a request of a known token costs no
database round trip, and a logout, revocation, password change or deactivation takes
effect at once in every worker of the host.

Each worker keeps, per token digest, the user row it resolved (for at most
`security.token_cache_seconds`). Exactness comes from an epoch shared by every process of
the host that serves the same database: an 8-byte counter in a memory-mapped file
(`security.token_cache_dir`, default the temp directory). Every session that writes a row
of `user_account` or `auth_token` (ORM flushes of changed or deleted rows and bulk
UPDATE/DELETE statements alike; an insert cannot make a cached entry wrong) bumps it when
it flushes and again after its commit; an entry is used only while the epoch is the one
read *before* its row was fetched. Reading the epoch is a memory read (no
system call); a write to users or tokens, rare next to requests, empties every worker's
cache at once. The bump after the commit is what makes it exact: a worker that fetched the
row before the commit stored it under the older epoch, so the entry is dead as soon as the
writer's response can have left.

Processes on other hosts share no file: with several hosts, set
`TELEMED_SECURITY__TOKEN_CACHE_SECONDS=0` (every request asks the database) or accept that
bound on a logout's delay there (docs/operations.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import tempfile
import threading
import time
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, make_transient_to_detached
from sqlmodel import Session

from telemed.core.settings import get_settings
from telemed.identity.models import AuthToken, User

__all__ = ["TokenCache", "cache_for", "install", "shared_epoch"]

_WATCHED = {User.__tablename__, AuthToken.__tablename__}
_DIRTY = "telemed.auth_rows_written"
_MAX_ENTRIES = 50_000


class SharedEpoch:
    """A counter in a memory-mapped file, shared by the processes that open the same path."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            if os.fstat(self._fd).st_size < 8:
                os.ftruncate(self._fd, 8)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._map = mmap.mmap(self._fd, 8)

    def value(self) -> int:
        return int(struct.unpack_from("<Q", self._map, 0)[0])

    def bump(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            struct.pack_into("<Q", self._map, 0, (self.value() + 1) % 2**64)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


_epochs: dict[Path, SharedEpoch] = {}
_epochs_lock = threading.Lock()


def epoch_path(database_url: str, directory: Path | None) -> Path:
    """The epoch file of the processes serving `database_url` on this host."""
    url = make_url(database_url)  # whichever driver and password form the URL names
    canonical = f"{url.get_backend_name()}://{url.username}@{url.host}:{url.port}/{url.database}"
    tag = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return (directory or Path(tempfile.gettempdir())) / f"telemed-auth-{tag}.epoch"


def shared_epoch(database_url: str, directory: Path | None = None) -> SharedEpoch:
    path = epoch_path(database_url, directory)
    with _epochs_lock:
        if path not in _epochs:
            _epochs[path] = SharedEpoch(path)
        return _epochs[path]


_COLUMNS = tuple(a.key for a in sa_inspect(User).column_attrs)


class TokenCache:
    """token digest -> (epoch before the read, monotonic fill time, token expiry, user row)."""

    def __init__(self, epoch: SharedEpoch, seconds: float) -> None:
        self.epoch, self.seconds = epoch, seconds
        self._rows: OrderedDict[str, tuple[int, float, datetime, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, session: Session, digest: str, now: datetime) -> User | None:
        """The cached user of a token still valid, attached to `session`; else None."""
        got = self._rows.get(digest)
        if got is None:
            return None
        epoch, filled, expires_at, row = got
        if epoch != self.epoch.value() or time.monotonic() - filled > self.seconds:
            self._rows.pop(digest, None)
            return None
        if expires_at <= now:
            return None  # the database path answers why (401 token has expired)
        present = session.identity_map.get(session.identity_key(User, row["id"]))  # type: ignore[arg-type]
        if present is not None:  # this session already holds the row: its own copy
            return present  # type: ignore[no-any-return]
        user = User(**row)
        make_transient_to_detached(user)
        session.add(user)  # persistent in this request's session, no query
        return user

    def store(self, digest: str, epoch: int, expires_at: datetime, user: User) -> None:
        """Keep a user resolved from the database after reading epoch `epoch`."""
        row = {k: getattr(user, k) for k in _COLUMNS}
        with self._lock:
            self._rows[digest] = (epoch, time.monotonic(), expires_at, row)
            self._rows.move_to_end(digest)
            while len(self._rows) > _MAX_ENTRIES:
                self._rows.popitem(last=False)


_caches: dict[tuple[str, float, Path | None], TokenCache] = {}


def cache_for(database_url: str, seconds: float, directory: Path | None) -> TokenCache | None:
    """This process's cache for the database (None when the cache is off)."""
    if seconds <= 0:
        return None
    key = (database_url, seconds, directory)
    cache = _caches.get(key)
    if cache is None:
        with _epochs_lock:
            cache = _caches.get(key)
        if cache is None:
            cache = TokenCache(shared_epoch(database_url, directory), seconds)
            _caches[key] = cache
    return cache


def _mark_flush(session: Session, flush_context: Any) -> None:
    # New rows are left out: no worker can hold a token or user that did not exist, and
    # every login inserts a token (a rush of logins must not empty the caches).
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, User | AuthToken):
            session.info[_DIRTY] = True
            return


def _mark_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in _WATCHED:
        state.session.info[_DIRTY] = True


def _bump_if_written(session: Session) -> None:
    if session.info.get(_DIRTY):
        _bump(session)


def _bump_after_commit(session: Session) -> None:
    if session.info.pop(_DIRTY, False):
        _bump(session)


def _bump_flushed(session: Session, flush_context: Any) -> None:
    _bump_if_written(session)


def _bump(session: Session) -> None:
    """Bump the epoch of the session's database on this host (opened if this process, a
    CLI or a job worker, serves no request), and every other this process opened."""
    try:
        url = str(session.get_bind().engine.url)
    except Exception:  # an unbound session wrote nothing to a database
        url = None
    if url is not None:
        shared_epoch(url, get_settings().security.token_cache_dir)
    for epoch in list(_epochs.values()):
        epoch.bump()


def install() -> None:
    """Watch every session for writes to users and tokens (idempotent; `telemed.wiring`):
    the host's epoch is bumped on such a flush and after its commit. A rolled-back write
    still bumps (harmless: the caches only refill)."""
    if event.contains(Session, "after_flush", _mark_flush):
        return
    event.listen(Session, "after_flush", _mark_flush)
    event.listen(Session, "do_orm_execute", _mark_statement)
    event.listen(Session, "after_flush_postexec", _bump_flushed)
    event.listen(Session, "after_commit", _bump_after_commit)
