"""Routes of the network registry. Reads are public; writes are admin-only."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from telemed.core.deps import SessionDep
from telemed.core.pagination import Page, PageDep
from telemed.identity.deps import AdminUser
from telemed.network import service
from telemed.network.models import Tier
from telemed.network.schemas import (
    AECreate,
    AEPublic,
    AlliancePublic,
    DepartmentPublic,
    InstitutionCreate,
    InstitutionDetail,
    InstitutionPublic,
    LeaguePublic,
    NetworkSummary,
    SpecialtyPublic,
)
from telemed.network.specialties import NAMES

router = APIRouter(prefix="/api/v1/network", tags=["network"])


@router.get("/summary", response_model=NetworkSummary)
def network_summary(session: SessionDep) -> NetworkSummary:
    """Counts of leagues, counties, network hospitals and alliances."""
    return service.summary(session=session)


@router.get("/specialties", response_model=list[SpecialtyPublic])
def specialties() -> list[SpecialtyPublic]:
    """The fixed specialty code list."""
    return [SpecialtyPublic(code=s.value, name_zh=zh, name_en=en) for s, (zh, en) in NAMES.items()]


@router.get("/leagues", response_model=list[LeaguePublic])
def leagues(session: SessionDep) -> list[LeaguePublic]:
    from sqlalchemy import select

    from telemed.network.models import League

    rows = session.execute(select(League).order_by(League.code)).scalars()
    return [LeaguePublic.model_validate(r, from_attributes=True) for r in rows]


@router.get("/institutions", response_model=Page[InstitutionPublic])
def institutions(
    session: SessionDep,
    page: PageDep,
    league: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    county: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    tier: Tier | None = None,
    specialty: str | None = None,
    alliance: uuid.UUID | None = None,
    in_network: bool | None = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[InstitutionPublic]:
    rows, total = service.list_institutions(
        session=session,
        page=page,
        league=league,
        county=county,
        tier=tier,
        specialty=specialty,
        alliance=alliance,
        in_network=in_network,
        q=q,
    )
    return Page(
        items=[InstitutionPublic.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/institutions/{institution_id}", response_model=InstitutionDetail)
def institution(institution_id: uuid.UUID, session: SessionDep) -> InstitutionDetail:
    inst = service.get_institution(session=session, institution_id=institution_id)
    deps = service.departments_of(session=session, institution_id=inst.id)
    return InstitutionDetail(
        **InstitutionPublic.model_validate(inst, from_attributes=True).model_dump(),
        departments=[DepartmentPublic.model_validate(d, from_attributes=True) for d in deps],
        alliance_ids=service.alliances_of(session=session, institution_id=inst.id),
        ae_titles=[
            a.ae_title for a in service.ae_titles_of(session=session, institution_id=inst.id)
        ],
    )


@router.post("/institutions", response_model=InstitutionPublic, status_code=201)
def create_institution(
    data: InstitutionCreate, admin: AdminUser, session: SessionDep
) -> InstitutionPublic:
    inst = service.create_institution(session=session, data=data)
    return InstitutionPublic.model_validate(inst, from_attributes=True)


@router.get("/alliances", response_model=Page[AlliancePublic])
def alliances(
    session: SessionDep,
    page: PageDep,
    kind: str | None = None,
    league: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> Page[AlliancePublic]:
    rows, total = service.list_alliances(session=session, page=page, kind=kind, league=league)
    items = [
        AlliancePublic(
            **{k: getattr(a, k) for k in AlliancePublic.model_fields if k != "member_count"},
            member_count=n,
        )
        for a, n in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/institutions/{institution_id}/aes", response_model=AEPublic, status_code=201)
def register_ae(
    institution_id: uuid.UUID, data: AECreate, admin: AdminUser, session: SessionDep
) -> AEPublic:
    """Register a DICOM AE title for an institution (admins only)."""
    ae = service.register_ae(session=session, institution_id=institution_id, data=data)
    return AEPublic.model_validate(ae, from_attributes=True)
