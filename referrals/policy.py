"""Tier policy of referrals (分级诊疗) and who may do what to a referral.

Tier ranks come from the network registry: village 0, township/community 1,
county 2, league/city 3, regional 4.

- `up`: the receiver is of a higher tier. It may climb at most
  `referrals.max_tier_step` tiers (default 1) unless the urgency is one of
  `referrals.tier_skip_urgencies` (default urgent, emergency) or the referral uses
  the green channel (绿色通道); both need a recorded reason.
- `down`: the receiver is of a lower tier; when the resident has an active
  family-doctor contract the referral goes to that team, and a care plan is required.
- `lateral`: same tier.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from math import inf

from sqlmodel import Session, col, select

from referrals.family.contract_queries import contract_institution_of
from referrals.models import Referral
from telemed.core.errors import Invalid
from telemed.core.settings import Settings
from telemed.identity.models import DOCTOR_ROLES, Patient, Role, User
from telemed.network import service as network_service
from telemed.network.models import TIER_RANK, County, Department, Institution, Tier


def rank(inst: Institution) -> int:
    return TIER_RANK[Tier(inst.tier)]


def direction_between(src: Institution, dst: Institution) -> str:
    a, b = rank(src), rank(dst)
    return "up" if b > a else "down" if b < a else "lateral"


def check_tiers(
    *,
    src: Institution,
    dst: Institution,
    direction: str,
    urgency: str,
    green_channel: bool,
    green_channel_reason: str | None,
    reason: str,
    settings: Settings,
) -> None:
    """Refuse a referral the tier policy does not allow (422 with a stable code)."""
    actual = direction_between(src, dst)
    if direction != actual:
        raise Invalid(
            f"{src.tier} -> {dst.tier} is a {actual!r} referral, not {direction!r}",
            field="direction",
            code="direction_mismatch",
        )
    if green_channel and not (green_channel_reason or "").strip():
        raise Invalid(
            "the green channel needs a recorded reason",
            field="green_channel_reason",
            code="green_channel_reason_required",
        )
    if direction != "up":
        return
    step = rank(dst) - rank(src)
    if step <= settings.referrals.max_tier_step:
        return
    if green_channel:
        return
    if urgency in settings.referrals.tier_skip_urgencies and reason.strip():
        return
    raise Invalid(
        f"upward referrals go one tier at a time ({src.tier} -> {dst.tier} skips "
        f"{step - settings.referrals.max_tier_step}); mark it urgent or use the green channel "
        "with a reason",
        field="to_institution_id",
        code="tier_skip",
    )


@dataclass(frozen=True)
class Proposal:
    """A candidate receiver with its place under the routing rule (docs/routing.md)."""

    institution: Institution
    in_alliance: bool
    alliance_ids: list[uuid.UUID]
    placement: network_service.Placement
    reason_code: str
    reason_params: dict[str, str | int | float | None]


def patient_place(
    *, session: Session, patient: Patient | None, src: Institution
) -> network_service.PatientPlace:
    """The patient's county (residence, else the home institution's, else the referrer's),
    its league, and anchors: home institution and the family-doctor team's institution."""
    anchors: list[uuid.UUID] = []
    county_code = None
    if patient is not None:
        county_code = patient.county_code
        if patient.institution_id:
            anchors.append(patient.institution_id)
            home = session.get(Institution, patient.institution_id)
            county_code = county_code or (home.county_code if home else None)
        team_inst = contract_institution_of(session=session, patient_id=patient.id)
        if team_inst is not None:
            anchors.append(team_inst)
    county_code = county_code or src.county_code
    county = session.get(County, county_code) if county_code else None
    return network_service.PatientPlace(
        county_code=county_code,
        league_code=county.league_code if county else src.league_code,
        anchor_institution_ids=tuple(anchors),
    )


def propose_receivers(
    *,
    session: Session,
    src: Institution,
    direction: str,
    patient_institution_id: uuid.UUID | None,
    specialty: str | None,
    where: network_service.PatientPlace | None = None,
    limit: int = 20,
) -> list[Proposal]:
    """Candidate receivers of the next tier (up/down) or the same tier (lateral), in the
    order of the routing rule seen from the patient (`where`; default: the referrer's
    county and the patient's home institution): tier, then distance, then code."""
    r = rank(src)
    target = r + 1 if direction == "up" else r - 1 if direction == "down" else r
    tiers = [t.value for t, n in TIER_RANK.items() if n == target]
    if not tiers:
        return []
    if where is None:
        where = network_service.PatientPlace(
            county_code=src.county_code,
            league_code=src.league_code,
            anchor_institution_ids=(patient_institution_id,) if patient_institution_id else (),
        )
    stmt = select(Institution).where(col(Institution.tier).in_(tiers), Institution.id != src.id)
    if specialty:
        stmt = stmt.where(
            col(Institution.id).in_(
                select(Department.institution_id).where(Department.specialty_code == specialty)
            )
        )
    insts = list(session.execute(stmt).scalars())
    placed = network_service.routing_place(
        session=session, where=where, requester_id=src.id, specialty=specialty, institutions=insts
    )

    def key(i: Institution) -> tuple[int, float, str]:
        p = placed[i.id]
        return (p.tier.rank, p.distance_km if p.distance_km is not None else inf, i.code)

    out = []
    for inst in sorted(insts, key=key)[:limit]:
        p = placed[inst.id]
        params: dict[str, str | int | float | None] = {
            "tier": p.tier.code,
            "alliance": p.alliance_name,
            "alliance_code": p.alliance_code,
            "league": where.league_code,
            "county": where.county_code,
            "distance_km": p.distance_km,
        }
        out.append(
            Proposal(
                institution=inst,
                in_alliance=p.tier.code in network_service.ROUTING_IN_ALLIANCE,
                alliance_ids=[p.alliance_id] if p.alliance_id else [],
                placement=p,
                reason_code=f"routing.{p.tier.code}",
                reason_params=params,
            )
        )
    return out


# ---------------------------------------------------------------- parties of a referral

ACT_ROLES = (*DOCTOR_ROLES, Role.COORDINATOR)


def is_referrer(user: User, r: Referral) -> bool:
    """The referring doctor, or a coordinator of the referring institution."""
    return user.id == r.from_doctor_id or (
        user.role == Role.COORDINATOR and user.institution_id == r.from_institution_id
    )


def is_receiver(user: User, r: Referral) -> bool:
    """Doctors and coordinators of the receiving institution."""
    return (
        r.status != "draft"
        and user.role in ACT_ROLES
        and user.institution_id is not None
        and user.institution_id == r.to_institution_id
    )


def is_patient(user: User, r: Referral) -> bool:
    return user.role == Role.PATIENT and user.patient_id == r.patient_id


# action -> parties allowed to take it
PARTIES: dict[str, tuple[str, ...]] = {
    "submit": ("referrer",),
    "receive": ("receiver",),
    "accept": ("receiver",),
    "reject": ("receiver",),
    "return_with_advice": ("receiver",),
    "book": ("receiver", "referrer"),
    "arrive": ("receiver",),
    "complete": ("receiver",),
    "outcome": ("receiver",),
    "contact_by": ("receiver",),
    "close": ("referrer",),
    "cancel": ("referrer", "receiver", "patient"),
    "filing": ("referrer",),  # resubmit or revoke the cross-region filing
}


def parties_of(user: User, r: Referral) -> set[str]:
    out = set()
    if is_referrer(user, r):
        out.add("referrer")
    if is_receiver(user, r):
        out.add("receiver")
    if is_patient(user, r):
        out.add("patient")
    return out
