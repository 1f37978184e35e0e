"""The language a user chose for the app, and the one a patient is told things in."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from telemed.core import audit
from telemed.core.errors import Invalid
from telemed.core.i18n import LANGUAGES, is_language
from telemed.identity.models import Patient, Role, User

__all__ = ["checked_language", "patient_language", "set_language", "user_languages"]


def checked_language(value: str | None, *, field: str = "language") -> str | None:
    """`value` if it is a language the server speaks (or None); 422 `invalid_value`
    otherwise."""
    if value is None or is_language(value):
        return value
    raise Invalid(
        f"unknown language {value!r}; one of {', '.join(LANGUAGES)}",
        code="invalid_value",
        field=field,
        allowed=list(LANGUAGES),
    )


def set_language(
    *, session: Session, user: User, language: str, ip: str | None, now: datetime
) -> User:
    """A user chooses the app's language; a patient's preferred language (their
    notifications, SMS, calendar files, documents) follows. Audited."""
    user.language = checked_language(language)
    patient = session.get(Patient, user.patient_id) if user.patient_id is not None else None
    if patient is not None and user.role == Role.PATIENT:
        patient.preferred_language = user.language
    audit.record(
        session=session,
        actor_id=user.id,
        actor_role=user.role,
        action="set_language",
        object_type="user",
        object_id=user.id,
        patient_id=patient.id if patient is not None else None,
        ip=ip,
        at=now,
        detail={"language": user.language},
    )
    session.flush()
    return user


def patient_language(*, session: Session, patient_id: uuid.UUID | None) -> str | None:
    """The language a patient is told things in; None when not chosen (or no patient)."""
    patient = session.get(Patient, patient_id) if patient_id is not None else None
    return patient.preferred_language if patient is not None else None


def user_languages(
    *, session: Session, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    """The language each user reads the server's messages in, in one query: a patient's
    account the patient's preferred language (else the account's), staff their account's
    choice; None when not chosen (the catalogue's default, zh-CN, then)."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.role, User.language, Patient.preferred_language)
        .outerjoin(Patient, col(Patient.id) == col(User.patient_id))
        .where(col(User.id).in_(wanted))
    ).all()
    out: dict[uuid.UUID, str | None] = dict.fromkeys(wanted)
    for uid, role, language, preferred in rows:
        out[uid] = (preferred or language) if role == Role.PATIENT else language
    return out
