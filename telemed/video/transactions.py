"""Short transactions of the signaling socket and the server peer, off the event loop.

Both run each step touching the session record in its own committed transaction;
this module is the one place that opens them (so neither imports the other for it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
from sqlmodel import Session

from telemed.core.db import get_engine, roll_back

__all__ = ["in_transaction", "open_session", "session_factory"]

T = TypeVar("T")


def open_session() -> Session:
    """A database session for one signaling step (tests may replace `session_factory`)."""
    return Session(get_engine(), expire_on_commit=False)


session_factory: Callable[[], Session] = open_session


async def in_transaction(fn: Callable[[Session], T]) -> T:
    """Run `fn` in its own committed transaction, off the event loop."""

    def _run() -> T:
        with session_factory() as session:
            try:
                result = fn(session)
                session.commit()
                return result
            except BaseException:
                roll_back(session)  # what must outlive the failure (a refusal's audit row) stays
                raise

    return await anyio.to_thread.run_sync(_run)
