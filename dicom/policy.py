"""Who may link a study to a consultation or referral, and unlink it: one rule.

A link makes a study visible to every participant of its target, so it crosses hospital
boundaries. Linking (and unlinking) requires all of:

1. the caller may see the study (else 404, the study does not exist for them);
2. the caller is staff of the study's sending institution: a study seen only through a
   link is never linked onward by its readers (403 `not_study_owner`);
3. the caller may write the target now, as the target's domain answers through the
   resolver it registered with `register_link_target` (`telemed.core.targets.Access`):
   a missing or hidden target is 404 `link_target_not_found` (an outsider never learns it
   exists), a target the caller only reads is 403 `link_target_forbidden`, a target whose
   state accepts no attachments is 409 `link_target_closed`.

A prior retrieved for a study joins that study's links only when it was sent by the same
institution for the same DICOM patient (`may_join_links`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlmodel import Session

from dicom.models import LinkTarget, Study
from telemed.core import targets
from telemed.core.errors import Forbidden, Invalid
from telemed.identity.models import User
from telemed.identity.permissions import is_staff

__all__ = [
    "LinkTargetAccess",
    "may_join_links",
    "owns",
    "register_link_target",
    "require_may_link",
    "target_access",
]

# (session, user, target_id) -> how the user stands to that consultation/referral
LinkTargetAccess = Callable[[Session, User, uuid.UUID], targets.Access]
_targets: dict[str, list[LinkTargetAccess]] = {}
# (session, study_uid, target_id) -> None: the target's domain forgets its copy of a link
OnUnlink = Callable[[Session, str, uuid.UUID], None]
_on_unlink: dict[str, list[OnUnlink]] = {}


def _check_type(target_type: str) -> None:
    if target_type not in {t.value for t in LinkTarget}:
        raise Invalid(f"unknown target type {target_type!r}", field="target_type")


def register_link_target(
    target_type: str, fn: LinkTargetAccess, *, on_unlink: OnUnlink | None = None
) -> None:
    """Let consultations/referrals say who may attach studies to their objects (and hear
    about unlinks when they keep a copy of the link)."""
    _check_type(target_type)
    fns = _targets.setdefault(target_type, [])
    if fn not in fns:
        fns.append(fn)
    if on_unlink is not None:
        hooks = _on_unlink.setdefault(target_type, [])
        if on_unlink not in hooks:
            hooks.append(on_unlink)


def target_access(
    session: Session, user: User, target_type: str, target_id: uuid.UUID
) -> targets.Access:
    """How `user` stands to the target (MISSING when no resolver knows it)."""
    _check_type(target_type)
    return targets.best([fn(session, user, target_id) for fn in _targets.get(target_type, [])])


def owns(user: User, study: Study) -> bool:
    """Staff of the institution that sent the study."""
    return (
        is_staff(user)
        and user.institution_id is not None
        and study.source_institution_id == user.institution_id
    )


def require_may_link(
    *, session: Session, user: User, study: Study, target_type: str, target_id: uuid.UUID
) -> None:
    """Refuse a link or unlink the rule does not allow (the caller already sees the study)."""
    _check_type(target_type)
    if not owns(user, study):
        raise Forbidden(
            "only staff of the institution that sent this study may link or unlink it",
            code="not_study_owner",
        )
    targets.require(
        target_access(session, user, target_type, target_id),
        kind="link_target",
        target_type=target_type,
        target_id=target_id,
    )


def unlinked(session: Session, *, study_uid: str, target_type: str, target_id: uuid.UUID) -> None:
    """Tell the target's domain that a link is gone."""
    for hook in _on_unlink.get(target_type, []):
        hook(session, study_uid, target_id)


def may_join_links(prior: Study, current: Study) -> bool:
    """A retrieved prior joins the current study's links only when the same institution
    sent both for the same DICOM patient."""
    return (
        prior.id != current.id
        and prior.source_institution_id is not None
        and prior.source_institution_id == current.source_institution_id
        and bool(current.dicom_patient_id)
        and prior.dicom_patient_id == current.dicom_patient_id
    )
