"""The demo month of activity, replayed once per test run into a PostgreSQL database of its
own (a copy of the seeded template), at the tests' fixed clock: the `activity` fixture, and
`activity_session`, a rolled-back session on that database. The demo-activity and the
utilization tests read it instead of replaying the month each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from telemed.core.db import make_engine
from telemed.core.settings import get_settings
from telemed.demo_activity import has_activity, seed_activity
from tests.conftest import FixedClock
from tests.support import pgtemplate, shared
from tests.support.sessions import rolled_back

_engines: dict[str, Engine] = {}


def _engine(url: str) -> Engine:
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


@pytest.fixture
def activity(clock: FixedClock, database_url: str) -> dict[str, Any]:
    """{"url", "had_activity" (before the replay), "made" (what the replay added)}."""

    def build(base: Path) -> dict[str, Any]:
        name = f"telemed_activity_{base.name.rsplit('-', 1)[-1].lower()}"
        url = pgtemplate.create_database(name)
        shared.on_end("dropdb", admin_url=pgtemplate.cluster()["admin_url"], name=name)
        engine = make_engine(url)
        try:
            with Session(engine) as s:
                had = has_activity(s, get_settings())
                made = seed_activity(s, get_settings(), now=clock.at)
                s.commit()
        finally:
            engine.dispose()
        return {"url": url, "had_activity": had, "made": made}

    return shared.once("pg-activity", build)


@pytest.fixture
def activity_session(activity: dict[str, Any]) -> Iterator[Session]:
    """A rolled-back session on the database with the month of activity."""
    with rolled_back(_engine(activity["url"])) as s:
        yield s
