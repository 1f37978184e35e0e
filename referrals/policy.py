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

from sqlmodel import Session, col, select

from referrals.models import Referral
from telemed.core.errors import Invalid
from telemed.core.settings import Settings
from telemed.identity.models import DOCTOR_ROLES, Role, User
from telemed.network import service as network_service
from telemed.network.models import TIER_RANK, AllianceMember, Department, Institution, Tier


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
    institution: Institution
    in_alliance: bool
    alliance_ids: list[uuid.UUID]


def propose_receivers(
    *,
    session: Session,
    src: Institution,
    direction: str,
    patient_institution_id: uuid.UUID | None,
    specialty: str | None,
    limit: int = 20,
) -> list[Proposal]:
    """Candidate receivers of the next tier, those sharing an alliance with the referrer
    (or the patient's home institution) first, then the rest of the league."""
    r = rank(src)
    target = r + 1 if direction == "up" else r - 1 if direction == "down" else r
    tiers = [t.value for t, n in TIER_RANK.items() if n == target]
    if not tiers:
        return []
    src_alliances = set(network_service.alliances_of(session=session, institution_id=src.id))
    alliances = set(src_alliances)
    if patient_institution_id:
        alliances |= set(
            network_service.alliances_of(session=session, institution_id=patient_institution_id)
        )
    stmt = select(Institution).where(col(Institution.tier).in_(tiers), Institution.id != src.id)
    if specialty:
        stmt = stmt.where(
            col(Institution.id).in_(
                select(Department.institution_id).where(Department.specialty_code == specialty)
            )
        )
    member_rows = session.execute(
        select(AllianceMember.institution_id, AllianceMember.alliance_id).where(
            col(AllianceMember.alliance_id).in_(alliances)
        )
    ).all()
    shared: dict[uuid.UUID, list[uuid.UUID]] = {}
    for inst_id, alliance_id in member_rows:
        shared.setdefault(inst_id, []).append(alliance_id)
    inside = list(session.execute(stmt.where(col(Institution.id).in_(list(shared)))).scalars())
    rest = list(
        session.execute(
            stmt.where(
                col(Institution.id).not_in(list(shared)),
                Institution.league_code == src.league_code,
            ).limit(limit)
        ).scalars()
    )
    # The referrer's own alliances (e.g. its county medical community) first, then the
    # patient's home institution's, each by the number of alliances shared.
    inside.sort(
        key=lambda i: (
            -len(src_alliances & set(shared[i.id])),
            -len(shared[i.id]),
            i.code,
        )
    )
    out = [Proposal(i, True, shared[i.id]) for i in inside]
    out += [Proposal(i, False, []) for i in sorted(rest, key=lambda i: i.code)]
    return out[:limit]


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
