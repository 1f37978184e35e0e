"""Location (an institution's site, at its county or league seat) and HealthcareService
(what an institution offers: specialty x service class of its active schedule rules).

Directory data (no patient data, not audited). The Location builder is also the one of the
`$bulk-publish` Location file; Schedules name both (`scheduling.fhir.schedule_resource`).
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.location import Location
from sqlmodel import Session, col, select

from scheduling.fhir import SYSTEM, healthcare_service_id
from scheduling.models import ScheduleRule
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
from telemed.network import service as network_service
from telemed.network.models import Institution
from telemed.network.routing import seat_of


def location_resource(inst: Institution) -> Resource:
    """An institution's Location: same id, `position` = its county seat's coordinates when
    shipped in telemed/network/data/seats.csv, else its league seat's (else none)."""
    body: dict[str, Any] = {
        "resourceType": "Location",
        "id": str(inst.id),
        "status": "active" if inst.in_network else "inactive",
        "name": inst.name_zh,
        "mode": "instance",
        "managingOrganization": {"reference": f"Organization/{inst.id}"},
    }
    if inst.name_en:
        body["alias"] = [inst.name_en]
    seat = seat_of(county_code=inst.county_code, league_code=inst.league_code)
    if seat is not None:
        body["position"] = {"latitude": seat[0], "longitude": seat[1]}
    return Location.model_validate(body).model_dump(mode="json", exclude_none=True)


def read_location(ctx: Context, id: str) -> Resource:
    inst = ctx.session.get(Institution, ident(id, "Location"))
    if inst is None:
        raise NotFound(f"Location/{id} not found")
    return location_resource(inst)


def search_locations(ctx: Context, params: dict[str, list[str]], count: int, offset: int) -> Page:
    """The institutions' Locations (the network's list query, as Organization)."""
    if params.get("organization"):
        uids = {reference(v, "Organization", "organization") for v in params["organization"]}
        if len(uids) > 1:
            return Page(resources=[], total=0, more=False)
        inst = ctx.session.get(Institution, uids.pop())
        names = params.get("name", [])
        rows = [inst] if inst is not None and (not names or names[-1] in inst.name_zh) else []
        page, more = sliced(rows, count, offset)
        return Page(resources=[location_resource(i) for i in page], total=len(rows), more=more)
    names = params.get("name", [])
    insts, total = network_service.list_institutions(
        session=ctx.session,
        page=PageParams(limit=count, offset=offset),
        q=names[-1] if names else None,
    )
    return Page(
        resources=[location_resource(i) for i in insts], total=total, more=offset + count < total
    )


# ---------------------------------------------------------------- HealthcareService


def _offers(session: Session) -> list[tuple[Institution, str, str]]:
    """(institution, specialty, service class) of the active schedule rules, in order."""
    rows = session.execute(
        select(ScheduleRule.institution_id, ScheduleRule.specialty_code, ScheduleRule.service_class)
        .where(col(ScheduleRule.active).is_(True))
        .distinct()
    ).all()
    insts = {
        i.id: i
        for i in session.execute(
            select(Institution).where(col(Institution.id).in_({r[0] for r in rows}))
        ).scalars()
    }
    out = [(insts[i], s, c) for i, s, c in rows if i in insts]
    return sorted(out, key=lambda o: (o[0].league_code, o[0].code, o[1], o[2]))


def healthcare_service_resource(inst: Institution, specialty: str, service_class: str) -> Resource:
    body: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": healthcare_service_id(inst.id, specialty, service_class),
        "active": True,
        "providedBy": {"reference": f"Organization/{inst.id}"},
        "location": [{"reference": f"Location/{inst.id}"}],
        "name": f"{inst.name_zh} {specialty} {service_class}",
        "type": [
            {"coding": [{"system": SYSTEM + "service-class", "code": service_class}]},
        ],
        "specialty": [{"coding": [{"system": SYSTEM + "specialty", "code": specialty}]}],
    }
    return HealthcareService.model_validate(body).model_dump(mode="json", exclude_none=True)


def read_healthcare_service(ctx: Context, id: str) -> Resource:
    wanted = str(ident(id, "HealthcareService"))
    for inst, specialty, service_class in _offers(ctx.session):
        if healthcare_service_id(inst.id, specialty, service_class) == wanted:
            return healthcare_service_resource(inst, specialty, service_class)
    raise NotFound(f"HealthcareService/{id} not found")


def search_healthcare_services(
    ctx: Context, params: dict[str, list[str]], count: int, offset: int
) -> Page:
    orgs = {reference(v, "Organization", "organization") for v in params.get("organization", [])}
    orgs |= {reference(v, "Location", "location") for v in params.get("location", [])}
    specialties = {token(v) for v in params.get("specialty", [])}
    classes = {token(v) for v in params.get("service-type", [])}
    rows = [
        (i, s, c)
        for i, s, c in _offers(ctx.session)
        if all(i.id == o for o in orgs)
        and all(s == x for x in specialties)
        and all(c == x for x in classes)
    ]
    page, more = sliced(rows, count, offset)
    return Page(
        resources=[healthcare_service_resource(*r) for r in page], total=len(rows), more=more
    )


HANDLERS: tuple[Handler, ...] = (
    Handler(
        type="Location",
        documentation="Each institution's site (same id as its Organization); position = "
        "its county seat, else its league seat.",
        read=read_location,
        search=search_locations,
        params=(
            SearchParam("name", "string", "part of the Chinese name"),
            SearchParam("organization", "reference", "Organization/<id>: its Location"),
        ),
    ),
    Handler(
        type="HealthcareService",
        documentation="What an institution offers: one per specialty and service class of "
        "its active schedule rules (named by its Schedules).",
        read=read_healthcare_service,
        search=search_healthcare_services,
        params=(
            SearchParam("organization", "reference", "Organization/<id> (providedBy)"),
            SearchParam("location", "reference", "Location/<id>"),
            SearchParam("specialty", "token", "specialty code"),
            SearchParam("service-type", "token", "service class"),
        ),
    ),
)
