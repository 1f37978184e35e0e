"""HTTP API of remote consultations: `/api/v1/consultations`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI

from telemed.consultations import (
    api_attachments,
    api_opinions,
    api_print,
    api_requests,
    payments,
    service,
    signing,
)
from telemed.consultations.schemas import (
    ComplianceReport,
    FeePublic,
    FeeSet,
    KeyPublic,
    Proposal,
    ProposalQuery,
    ServiceClassPublic,
)
from telemed.consultations.service_classes import SERVICE_CLASSES
from telemed.consultations.service_levels import class_levels, compliance
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Forbidden
from telemed.core.settings import Settings
from telemed.identity.deps import AdminUser, CurrentUser, StaffUser
from telemed.identity.models import Role

router = APIRouter(prefix="/api/v1/consultations", tags=["consultations"])

# ------------------------------------------------------------ reference, reports, keys


@router.get("/service-classes", response_model=list[ServiceClassPublic])
def service_classes(settings: SettingsDep) -> list[ServiceClassPublic]:
    """The 11 kinds of remote service with their needs and effective service levels."""
    levels = class_levels(settings.consultations)
    return [
        ServiceClassPublic(
            code=i.code,
            name_zh=i.name_zh,
            name_en=i.name_en,
            live_session=i.live_session,
            expected_attachments=list(i.expected_attachments),
            accept_minutes=levels[i.code][0],
            report_minutes=levels[i.code][1],
        )
        for i in SERVICE_CLASSES.values()
    ]


@router.get("/service-levels", response_model=ComplianceReport)
def service_levels(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    start: datetime | None = None,
    end: datetime | None = None,
    institution_id: uuid.UUID | None = None,
    league: str | None = None,
    service_class: str | None = None,
) -> ComplianceReport:
    """Compliance with the service levels per receiving institution, league and service class."""
    if user.role not in (Role.COORDINATOR, Role.ADMIN):
        raise Forbidden("the service-level report is for coordinators and administrators")
    return compliance(
        session=session,
        now=now,
        start=start,
        end=end,
        institution_id=institution_id,
        league=league,
        service_class=service_class,
    )


@router.get("/keys/{user_id}", response_model=list[KeyPublic])
def public_keys(user_id: uuid.UUID, session: SessionDep) -> list[KeyPublic]:
    """A specialist's published signing keys (public: anyone may verify)."""
    return [
        KeyPublic(
            key_id=k.id,
            user_id=k.user_id,
            algorithm=signing.ALGORITHM,
            public_key=k.public_key,
            public_key_pem=signing.public_pem(k),
            fingerprint=k.fingerprint,
            created_at=k.created_at,
            revoked_at=k.revoked_at,
        )
        for k in service.keys_of(session=session, user_id=user_id)
    ]


@router.get("/fees", response_model=list[FeePublic])
def list_fees(session: SessionDep, user: StaffUser) -> list[Any]:
    """The fee schedule per service class and receiving hospital tier."""
    return payments.list_fees(session=session)


@router.put("/fees", response_model=FeePublic)
def set_fee(body: FeeSet, session: SessionDep, user: AdminUser, now: NowDep) -> Any:
    """Set one fee (admins)."""
    return payments.set_fee(
        session=session,
        service_class=body.service_class,
        tier=body.tier,
        amount_cents=body.amount_cents,
        currency=body.currency,
        by_id=user.id,
        now=now,
    )


@router.post("/proposals", response_model=list[Proposal])
def proposals(body: ProposalQuery, session: SessionDep, user: StaffUser, now: NowDep) -> Any:
    """Preview where a request would go under the routing rule (docs/routing.md), each
    candidate with its reason; with `patient_id`, routed from that patient."""
    if user.institution_id is None:
        raise Forbidden("proposals are computed for a requesting institution")
    return service.propose(
        patient_id=body.patient_id,
        check_patient=True,
        urgency=body.urgency,
        session=session,
        viewer=user,
        requesting_institution_id=user.institution_id,
        service_class=body.service_class,
        specialty=body.wanted_specialty,
        title=body.wanted_title,
        institution_id=body.institution_id,
        now=now,
        limit=body.limit,
    )


# ------------------------------------------------------------ requests, attachments, opinion

api_requests.routes.mount(router)
api_attachments.routes.mount(router)
api_opinions.routes.mount(router)
api_print.routes.mount(router)


# ------------------------------------------------------------ wiring


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the router (the service-level sweep is a task of the job runner, telemed.jobs)."""
    app.include_router(router)
