"""Database engine, metadata naming convention and the per-request session.

One transaction per request: the session dependency commits when the handler
returns and rolls back when it raises; services only `flush()`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import nullcontext
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import anyio
from sqlalchemy import Date, DateTime, MetaData, cast, event, func, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, create_engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from telemed.core.clock import as_utc
from telemed.core.errors import NotFound
from telemed.core.ids import uuid7
from telemed.core.settings import Settings, get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


_M = TypeVar("_M")
log = logging.getLogger("telemed.db")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


def utc_field(**kwargs: Any) -> Any:
    """A SQLModel field stored as UTCDateTime."""
    nullable = kwargs.pop("nullable", False)
    index = kwargs.pop("index", False)
    from sqlalchemy import Column

    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index), **kwargs)


def id_field() -> Any:
    """Primary key: UUIDv7."""
    return Field(default_factory=uuid7, primary_key=True)


UUID = uuid.UUID


# SQLite: how long a transaction waits for the write lock before giving up (then 503).
SQLITE_BUSY_TIMEOUT_SECONDS = 60
# PostgreSQL: how long opening a connection may take (an unreachable server fails fast).
PG_CONNECT_TIMEOUT_SECONDS = 5


def make_engine(
    url: str,
    *,
    pool_size: int = 20,
    max_overflow: int = 20,
    pool_timeout: float = 30.0,
    pre_ping: bool = False,
) -> Engine:
    """Create an engine. PostgreSQL: a connect timeout, and no ping per checkout unless
    `pre_ping` (TELEMED_DB_POOL_PRE_PING): a round trip per request for an event as rare as
    a server restart. Without it the first statement on a connection the restart broke
    fails as a disconnect: SQLAlchemy then invalidates every connection of the pool opened
    before it (the next checkouts open fresh ones), and the request is answered 503 with
    Retry-After (`telemed.core.outage`); a client's retry is served. SQLite: WAL, foreign
    keys, a busy timeout and serialized writes."""
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    if url.startswith("sqlite"):
        return _sqlite_engine(url, pool)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(
        url,
        pool_pre_ping=pre_ping,
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_SECONDS},
        **pool,  # type: ignore[arg-type]
    )


def _sqlite_engine(url: str, pool: dict[str, Any]) -> Engine:
    """SQLite as an embedded server: every transaction starts with BEGIN IMMEDIATE.

    With the driver's deferred transactions, two requests that read and then write both
    hold a read snapshot; the second to write gets "database is locked" at once (SQLite
    cannot wait for a lock whose holder's snapshot it would then overwrite), which the
    parallel STOW-RS uploads of the web uploader hit. Taking the write lock at BEGIN makes
    transactions queue on the busy timeout instead: one writer at a time, readers of WAL
    snapshots never blocked by it. SQLAlchemy's documented pysqlite recipe (the driver's
    own BEGIN switched off) also makes SAVEPOINTs work.
    """
    path = url.split("///", 1)[-1]
    in_memory = not path or path == ":memory:"
    if not in_memory:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        **({} if in_memory else pool),
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.isolation_level = None  # no implicit BEGIN: ours below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    s = get_settings()
    return make_engine(
        s.database_url,
        pool_size=s.db_pool_size,
        max_overflow=s.db_max_overflow,
        pool_timeout=s.db_pool_timeout,
        pre_ping=s.db_pool_pre_ping,
    )


def warm_pool(engine: Engine, connections: int) -> int:
    """Open up to `connections` pooled connections at once and give them back (a server's
    start: the first requests of a rush must not each wait for a connection to open);
    how many were opened. A database that is down is not waited for: the pool opens
    connections on demand later (and the request answers 503 meanwhile)."""
    if engine.dialect.name != "postgresql" or connections <= 0:
        return 0
    opened = []
    try:
        for _ in range(connections):
            conn = engine.connect()
            opened.append(conn)
            conn.exec_driver_sql("SELECT 1")
    except Exception:
        log.warning("the connection pool was not warmed (database unreachable?)")
    finally:
        for conn in opened:
            conn.close()
    return len(opened)


def request_gate_size(settings: Settings) -> int:
    """How many requests may hold a database session at once: the pool's connections.

    Without it a burst of requests larger than the pool deadlocks a worker: a request
    holding a connection (and perhaps a row lock) waits for a worker thread to commit,
    while every thread is taken by requests waiting for a connection or for that lock.
    Requests beyond the gate wait in the event loop, holding nothing.
    """
    return settings.db_pool_size + settings.db_max_overflow


AFTER_ROLLBACK = "telemed.after_rollback"


def after_rollback(session: Session, hook: Callable[[Session], None]) -> None:
    """Run `hook(session)` in a new transaction if this request's transaction rolls back.

    For records that must outlive a failed request (the audit row of a refused read)."""
    session.info.setdefault(AFTER_ROLLBACK, []).append(hook)


def roll_back(session: Session) -> None:
    """Roll back the request's transaction, then commit what its `after_rollback` hooks add."""
    session.rollback()
    hooks = session.info.pop(AFTER_ROLLBACK, [])
    if not hooks:
        return
    try:
        for hook in hooks:
            hook(session)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("an after-rollback record could not be written")


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()  # rolls back whatever was not committed; returns the connection


