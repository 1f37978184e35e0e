"""Typed dependency aliases of the kernel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from telemed.core import clock
from telemed.core.db import get_session
from telemed.core.settings import Settings, get_settings


def _now() -> datetime:
    return clock.now()


# scope="function": commit happens when the handler returns, before the response is sent,
# so a client never sees success for a transaction that then fails to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(_now)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
