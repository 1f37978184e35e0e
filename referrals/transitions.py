"""Moving a referral on: `REFERRAL` (states.py) says which action goes where, `STEPS` what
each action does besides (a reason it needs, the fields it sets, a booking it makes).

Every transition runs under the referral's row lock, so of two concurrent accept/reject
calls exactly one wins; each records who, when and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from referrals import booking, policy
from referrals.creation import institution
from referrals.events import authorize, lock_referral, record_event
from referrals.family.contract_queries import active_contract_for, patient_user_ids
from referrals.filing import file_if_needed
from referrals.models import CarePlanTask, Referral
from referrals.notices import announce, notify
from referrals.schemas import OutcomeIn
from referrals.states import REFERRAL, WAITING
from telemed.core.errors import Conflict, Invalid
from telemed.core.settings import Settings
from telemed.identity.models import User


@dataclass
class Move:
    """One action on a locked referral, with what the caller gave for it."""

    session: Session
    r: Referral
    action: str
    by: User
    now: datetime
    settings: Settings
    reason: str | None = None
    slot_id: uuid.UUID | None = None
    appointment_at: datetime | None = None
    outcome: OutcomeIn | None = None
    idempotency_key: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # the event's data


@dataclass(frozen=True)
class Step:
    """What an action does besides changing the status: `effect` before the change (it may
    refuse), `after` once the change is flushed."""

    needs_reason: bool = False
    effect: Callable[[Move], None] | None = None
    after: Callable[[Move], None] | None = None


def _submit(m: Move) -> None:
    r = m.r
    policy.check_tiers(
        src=institution(m.session, r.from_institution_id, "from_institution_id"),
        dst=institution(m.session, r.to_institution_id, "to_institution_id"),
        direction=r.direction,
        urgency=r.urgency,
        green_channel=r.green_channel,
        green_channel_reason=r.green_channel_reason,
        reason=r.reason,
        settings=m.settings,
    )
    days = m.settings.referrals.contact_by_days.get(r.urgency, 14)
    r.contact_by = m.now + timedelta(days=days)
    r.requested_at = m.now
    m.data["contact_by"] = r.contact_by.isoformat()


def _filed(m: Move) -> None:
    file_if_needed(m.session, m.r, m.now, m.settings)


def _accept(m: Move) -> None:
    m.r.accepted_at = m.now


def _book(m: Move) -> None:
    r = m.r
    if m.slot_id is not None:
        b = booking.book_slot(
            session=m.session,
            slot_id=m.slot_id,
            by=m.by,
            patient_id=r.patient_id,
            now=m.now,
            reference_type="referral",
            reference_id=r.id,
            idempotency_key=m.idempotency_key,
            institution_id=r.to_institution_id,
        )
        r.booking_id = b.booking_id
        r.appointment_at = b.start_at
        m.data.update({"booking_id": str(b.booking_id), "slot_id": str(m.slot_id)})
        return
    if m.appointment_at is None:
        raise Invalid("give slot_id or appointment_at", field="slot_id")
    if m.appointment_at < m.now:
        raise Invalid("the appointment is in the past", field="appointment_at")
    r.appointment_at = m.appointment_at
    m.data["appointment_at"] = m.appointment_at.isoformat()


def _complete(m: Move) -> None:
    if m.outcome is not None:
        _set_outcome(m.session, m.r, m.by, m.now, m.outcome)


def _close(m: Move) -> None:
    if m.r.outcome_sent_at is None:
        raise Conflict(
            "the receiver has not sent the outcome back yet; a referral closes on its outcome",
            code="outcome_missing",
        )
    m.r.acknowledged_at = m.now
    m.r.acknowledged_by_id = m.by.id


def _cancel(m: Move) -> None:
    if m.r.booking_id is not None:
        booking.cancel_slot_booking(
            session=m.session,
            booking_id=m.r.booking_id,
            by=m.by,
            now=m.now,
            reason=m.reason or "",
        )


STEPS: dict[str, Step] = {
    "submit": Step(effect=_submit, after=_filed),
    "receive": Step(),
    "accept": Step(effect=_accept),
    "reject": Step(needs_reason=True),
    "return_with_advice": Step(needs_reason=True),
    "book": Step(effect=_book),
    "arrive": Step(),
    "complete": Step(effect=_complete),
    "close": Step(effect=_close),
    "cancel": Step(needs_reason=True, effect=_cancel),
}
assert set(STEPS) == set(REFERRAL.transitions), "every action of REFERRAL has its step"


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
) -> Referral:
    """Apply one action to a referral under a row lock; record who/when/why."""
    r = lock_referral(session, referral_id)
    authorize(session, by, r, action)
    step = STEPS.get(action, Step())
    if step.needs_reason and not (reason or "").strip():
        raise Invalid(f"{action!r} needs a reason", field="reason", code="reason_required")
    before = r.status
    target = REFERRAL.next(before, action)
    move = Move(
        session=session,
        r=r,
        action=action,
        by=by,
        now=now,
        settings=settings,
        reason=reason,
        slot_id=slot_id,
        appointment_at=appointment_at,
        outcome=outcome,
        idempotency_key=idempotency_key,
    )
    if step.effect is not None:
        step.effect(move)
    r.status = target
    r.updated_at = now
    record_event(session, r, action, before, target, by, now, reason, move.data)
    session.flush()
    if step.after is not None:
        step.after(move)
    announce(session, r, action, now, reason)
    return r


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
    r = lock_referral(session, referral_id)
    authorize(session, by, r, "outcome")
    if r.status != "completed":
        raise Conflict(
            f"the outcome is sent for a completed referral; this one is {r.status}",
            code="not_completed",
        )
    _set_outcome(session, r, by, now, outcome)
    r.updated_at = now
    record_event(session, r, "outcome", r.status, r.status, by, now, None, {"kind": outcome.kind})
    session.flush()
    notify(
        session,
        [r.from_doctor_id],
        r,
        "referral.outcome",
        now,
        code="referral.outcome.staff",
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
    r = lock_referral(session, referral_id)
    authorize(session, by, r, "contact_by")
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
    record_event(session, r, "contact_by", r.status, r.status, by, now, reason, data)
    session.flush()
    patients = patient_user_ids(session=session, patient_id=r.patient_id)
    notify(session, patients, r, "referral.contact_by", now, texted=True)
    notify(
        session, [r.from_doctor_id], r, "referral.contact_by", now, code="referral.contact_by.staff"
    )
    return r
