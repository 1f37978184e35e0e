"""Queries and rules of the network registry."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from telemed.core.db import get_or_404
from telemed.core.errors import Conflict, Invalid
from telemed.core.pagination import PageParams, paginate
from telemed.network import routing
from telemed.network.models import (
    TIER_RANK,
    Alliance,
    AllianceMember,
    County,
    Department,
    DicomAE,
    Institution,
    League,
    Tier,
)
from telemed.network.routing import IN_ALLIANCE_TIERS, TIERS, PatientPlace, Placeable, Placement
from telemed.network.schemas import AECreate, InstitutionCreate, NetworkSummary


def summary(*, session: Session) -> NetworkSummary:
    """Counts of the network by tier, league and alliance kind."""

    def count(stmt: Any) -> int:
        return int(session.execute(stmt).scalar_one())

    by_tier = dict(
        session.execute(select(Institution.tier, func.count()).group_by(Institution.tier)).all()
    )
    net_by_tier: dict[str, int] = dict(
        session.execute(
            select(Institution.tier, func.count())
            .where(Institution.in_network.is_(True))  # type: ignore[attr-defined]
            .group_by(Institution.tier)
        ).all()
    )
    by_league: dict[str, int] = dict(
        session.execute(
            select(League.name_zh, func.count(Institution.id))  # type: ignore[arg-type]
            .join(Institution, col(Institution.league_code) == League.code)
            .where(Institution.in_network.is_(True))  # type: ignore[attr-defined]
            .group_by(League.name_zh)
        ).all()
    )
    by_kind = dict(
        session.execute(select(Alliance.kind, func.count()).group_by(Alliance.kind)).all()
    )
    return NetworkSummary(
        leagues=count(select(func.count()).select_from(League)),
        counties=count(select(func.count()).select_from(County)),
        institutions=count(select(func.count()).select_from(Institution)),
        network_hospitals=count(
            select(func.count()).select_from(Institution).where(Institution.in_network.is_(True))  # type: ignore[attr-defined]
        ),
        alliances=count(select(func.count()).select_from(Alliance)),
        by_tier=by_tier,
        network_hospitals_by_tier=net_by_tier,
        by_league=by_league,
        alliances_by_kind=by_kind,
    )


def leagues_with_hospitals(*, session: Session) -> list[tuple[League, int]]:
    """Every league (by code) with its count of network hospitals."""
    rows = session.execute(
        select(League, func.count(Institution.id))  # type: ignore[arg-type]
        .outerjoin(
            Institution,
            (col(Institution.league_code) == League.code) & col(Institution.in_network).is_(True),
        )
        .group_by(col(League.code))
        .order_by(col(League.code))
    ).all()
    return [(league, int(n)) for league, n in rows]


def list_institutions(
    *,
    session: Session,
    page: PageParams,
    league: str | None = None,
    county: str | None = None,
    tier: Tier | None = None,
    specialty: str | None = None,
    alliance: uuid.UUID | None = None,
    in_network: bool | None = None,
    q: str | None = None,
) -> tuple[list[Institution], int]:
    stmt = select(Institution)
    if league:
        stmt = stmt.where(Institution.league_code == league)
    if county:
        stmt = stmt.where(Institution.county_code == county)
    if tier:
        stmt = stmt.where(Institution.tier == tier)
    if in_network is not None:
        stmt = stmt.where(Institution.in_network.is_(in_network))  # type: ignore[attr-defined]
    if q:
        stmt = stmt.where(Institution.name_zh.contains(q))  # type: ignore[attr-defined]
    if specialty:
        stmt = stmt.where(
            Institution.id.in_(  # type: ignore[attr-defined]
                select(Department.institution_id).where(Department.specialty_code == specialty)
            )
        )
    if alliance:
        stmt = stmt.where(
            Institution.id.in_(  # type: ignore[attr-defined]
                select(AllianceMember.institution_id).where(AllianceMember.alliance_id == alliance)
            )
        )
    stmt = stmt.order_by(Institution.league_code, Institution.code)
    return paginate(session, stmt, page)


def get_institution(*, session: Session, institution_id: uuid.UUID) -> Institution:
    inst = get_or_404(session, Institution, institution_id, "institution")
    return inst


def institution_names(
    *, session: Session, institution_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Chinese and English names of the given institutions, in one query."""
    ids = list(set(institution_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Institution.id, Institution.name_zh, Institution.name_en).where(
            col(Institution.id).in_(ids)
        )
    ).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def departments_of(*, session: Session, institution_id: uuid.UUID) -> list[Department]:
    return list(
        session.execute(
            select(Department)
            .where(Department.institution_id == institution_id)
            .order_by(Department.specialty_code)
        ).scalars()
    )


