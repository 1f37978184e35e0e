"""The workflow of a request, from submission to acknowledgement (see `states.py`).

Each step takes its prologue from `steps.step` (visible, locked, authorized, possible) and
applies its actions with `steps.transition`. Routing goes through `proposals`, the live
session's booking through scheduling, imaging orders through dicom.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session

from dicom import service as dicom_service
from scheduling import service as scheduling_service
from telemed.consultations import payments, policy
from telemed.consultations.attachments import consents
from telemed.consultations.messages import coordinators_of, notify, service_term, urgency_term
from telemed.consultations.models import Consultation
from telemed.consultations.proposals import (
    check_override,
    check_targets,
    override_record,
    proposals_for,
)
from telemed.consultations.schemas import AcceptBody
from telemed.consultations.service_classes import Urgency, info
from telemed.consultations.service_levels import accept_minutes, report_minutes
from telemed.consultations.steps import record, step, transition
from telemed.core.errors import Conflict, Invalid
from telemed.core.settings import Settings
from telemed.identity.models import Role, User
from telemed.network.models import Institution


def _route(
    session: Session,
    c: Consultation,
    by: User,
    now: datetime,
    institution_id: uuid.UUID | None,
    specialist_id: uuid.UUID | None,
) -> None:
    """Decide where the request goes: a chosen specialist, a chosen hospital, or a proposal."""
    if specialist_id is not None:
        spec = session.get(User, specialist_id)
        assert spec is not None
        c.receiving_institution_id = spec.institution_id
        c.proposed_specialist_id = spec.id
        return
    found = proposals_for(
        session=session, c=c, by=by, now=now, institution_id=institution_id, limit=1
    )
    if found:
        c.receiving_institution_id = found[0].institution_id
        c.proposed_specialist_id = found[0].specialist_id
    elif institution_id is not None:
        # the chosen hospital's coordinator assigns someone
        c.receiving_institution_id = institution_id
        c.proposed_specialist_id = None
    else:
        raise Conflict(
            f"no specialist of {c.wanted_specialty} is available in the network for this request",
            code="no_specialist",
        )


def _set_accept_due(c: Consultation, now: datetime, settings: Settings) -> None:
    minutes = accept_minutes(settings.consultations, c.urgency)
    c.accept_due_at = now + timedelta(minutes=minutes)
    c.expires_at = now + timedelta(minutes=minutes * settings.consultations.expire_factor)


def _announce_incoming(session: Session, c: Consultation, now: datetime) -> None:
    who = coordinators_of(session=session, institution_id=c.receiving_institution_id)
    if c.proposed_specialist_id:
        who.add(c.proposed_specialist_id)
    urgency, service = urgency_term(c.urgency), service_term(c.service_class)
    notify(session, who, c, "incoming", now, urgency=urgency, service=service)


def submit(
    *, session: Session, consultation_id: uuid.UUID, by: User, now: datetime, settings: Settings
) -> Consultation:
    """Send the request: needs consent; routes it, starts the service-level clock, sets the fee."""
    # a request that cannot be submitted: 409 before any other check
    c = step(session=session, consultation_id=consultation_id, by=by, action="submit")
    if not consents(session=session, consultation_id=c.id):
        raise Conflict(
            "the patient's informed consent must be recorded before submission",
            code="consent_required",
        )
    check_override(session, c, by, now)  # the proposal may have moved since the draft
    _route(session, c, by, now, c.chosen_institution_id, c.chosen_specialist_id)
    receiving = session.get(Institution, c.receiving_institution_id)
    assert receiving is not None
    fee = payments.fee_for(session=session, service_class=c.service_class, tier=receiving.tier)
    c.fee_cents = fee.amount_cents if fee else 0
    c.currency = fee.currency if fee else "CNY"
    c.payment_state = payments.initial_state(c.fee_cents)
    c.submitted_at = now
    _set_accept_due(c, now, settings)
    transition(
        session,
        c,
        "submit",
        by=by,
        now=now,
        data={
            "receiving_institution_id": str(c.receiving_institution_id),
            "proposed_specialist_id": str(c.proposed_specialist_id)
            if c.proposed_specialist_id
            else None,
            **override_record(c),
        },
    )
    if c.first_proposed_institution_id is not None:
        record(session, by, "routing_override", c, now=now, detail=override_record(c))
    _announce_incoming(session, c, now)
    return c


def accept(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    data: AcceptBody,
    now: datetime,
    settings: Settings,
) -> Consultation:
    """Take the request: assign a specialist; live sessions get booked (emergencies: at once)."""
    # state first: whoever loses a race to accept learns it was accepted (409), not 403
    c = step(session=session, consultation_id=consultation_id, by=by, action="accept")
    specialist_id: uuid.UUID | None
    if "candidate" in policy.relations(by, c) and by.role == Role.SPECIALIST:
        specialist_id = by.id
    else:
        specialist_id = data.specialist_id or c.proposed_specialist_id or c.chosen_specialist_id
        if specialist_id is None:
            raise Invalid("name the specialist who takes the request", field="specialist_id")
    spec = session.get(User, specialist_id)
    if (
        spec is None
        or spec.role != Role.SPECIALIST
        or spec.institution_id != c.receiving_institution_id
        or not spec.is_active
    ):
        raise Invalid(
            "the assigned specialist must work at the receiving hospital", field="specialist_id"
        )
    c.assigned_specialist_id = spec.id
    c.accepted_at = now
    c.report_due_at = now + timedelta(
        minutes=report_minutes(settings.consultations, c.service_class, c.urgency)
    )
    transition(
        session,
        c,
        "accept",
        by=by,
        now=now,
        reason=data.note,
        data={"assigned_specialist_id": str(spec.id)},
    )
    notify(session, {c.requesting_doctor_id, spec.id} - {by.id}, c, "accepted", now)
    if c.live_session:
        if c.urgency == Urgency.EMERGENCY and data.slot_id is None:
            _immediate_session(session, c, by, now, settings)
        else:
            slot_id = data.slot_id
            if slot_id is None:
                slot_id, _ = _scheduling_earliest_slot(
                    session=session,
                    viewer=by,
                    specialist_id=spec.id,
                    service_class=info(c.service_class).slot_service_class,
                    now=now,
                )
            if slot_id is not None:
                _book(session, c, by, slot_id, now)
    return c


def _immediate_session(
    session: Session, c: Consultation, by: User, now: datetime, settings: Settings
) -> None:
    c.session_start_at = now
    c.session_end_at = now + timedelta(minutes=settings.consultations.emergency_session_minutes)
    transition(session, c, "schedule", by=by, now=now, data={"immediate": True})
    _tell_both(session, c, by, "session_now", now)


def _tell_both(session: Session, c: Consultation, by: User, code: str, now: datetime) -> None:
    """Tell the requester and the assigned specialist, but not the one who acted."""
    both = {c.requesting_doctor_id, c.assigned_specialist_id} - {by.id, None}
    notify(session, both, c, code, now)  # type: ignore[arg-type]


def _book(session: Session, c: Consultation, by: User, slot_id: uuid.UUID, now: datetime) -> None:
    booking_id, start, end = _scheduling_book(
        session=session, consultation=c, slot_id=slot_id, by=by, now=now
    )
    c.booking_id = booking_id
    c.session_start_at = start
    c.session_end_at = end
    transition(
        session,
        c,
        "schedule",
        by=by,
        now=now,
        data={"booking_id": str(booking_id), "slot_id": str(slot_id)},
    )
    _tell_both(session, c, by, "scheduled", now)


def schedule(
    *, session: Session, consultation_id: uuid.UUID, by: User, slot_id: uuid.UUID, now: datetime
) -> Consultation:
    """Book the live session of an accepted request in a slot."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="schedule")
    _book(session, c, by, slot_id, now)
    return c


