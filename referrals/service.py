"""Rules of two-way referrals (双向转诊) and the interface other domains call.

Interface (see notes/INTERFACES.md): `active_contract_for`, `is_contracted_doctor`.
Every transition goes through `REFERRAL` (states.py) under a row lock, so of two
concurrent accept/reject calls exactly one wins; each records who, when and why.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from referrals import booking, contracts, home, imaging, policy
from referrals.contracts import (
    active_contract_for,
    contract_institution_column,
    contract_institution_of,
    is_contracted_doctor,
)
from referrals.insurance import InsuranceAdapter, default_adapter
from referrals.models import (
    CarePlanTask,
    CrossRegionFiling,
    FamilyDoctorTeam,
    Referral,
    ReferralEvent,
)
from referrals.schemas import OutcomeIn, ReferralCreate
from referrals.states import OPEN, REFERRAL, WAITING
from telemed.core import audit, notifications
from telemed.core.clock import to_shanghai
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.settings import Settings
from telemed.core.targets import Access
from telemed.identity import permissions
from telemed.identity.models import Patient, Role, User
from telemed.network.models import County, Department, Institution

__all__ = [
    "active_contract_for",
    "contract_institution_column",
    "contract_institution_of",
    "is_contracted_doctor",
    "create_referral",
    "transition",
    "get_referral",
    "can_see_referral",
]


# ---------------------------------------------------------------- visibility


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
    return _visible(session, user, session.get(Referral, referral_id), referral_id)


def _visible(session: Session, user: User, r: Referral | None, ident: uuid.UUID) -> Referral:
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
    return contract is not None and contracts.is_member(
        session=session, user=user, team_id=contract.team_id
    )


def _takes_part(session: Session, user: User, referral_id: uuid.UUID) -> bool:
    """Who sees a referral sees the studies linked to it."""
    r = session.get(Referral, referral_id)
    return r is not None and can_see_referral(session=session, user=user, referral=r)


# States in which a referral takes studies, and bookings.
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
    booking.register_hooks(
        {"referral": _booking_reference_access, "home_visit": home.booking_reference_access}
    )
    imaging.register_hooks(_takes_part, _study_link_access, _study_unlinked)


# ---------------------------------------------------------------- creation


def _institution(session: Session, inst_id: uuid.UUID, field: str) -> Institution:
    inst = session.get(Institution, inst_id)
    if inst is None:
        raise Invalid(f"institution {inst_id} not found", field=field)
    return inst


def _require_act_for(session: Session, user: User, patient_id: uuid.UUID) -> Patient:
    patient = permissions.require_patient_read(session, user, patient_id)
    if not permissions.can_act_for_patient(session, user, patient):
        raise Forbidden("you may not act for this patient", code="may_not_act_for_patient")
    return patient


def create_referral(
    *, session: Session, data: ReferralCreate, by: User, now: datetime, settings: Settings
) -> Referral:
    """Create a draft referral after checking the tier policy."""
    if by.role not in policy.ACT_ROLES or by.institution_id is None:
        raise Forbidden("only doctors and coordinators of an institution refer")
    patient = _require_act_for(session, by, data.patient_id)
    src = _institution(session, by.institution_id, "from_institution_id")
    team: FamilyDoctorTeam | None = None
    to_institution_id = data.to_institution_id
    if data.direction == "down":
        contract = active_contract_for(session=session, patient_id=patient.id)
        if contract is not None:
            team = contracts.get_team(session=session, team_id=contract.team_id)
            if to_institution_id is not None and to_institution_id != team.institution_id:
                raise Invalid(
                    "a downward referral of a contracted resident goes to their family-doctor "
                    "team's institution",
                    field="to_institution_id",
                    code="not_contracted_team",
                    team_institution_id=str(team.institution_id),
                )
            to_institution_id = team.institution_id
        if not (data.care_plan or "").strip():
            raise Invalid(
                "downward referrals carry a care plan", field="care_plan", code="care_plan_required"
            )
    if to_institution_id is None:
        raise Invalid("the receiving institution is required", field="to_institution_id")
    dst = _institution(session, to_institution_id, "to_institution_id")
    if dst.id == src.id:
        raise Invalid("a referral goes to another institution", field="to_institution_id")
    if data.to_department_id is not None:
        dept = session.get(Department, data.to_department_id)
        if dept is None or dept.institution_id != dst.id:
            raise Invalid("department not at the receiving institution", field="to_department_id")
    if data.to_specialist_id is not None:
        spec = session.get(User, data.to_specialist_id)
        if spec is None or spec.institution_id != dst.id:
            raise Invalid("specialist not at the receiving institution", field="to_specialist_id")
    policy.check_tiers(
        src=src,
        dst=dst,
        direction=data.direction,
        urgency=data.urgency,
        green_channel=data.green_channel,
        green_channel_reason=data.green_channel_reason,
        reason=data.reason,
        settings=settings,
    )
    r = Referral(
        patient_id=patient.id,
        from_doctor_id=by.id,
        from_institution_id=src.id,
        to_institution_id=dst.id,
        to_department_id=data.to_department_id,
        to_specialist_id=data.to_specialist_id,
        to_team_id=team.id if team else None,
        direction=data.direction,
        urgency=data.urgency,
        green_channel=data.green_channel,
        green_channel_reason=data.green_channel_reason,
        reason=data.reason,
        diagnosis_code=data.diagnosis_code,
        diagnosis_text=data.diagnosis_text,
        clinical_summary=data.clinical_summary,
        attachments=[a.model_dump(mode="json") for a in data.attachments],
        insurance_notes=data.insurance_notes,
        care_plan=data.care_plan,
        created_at=now,
        updated_at=now,
    )
    session.add(r)
    session.flush()
    for a in data.attachments:
        if a.kind == "study" and a.study_uid:
            imaging.link(session=session, referral_id=r.id, study_uid=a.study_uid, by=by, now=now)
    _event(session, r, "create", "draft", "draft", by, now, None, {})
    return r


def link_study(
    *, session: Session, referral_id: uuid.UUID, study_uid: str, by: User, now: datetime
) -> Referral:
    """Attach a study to the referral as imaging's link rule allows (`dicom.policy`: the
    referrer or the receiver while the referral is open, a study their hospital sent)."""
    r = _visible(session, by, _lock(session, referral_id), referral_id)
    imaging.link(session=session, referral_id=r.id, study_uid=study_uid, by=by, now=now)
    if not any(a.get("study_uid") == study_uid for a in r.attachments):
        r.attachments = [
            *r.attachments,
            {"kind": "study", "title": "study", "study_uid": study_uid},
        ]
    r.updated_at = now
    _event(session, r, "link_study", r.status, r.status, by, now, None, {"study_uid": study_uid})
    session.flush()
    return r


def unlink_study(
    *,
    session: Session,
    referral_id: uuid.UUID,
    study_uid: str,
    by: User,
    now: datetime,
    ip: str | None,
) -> Referral:
    """Unlink a study from the referral (the same rule as linking); its readers lose it."""
    r = _visible(session, by, _lock(session, referral_id), referral_id)
    imaging.unlink(session=session, referral_id=r.id, study_uid=study_uid, by=by, now=now, ip=ip)
    r.updated_at = now
    _event(session, r, "unlink_study", r.status, r.status, by, now, None, {"study_uid": study_uid})
    session.flush()
    return r


# ---------------------------------------------------------------- transitions


def _event(
    session: Session,
    r: Referral,
    action: str,
    src: str,
    dst: str,
    by: User | None,
    now: datetime,
    reason: str | None,
    data: dict[str, Any],
) -> ReferralEvent:
    ev = ReferralEvent(
        referral_id=r.id,
        action=action,
        from_status=src,
        to_status=dst,
        by_id=by.id if by else None,
        at=now,
        reason=reason,
        data=data,
    )
    session.add(ev)
    audit.record(  # every change of a referral is audited, naming its patient
        session=session,
        by=by,
        actor_role=None if by else "system",
        action=action,
        object_type="referral",
        object_id=r.id,
        patient_id=r.patient_id,
        detail={"from": src, "to": dst, **({"reason": reason} if reason else {})},
        at=now,
    )
    return ev


def _lock(session: Session, referral_id: uuid.UUID) -> Referral:
    r = session.execute(
        select(Referral)
        .where(Referral.id == referral_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if r is None:
        raise NotFound(f"referral {referral_id} not found")
    return r


def _authorize(session: Session, user: User, r: Referral, action: str) -> None:
    _visible(session, user, r, r.id)
    allowed = policy.PARTIES[action]
    if not policy.parties_of(user, r) & set(allowed):
        raise Forbidden(
            f"{action!r} is for the {' or '.join(allowed)} of this referral",
            code="not_your_part",
        )


def _notify(
    session: Session,
    user_ids: list[uuid.UUID],
    r: Referral,
    kind: str,
    title: str,
    body: str,
    now: datetime,
    *,
    texted: bool = False,
) -> None:
    """In-app messages to `user_ids`; with `texted` also the one SMS of the event to the
    referral's patient (with or without an account), sent if the patient consented (the
    template of `kind` in telemed.core.sms)."""
    data = {"referral_id": str(r.id), "status": r.status}
    for uid in dict.fromkeys(user_ids):
        notifications.enqueue(
            session=session,
            user_id=uid,
            kind=kind,
            title=title,
            body=body,
            data=data,
            now=now,
        )
    if texted:
        notifications.text_patient(
            session=session,
            patient_id=r.patient_id,
            kind=kind,
            title=title,
            body=body,
            data=data,
            now=now,
        )


def _receiver_staff(session: Session, r: Referral) -> list[uuid.UUID]:
    """Who hears about a referral at the receiving end: the named specialist, else the
    coordinators of the institution, else its doctors of the department."""
    if r.to_specialist_id:
        return [r.to_specialist_id]
    coords = list(
        session.execute(
            select(User.id).where(
                User.institution_id == r.to_institution_id, User.role == Role.COORDINATOR
            )
        ).scalars()
    )
    if coords:
        return coords
    stmt = select(User.id).where(
        User.institution_id == r.to_institution_id, col(User.role).in_(policy.ACT_ROLES)
    )
    if r.to_department_id:
        stmt = stmt.where(User.department_id == r.to_department_id)
    return list(session.execute(stmt.limit(20)).scalars())


def transition(
    *,
    session: Session,
    referral_id: uuid.UUID,
    action: str,
    by: User,
    now: datetime,
    settings: Settings,
    reason: str | None = None,
    slot_id: uuid.UUID | None = None,
    appointment_at: datetime | None = None,
    outcome: OutcomeIn | None = None,
    idempotency_key: str | None = None,
    insurance: InsuranceAdapter | None = None,
) -> Referral:
    """Apply one action to a referral under a row lock; record who/when/why."""
    r = _lock(session, referral_id)
    _authorize(session, by, r, action)
    before = r.status
    data: dict[str, Any] = {}
    if action in ("reject", "return_with_advice", "cancel") and not (reason or "").strip():
        raise Invalid(f"{action!r} needs a reason", field="reason", code="reason_required")
    target = REFERRAL.next(before, action)
    if action == "submit":
        policy.check_tiers(
            src=_institution(session, r.from_institution_id, "from_institution_id"),
            dst=_institution(session, r.to_institution_id, "to_institution_id"),
            direction=r.direction,
            urgency=r.urgency,
            green_channel=r.green_channel,
            green_channel_reason=r.green_channel_reason,
            reason=r.reason,
            settings=settings,
        )
        days = settings.referrals.contact_by_days.get(r.urgency, 14)
        r.contact_by = now + timedelta(days=days)
        r.requested_at = now
        data["contact_by"] = r.contact_by.isoformat()
    elif action == "accept":
        r.accepted_at = now
    elif action == "book":
        data.update(_book(session, r, by, now, slot_id, appointment_at, idempotency_key))
    elif action == "complete" and outcome is not None:
        _set_outcome(session, r, by, now, outcome)
    elif action == "close":
        if r.outcome_sent_at is None:
            raise Conflict(
                "the receiver has not sent the outcome back yet; a referral closes on its outcome",
                code="outcome_missing",
            )
        r.acknowledged_at = now
        r.acknowledged_by_id = by.id
    elif action == "cancel" and r.booking_id is not None:
        booking.cancel_slot_booking(
            session=session, booking_id=r.booking_id, by=by, now=now, reason=reason or ""
        )
    r.status = target
    r.updated_at = now
    _event(session, r, action, before, target, by, now, reason, data)
    session.flush()
    if action == "submit":
        _on_submitted(session, r, now, settings, insurance)
    _announce(session, r, action, now, reason)
    return r


def _book(
    session: Session,
    r: Referral,
    by: User,
    now: datetime,
    slot_id: uuid.UUID | None,
    appointment_at: datetime | None,
    idempotency_key: str | None,
) -> dict[str, Any]:
    if slot_id is not None:
        b = booking.book_slot(
            session=session,
            slot_id=slot_id,
            by=by,
            patient_id=r.patient_id,
            now=now,
            reference_type="referral",
            reference_id=r.id,
            idempotency_key=idempotency_key,
            institution_id=r.to_institution_id,
        )
        r.booking_id = b.booking_id
        r.appointment_at = b.start_at
        return {"booking_id": str(b.booking_id), "slot_id": str(slot_id)}
    if appointment_at is None:
        raise Invalid("give slot_id or appointment_at", field="slot_id")
    if appointment_at < now:
        raise Invalid("the appointment is in the past", field="appointment_at")
    r.appointment_at = appointment_at
    return {"appointment_at": appointment_at.isoformat()}


def _set_outcome(
    session: Session, r: Referral, by: User, now: datetime, outcome: OutcomeIn
) -> None:
    r.outcome_kind = outcome.kind
    r.outcome_summary = outcome.summary
    r.outcome_recommendations = outcome.recommendations
    r.outcome_sent_at = now
    r.outcome_by_id = by.id
    plan = (outcome.care_plan or outcome.recommendations or "").strip()
    contract = active_contract_for(session=session, patient_id=r.patient_id)
    if plan and contract is not None:
        session.add(
            CarePlanTask(
                team_id=contract.team_id,
                patient_id=r.patient_id,
                referral_id=r.id,
                source="outcome",
                plan=plan,
                created_at=now,
            )
        )


def send_outcome(
    *, session: Session, referral_id: uuid.UUID, by: User, now: datetime, outcome: OutcomeIn
) -> Referral:
    """The receiver sends (or corrects) the outcome of a completed referral."""
    r = _lock(session, referral_id)
    _authorize(session, by, r, "outcome")
    if r.status != "completed":
        raise Conflict(
            f"the outcome is sent for a completed referral; this one is {r.status}",
            code="not_completed",
        )
    _set_outcome(session, r, by, now, outcome)
    r.updated_at = now
    _event(session, r, "outcome", r.status, r.status, by, now, None, {"kind": outcome.kind})
    session.flush()
    _notify(
        session,
        [r.from_doctor_id],
        r,
        "referral.outcome",
        "转诊结果已回传 Referral outcome received",
        "please acknowledge to close the loop",
        now,
    )
    return r


def set_contact_by(
    *,
    session: Session,
    referral_id: uuid.UUID,
    by: User,
    now: datetime,
    contact_by: datetime,
    reason: str,
) -> Referral:
    """The receiver sets the date by which the waiting patient will be contacted."""
    r = _lock(session, referral_id)
    _authorize(session, by, r, "contact_by")
    if r.status not in WAITING:
        raise Conflict(f"referral is {r.status}; it is not waiting", code="not_waiting")
    if contact_by <= now:
        raise Invalid("the contact date must be in the future", field="contact_by")
    data = {
        "from": r.contact_by.isoformat() if r.contact_by else None,
        "to": contact_by.isoformat(),
    }
    r.contact_by = contact_by
    r.escalated_at = None
    r.updated_at = now
    _event(session, r, "contact_by", r.status, r.status, by, now, reason, data)
    session.flush()
    title = "转诊联系日期 When you will hear back"
    body = f"you will be contacted by {_shown(contact_by)}"
    patients = contracts.patient_user_ids(session=session, patient_id=r.patient_id)
    _notify(session, patients, r, "referral.contact_by", title, body, now, texted=True)
    _notify(session, [r.from_doctor_id], r, "referral.contact_by", title, body, now)
    return r


def _on_submitted(
    session: Session,
    r: Referral,
    now: datetime,
    settings: Settings,
    insurance: InsuranceAdapter | None,
) -> None:
    src = session.get(Institution, r.from_institution_id)
    dst = session.get(Institution, r.to_institution_id)
    assert src is not None and dst is not None
    patient = session.get(Patient, r.patient_id)
    insured = src.league_code
    if patient is not None and patient.county_code:
        county = session.get(County, patient.county_code)
        insured = county.league_code if county else insured
    # Filing is needed when treatment leaves the insured league (or the region).
    if insured != dst.league_code:
        filing = CrossRegionFiling(
            referral_id=r.id,
            patient_id=r.patient_id,
            scope="out_of_region" if insured[:2] != dst.league_code[:2] else "cross_league",
            insured_league_code=insured,
            treatment_league_code=dst.league_code,
            treatment_institution_id=dst.id,
            diagnosis_code=r.diagnosis_code,
            valid_from=contracts.today(now),
            valid_to=contracts.today(now)
            + timedelta(days=settings.referrals.cross_region_filing_days),
            created_at=now,
        )
        session.add(filing)
        session.flush()
        file_record(session=session, filing=filing, now=now, adapter=insurance or default_adapter())


def _announce(
    session: Session, r: Referral, action: str, now: datetime, reason: str | None
) -> None:
    patients = contracts.patient_user_ids(session=session, patient_id=r.patient_id)
    if action == "submit":
        _notify(
            session,
            _receiver_staff(session, r),
            r,
            "referral.requested",
            "新转诊申请 New referral",
            f"{r.direction} referral, {r.urgency}; contact the patient by {_shown(r.contact_by)}",
            now,
        )
        down = r.direction == "down"
        _notify(
            session,
            patients,
            r,
            "referral.referred_down" if down else "referral.requested",
            "转回基层 You are referred back" if down else "转诊已提交 Your referral is sent",
            f"you will be contacted by {_shown(r.contact_by)}",
            now,
            texted=True,
        )
    elif action in ("accept", "reject", "return_with_advice", "book", "complete", "cancel"):
        kind, title = f"referral.{r.status}", f"转诊状态 Referral {r.status}"
        _notify(session, [r.from_doctor_id], r, kind, title, reason or "", now)
        # The patient is texted what changes for them; a slot booking is texted by
        # scheduling (`booking.confirmed`, with time and place), so not twice.
        texted = action in ("accept", "reject", "return_with_advice", "cancel") or (
            action == "book" and r.booking_id is None
        )
        _notify(session, patients, r, kind, title, reason or "", now, texted=texted)
    if action == "complete":
        _notify(
            session,
            [r.from_doctor_id],
            r,
            "referral.outcome",
            "转诊结果已回传 Referral outcome",
            "acknowledge the outcome to close the loop",
            now,
        )
    if action == "accept" and r.direction == "down" and r.care_plan and r.to_team_id:
        session.add(
            CarePlanTask(
                team_id=r.to_team_id,
                patient_id=r.patient_id,
                referral_id=r.id,
                source="down_referral",
                plan=r.care_plan,
                created_at=now,
            )
        )
        session.flush()


# ---------------------------------------------------------------- queries


def events_of(*, session: Session, referral_id: uuid.UUID) -> list[ReferralEvent]:
    return list(
        session.execute(
            select(ReferralEvent)
            .where(ReferralEvent.referral_id == referral_id)
            .order_by(col(ReferralEvent.at), col(ReferralEvent.id))
        ).scalars()
    )


def list_for_user(
    *,
    session: Session,
    user: User,
    role: str | None = None,
    status: str | None = None,
    patient_id: uuid.UUID | None = None,
) -> Any:
    """A select of the referrals the user sees: as referrer ('sent'), receiver ('received'),
    the patient, or (admin) all."""
    stmt = select(Referral)
    if user.role == Role.PATIENT:
        stmt = stmt.where(Referral.patient_id == user.patient_id)
    elif user.role != Role.ADMIN:
        sent = or_(
            col(Referral.from_doctor_id) == user.id,
            (col(Referral.from_institution_id) == user.institution_id)
            & (col(Referral.status) != "draft"),
        )
        received = (col(Referral.to_institution_id) == user.institution_id) & (
            col(Referral.status) != "draft"
        )
        team_ids = contracts.teams_of_user(session=session, user_id=user.id)
        if role == "sent":
            stmt = stmt.where(sent)
        elif role == "received":
            stmt = stmt.where(received)
        else:
            from referrals.models import Contract

            contracted = col(Referral.patient_id).in_(
                select(Contract.patient_id).where(
                    col(Contract.team_id).in_(team_ids), Contract.status == "active"
                )
            )
            stmt = stmt.where(or_(sent, received, contracted))
    if status:
        stmt = stmt.where(Referral.status == status)
    if patient_id:
        stmt = stmt.where(Referral.patient_id == patient_id)
    return stmt.order_by(col(Referral.created_at).desc())


def receiver_worklist(*, session: Session, institution_id: uuid.UUID) -> list[Referral]:
    """Referrals waiting at the receiver (no appointment yet), soonest contact date first:
    nothing waits unseen."""
    return list(
        session.execute(
            select(Referral)
            .where(Referral.to_institution_id == institution_id, col(Referral.status).in_(WAITING))
            .order_by(col(Referral.contact_by).asc(), col(Referral.created_at))
        ).scalars()
    )


def escalate_breaches(*, session: Session, now: datetime) -> int:
    """Escalate waiting referrals whose contact-by date has passed (again daily while it
    stays breached): the receiver's staff and the referrer are told."""
    rows = session.execute(
        select(Referral)
        .where(
            col(Referral.status).in_(WAITING),
            col(Referral.contact_by).is_not(None),
            col(Referral.contact_by) < now,
            or_(
                col(Referral.escalated_at).is_(None),
                col(Referral.escalated_at) < now - timedelta(days=1),
            ),
        )
        .with_for_update(skip_locked=True)
    ).scalars()
    n = 0
    for r in rows:
        r.escalation_level += 1
        r.escalated_at = now
        _event(
            session,
            r,
            "escalate",
            r.status,
            r.status,
            None,
            now,
            "contact date passed",
            {
                "level": r.escalation_level,
                "contact_by": r.contact_by.isoformat() if r.contact_by else None,
            },
        )
        coords = list(
            session.execute(
                select(User.id).where(
                    User.institution_id == r.to_institution_id,
                    col(User.role).in_([Role.COORDINATOR, Role.ADMIN]),
                )
            ).scalars()
        )
        _notify(
            session,
            [*_receiver_staff(session, r), *coords, r.from_doctor_id],
            r,
            "referral.breach",
            "转诊逾期未联系 Referral past its contact date",
            f"escalation level {r.escalation_level}",
            now,
        )
        if r.escalation_level == 1:  # the patient hears once that the receiver was chased
            _notify(
                session,
                contracts.patient_user_ids(session=session, patient_id=r.patient_id),
                r,
                "referral.overdue",
                "转诊尚未安排 Your referral is overdue",
                "the receiving hospital has been reminded to contact you",
                now,
                texted=True,
            )
        n += 1
    session.flush()
    return n


