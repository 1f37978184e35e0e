"""API shapes of the admin views of background work."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class OutboxItemPublic(BaseModel):
    """One outbox message as an admin sees it (never the full number, no text).

    An SMS names its patient (`patient_id`, and the patient's phone masked: `138****0017`);
    `user_id` is the account of an SMS queued before core 0022, which is also resolved to
    its patient."""

    id: uuid.UUID
    user_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    phone_masked: str | None
    channel: str
    kind: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    dead_at: datetime | None
