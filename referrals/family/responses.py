"""Response shapes of the family-doctor service, assembled for many rows at once: the related
rows (members, packages, visits, patients' labels) load in one query per kind, not per row."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session

from referrals.family import home_beds, home_visits, teams
from referrals.family.contract_queries import packages_by_contract, patient_labels
from referrals.family.models import Contract, FamilyDoctorTeam, HomeSickBed, ServicePackage
from referrals.family.schemas import (
    ContractPublic,
    HomeBedPublic,
    MemberPublic,
    PackagePublic,
    TeamPublic,
)
from telemed.core.settings import Settings

Labels = dict[uuid.UUID, tuple[str, str]]  # patient -> (name, masked resident ID)


def fields_of(obj: Any, model: type[BaseModel] | None = None) -> dict[str, Any]:
    """Column values read through attributes (a model_dump would miss expired ones)."""
    names = (
        list(model.model_fields)
        if model is not None
        else [c.key for c in sa_inspect(type(obj)).mapper.column_attrs]
    )
    return {n: getattr(obj, n) for n in names if hasattr(obj, n)}


def as_json(obj: Any) -> dict[str, Any]:
    """A row's columns as JSON values."""
    out: dict[str, Any] = jsonable_encoder(fields_of(obj))
    return out


def labels_of(session: Session, patient_ids: Iterable[uuid.UUID]) -> Labels:
    """The patients' display labels, in one query (callers authorize and audit)."""
    return patient_labels(session=session, patient_ids=set(patient_ids))


def labelled(row: dict[str, Any], patient_id: uuid.UUID, labels: Labels) -> dict[str, Any]:
    """`row` with the patient's name and masked resident ID."""
    name, masked = labels.get(patient_id, (None, None))  # type: ignore[arg-type]
    return {**row, "patient_name": name, "patient_resident_id_masked": masked}


def _own(obj: Any, model: type[BaseModel], extra: set[str]) -> dict[str, Any]:
    """The fields of `model` read from `obj`, but those assembled separately (`extra`)."""
    return {k: v for k, v in fields_of(obj, model).items() if k not in extra}


def package_public(p: ServicePackage) -> PackagePublic:
    """A package with its fee in yuan."""
    return PackagePublic(
        **{k: v for k, v in fields_of(p).items() if k != "fee_fen"}, fee_yuan=p.fee_fen / 100
    )


def teams_public(
    session: Session, rows: list[FamilyDoctorTeam], settings: Settings
) -> list[TeamPublic]:
    """Teams with capacity, residents contracted and members."""
    ids = [t.id for t in rows]
    capacity = teams.capacities(session=session, teams=rows, settings=settings)
    contracted = teams.contracted_counts(session=session, team_ids=ids)
    members = teams.members_by_team(session=session, team_ids=ids)
    return [
        TeamPublic(
            id=t.id,
            institution_id=t.institution_id,
            name=t.name,
            lead_doctor_id=t.lead_doctor_id,
            served_areas=t.served_areas,
            capacity=capacity[t.id],
            contracted=contracted[t.id],
            members=[MemberPublic(user_id=m.user_id, role=m.role) for m in members[t.id]],
        )
        for t in rows
    ]


def team_public(session: Session, team: FamilyDoctorTeam, settings: Settings) -> TeamPublic:
    """One team (see `teams_public`)."""
    return teams_public(session, [team], settings)[0]


_CONTRACT_EXTRA = {"package_codes", "patient_name", "patient_resident_id_masked"}


def contracts_public(session: Session, rows: list[Contract]) -> list[ContractPublic]:
    """Contracts with their package codes and the resident's label."""
    labels = labels_of(session, (c.patient_id for c in rows))
    packages = packages_by_contract(session=session, contract_ids=[c.id for c in rows])
    return [
        ContractPublic(
            **labelled(_own(c, ContractPublic, _CONTRACT_EXTRA), c.patient_id, labels),
            package_codes=packages[c.id],
        )
        for c in rows
    ]


def contract_public(session: Session, contract: Contract) -> ContractPublic:
    """One contract (see `contracts_public`)."""
    return contracts_public(session, [contract])[0]


_BED_EXTRA = {
    "visits",
    "patient_name",
    "patient_resident_id_masked",
    "next_visit_due",
    "home_visits",
}


def beds_public(session: Session, rows: list[HomeSickBed]) -> list[HomeBedPublic]:
    """Home sick beds with their visits, the next visit due, the resident's home visits by
    the bed's team, and the resident's label."""
    labels = labels_of(session, (b.patient_id for b in rows))
    visits = home_beds.visits_by_bed(session=session, bed_ids=[b.id for b in rows])
    requests = home_visits.home_visits_of_residents(
        session=session, residents=[(b.team_id, b.patient_id) for b in rows]
    )
    return [
        HomeBedPublic(
            **labelled(_own(b, HomeBedPublic, _BED_EXTRA), b.patient_id, labels),
            visits=[as_json(v) for v in visits[b.id]],
            next_visit_due=home_beds.next_visit_due(b, visits[b.id]),
            home_visits=[as_json(v) for v in requests[(b.team_id, b.patient_id)]],
        )
        for b in rows
    ]


def bed_public(session: Session, bed: HomeSickBed) -> HomeBedPublic:
    """One home sick bed (see `beds_public`)."""
    return beds_public(session, [bed])[0]