def care_plans_of_team(*, session: Session, team_id: uuid.UUID) -> list[CarePlanTask]:
    return list(
        session.execute(
            select(CarePlanTask)
            .where(CarePlanTask.team_id == team_id, col(CarePlanTask.done_at).is_(None))
            .order_by(col(CarePlanTask.created_at))
        ).scalars()
    )


def complete_care_plan(
    *, session: Session, task_id: uuid.UUID, by: User, now: datetime
) -> CarePlanTask:
    found = session.get(CarePlanTask, task_id)
    task = audit.visible_or_404(
        session,
        by,
        found,
        visible=found is not None
        and contracts.is_member(session=session, user=by, team_id=found.team_id),
        object_type="care_plan",
        ident=task_id,
        label="care plan",
        reason="not a member of the resident's team",
    )
    if task.done_at is not None:
        raise Conflict("care plan taken up already", code="already_done")
    task.done_at = now
    task.done_by_id = by.id
    session.flush()
    audit.record(
        session=session,
        by=by,
        action="done",
        object_type="care_plan",
        object_id=task.id,
        patient_id=task.patient_id,
        detail={"referral_id": str(task.referral_id)},
        at=now,
    )
    return task


# ---------------------------------------------------------------- cross-region filing


def filing_of(*, session: Session, referral_id: uuid.UUID) -> CrossRegionFiling | None:
    return session.execute(
        select(CrossRegionFiling).where(CrossRegionFiling.referral_id == referral_id)
    ).scalar_one_or_none()


def file_record(
    *, session: Session, filing: CrossRegionFiling, now: datetime, adapter: InsuranceAdapter
) -> CrossRegionFiling:
    """Send the filing to the insurance agency through the adapter (retry after refusal)."""
    if filing.status == "filed":
        return filing
    result = adapter.file(filing)
    filing.status = "filed" if result.accepted else "refused"
    filing.filing_number = result.reference
    filing.adapter_message = result.message
    filing.filed_at = now if result.accepted else None
    session.flush()
    return filing


def _shown(value: datetime | None) -> str:
    """A time as people read it in a message: Asia/Shanghai, to the minute."""
    if value is None:
        return "-"
    return to_shanghai(value).strftime("%Y-%m-%d %H:%M") + " (Asia/Shanghai)"
