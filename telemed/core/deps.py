"""Typed dependency aliases of the kernel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from telemed.core import clock
from telemed.core.db import get_session
from telemed.core.settings import Settings, get_settings


# The kernel's trivial dependencies are coroutines: FastAPI runs a plain function
# dependency in the worker thread pool, one thread hop per dependency per request.
async def _now() -> datetime:
    return clock.now()


async def _settings() -> Settings:
    return get_settings()


# scope="function": commit happens when the handler returns, before the response is sent,
# so a client never sees success for a transaction that then fails to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(_now)]
SettingsDep = Annotated[Settings, Depends(_settings)]