def decline(
    *, session: Session, consultation_id: uuid.UUID, by: User, reason: str, now: datetime
) -> Consultation:
    """Refuse the request (reason required); a paid fee is refunded."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="decline")
    if not reason.strip():
        raise Invalid("a reason is required", field="reason")
    transition(session, c, "decline", by=by, now=now, reason=reason)
    payments.refund_if_paid(session=session, c=c, by_id=by.id, now=now)
    cancel_imaging_orders(session, c, now)
    notify(session, {c.requesting_doctor_id}, c, "declined", now)
    return c


def redirect(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    reason: str,
    institution_id: uuid.UUID | None,
    specialist_id: uuid.UUID | None,
    now: datetime,
    settings: Settings,
) -> Consultation:
    """Send the request on to another hospital or specialist; it is submitted there afresh."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="redirect")
    if institution_id is None and specialist_id is None:
        raise Invalid("name the hospital or specialist to redirect to", field="institution_id")
    check_targets(session, institution_id, specialist_id)
    before = c.receiving_institution_id
    transition(
        session,
        c,
        "redirect",
        by=by,
        now=now,
        reason=reason,
        data={"from_institution_id": str(before)},
    )
    _route(session, c, by, now, institution_id, specialist_id)
    if c.receiving_institution_id == before and specialist_id is None:
        raise Invalid(
            "redirect to a different hospital or name a specialist", field="institution_id"
        )
    _set_accept_due(c, now, settings)
    transition(
        session,
        c,
        "resubmit",
        by=by,
        now=now,
        reason=reason,
        data={"receiving_institution_id": str(c.receiving_institution_id)},
    )
    notify(session, {c.requesting_doctor_id}, c, "redirected", now)
    _announce_incoming(session, c, now)
    return c


