"""Where a request may go: the proposal of specialists, the choices a requester makes, and
the reason an override of the proposal needs.

`propose` ranks the specialists who could take a request by the routing rule
(`routing.rank`, docs/routing.md); `check_override` asks for the requester's reason when
the chosen hospital is not the first one proposed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from referrals import service as referrals_service
from scheduling import service as scheduling_service
from telemed.consultations import routing, service_levels
from telemed.consultations.models import Consultation
from telemed.consultations.schemas import Proposal, Reason
from telemed.consultations.service_classes import info
from telemed.core import audit
from telemed.core.errors import Invalid, NotFound
from telemed.identity.models import Patient, Role, Title, User
from telemed.identity.permissions import can_act_for_patient
from telemed.network.models import TIER_RANK, Institution, Tier
from telemed.network.specialties import Specialty

TITLE_RANK = {Title.RESIDENT: 0, Title.ATTENDING: 1, Title.ASSOCIATE_CHIEF: 2, Title.CHIEF: 3}


def check_specialty(code: str) -> None:
    """422 unless `code` is a specialty of the network's catalogue."""
    try:
        Specialty(code)
    except ValueError:
        raise Invalid(f"unknown specialty {code!r}", field="wanted_specialty") from None


def check_targets(
    session: Session, institution_id: uuid.UUID | None, specialist_id: uuid.UUID | None
) -> None:
    """422 unless the chosen hospital is in the network and the chosen specialist works there."""
    inst = None
    if institution_id is not None:
        inst = session.get(Institution, institution_id)
        if inst is None or not inst.in_network:
            raise Invalid("unknown network hospital", field="chosen_institution_id")
    if specialist_id is not None:
        spec = session.get(User, specialist_id)
        if spec is None or spec.role != Role.SPECIALIST or not spec.is_active:
            raise Invalid("unknown specialist", field="chosen_specialist_id")
        if inst is not None and spec.institution_id != inst.id:
            raise Invalid(
                "the chosen specialist does not work at the chosen hospital",
                field="chosen_specialist_id",
            )


def may_act_for(session: Session, user: User, patient: Patient) -> bool:
    """Whether `user` may request care for `patient` (their doctor, or contracted to them)."""
    if can_act_for_patient(session, user, patient):
        return True
    return _is_contracted_doctor(session=session, user=user, patient_id=patient.id)


@lru_cache(maxsize=2)
def _candidates_statement(at_chosen_hospital: bool) -> Any:
    """Specialists who could take a request: every filter in SQL, only the columns a
    proposal shows, with their hospital's service-level history (deadlines measured and
    met over [:sla_start, :sla_end), counted only for hospitals with a specialist of the
    specialty); built once (a hot path), parameters bound per call."""
    of_specialty = select(User.institution_id).where(
        User.role == Role.SPECIALIST, User.specialty_code == bindparam("specialty")
    )
    sla = (
        service_levels.share_met_select()
        .where(col(Consultation.receiving_institution_id).in_(of_specialty))
        .subquery("sla")
    )
    stmt = (
        select(  # type: ignore[call-overload]  # plain columns: no ORM objects per row
            User.id,
            User.full_name,
            User.title,
            User.specialty_code,
            Institution.id,
            Institution.name_zh,
            Institution.tier,
            Institution.league_code,
            Institution.county_code,
            sla.c.measured,
            sla.c.met,
        )
        .join(Institution, Institution.id == User.institution_id)
        .outerjoin(sla, sla.c.receiving_institution_id == Institution.id)
        .where(
            User.role == Role.SPECIALIST,
            User.is_active.is_(True),  # type: ignore[attr-defined]
            User.specialty_code == bindparam("specialty"),
            Institution.in_network.is_(True),  # type: ignore[attr-defined]
            User.id != bindparam("viewer_id"),
            Institution.id != bindparam("requester_id"),
            col(User.title).in_(bindparam("titles", expanding=True)),
        )
    )
    if at_chosen_hospital:
        return stmt.where(Institution.id == bindparam("institution_id"))
    return stmt.where(col(Institution.tier).in_(bindparam("tiers", expanding=True)))


