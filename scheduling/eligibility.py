"""Who may use family-doctor reserved capacity: resolvers other domains (referrals)
register. Default: nobody."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlmodel import Session

from telemed.identity.models import User

# (session, user, patient_id) -> may this booking use family-doctor reserved capacity?
ReservedEligibility = Callable[[Session, User, uuid.UUID | None], bool]
_eligibility: list[ReservedEligibility] = []


def register_reserved_eligibility(fn: ReservedEligibility) -> None:
    """Let a domain (referrals) say who may use reserved capacity. Default: nobody."""
    if fn not in _eligibility:
        _eligibility.append(fn)


def _eligible(session: Session, user: User, patient_id: uuid.UUID | None) -> bool:
    return any(fn(session, user, patient_id) for fn in _eligibility)