def cancel(
    *, session: Session, consultation_id: uuid.UUID, by: User, reason: str, now: datetime
) -> Consultation:
    """Withdraw the request; frees the booked slot and refunds a paid fee."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="cancel")
    transition(session, c, "cancel", by=by, now=now, reason=reason)
    if c.booking_id is not None:
        _scheduling_cancel(session=session, booking_id=c.booking_id, by=by, now=now, reason=reason)
    payments.refund_if_paid(session=session, c=c, by_id=by.id, now=now)
    cancel_imaging_orders(session, c, now)
    others = {c.assigned_specialist_id, c.proposed_specialist_id} - {None}
    others |= coordinators_of(session=session, institution_id=c.receiving_institution_id)
    notify(session, others, c, "cancelled", now)  # type: ignore[arg-type]
    return c


def start_session(
    *, session: Session, consultation_id: uuid.UUID, by: User, now: datetime
) -> Consultation:
    """The live session begins."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="start_session")
    transition(session, c, "start_session", by=by, now=now)
    return c


def acknowledge(
    *, session: Session, consultation_id: uuid.UUID, by: User, now: datetime
) -> Consultation:
    """The requesting doctor confirms receipt of the signed opinion; the request closes."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="acknowledge")
    # a reason the system gives is a code in `data.reason_code`, rendered by the client
    transition(session, c, "close", by=by, now=now, data={"reason_code": "opinion_received"})
    c.closed_at = now
    if c.assigned_specialist_id:
        notify(session, {c.assigned_specialist_id}, c, "acknowledged", now)
    return c


def pay(*, session: Session, consultation_id: uuid.UUID, by: User, now: datetime) -> Consultation:
    """Pay the request's fee through the payment provider."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="pay")
    payments.charge(session=session, c=c, by_id=by.id, now=now)
    record(session, by, "pay", c, now=now)
    return c


def _scheduling_earliest_slot(
    *, session: Session, viewer: User, specialist_id: uuid.UUID, service_class: str, now: datetime
) -> tuple[uuid.UUID | None, datetime | None]:
    """The specialist's earliest free slot of that class (scheduling), or (None, None)."""
    slots = scheduling_service.search_slots(
        session=session,
        viewer=viewer,
        now=now,
        specialist_id=specialist_id,
        service_class=service_class,
        start_from=now,
        limit=1,
    )
    if not slots:
        return None, None
    return slots[0].id, slots[0].start_at


def _scheduling_book(
    *, session: Session, consultation: Consultation, slot_id: uuid.UUID, by: User, now: datetime
) -> tuple[uuid.UUID, datetime, datetime]:
    """Book the live session in a slot, referenced to the request (409 slot_full ...)."""
    booking = scheduling_service.book(
        session=session,
        slot_id=slot_id,
        by=by,
        patient_id=consultation.patient_id,
        now=now,
        idempotency_key=f"consultation:{consultation.id}:{slot_id}",
        reference_type="consultation",
        reference_id=consultation.id,
    )
    return booking.id, booking.start_at, booking.end_at


def _scheduling_cancel(
    *, session: Session, booking_id: uuid.UUID, by: User, now: datetime, reason: str
) -> None:
    """Free the session's slot. The request's policy authorized the cancel; scheduling lets
    the booker (the accepting specialist or coordinator) cancel, so it acts as them."""
    booking = scheduling_service.get_booking(session=session, booking_id=booking_id)
    if booking.status in ("cancelled", "fulfilled", "noshow"):
        return
    booker = session.get(User, booking.booked_by_id) or by
    scheduling_service.cancel_booking(
        session=session,
        booking_id=booking_id,
        by=booker,
        now=now,
        reason=f"consultation cancelled by {by.full_name}: {reason}"[:200],
    )


def cancel_imaging_orders(session: Session, c: Consultation, now: datetime) -> None:
    """A request that ended unread (cancelled, declined, expired) leaves the worklist."""
    dicom_service.cancel_orders(
        session=session, target_type="consultation", target_id=c.id, now=now
    )
