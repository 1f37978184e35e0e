"""How a user stands to an object of another domain that a write points at.

A study link points at a consultation or referral, a booking at the consultation, referral
or home visit it is for. The domain that writes (dicom, scheduling) asks the domain that
owns the target through a resolver it registered, and the resolver answers one `Access`:

    MISSING     no such object
    HIDDEN      it exists, but the user may not read it (told apart from MISSING only here)
    READ_ONLY   the user reads it but may not write it
    CLOSED      the user may write it, but its state accepts nothing more
    WRITE       the user may write it now

`require` turns an answer into the refusal the API reports: MISSING and HIDDEN are the
same 404 (an outsider never learns that the object exists), READ_ONLY 403, CLOSED 409.
"""

from __future__ import annotations

import uuid
from enum import IntEnum

from telemed.core.errors import Conflict, Forbidden, NotFound

__all__ = ["Access", "best", "require"]


class Access(IntEnum):
    MISSING = 0
    HIDDEN = 1
    READ_ONLY = 2
    CLOSED = 3
    WRITE = 4


def best(answers: list[Access]) -> Access:
    """The strongest answer of several resolvers (each knows only its own objects)."""
    return max(answers, default=Access.MISSING)


def require(access: Access, *, kind: str, target_type: str, target_id: uuid.UUID) -> None:
    """Refuse unless `access` is WRITE; codes are `{kind}_not_found|_forbidden|_closed`."""
    if access == Access.WRITE:
        return
    what = f"{target_type} {target_id}"
    if access in (Access.MISSING, Access.HIDDEN):
        raise NotFound(f"{what} not found", code=f"{kind}_not_found", target_type=target_type)
    if access == Access.READ_ONLY:
        raise Forbidden(f"you take no part in {what} that allows this", code=f"{kind}_forbidden")
    raise Conflict(f"{what} accepts no more changes in its state", code=f"{kind}_closed")
