"""Ranking of consultation candidates under the network's routing rule (see docs/routing.md).

The tier comes from `network.service.routing_place` (seen from the patient). Within a tier:
the Shanghai day of the earliest free slot, then the receiving hospital's service-level
history (share of deadlines met over the last 90 days, in steps of 0.1; no history counts
as 1.0), then the travel distance from the patient's county, then name. Emergencies ignore
the tiers: earliest slot first (none: last), then distance.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Uuid, bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from referrals import service as referrals_service
from telemed.core.clock import SHANGHAI
from telemed.identity.models import Patient
from telemed.network import service as network_service
from telemed.network.models import County, Institution
from telemed.network.service import PatientPlace, Placement

HISTORY_DAYS = 90
SLA_STEP = 0.1
IN_ALLIANCE_TIERS = network_service.ROUTING_IN_ALLIANCE

__all__ = ["Candidate", "Origin", "Ranked", "Requester", "origin", "rank"]


@dataclass(frozen=True)
class Ranked:
    """One candidate with its key parts and the reason shown to the requester."""

    index: int  # position in the input
    placement: Placement
    sla_share: float | None
    slot_at: datetime | None
    reason_code: str
    reason_params: dict[str, str | int | float | None]


class Candidate(Protocol):
    """A candidate hospital as the ranking reads it (an `Institution` or plain columns)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name_zh(self) -> str: ...
    @property
    def league_code(self) -> str: ...
    @property
    def county_code(self) -> str | None: ...


@dataclass(frozen=True)
class Requester:
    """The columns of the requesting hospital a proposal reads."""

    id: uuid.UUID
    tier: str
    league_code: str
    county_code: str | None


@cache
def _origin_statement() -> Any:
    """The requesting hospital and the patient's place in one statement: the patient's home
    institution, county (residence, else the home institution's) and its league, the
    family-doctor team's institution, and the league of the requester's county (the
    fallback). Without a patient (`patient_id` NULL) the patient columns are NULL."""
    req = aliased(Institution, name="requester")
    home = aliased(Institution, name="home")
    req_county = aliased(County, name="requester_county")
    pat_county = aliased(County, name="patient_county")
    county = func.coalesce(Patient.county_code, home.county_code)
    return (
        select(  # type: ignore[call-overload]  # plain columns: no ORM objects
            req.id,
            req.tier,
            req.league_code,
            req.county_code,
            req_county.league_code,
            Patient,
            Patient.institution_id,
            county,
            pat_county.league_code,
            referrals_service.contract_institution_column(Patient.id),
        )
        .select_from(req)
        .outerjoin(req_county, col(req_county.code) == req.county_code)
        .outerjoin(Patient, col(Patient.id) == bindparam("patient_id", type_=Uuid()))
        .outerjoin(home, col(home.id) == Patient.institution_id)
        .outerjoin(pat_county, col(pat_county.code) == county)
        .where(col(req.id) == bindparam("requester_id", type_=Uuid()))
    )


@dataclass(frozen=True)
class Origin:
    """Where a proposal starts: the requesting hospital, the patient (None when not given or
    not found) and the patient's place."""

    requester: Requester
    patient: Patient | None
    where: PatientPlace


def origin(
    *, session: Session, requester_id: uuid.UUID, patient_id: uuid.UUID | None
) -> Origin | None:
    """The requesting hospital (None when absent), the patient and their place: the
    patient's county (residence, else their home institution's, else the requester's), its
    league, and anchors: home institution and family-doctor team (one statement)."""
    row = session.execute(
        _origin_statement(), {"requester_id": requester_id, "patient_id": patient_id}
    ).first()
    if row is None:
        return None
    (
        rid,
        tier,
        r_league,
        r_county,
        r_county_league,
        patient,
        home_id,
        county_code,
        league_code,
        team,
    ) = row
    requester = Requester(rid, tier, r_league, r_county)
    anchors = [home_id] if home_id else []
    if patient is not None and team is not None:
        anchors.append(team)
    if county_code is None:
        county_code = r_county
        league_code = r_county_league if r_county else None
    where = PatientPlace(
        county_code=county_code,
        league_code=league_code or r_league,
        anchor_institution_ids=tuple(anchors),
    )
    return Origin(requester, patient, where)


def _bucket(share: float | None) -> float:
    return 1.0 if share is None else round(share / SLA_STEP) * SLA_STEP


def rank(
    *,
    session: Session,
    where: PatientPlace,
    requester_id: uuid.UUID,
    specialty: str,
    urgency: str,
    now: datetime,
    candidates: Sequence[tuple[Candidate, str]],
    earliest: Callable[[Sequence[int]], Mapping[int, datetime]],
    history: Mapping[uuid.UUID, float | None],
    limit: int | None = None,
) -> list[Ranked]:
    """Candidates (hospital, specialist name) in routing order, each with its reason, the
    first `limit` of them. `earliest(indexes)` gives the earliest free slot of candidates
    (by index); it is asked only for the tiers that can reach the first `limit` (all of
    them for an emergency), since a lower tier never ranks above a higher one. `history`
    is each hospital's service-level share over the last `HISTORY_DAYS` (None: nothing
    measured)."""
    insts = list({inst.id: inst for inst, _ in candidates}.values())
    placed = network_service.routing_place(
        session=session,
        where=where,
        requester_id=requester_id,
        specialty=specialty,
        institutions=insts,
    )
    emergency = urgency == "emergency"
    order = sorted(range(len(candidates)), key=lambda i: placed[candidates[i][0].id].tier.rank)
    wanted = list(order)
    if not emergency and limit is not None and len(order) > limit:
        last_tier = placed[candidates[order[limit - 1]][0].id].tier.rank
        wanted = [i for i in order if placed[candidates[i][0].id].tier.rank <= last_tier]
    slot_at = earliest(wanted)
    far = datetime.max.replace(tzinfo=now.tzinfo)

    def key(i: int) -> tuple[object, ...]:
        inst, name = candidates[i]
        p = placed[inst.id]
        at = slot_at.get(i)
        dist = p.distance_km if p.distance_km is not None else float("inf")
        if emergency:
            return (at or far, dist, inst.name_zh, name, str(inst.id))
        day = at.astimezone(SHANGHAI).date().toordinal() if at else 10**9
        share = -_bucket(history.get(inst.id))
        return (p.tier.rank, day, share, dist, inst.name_zh, name, str(inst.id))

    out = []
    for i in sorted(wanted, key=key)[:limit]:
        inst, _ = candidates[i]
        p = placed[inst.id]
        at = slot_at.get(i)
        share = history.get(inst.id)
        params: dict[str, str | int | float | None] = {
            "tier": p.tier.code,
            "alliance": p.alliance_name,
            "alliance_code": p.alliance_code,
            "league": where.league_code,
            "county": where.county_code,
            "distance_km": p.distance_km,
            "sla_share": share,
            "earliest_slot_at": at.isoformat() if at else None,
        }
        code = "routing.emergency_earliest" if emergency else f"routing.{p.tier.code}"
        out.append(Ranked(i, p, share, at, code, params))
    return out
