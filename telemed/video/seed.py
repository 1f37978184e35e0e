"""Demo data of video sessions: one open room for the demo specialist and county doctor."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from telemed.core import clock
from telemed.core.settings import Settings
from telemed.identity.models import User
from telemed.video import service
from telemed.video.models import Room
from telemed.video.schemas import RoomCreate

DEMO_ROOM_TITLE = "演示会诊室 (demo consultation room)"


def seed_demo(session: Session, settings: Settings) -> None:
    """A room hosted by `specialist` with `county-doctor` and `patient`, open for 12 hours."""
    if session.execute(select(Room.id).where(Room.title == DEMO_ROOM_TITLE)).first():
        return
    users = {
        u.username: u
        for u in session.execute(
            select(User).where(
                User.username.in_(["specialist", "county-doctor", "patient"])  # type: ignore[attr-defined]
            )
        ).scalars()
    }
    if len(users) < 3:
        return
    now = clock.now()
    service.create_room(
        session=session,
        data=RoomCreate(
            title=DEMO_ROOM_TITLE,
            starts_at=now,
            ends_at=now + timedelta(hours=12),
            invited_user_ids=[users["county-doctor"].id, users["patient"].id],
            max_participants=3,
        ),
        by=users["specialist"],
        now=now,
        settings=settings.video,
    )