def alliances_of(*, session: Session, institution_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.execute(
            select(AllianceMember.alliance_id).where(
                AllianceMember.institution_id == institution_id
            )
        ).scalars()
    )


def shared_alliance(*, session: Session, a: uuid.UUID, b: uuid.UUID) -> bool:
    """True when two institutions belong to one alliance."""
    m1 = select(AllianceMember.alliance_id).where(AllianceMember.institution_id == a)
    stmt = select(func.count()).where(
        AllianceMember.institution_id == b,
        AllianceMember.alliance_id.in_(m1),  # type: ignore[attr-defined]
    )
    return int(session.execute(stmt).scalar_one()) > 0


def tier_rank(tier: str) -> int:
    return TIER_RANK[Tier(tier)]


def ae_titles_of(*, session: Session, institution_id: uuid.UUID) -> list[DicomAE]:
    return list(
        session.execute(select(DicomAE).where(DicomAE.institution_id == institution_id)).scalars()
    )


def find_ae(*, session: Session, ae_title: str) -> DicomAE | None:
    return session.execute(
        select(DicomAE).where(DicomAE.ae_title == ae_title.strip())
    ).scalar_one_or_none()


def list_alliances(
    *,
    session: Session,
    page: PageParams,
    kind: str | None = None,
    league: str | None = None,
    q: str | None = None,
) -> tuple[list[tuple[Alliance, int]], int]:
    members = (
        select(AllianceMember.alliance_id, func.count().label("n"))
        .group_by(col(AllianceMember.alliance_id))
        .subquery()
    )
    base = select(Alliance)
    if kind:
        base = base.where(Alliance.kind == kind)
    if league:
        base = base.where(Alliance.league_code == league)
    if q:  # part of the Chinese name
        base = base.where(col(Alliance.name_zh).contains(q))
    _, total = paginate(session, base, PageParams(limit=1, offset=0))
    stmt = (
        base.add_columns(func.coalesce(members.c.n, 0))
        .outerjoin(members, members.c.alliance_id == Alliance.id)
        .order_by(Alliance.code)
        .limit(page.limit)
        .offset(page.offset)
    )
    rows = [(a, int(n)) for a, n in session.execute(stmt).all()]
    return rows, total


def create_institution(*, session: Session, data: InstitutionCreate) -> Institution:
    if session.get(League, data.league_code) is None:
        raise Invalid(f"unknown league code {data.league_code}", field="league_code")
    if data.county_code and session.get(County, data.county_code) is None:
        raise Invalid(f"unknown county code {data.county_code}", field="county_code")
    if session.execute(select(Institution.id).where(Institution.code == data.code)).first():
        raise Conflict(f"institution code {data.code!r} exists", code="institution_exists")
    inst = Institution(**data.model_dump())
    session.add(inst)
    session.flush()
    return inst


def register_ae(*, session: Session, institution_id: uuid.UUID, data: AECreate) -> DicomAE:
    get_institution(session=session, institution_id=institution_id)
    if find_ae(session=session, ae_title=data.ae_title):
        raise Conflict(f"AE title {data.ae_title!r} is registered already", code="ae_exists")
    ae = DicomAE(institution_id=institution_id, **data.model_dump())
    session.add(ae)
    session.flush()
    return ae


# ---------------------------------------------------------------- routing (routing.py)

ROUTING_TIERS = TIERS
ROUTING_IN_ALLIANCE = IN_ALLIANCE_TIERS


def routing_place(
    *,
    session: Session,
    where: PatientPlace,
    requester_id: uuid.UUID | None,
    specialty: str | None,
    institutions: Sequence[Placeable],
) -> dict[uuid.UUID, Placement]:
    """Each candidate hospital's routing tier seen from the patient (see `routing.TIERS`)."""
    return routing.place(
        session=session,
        where=where,
        requester_id=requester_id,
        specialty=specialty,
        institutions=institutions,
    )
