"""SQLite (`make run`, one process): a write's wake-ups reach this process's streams after
its commit, never after a rollback, and only the addressee's."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import create_engine
from sqlmodel import Session

from telemed.core import live
from telemed.core.notifications import Notification, enqueue


def test_sqlite_wakes_the_addressee_on_commit_and_nobody_on_rollback() -> None:
    engine = create_engine("sqlite://")
    Notification.__table__.create(engine)  # type: ignore[attr-defined]
    live.install()
    me, other = uuid.uuid4(), uuid.uuid4()

    async def scenario() -> tuple[list[live.Wake], live.Wake | None, live.Wake | None]:
        mine = live.hub.subscribe(me, queue_size=8)
        theirs = live.hub.subscribe(other, queue_size=8)
        try:
            with Session(engine) as s:
                enqueue(session=s, user_id=me, kind="test.rolled_back", title="t")
                s.flush()
                s.rollback()
                enqueue(session=s, user_id=me, kind="test.kept", title="t")
                s.flush()
                await asyncio.sleep(0)
                before_commit = mine.queue.qsize()
                s.commit()
            first = await mine.next(5)
            assert before_commit == 0  # flushed is not committed: nothing yet
            after = await mine.next(0.2)  # the rolled-back one never comes
            return [first] if first else [], after, await theirs.next(0.2)
        finally:
            live.hub.unsubscribe(mine)
            live.hub.unsubscribe(theirs)

    woken, extra, others = asyncio.run(scenario())
    assert woken == [live.Wake("n", user=me)]
    assert extra is None
    assert others is None