@dataclass(frozen=True)
class _Candidate:
    """The few columns of a specialist a proposal shows."""

    id: uuid.UUID
    full_name: str
    title: str | None
    specialty_code: str | None


@dataclass(frozen=True)
class _Hospital:
    """The few columns of a candidate's hospital the proposal and the routing rule read."""

    id: uuid.UUID
    name_zh: str
    tier: str
    league_code: str
    county_code: str | None


def _check_routing_patient(
    *, session: Session, user: User, patient: Patient | None, now: datetime
) -> None:
    """A patient a preview may route from: one the doctor may act for (404 otherwise,
    audited as refused); the read of their residence is audited."""
    allowed = patient is not None and may_act_for(session, user, patient)
    if patient is not None:
        audit.record(
            session=session,
            actor_id=user.id,
            actor_role=user.role,
            action="read" if allowed else "refused",
            object_type="patient",
            object_id=patient.id,
            patient_id=patient.id,
            detail={"purpose": "routing_preview"},
            at=now,
        )
    if patient is None or not allowed:
        raise NotFound("patient not found", code="patient_not_found")


def propose(
    *,
    session: Session,
    viewer: User,
    requesting_institution_id: uuid.UUID,
    service_class: str,
    specialty: str,
    title: str | None,
    now: datetime,
    institution_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    urgency: str = "routine",
    limit: int = 10,
    check_patient: bool = False,
) -> list[Proposal]:
    """Specialists who could take the request, best first, each with the reason.

    Only specialists of the wanted specialty, at or above the wanted title, at network
    hospitals of a higher tier than the requester (or the chosen hospital); ordered by the
    routing rule seen from the patient (`routing.rank`, docs/routing.md). With
    `check_patient` (a preview for a patient the caller names), the viewer must be able to
    act for the patient (404 otherwise, audited as refused) and the read is audited.
    """
    found = routing.origin(
        session=session, requester_id=requesting_institution_id, patient_id=patient_id
    )  # the requester, the patient and the patient's place: one statement
    if check_patient and patient_id is not None:
        _check_routing_patient(
            session=session, user=viewer, patient=found.patient if found else None, now=now
        )
    check_specialty(specialty)
    if found is None:
        raise NotFound("requesting institution not found")
    requester, where = found.requester, found.where
    my_rank = TIER_RANK[Tier(requester.tier)]
    wanted = TITLE_RANK.get(Title(title), 0) if title else 0
    params: dict[str, Any] = {
        "specialty": specialty,
        "viewer_id": viewer.id,
        "requester_id": requesting_institution_id,
        "titles": [t.value for t, n in TITLE_RANK.items() if n >= wanted],
    }
    if institution_id is not None:
        params["institution_id"] = institution_id
    else:
        params["tiers"] = [t.value for t, n in TIER_RANK.items() if n > my_rank]
    params["sla_start"], params["sla_end"] = now - timedelta(days=routing.HISTORY_DAYS), now
    hospitals: dict[uuid.UUID, _Hospital] = {}
    history: dict[uuid.UUID, float | None] = {}
    candidates = []
    for uid, name, ttl, spec, iid, *cols, measured, met in session.execute(
        _candidates_statement(institution_id is not None), params
    ).all():
        if iid not in hospitals:
            hospitals[iid] = _Hospital(iid, *cols)
            history[iid] = service_levels.share_met(measured, met)
        candidates.append((_Candidate(uid, name, ttl, spec), hospitals[iid]))
    slot_class = info(service_class).slot_service_class
    slots: dict[int, tuple[uuid.UUID, datetime]] = {}

    def earliest_of(indexes: Sequence[int]) -> dict[int, datetime]:
        """Earliest free slots of these candidates: one statement (scheduling)."""
        found = scheduling_service.earliest_slots(
            session=session,
            viewer=viewer,
            now=now,
            specialist_ids=[candidates[i][0].id for i in indexes],
            service_class=slot_class,
        )
        for i in indexes:
            if candidates[i][0].id in found:
                slots[i] = found[candidates[i][0].id]
        return {i: slots[i][1] for i in indexes if i in slots}

    ranked = routing.rank(
        session=session,
        where=where,
        requester_id=requester.id,
        specialty=specialty,
        urgency=urgency,
        now=now,
        candidates=[(inst, user.full_name) for user, inst in candidates],
        earliest=earliest_of,
        history=history,
        limit=limit,
    )
    proposals = []
    for r in ranked[:limit]:
        user, inst = candidates[r.index]
        proposals.append(
            Proposal(
                specialist_id=user.id,
                specialist_name=user.full_name,
                title=user.title,
                specialty_code=user.specialty_code,
                institution_id=inst.id,
                institution_name=inst.name_zh,
                tier=inst.tier,
                same_alliance=r.placement.tier.code in routing.IN_ALLIANCE_TIERS,
                earliest_slot_id=slots[r.index][0] if r.index in slots else None,
                earliest_slot_at=r.slot_at,
                routing_tier=r.placement.tier.code,
                routing_rank=r.placement.tier.rank,
                distance_km=r.placement.distance_km,
                sla_share=r.sla_share,
                reason=Reason(code=r.reason_code, params=r.reason_params),
            )
        )
    return proposals


