"""Who sees and who acts on a referral, and the hooks other domains ask it through
(patient reads, booking references, study links)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, union
from sqlmodel import Session, col, select

from referrals import booking, imaging, policy
from referrals.family import home_visits
from referrals.family.contract_queries import active_contract_for, is_contracted_doctor
from referrals.family.models import Contract, ContractStatus, TeamMember
from referrals.family.teams import is_member
from referrals.models import Referral
from referrals.states import OPEN
from telemed.core import audit, live
from telemed.core.targets import Access
from telemed.identity import permissions
from telemed.identity.models import Role, User


def can_see_referral(*, session: Session, user: User, referral: Referral) -> bool:
    """Referrer side, receiver side (once sent), the patient, the patient's family doctors."""
    if user.role == Role.ADMIN:
        return True
    if policy.parties_of(user, referral):
        return True
    if (
        user.role in policy.ACT_ROLES
        and user.institution_id == referral.from_institution_id
        and referral.status != "draft"
    ):
        return True
    return is_contracted_doctor(session=session, user=user, patient_id=referral.patient_id)


def get_referral(*, session: Session, referral_id: uuid.UUID, user: User) -> Referral:
    """Load a referral the user may see; hidden ones are 404."""
    return visible_referral(session, user, session.get(Referral, referral_id), referral_id)


def visible_referral(
    session: Session, user: User, r: Referral | None, ident: uuid.UUID
) -> Referral:
    """`r` when the user may see it; else 404, the refusal of an existing one audited."""
    return audit.visible_or_404(
        session,
        user,
        r,
        visible=r is not None and can_see_referral(session=session, user=user, referral=r),
        object_type="referral",
        ident=ident,
        reason="takes no part in this referral",
    )


def _referral_participation(session: Session, user: User, patient_id: uuid.UUID) -> bool:
    """Doctors taking part in a live referral of the patient may read the patient."""
    if user.role not in policy.ACT_ROLES or user.institution_id is None:
        return False
    stmt = select(Referral.id).where(
        Referral.patient_id == patient_id,
        col(Referral.status).not_in(["draft", "cancelled"]),
        or_(
            col(Referral.to_institution_id) == user.institution_id,
            col(Referral.from_doctor_id) == user.id,
        ),
    )
    return session.execute(stmt.limit(1)).first() is not None


def _family_doctor_participation(session: Session, user: User, patient_id: uuid.UUID) -> bool:
    """Members of the resident's contracted team may read the resident."""
    if user.role == Role.PATIENT:
        return False
    contract = active_contract_for(session=session, patient_id=patient_id)
    return contract is not None and is_member(session=session, user=user, team_id=contract.team_id)


def _participant_patients(user: User) -> Any:
    """The patients `_family_doctor_participation` and `_referral_participation` grant, as
    one SELECT of patient ids (what a patient search may find beyond the own institution)."""
    if user.role == Role.PATIENT:
        return None
    contracted = (
        select(Contract.patient_id)
        .join(TeamMember, col(TeamMember.team_id) == Contract.team_id)
        .where(TeamMember.user_id == user.id, Contract.status == ContractStatus.ACTIVE)
    )
    if user.role not in policy.ACT_ROLES or user.institution_id is None:
        return contracted
    referred = select(Referral.patient_id).where(
        col(Referral.status).not_in(["draft", "cancelled"]),
        or_(
            col(Referral.to_institution_id) == user.institution_id,
            col(Referral.from_doctor_id) == user.id,
        ),
    )
    return union(contracted, referred)


def _takes_part(session: Session, user: User, referral_id: uuid.UUID) -> bool:
    """Who sees a referral sees the studies linked to it."""
    r = session.get(Referral, referral_id)
    return r is not None and can_see_referral(session=session, user=user, referral=r)


ATTACHABLE = ("draft", *OPEN)


BOOKABLE = ("accepted", "booked")


def _access(
    session: Session, user: User, referral_id: uuid.UUID, states: tuple[str, ...]
) -> Access:
    r = session.get(Referral, referral_id)
    if r is None:
        return Access.MISSING
    if not can_see_referral(session=session, user=user, referral=r):
        return Access.HIDDEN
    if not policy.parties_of(user, r) & {"referrer", "receiver"}:
        return Access.READ_ONLY
    return Access.WRITE if r.status in states else Access.CLOSED


def _study_link_access(session: Session, user: User, referral_id: uuid.UUID) -> Access:
    """Link-target resolver for imaging: the referrer or the receiver, while open."""
    return _access(session, user, referral_id, ATTACHABLE)


def _booking_reference_access(session: Session, user: User, referral_id: uuid.UUID) -> Access:
    """Booking-reference resolver for scheduling: the referrer or the receiver of an
    accepted (or booked, to rebook) referral."""
    return _access(session, user, referral_id, BOOKABLE)


def _study_unlinked(session: Session, study_uid: str, referral_id: uuid.UUID) -> None:
    """Imaging removed a link: drop the study from the referral's attachments too."""
    r = session.get(Referral, referral_id)
    if r is not None and any(a.get("study_uid") == study_uid for a in r.attachments):
        r.attachments = [a for a in r.attachments if a.get("study_uid") != study_uid]


def register_hooks() -> None:
    """Register the referral resolvers with identity, scheduling and imaging (called once at
    start by `telemed.wiring`; idempotent)."""
    permissions.register_participation(_family_doctor_participation)
    permissions.register_participation(_referral_participation)
    permissions.register_participant_patients(_participant_patients)
    booking.register_hooks(
        {"referral": _booking_reference_access, "home_visit": home_visits.booking_reference_access}
    )
    imaging.register_hooks(_takes_part, _study_link_access, _study_unlinked)
    live.watch(Referral, "referral", "status")
    live.register_visibility("referral", _hears_of)


def _hears_of(session: Session, user: User, referral_id: uuid.UUID, before: str | None) -> bool:
    """A referral's change reaches, on the live channel, whoever may see it now or in its
    state before the change (a draft becomes visible to the receiver once sent)."""
    r = session.get(Referral, referral_id)
    if r is None:
        return False
    if can_see_referral(session=session, user=user, referral=r):
        return True
    if before is None or before == r.status:
        return False
    prior = Referral.model_validate(r.model_dump())
    prior.status = before
    return can_see_referral(session=session, user=user, referral=prior)
