"""Rules of identity: login with lockout, tokens, users, patients."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from telemed.core import audit
from telemed.core.db import get_or_404
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from telemed.core.settings import Settings, get_settings
from telemed.identity import patient_terms, token_cache
from telemed.identity import resident_id as rid
from telemed.identity.languages import (
    checked_language,
    patient_language,
    set_language,
    user_languages,
)
from telemed.identity.models import DOCTOR_ROLES, AuthToken, Patient, Role, User
from telemed.identity.names import has_mongolian, mongolian_key, normalize_mongolian_name
from telemed.identity.passwords import WeakPassword, check_password
from telemed.identity.permissions import (
    can_read_patient,
    participant_patient_queries,
    require_patient_read,
)
from telemed.identity.reauth import (
    ReauthenticationFailed,
    ReauthenticationRequired,
    reauthenticate,
)
from telemed.identity.schemas import PasswordChange, PatientCreate, PatientPublic, UserCreate
from telemed.identity.security import hash_password, new_token, token_digest, verify_password

__all__ = [
    "PasswordChangeRequired",
    "ReauthenticationFailed",
    "ReauthenticationRequired",
    "WrongCurrentPassword",
    "change_password",
    "checked_language",
    "count_patients",
    "create_user",
    "ensure_password_changed",
    "find_patients",
    "get_user",
    "issue_token",
    "list_doctors",
    "mask_phone",
    "patient_language",
    "patient_public",
    "reauthenticate",
    "read_patient",
    "register_patient",
    "require_password_change",
    "revoke_token",
    "set_language",
    "set_sms_consent",
    "user_for_token",
    "user_languages",
]


def issue_token(
    *, session: Session, user: User, now: datetime, settings: Settings
) -> tuple[str, AuthToken]:
    """Create a bearer token; only its digest is stored."""
    token = new_token()
    row = AuthToken(
        token_hash=token_digest(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.security.token_ttl_minutes),
    )
    session.add(row)
    session.flush()
    return token, row


class PasswordChangeRequired(Forbidden):
    """403: an admin asked this user to change their password; until then the login allows
    nothing else (only /auth/me, /auth/password and /auth/logout)."""

    code, title = "password_change_required", "Password change required"


def ensure_password_changed(user: User) -> User:
    """`user`, unless a forced password change is pending (403 password_change_required).
    Every door that takes a token goes through this: the API's `CurrentUser`, the video
    signaling socket."""
    if user.must_change_password:
        raise PasswordChangeRequired(
            "change your password first (POST /api/v1/auth/password); "
            "until then this login allows nothing else"
        )
    return user


def user_for_token(*, session: Session, token: str, now: datetime) -> User:
    """Resolve a bearer token to its user, or raise 401: from this worker's token cache when
    it holds the token (no round trip), else in one round trip (then cached)."""
    sec = get_settings().security
    cache = token_cache.cache_for(
        str(session.get_bind().engine.url), sec.token_cache_seconds, sec.token_cache_dir
    )
    digest, epoch = token_digest(token), 0
    if cache is not None:
        cached = cache.lookup(session, digest, now)
        if cached is not None:
            return cached
        epoch = cache.epoch.value()  # before the read: a write after it kills the entry
    user, expires_at = _user_from_database(session, digest, now)
    if cache is not None:
        cache.store(digest, epoch, expires_at, user)
    return user


def _user_from_database(session: Session, digest: str, now: datetime) -> tuple[User, datetime]:
    found = session.execute(
        select(AuthToken.revoked_at, AuthToken.expires_at, User)
        .join(User, col(User.id) == AuthToken.user_id)
        .where(AuthToken.token_hash == digest)
    ).one_or_none()
    if found is None:
        raise Unauthorized("invalid token")
    revoked_at, expires_at, user = found
    if revoked_at is not None:
        raise Unauthorized("token has been revoked")
    if expires_at <= now:
        raise Unauthorized("token has expired")
    if not user.is_active:
        raise Unauthorized("account is disabled")
    return user, expires_at


def revoke_token(*, session: Session, token: str, now: datetime) -> None:
    row = session.execute(
        select(AuthToken).where(AuthToken.token_hash == token_digest(token))
    ).scalar_one_or_none()
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        session.flush()


def create_user(*, session: Session, data: UserCreate, now: datetime, settings: Settings) -> User:
    """Create a user; usernames are unique and the password meets the policy."""
    if session.execute(select(User.id).where(User.username == data.username)).first():
        raise Conflict(f"username {data.username!r} is taken", code="username_taken")
    if data.role != Role.PATIENT and data.role != Role.ADMIN and data.institution_id is None:
        raise Invalid("staff users need an institution", field="institution_id")
    check_password(
        data.password, username=data.username, full_name=data.full_name, sec=settings.security
    )
    user = User(
        username=data.username,
        password_hash=hash_password(data.password),
        role=data.role,
        full_name=data.full_name,
        institution_id=data.institution_id,
        department_id=data.department_id,
        specialty_code=data.specialty_code,
        title=data.title,
        phone=data.phone,
        patient_id=data.patient_id,
        must_change_password=data.must_change_password,
        password_changed_at=now,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


class WrongCurrentPassword(Invalid):
    code = "wrong_current_password"


def change_password(
    *,
    session: Session,
    user: User,
    data: PasswordChange,
    keep_token: str | None,
    now: datetime,
    settings: Settings,
) -> None:
    """Change the user's own password (the current one is required); every other token of
    the user is revoked and a pending forced change is done."""
    if not verify_password(user.password_hash, data.current_password):
        raise WrongCurrentPassword("the current password is wrong", field="current_password")
    if data.new_password == data.current_password:
        raise WeakPassword(
            "the new password must differ from the current one",
            code="password_unchanged",
            field="new_password",
        )
    check_password(
        data.new_password,
        username=user.username,
        full_name=user.full_name,
        sec=settings.security,
        field="new_password",
    )
    user.password_hash = hash_password(data.new_password)
    user.must_change_password = False
    user.password_changed_at = now
    keep = token_digest(keep_token) if keep_token else None
    others = select(AuthToken).where(
        AuthToken.user_id == user.id, col(AuthToken.revoked_at).is_(None)
    )
    for row in session.execute(others).scalars():
        if row.token_hash != keep:
            row.revoked_at = now
    session.flush()


def require_password_change(*, session: Session, user: User) -> User:
    """Flag a user: their next login only allows changing the password (admins)."""
    user.must_change_password = True
    session.flush()
    return user


def register_patient(
    *,
    session: Session,
    data: PatientCreate,
    institution_id: uuid.UUID | None,
    now: datetime,
    settings: Settings,
    by: User | None = None,
) -> Patient:
    """Register a real-name patient; the resident ID must be valid and new.

    A resident ID already registered is 409 `patient_exists`; the answer names the
    existing `patient_id` only to a caller entitled to read that patient (`by`)."""
    parsed = rid.parse(data.resident_id, today=now.date())
    name_mn = normalize_mongolian_name(data.name_mn)
    language = checked_language(data.preferred_language, field="preferred_language")
    digest = rid.fingerprint(parsed.number, key=settings.security.secret_key)
    existing = session.execute(
        select(Patient).where(Patient.resident_id_hash == digest)
    ).scalar_one_or_none()
    if existing is not None:
        if by is not None and can_read_patient(session, by, existing):
            raise Conflict(
                "a patient with this resident ID is already registered",
                code="patient_exists",
                patient_id=str(existing.id),
            )
        raise Conflict(
            "a patient with this resident ID is already registered elsewhere; ask the "
            "patient's institution, or a consultation or referral that includes you",
            code="patient_exists",
        )
    patient = Patient(
        name=data.name,
        name_mn=name_mn,
        name_mn_key=mongolian_key(name_mn) if name_mn else None,
        preferred_language=language,
        sex=parsed.sex,
        birth_date=parsed.birth_date,
        resident_id_hash=digest,
        resident_id_masked=parsed.masked,
        phone=data.phone,
        institution_id=institution_id,
        county_code=data.county_code,
        sms_consent_at=now if data.sms_consent else None,
        sms_consent_method="registration" if data.sms_consent else None,
        created_at=now,
    )
    session.add(patient)
    session.flush()
    return patient


def set_sms_consent(
    *, session: Session, user: User, consent: bool, ip: str | None, now: datetime
) -> Patient:
    """A patient gives or withdraws consent to SMS for themselves; audited."""
    if user.patient_id is None:
        raise Forbidden("only a patient sets their own SMS consent", code="not_a_patient")
    patient = session.get(Patient, user.patient_id)
    if patient is None:
        raise NotFound("patient not found")
    patient.sms_consent_at = now if consent else None
    patient.sms_consent_method = "self" if consent else None
    audit.record(
        session=session,
        actor_id=user.id,
        actor_role=user.role,
        action="sms_consent" if consent else "sms_consent_withdrawn",
        object_type="patient",
        object_id=patient.id,
        patient_id=patient.id,
        ip=ip,
        at=now,
    )
    session.flush()
    return patient


def find_patients(
    *,
    session: Session,
    user: User,
    query: str | None,
    resident_id: str | None,
    settings: Settings,
    limit: int = 50,
    term: str | None = None,
) -> list[Patient]:
    """Patients the user may see, by name prefix (the Chinese name, or the Mongolian one
    however its variation selectors and look-alike letters were typed), exact resident ID, or
    a search `term` (part of the name, the ID's last four characters, a phone number:
    `telemed.identity.patient_terms`)."""
    found = _visible_patients(
        session=session,
        user=user,
        query=query,
        resident_id=resident_id,
        settings=settings,
        limit=limit,
        term=term,
    )
    ids = [p.id for p in found]
    audit.read(session, user, object_type="patient", patient_ids=ids, object_ids=ids)
    return found


def count_patients(
    *,
    session: Session,
    user: User,
    query: str | None,
    resident_id: str | None,
    settings: Settings,
) -> int:
    """How many patients `find_patients` would find without a limit (a number only: no
    patient is shown, nothing to audit)."""
    return len(
        _visible_patients(
            session=session, user=user, query=query, resident_id=resident_id, settings=settings
        )
    )


def _visible_patients(
    *,
    session: Session,
    user: User,
    query: str | None,
    resident_id: str | None,
    settings: Settings,
    limit: int | None = None,
    term: str | None = None,
) -> list[Patient]:
    stmt = select(Patient)
    term = patient_terms.normalized(term)
    if term is not None and patient_terms.term_kind(term) == "resident_id":
        resident_id, term = term, None
    if resident_id:
        digest = rid.fingerprint(resident_id.strip().upper(), key=settings.security.secret_key)
        stmt = stmt.where(Patient.resident_id_hash == digest)
    if term is not None:
        stmt = stmt.where(
            patient_terms.term_condition(term, secret_key=settings.security.secret_key)
        )
    if query and has_mongolian(query):
        stmt = stmt.where(
            or_(
                col(Patient.name).startswith(query),
                col(Patient.name_mn_key).startswith(mongolian_key(query)),
            )
        )
    elif query:
        stmt = stmt.where(col(Patient.name).startswith(query))
    # A family doctor signs residents of their institution's county, who are registered
    # elsewhere (the county hospital): found by the exact resident ID read off the ID card.
    exact = resident_id and not query and term is None
    county = _family_doctor_county(session, user) if exact else None
    if user.role != Role.ADMIN and user.role != Role.PATIENT and county is None:
        # Staff find their institution's patients and those whose care they take part in
        # (a contracted resident, a referral received): the people `can_read_patient` allows.
        stmt = stmt.where(
            or_(
                col(Patient.institution_id) == user.institution_id,
                *(col(Patient.id).in_(q) for q in participant_patient_queries(user)),
            )
        )
    if user.role == Role.PATIENT:
        stmt = stmt.where(Patient.id == user.patient_id)
    rows = session.execute(stmt.order_by(Patient.name).limit(limit)).scalars().all()
    return [
        p
        for p in rows
        if (county is not None and p.county_code == county) or can_read_patient(session, user, p)
    ]


def _family_doctor_county(session: Session, user: User) -> str | None:
    if user.role != Role.FAMILY_DOCTOR or user.institution_id is None:
        return None
    from telemed.network import service as network_service

    inst = network_service.get_institution(session=session, institution_id=user.institution_id)
    return inst.county_code or None


def list_doctors(*, session: Session, by: User, institution_id: uuid.UUID) -> list[User]:
    """Active doctors of an institution, by name: staff see their own institution's,
    admins any (who can be given a schedule, referred to, invited)."""
    if by.role != Role.ADMIN and by.institution_id != institution_id:
        raise Forbidden("you may list the doctors of your own institution only")
    return list(
        session.execute(
            select(User)
            .where(
                User.institution_id == institution_id,
                col(User.role).in_(DOCTOR_ROLES),
                col(User.is_active).is_(True),
            )
            .order_by(col(User.full_name), col(User.id))
        ).scalars()
    )


def get_user(*, session: Session, user_id: uuid.UUID) -> User:
    user = get_or_404(session, User, user_id, "user")
    return user


def mask_phone(phone: str | None) -> str | None:
    """138****0017: what staff and admins are shown of a phone number."""
    return (phone[:3] + "****" + phone[-4:]) if phone else None


def patient_public(patient: Patient) -> PatientPublic:
    return PatientPublic(
        id=patient.id,
        name=patient.name,
        name_mn=patient.name_mn,
        preferred_language=patient.preferred_language,
        sex=patient.sex,
        birth_date=patient.birth_date,
        resident_id_masked=patient.resident_id_masked,
        phone_masked=mask_phone(patient.phone),
        institution_id=patient.institution_id,
        county_code=patient.county_code,
        sms_consent=patient.sms_consent_at is not None,
    )


def read_patient(*, session: Session, user: User, patient_id: uuid.UUID) -> Patient:
    """One patient the user may see (else 404, the refusal audited); the read audited."""
    patient = require_patient_read(session, user, patient_id)
    audit.read(session, user, object_type="patient", object_id=patient.id, patient_ids=[patient.id])
    return patient
