"""Database engine, metadata naming convention and the per-request session.

One transaction per request: the session dependency commits when the handler
returns and rolls back when it raises; services only `flush()`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, create_engine

from telemed.core.clock import as_utc
from telemed.core.ids import uuid7
from telemed.core.settings import get_settings

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


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return make_engine(get_settings().database_url)


def get_session() -> Iterator[Session]:
    """Request-scoped session: commit on success, roll back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_or_404(session: Any, model: type[_M], ident: Any, label: str) -> _M:
    """`session.get`, or the 404 problem `<label> <id> not found`."""
    from telemed.core.errors import NotFound

    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"{label} {ident} not found")
    return row  # type: ignore[no-any-return]
