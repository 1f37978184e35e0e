"""Routes of identity: login, logout, me, users, patients."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from telemed.core import audit
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Forbidden
from telemed.core.pagination import Page, PageDep
from telemed.identity import audit_log, service
from telemed.identity import login as login_flow
from telemed.identity.deps import (
    AdminUser,
    AnyCurrentUser,
    ClientIP,
    CurrentUser,
    HashSlot,
    LoginForm,
    LoginSlot,
    StaffUser,
    TokenDep,
    remember_refusal,
)
from telemed.identity.models import Role
from telemed.identity.schemas import (
    AuditEventPublic,
    LanguageUpdate,
    PasswordChange,
    PatientCreate,
    PatientPublic,
    SmsConsentPublic,
    SmsConsentUpdate,
    TokenPublic,
    UserCreate,
    UserPublic,
)

router = APIRouter(prefix="/api/v1", tags=["identity"])


@router.post(
    "/auth/token",
    response_model=TokenPublic,
    responses={
        401: {"description": "wrong username or password (code wrong_credentials)"},
        429: {"description": "login_throttled or login_busy; see Retry-After"},
    },
)
def login(
    form: LoginForm,
    _slot: LoginSlot,
    request: Request,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    ip: ClientIP,
) -> TokenPublic:
    """OAuth2 password flow: exchange username and password for a bearer token.

    Throttled per address and per account with exponential back-off (429 +
    Retry-After); an address the user logged in from before is never blocked by
    failures elsewhere (docs/operations.md)."""
    try:
        user = login_flow.authenticate(
            session=session,
            username=form.username,
            password=form.password,
            address=ip,
            now=now,
            sec=settings.security,
        )
    except login_flow.WrongCredentials as exc:
        # The failure counters must persist even though we answer 401.
        session.commit()
        if exc.blocks is not None:
            remember_refusal(request, form.username, ip, exc.blocks)
        raise
    except login_flow.LoginThrottled as exc:
        remember_refusal(request, form.username, ip, exc.blocks)
        raise
    token, row = service.issue_token(session=session, user=user, now=now, settings=settings)
    audit.record(
        session=session,
        actor_id=user.id,
        actor_role=user.role,
        action="login",
        object_type="user",
        object_id=user.id,
        ip=ip,
    )
    return TokenPublic(
        access_token=token,
        expires_at=row.expires_at,
        must_change_password=user.must_change_password,
    )


@router.post("/auth/logout", status_code=204)
def logout(user: AnyCurrentUser, token: TokenDep, session: SessionDep, now: NowDep) -> None:
    """Revoke the token used for this request."""
    assert token is not None
    service.revoke_token(session=session, token=token, now=now)


@router.get("/auth/me", response_model=UserPublic)
def me(user: AnyCurrentUser) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.post(
    "/auth/password",
    status_code=204,
    responses={
        422: {
            "description": "wrong_current_password, password_unchanged, password_too_short, "
            "password_too_weak, password_personal"
        },
        429: {"description": "login_throttled or login_busy; see Retry-After"},
    },
)
def change_password(
    _slot: HashSlot,
    data: PasswordChange,
    user: AnyCurrentUser,
    token: TokenDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    ip: ClientIP,
) -> None:
    """Change one's own password (the current one required); ends a forced change and
    revokes the user's other tokens. Wrong current passwords count as failed logins."""
    keys = login_flow.throttle_keys(
        session=session,
        user=user,
        username=user.username,
        address=login_flow.address_key(ip),
        now=now,
        sec=settings.security,
    )
    login_flow.check_throttle(session=session, keys=keys, now=now)
    try:
        service.change_password(
            session=session, user=user, data=data, keep_token=token, now=now, settings=settings
        )
    except service.WrongCurrentPassword:
        login_flow.record_failures(session=session, keys=keys, now=now, sec=settings.security)
        session.commit()
        raise
    audit.record(
        session=session,
        actor_id=user.id,
        actor_role=user.role,
        action="change_password",
        object_type="user",
        object_id=user.id,
        ip=ip,
    )


@router.put("/auth/me/sms-consent", response_model=SmsConsentPublic)
def set_my_sms_consent(
    body: SmsConsentUpdate, user: CurrentUser, session: SessionDep, now: NowDep, ip: ClientIP
) -> SmsConsentPublic:
    """A patient agrees to (or stops) being told by SMS; audited."""
    p = service.set_sms_consent(session=session, user=user, consent=body.consent, ip=ip, now=now)
    return SmsConsentPublic(
        consent=p.sms_consent_at is not None,
        consent_at=p.sms_consent_at,
        method=p.sms_consent_method,
    )


