"""The seam to the imaging domain: studies linked to referrals (attachments of kind `study`).

Participants of a referral see its linked studies: referrals registers who takes part with
`dicom.service.register_link_access("referral", ...)`, and who may link and unlink (the
referrer and the receiver while the referral is open) with `register_link_target`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from dicom import service as dicom_service
from telemed.identity.models import User


def register_hooks(
    takes_part: Callable[[Session, User, uuid.UUID], bool],
    link_access: Callable[[Session, User, uuid.UUID], Any],
    on_unlink: Callable[[Session, str, uuid.UUID], None],
) -> None:
    """Tell imaging who reads a referral's studies and who may link/unlink them."""
    dicom_service.register_link_access("referral", takes_part)
    dicom_service.register_link_target("referral", link_access, on_unlink=on_unlink)


def link(
    *, session: Session, referral_id: uuid.UUID, study_uid: str, by: User, now: datetime
) -> None:
    """Link a study to the referral as imaging's rule allows (`dicom.policy`)."""
    dicom_service.link_study(
        session=session,
        study_uid=study_uid,
        target_type="referral",
        target_id=referral_id,
        by=by,
        now=now,
    )


def unlink(
    *,
    session: Session,
    referral_id: uuid.UUID,
    study_uid: str,
    by: User,
    now: datetime,
    ip: str | None,
) -> None:
    """Unlink a study from the referral (imaging applies the same rule as for linking)."""
    dicom_service.unlink_study(
        session=session,
        study_uid=study_uid,
        target_type="referral",
        target_id=referral_id,
        by=by,
        now=now,
        ip=ip,
    )


def studies(*, session: Session, referral_id: uuid.UUID) -> list[Any]:
    """The studies linked to the referral."""
    return list(
        dicom_service.studies_for(session=session, target_type="referral", target_id=referral_id)
    )
