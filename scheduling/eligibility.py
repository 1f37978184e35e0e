"""Who may use family-doctor reserved capacity: resolvers other domains (referrals)
register. Default: nobody."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlmodel import Session

from telemed.identity.models import User

# (session, user, patient_id) -> may this booking use family-doctor reserved capacity?
ReservedEligibility = Callable[[Session, User, uuid.UUID | None], bool]
RESOLVERS: list[ReservedEligibility] = []  # the registered resolvers, in order


def register_reserved_eligibility(fn: ReservedEligibility) -> None:
    """Let a domain (referrals) say who may use reserved capacity. Default: nobody."""
    if fn not in RESOLVERS:
        RESOLVERS.append(fn)


def eligible(session: Session, user: User, patient_id: uuid.UUID | None) -> bool:
    """Whether a registered resolver lets this booking use reserved capacity."""
    return any(fn(session, user, patient_id) for fn in RESOLVERS)
