"""What a booking may reference: an object of another domain the booker may act on.

A booking's `reference_type`/`reference_id` names the consultation, referral or home
visit it is for. Each of those domains registers a resolver for its type
(`register_booking_reference`) answering how the booker stands to the object
(`telemed.core.targets.Access`). A booking refers only to an object that exists and that
the booker takes part in, in a state that takes bookings: otherwise 404
`reference_not_found` (missing, or not visible to the booker), 403 `reference_forbidden`
(the booker only reads it), 409 `reference_closed`; an unknown type is 422
`unknown_reference_type`, a type without an id (or the reverse) 422 `reference_incomplete`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlmodel import Session

from telemed.core import targets
from telemed.core.errors import Invalid
from telemed.identity.models import User

__all__ = ["ReferenceAccess", "register_booking_reference", "require_reference"]

# (session, user, reference_id) -> how the user stands to that object
ReferenceAccess = Callable[[Session, User, uuid.UUID], targets.Access]
_references: dict[str, list[ReferenceAccess]] = {}


def register_booking_reference(reference_type: str, fn: ReferenceAccess) -> None:
    """Let a domain say who may book for its objects of `reference_type`."""
    fns = _references.setdefault(reference_type, [])
    if fn not in fns:
        fns.append(fn)


def require_reference(
    *,
    session: Session,
    user: User,
    reference_type: str | None,
    reference_id: uuid.UUID | None,
) -> None:
    """Refuse a booking reference the booker may not act on (nothing to check when absent)."""
    if reference_type is None and reference_id is None:
        return
    if reference_type is None or reference_id is None:
        field = "reference_id" if reference_id is None else "reference_type"
        raise Invalid(
            "give both reference_type and reference_id, or neither",
            field=field,
            code="reference_incomplete",
        )
    fns = _references.get(reference_type)
    if not fns:
        known = ", ".join(sorted(_references)) or "none"
        raise Invalid(
            f"unknown reference type {reference_type!r} (known: {known})",
            field="reference_type",
            code="unknown_reference_type",
        )
    targets.require(
        targets.best([fn(session, user, reference_id) for fn in fns]),
        kind="reference",
        target_type=reference_type,
        target_id=reference_id,
    )
