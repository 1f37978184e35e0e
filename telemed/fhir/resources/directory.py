"""Organization (institutions and medical alliances), Practitioner and PractitionerRole,
from the network and identity domains (directory data: no patient data, not audited)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole
from sqlmodel import Session

from telemed.core.errors import NotFound
from telemed.core.pagination import PageParams
from telemed.fhir.registry import (
    Context,
    Handler,
    Page,
    Resource,
    SearchParam,
    ident,
    reference,
    sliced,
    token,
)
from telemed.identity import service as identity_service
from telemed.identity.models import DOCTOR_ROLES, User
from telemed.network import service as network_service
from telemed.network.models import Alliance, Institution, Tier

SYSTEM = "https://telemed.example/fhir/CodeSystem/"
ORG_TYPE = SYSTEM + "organization-type"


def _dump(model: Any, body: dict[str, Any]) -> Resource:
    return model.model_validate(body).model_dump(mode="json", exclude_none=True)


def institution_resource(session: Session, inst: Institution) -> Resource:
    """An institution; `partOf` its (first) medical alliance."""
    alliances = network_service.alliances_of(session=session, institution_id=inst.id)
    body: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(inst.id),
        "identifier": [{"system": SYSTEM + "institution-code", "value": inst.code}],
        "active": inst.in_network,
        "type": [{"coding": [{"system": ORG_TYPE, "code": inst.tier}], "text": inst.tier}],
        "name": inst.name_zh,
        "alias": [inst.name_en] if inst.name_en else None,
    }
    if alliances:
        body["partOf"] = {"reference": f"Organization/{sorted(alliances, key=str)[0]}"}
    return _dump(Organization, {k: v for k, v in body.items() if v is not None})


def alliance_resource(a: Alliance) -> Resource:
    """A medical alliance (医联体) as an Organization of type `alliance`."""
    return _dump(
        Organization,
        {
            "resourceType": "Organization",
            "id": str(a.id),
            "identifier": [{"system": SYSTEM + "alliance-code", "value": a.code}],
            "active": True,
            "type": [{"coding": [{"system": ORG_TYPE, "code": "alliance"}], "text": a.kind}],
            "name": a.name_zh,
        },
    )


def read_organization(ctx: Context, id: str) -> Resource:
    uid = ident(id, "Organization")
    inst = ctx.session.get(Institution, uid)
    if inst is not None:
        return institution_resource(ctx.session, inst)
    alliance = ctx.session.get(Alliance, uid)
    if alliance is not None:
        return alliance_resource(alliance)
    raise NotFound(f"Organization/{id} not found")


def search_organizations(
    ctx: Context, params: dict[str, list[str]], count: int, offset: int
) -> Page:
    """Institutions (the network's list query); `type=alliance` lists the alliances."""
    types = {token(v) for values in params.get("type", []) for v in values.split(",")}
    page = PageParams(limit=count, offset=offset)
    names = params.get("name", [])
    if types == {"alliance"}:
        if params.get("partof"):  # an alliance is part of no other
            return Page(resources=[], total=0, more=False)
        rows, total = network_service.list_alliances(
            session=ctx.session, page=page, q=names[-1] if names else None
        )
        found = [alliance_resource(a) for a, _ in rows]
        return Page(resources=found, total=total, more=offset + count < total)
    tier = None
    if types:
        valid = [t for t in types if t in {x.value for x in Tier}]
        if len(valid) != 1:  # no such tier (or several: one institution has one)
            return Page(resources=[], total=0, more=False)
        tier = Tier(valid[0])
    alliance = None
    for value in params.get("partof", []):
        alliance = reference(value, "Organization", "partof")
    insts, total = network_service.list_institutions(
        session=ctx.session, page=page, tier=tier, alliance=alliance, q=names[-1] if names else None
    )
    found = [institution_resource(ctx.session, i) for i in insts]
    return Page(resources=found, total=total, more=offset + count < total)


def _doctor(session: Session, id: str, kind: str) -> User:
    uid = ident(id, kind)
    user = session.get(User, uid)
    if user is None or user.role not in DOCTOR_ROLES or not user.is_active:
        raise NotFound(f"{kind}/{id} not found")
    return user


def practitioner_resource(u: User) -> Resource:
    body: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(u.id),
        "active": u.is_active,
        "name": [{"text": u.full_name}],
    }
    if u.title:
        body["qualification"] = [
            {"code": {"coding": [{"system": SYSTEM + "title", "code": u.title}]}}
        ]
    return _dump(Practitioner, body)


def practitioner_role_resource(u: User) -> Resource:
    body: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": str(u.id),
        "active": u.is_active,
        "practitioner": {"reference": f"Practitioner/{u.id}", "display": u.full_name},
        "code": [{"coding": [{"system": SYSTEM + "role", "code": u.role}], "text": u.role}],
    }
    if u.institution_id:
        body["organization"] = {"reference": f"Organization/{u.institution_id}"}
    if u.specialty_code:
        body["specialty"] = [
            {"coding": [{"system": SYSTEM + "specialty", "code": u.specialty_code}]}
        ]
    return _dump(PractitionerRole, body)


def _doctors(ctx: Context, params: dict[str, list[str]]) -> list[User]:
    """Doctors of one institution (default: the caller's), as `identity.list_doctors`:
    staff see their own institution's, admins any."""
    institution_id = ctx.user.institution_id
    for value in params.get("organization", []):
        institution_id = reference(value, "Organization", "organization")
    if institution_id is None:
        return []
    doctors = identity_service.list_doctors(
        session=ctx.session, by=ctx.user, institution_id=institution_id
    )
    names = params.get("name", [])
    specialty = params.get("specialty", [])
    return [
        d
        for d in doctors
        if (not names or names[-1] in d.full_name)
        and (not specialty or d.specialty_code == token(specialty[-1]))
    ]


def _doctor_search(view: Any) -> Any:
    def _search(ctx: Context, params: dict[str, list[str]], count: int, offset: int) -> Page:
        doctors = _doctors(ctx, params)
        page, more = sliced(doctors, count, offset)
        return Page(resources=[view(d) for d in page], total=len(doctors), more=more)

    return _search


_DOCTOR_PARAMS = (
    SearchParam("organization", "reference", "Organization/<id> (default: your institution)"),
    SearchParam("name", "string", "part of the name"),
    SearchParam("specialty", "token", "specialty code"),
)


HANDLERS: tuple[Handler, ...] = (
    Handler(
        type="Organization",
        documentation="Network institutions (type = tier; partOf = medical alliance) and "
        "medical alliances (type alliance).",
        read=read_organization,
        search=search_organizations,
        params=(
            SearchParam("name", "string", "part of the Chinese name"),
            SearchParam("type", "token", "tier code (regional, league, county, ...) or alliance"),
            SearchParam("partof", "reference", "Organization/<alliance id>: its members"),
        ),
    ),
    Handler(
        type="Practitioner",
        documentation="Active doctors; search lists one institution's doctors.",
        read=lambda ctx, id: practitioner_resource(_doctor(ctx.session, id, "Practitioner")),
        search=_doctor_search(practitioner_resource),
        params=_DOCTOR_PARAMS,
    ),
    Handler(
        type="PractitionerRole",
        documentation="A doctor's role at their institution (same id as the Practitioner).",
        read=lambda ctx, id: practitioner_role_resource(
            _doctor(ctx.session, id, "PractitionerRole")
        ),
        search=_doctor_search(practitioner_role_resource),
        params=_DOCTOR_PARAMS,
    ),
)
