"""Idempotency keys: a retried request returns the first result and creates nothing new.

`once` wraps a piece of work in the whole protocol (claim, replay, store); the lower-level
calls (`claim`, `store`, `claim_statement` ...) serve the booking hot path.

The key row is inserted in the same transaction as the work; a concurrent retry
blocks on the primary key and then sees the stored result.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, Column, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, select

from telemed.core.db import utc_field
from telemed.core.errors import Conflict, Invalid

_R = TypeVar("_R")


class IdempotencyRecord(SQLModel, table=True):
    """The stored outcome of a request made with an `Idempotency-Key`."""

    __tablename__ = "idempotency_record"

    key: str = Field(primary_key=True, max_length=200)  # scope:user:key
    request_hash: str = Field(max_length=64)
    status_code: int = 0
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field()


def scoped_key(*, scope: str, user_id: uuid.UUID, key: str) -> str:
    if not 1 <= len(key) <= 120:
        raise Invalid("Idempotency-Key must be 1 to 120 characters", field="Idempotency-Key")
    return f"{scope}:{user_id}:{key}"


def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def claim(
    *,
    session: Session,
    key: str,
    payload: Any,
    now: datetime,
    status_code: int = 0,
    response: dict[str, Any] | None = None,
) -> IdempotencyRecord | None:
    """Claim `key` for this request; return the earlier record when it was used before.

    Returns None when the key is new: the caller does the work and calls `store`, or,
    when the outcome is known up front (the id of the object about to be created), passes
    it here as `status_code`/`response` and skips `store` (one statement fewer; if the
    work fails, the claim rolls back with it). The insert takes the key's lock, so a
    concurrent duplicate waits for our commit.
    """
    dialect = session.get_bind().dialect.name
    values = claim_values(
        key=key, payload=payload, now=now, status_code=status_code, response=response
    )
    if session.execute(claim_statement(dialect, values)).first() is not None:
        return None
    return earlier_record(session=session, key=key, payload=payload)


def claim_values(
    *,
    key: str,
    payload: Any,
    now: datetime,
    status_code: int = 0,
    response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The claim's row."""
    return {
        "key": key,
        "request_hash": request_hash(payload),
        "status_code": status_code,
        "response": response or {},
        "created_at": now,
    }


def claim_statement(dialect: str, values: dict[str, Any]) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING key`: a row back means the key is ours.
    `values` may be bind parameters: the statement can then be built once and used as a
    CTE, making the work conditional on the claim in one statement."""
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(IdempotencyRecord.__table__)  # type: ignore[attr-defined]
    return (
        ins.values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(ins.table.c.key)
    )


def earlier_record(*, session: Session, key: str, payload: Any) -> IdempotencyRecord:
    """The record of the request that claimed `key` first (after a lost claim)."""
    previous = session.execute(
        select(IdempotencyRecord).where(IdempotencyRecord.key == key)
    ).scalar_one()
    session.refresh(previous)
    verify_replay(stored_hash=previous.request_hash, payload=payload)
    return previous


def earlier_use(key: Any) -> tuple[Any, Any]:
    """Scalar subqueries giving the request hash and response of an earlier use of `key`
    (NULL when unused), to read in the same round trip as the work's first SELECT: a
    request that will be refused then costs no write. `key` may be a bind parameter."""
    where = IdempotencyRecord.key == key
    return (
        select(IdempotencyRecord.request_hash).where(where).scalar_subquery(),
        select(IdempotencyRecord.response).where(where).scalar_subquery(),
    )


def verify_replay(*, stored_hash: str, payload: Any) -> None:
    """Refuse a key reused with a different request (409 `idempotency_key_reused`)."""
    if stored_hash != request_hash(payload):
        raise Conflict(
            "this Idempotency-Key was used with a different request",
            code="idempotency_key_reused",
        )


def store(*, session: Session, key: str, status_code: int, response: dict[str, Any]) -> None:
    """Record the outcome for `key` (same transaction as the work)."""
    # One UPDATE (no read first): this sits on the booking hot path.
    done = session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == key)  # type: ignore[arg-type]
        .values(status_code=status_code, response=response)
    )
    assert done.rowcount == 1, "store() without a claim()"  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Replay:
    """The stored outcome of an earlier request with the same key, to send back as it was."""

    status_code: int
    response: dict[str, Any]


def once(
    *,
    session: Session,
    scope: str,
    user_id: uuid.UUID,
    key: str | None,
    payload: Any,
    now: datetime,
    status_code: int,
    work: Callable[[], _R],
    dump: Callable[[_R], dict[str, Any]],
) -> _R | Replay:
    """Do `work` once per `Idempotency-Key` (`key`; None: no key, just do it): a retry gets
    the `Replay` of the first outcome (`dump` of what `work` returned, with `status_code`)."""
    if not key:
        return work()
    scoped = scoped_key(scope=scope, user_id=user_id, key=key)
    previous = claim(session=session, key=scoped, payload=payload, now=now)
    if previous is not None:
        return Replay(status_code=previous.status_code, response=previous.response)
    out = work()
    store(session=session, key=scoped, status_code=status_code, response=dump(out))
    return out
