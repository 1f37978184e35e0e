"""API shapes of the inbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    code: str  # the message code title and body were rendered from (its catalogue entry)
    params: dict[str, object]  # its parameters: codes, numbers, ISO times (UTC)
    title: str  # rendered in the recipient's language when it was written
    body: str
    data: dict[str, object]
    created_at: datetime
    read_at: datetime | None


class UnreadCount(BaseModel):
    unread: int