# (session, user, route, path params, exception): records a 403 refusal; set by create_app
RefusalRecorder = Callable[..., None]


def remember_forbidden(connection: HTTPConnection, session: Session, exc: BaseException) -> None:
    """A 403 on a request whose service recorded no refusal itself: the app's recorder
    (`telemed.core.audit.refused_request`) keeps a row that survives the rollback."""
    recorder: RefusalRecorder | None = getattr(connection.app.state, "record_refusal", None)
    user = getattr(connection.state, "user", None)
    if recorder is None or user is None or getattr(exc, "status", None) != 403:
        return
    if session.info.get(AFTER_ROLLBACK):  # the service already recorded this refusal
        return
    route = connection.scope.get("route")
    try:
        recorder(
            session,
            user,
            route=getattr(route, "path", connection.url.path),
            params=dict(connection.path_params),
            exc=exc,
        )
    except Exception:  # the refusal stands; a failed record must not turn it into a 500
        log.exception("a refused request could not be recorded")


def fail_request(connection: HTTPConnection, session: Session, exc: BaseException) -> None:
    """End a request that raised `exc`: keep the record of a 403 refusal, then roll back
    (and commit what must survive the rollback)."""
    remember_forbidden(connection, session, exc)
    roll_back(session)


def _fail_and_close(connection: HTTPConnection, session: Session, exc: BaseException) -> None:
    try:
        fail_request(connection, session, exc)
    finally:
        session.close()  # returns the connection


async def get_session(connection: HTTPConnection) -> AsyncIterator[Session]:
    """Request-scoped session: commit on success, roll back on error.

    Passes the app's request gate first (set by its lifespan); the commit or rollback
    runs in a worker thread, shielded so that a cancelled request still ends its
    transaction.
    """
    gate: anyio.Semaphore | None = getattr(connection.app.state, "db_gate", None)
    async with gate if gate is not None else nullcontext():
        session = Session(get_engine(), expire_on_commit=False)
        try:
            yield session
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(_fail_and_close, connection, session, exc)
            raise
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_commit_and_close, session)


def local_day(session: Any, column: Any, tz: str) -> Any:
    """SQL for the calendar day in `tz` of a UTC timestamp column, as a DATE value.

    PostgreSQL converts with the zone's rules; SQLite (the embedded demo) has no time
    zones, so the zone's current UTC offset is applied: exact for zones without daylight
    saving such as Asia/Shanghai."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(tz, column), Date)
    offset = datetime.now(ZoneInfo(tz)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    return type_coerce(func.date(column, f"{minutes:+d} minutes"), Date)


def local_week(session: Any, column: Any, tz: str) -> Any:
    """SQL for the Monday (a DATE) of the ISO week in `tz` of a UTC timestamp column.

    Same zone handling as `local_day`: PostgreSQL by the zone's rules, SQLite by the zone's
    current UTC offset (exact for Asia/Shanghai)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc("week", func.timezone(tz, column)), Date)
    offset = datetime.now(ZoneInfo(tz)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    # 'weekday 0' moves on to the Sunday closing the ISO week; six days back is its Monday.
    return type_coerce(func.date(column, f"{minutes:+d} minutes", "weekday 0", "-6 days"), Date)


def minutes_between(session: Any, start: Any, end: Any) -> Any:
    """SQL for `end - start` in minutes (a float) of two UTC timestamp columns."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 60.0
    return (func.julianday(end) - func.julianday(start)) * 1440.0


def get_or_404(session: Any, model: type[_M], ident: Any, label: str) -> _M:
    """`session.get`, or the 404 problem `<label> <id> not found`."""
    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"{label} {ident} not found")
    return row  # type: ignore[no-any-return]