@router.put(
    "/auth/me/language",
    response_model=UserPublic,
    responses={422: {"description": "an unknown language code (code invalid_value)"}},
)
def set_my_language(
    body: LanguageUpdate, user: CurrentUser, session: SessionDep, now: NowDep, ip: ClientIP
) -> UserPublic:
    """Choose the app's language (zh-CN, en, mn-Mong); a patient's notifications, SMS,
    calendar files and documents follow it. Audited."""
    user = service.set_language(session=session, user=user, language=body.language, ip=ip, now=now)
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(
    _slot: HashSlot,
    data: UserCreate,
    admin: AdminUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> UserPublic:
    """Create a user (admins only); the password must meet the policy (422 otherwise)."""
    user = service.create_user(session=session, data=data, now=now, settings=settings)
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/users/{user_id}/require-password-change", response_model=UserPublic)
def require_password_change(
    user_id: uuid.UUID, admin: AdminUser, session: SessionDep, ip: ClientIP
) -> UserPublic:
    """Force a user to change their password: their next login allows nothing else
    (admins only)."""
    user = service.require_password_change(
        session=session, user=service.get_user(session=session, user_id=user_id)
    )
    audit.record(
        session=session,
        actor_id=admin.id,
        actor_role=admin.role,
        action="require_password_change",
        object_type="user",
        object_id=user.id,
        ip=ip,
    )
    return UserPublic.model_validate(user, from_attributes=True)


@router.get("/users", response_model=list[UserPublic])
def list_doctors(
    institution_id: uuid.UUID, user: StaffUser, session: SessionDep
) -> list[UserPublic]:
    """The active doctors of an institution (own institution; admins any)."""
    doctors = service.list_doctors(session=session, by=user, institution_id=institution_id)
    return [UserPublic.model_validate(d, from_attributes=True) for d in doctors]


@router.post("/patients", response_model=PatientPublic, status_code=201)
def register_patient(
    data: PatientCreate,
    user: StaffUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    ip: ClientIP,
) -> PatientPublic:
    """Register a real-name patient at the caller's institution."""
    patient = service.register_patient(
        session=session,
        data=data,
        institution_id=user.institution_id,
        now=now,
        settings=settings,
        by=user,
    )
    audit.record(
        session=session,
        actor_id=user.id,
        actor_role=user.role,
        action="create",
        object_type="patient",
        object_id=patient.id,
        patient_id=patient.id,
        ip=ip,
    )
    return service.patient_public(patient)


@router.get("/patients", response_model=list[PatientPublic])
def search_patients(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[
        str | None,
        Query(
            max_length=64,
            description="part of the name (Chinese or Mongolian script), the resident ID's "
            "last 4 characters, a phone number or its last digits, or the whole resident ID",
        ),
    ] = None,
    resident_id: Annotated[str | None, Query(max_length=18)] = None,
) -> list[PatientPublic]:
    """Patients the caller may see (own institution, and those whose care they take part in;
    a patient: only themself)."""
    if user.role == Role.PATIENT and (q or resident_id):
        raise Forbidden("patients cannot search other patients")
    rows = service.find_patients(
        session=session, user=user, query=None, term=q, resident_id=resident_id, settings=settings
    )
    return [service.patient_public(p) for p in rows]


@router.get("/patients/{patient_id}", response_model=PatientPublic)
def read_patient(patient_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> PatientPublic:
    """One patient, if the caller may see them (else 404)."""
    patient = service.read_patient(session=session, user=user, patient_id=patient_id)
    return service.patient_public(patient)


@router.get("/audit", response_model=Page[AuditEventPublic])
def read_audit(
    admin: AdminUser,
    session: SessionDep,
    page: PageDep,
    patient_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    actor: Annotated[
        str | None, Query(max_length=64, description="part of the actor's name or user name")
    ] = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: Annotated[datetime | None, Query(description="from this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="before this time (exclusive)")] = None,
) -> Page[AuditEventPublic]:
    """The audit log, newest first (admins only)."""
    rows, total = audit_log.events(
        session=session,
        page=page,
        patient_id=patient_id,
        actor_id=actor_id,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
    )
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)
