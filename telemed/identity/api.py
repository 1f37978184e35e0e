"""Routes of identity: login, logout, me, users, patients."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.security import OAuth2PasswordRequestForm

from telemed.core import audit
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Forbidden
from telemed.core.pagination import Page, PageDep
from telemed.identity import audit_log, service
from telemed.identity.deps import AdminUser, ClientIP, CurrentUser, StaffUser, TokenDep
from telemed.identity.models import Role
from telemed.identity.schemas import (
    AuditEventPublic,
    PatientCreate,
    PatientPublic,
    TokenPublic,
    UserCreate,
    UserPublic,
)

router = APIRouter(prefix="/api/v1", tags=["identity"])


@router.post("/auth/token", response_model=TokenPublic)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    ip: ClientIP,
) -> TokenPublic:
    """OAuth2 password flow: exchange username and password for a bearer token."""
    try:
        user = service.authenticate(
            session=session,
            username=form.username,
            password=form.password,
            now=now,
            settings=settings,
        )
    except Exception:
        # The failed-login counter must persist even though we answer 401.
        session.commit()
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
    return TokenPublic(access_token=token, expires_at=row.expires_at)


@router.post("/auth/logout", status_code=204)
def logout(user: CurrentUser, token: TokenDep, session: SessionDep, now: NowDep) -> None:
    """Revoke the token used for this request."""
    assert token is not None
    service.revoke_token(session=session, token=token, now=now)


@router.get("/auth/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(data: UserCreate, admin: AdminUser, session: SessionDep, now: NowDep) -> UserPublic:
    """Create a user (admins only)."""
    user = service.create_user(session=session, data=data, now=now)
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
    q: Annotated[str | None, Query(max_length=64, description="name prefix")] = None,
    resident_id: Annotated[str | None, Query(max_length=18)] = None,
) -> list[PatientPublic]:
    """Patients the caller may see (own institution; a patient: only themself)."""
    if user.role == Role.PATIENT and (q or resident_id):
        raise Forbidden("patients cannot search other patients")
    rows = service.find_patients(
        session=session, user=user, query=q, resident_id=resident_id, settings=settings
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
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
) -> Page[AuditEventPublic]:
    """The audit log, newest first (admins only)."""
    rows, total = audit_log.events(
        session=session,
        page=page,
        patient_id=patient_id,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
    )
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)
