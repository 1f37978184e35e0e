"""API shapes of the admin views of background work."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class OutboxItemPublic(BaseModel):
    """One outbox message as an admin sees it (no phone number, no text)."""

    id: uuid.UUID
    user_id: uuid.UUID
    channel: str
    kind: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    dead_at: datetime | None
