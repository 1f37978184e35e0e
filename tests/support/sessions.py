"""Sessions whose work is rolled back: the test's transaction, the API's commits savepoints."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Session]:
    """A session in one transaction on `engine` that is rolled back at the end."""
    conn = engine.connect()
    trans = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield s
    finally:
        s.close()
        trans.rollback()
        conn.close()