def proposals_for(
    *,
    session: Session,
    c: Consultation,
    by: User,
    now: datetime,
    institution_id: uuid.UUID | None = None,
    limit: int = 10,
) -> list[Proposal]:
    """Where the request would go (at `institution_id` if given), best first: `propose` for
    its patient, service, specialty and title, seen by `by`."""
    return propose(
        session=session,
        viewer=by,
        requesting_institution_id=c.requesting_institution_id,
        patient_id=c.patient_id,
        urgency=c.urgency,
        service_class=c.service_class,
        specialty=c.wanted_specialty,
        title=c.wanted_title,
        now=now,
        institution_id=institution_id,
        limit=limit,
    )


def _chosen_institution(session: Session, c: Consultation) -> uuid.UUID | None:
    if c.chosen_institution_id is not None:
        return c.chosen_institution_id
    if c.chosen_specialist_id is not None:
        spec = session.get(User, c.chosen_specialist_id)
        return spec.institution_id if spec else None
    return None


def check_override(session: Session, c: Consultation, by: User, now: datetime) -> None:
    """A hospital chosen outside the proposal order needs the requester's reason (422
    `override_reason_required`); the first proposed hospital is kept beside it. A choice
    that is the first proposal (or no choice) is no override: its reason is dropped."""
    chosen = _chosen_institution(session, c)
    first = None
    if chosen is not None:
        found = proposals_for(session=session, c=c, by=by, now=now, limit=1)
        first = found[0].institution_id if found else None
    if first is None or first == chosen:
        c.first_proposed_institution_id = None
        c.override_reason = None
        return
    if not c.override_reason:
        raise Invalid(
            "the chosen hospital is not the first one proposed: give the reason",
            field="override_reason",
            code="override_reason_required",
            first_proposed_institution_id=str(first),
        )
    c.first_proposed_institution_id = first


def override_record(c: Consultation) -> dict[str, Any]:
    """The override as written to the submit transition and the audit trail ({} if none)."""
    if c.first_proposed_institution_id is None:
        return {}
    return {
        "override": {
            "first_proposed_institution_id": str(c.first_proposed_institution_id),
            "chosen_institution_id": str(c.chosen_institution_id)
            if c.chosen_institution_id
            else None,
            "chosen_specialist_id": str(c.chosen_specialist_id) if c.chosen_specialist_id else None,
            "reason": c.override_reason,
        }
    }


def _is_contracted_doctor(*, session: Session, user: User, patient_id: uuid.UUID) -> bool:
    """A family doctor may request for their contracted residents (referrals decides)."""
    return bool(
        referrals_service.is_contracted_doctor(session=session, user=user, patient_id=patient_id)
    )
