"""The demo month of activity, replayed once per test run into a PostgreSQL database of its
own (a copy of the seeded template), at the tests' fixed clock.

Here `session` (and so `client` and `login`) is a rolled-back session on that database;
`fresh_session` is one on a new copy of the template, for a test that seeds again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlmodel import Session

from telemed.core.db import make_engine
from tests.support import pgtemplate
from tests.support.activity import activity, activity_session  # noqa: F401
from tests.support.sessions import rolled_back


@pytest.fixture
def session(activity_session: Session) -> Session:  # noqa: F811
    """A rolled-back session on the database with the month of activity."""
    return activity_session


@pytest.fixture
def fresh_session() -> Iterator[Session]:
    """A rolled-back session on a new copy of the seeded template (no activity)."""
    name = f"telemed_fresh_{uuid.uuid4().hex[:8]}"
    engine = make_engine(pgtemplate.create_database(name))
    try:
        with rolled_back(engine) as s:
            yield s
    finally:
        engine.dispose()
        pgtemplate.drop_database(name)
