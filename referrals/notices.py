"""Who hears of a referral's changes, and what they are told (in-app messages, the
patient's SMS); everyone in their own language (referrals.messages)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from referrals import policy
from referrals.access import can_see_referral
from referrals.family.contract_queries import patient_user_ids
from referrals.messages import DIRECTIONS, MESSAGES, STATUSES, URGENCIES
from referrals.models import CarePlanTask, Referral
from telemed.core import notifications
from telemed.core.i18n import Term, render
from telemed.identity import service as identity_service
from telemed.identity.models import Role, User


def notify(
    session: Session,
    user_ids: list[uuid.UUID],
    r: Referral,
    kind: str,
    now: datetime,
    *,
    code: str | None = None,
    texted: bool = False,
    reason: str | None = None,
    **params: object,
) -> None:
    """In-app messages to `user_ids`, each rendered from message `code` (default: `kind`)
    in the recipient's language; with `texted` also the one SMS of the event to the
    referral's patient (with or without an account), sent if the patient consented (the
    template of `kind` in telemed.core.sms), in the patient's language. `date` is the
    contact date and `reason` the staff's own words unless given. Each in-app message
    links to the referral, and carries its `patient_id` to those who may see it (the inbox
    shows the name through the audited patient read)."""
    data = {"referral_id": str(r.id), "status": r.status}
    linked = {**data, "link": {"kind": "referral", "id": str(r.id)}}
    readers = _readers(session, list(dict.fromkeys(user_ids)), r)
    named = {**linked, "patient_id": str(r.patient_id)}
    used = code or kind
    values: dict[str, object] = {"date": r.contact_by, "reason": reason or "", **params}
    languages = identity_service.user_languages(session=session, user_ids=user_ids)
    for uid in dict.fromkeys(user_ids):
        told = render(MESSAGES, used, languages.get(uid), **values)
        notifications.enqueue(
            session=session,
            user_id=uid,
            kind=kind,
            code=used,
            params=values,
            title=told.title,
            body=told.body,
            data=named if uid in readers else linked,
            now=now,
        )
    if texted:
        language = identity_service.patient_language(session=session, patient_id=r.patient_id)
        told = render(MESSAGES, used, language, **values)
        notifications.text_patient(
            session=session,
            patient_id=r.patient_id,
            kind=kind,
            code=used,
            params=values,
            title=told.title,
            body=told.body,
            data=data,
            now=now,
        )


def status_term(status: str) -> Term:
    """A referral's state as a message parameter (已接收 / accepted)."""
    return Term(STATUSES, status)


def _readers(session: Session, user_ids: list[uuid.UUID], r: Referral) -> set[uuid.UUID]:
    """Those of `user_ids` who may see `r` (and so learn whose it is)."""
    if not user_ids:
        return set()
    users = session.execute(select(User).where(col(User.id).in_(user_ids))).scalars()
    return {u.id for u in users if can_see_referral(session=session, user=u, referral=r)}


def receiver_staff(session: Session, r: Referral) -> list[uuid.UUID]:
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


def announce(session: Session, r: Referral, action: str, now: datetime, reason: str | None) -> None:
    """Tell the parties what `action` changed for them."""
    patients = patient_user_ids(session=session, patient_id=r.patient_id)
    if action == "submit":
        notify(
            session,
            receiver_staff(session, r),
            r,
            "referral.requested",
            now,
            code="referral.requested.staff",
            direction=Term(DIRECTIONS, r.direction),
            urgency=Term(URGENCIES, r.urgency),
        )
        kind = "referral.referred_down" if r.direction == "down" else "referral.requested"
        notify(session, patients, r, kind, now, texted=True)
    elif action in ("accept", "reject", "return_with_advice", "book", "complete", "cancel"):
        kind = f"referral.{r.status}"
        notify(
            session,
            [r.from_doctor_id],
            r,
            kind,
            now,
            code="referral.status.staff",
            reason=reason,
            status=status_term(r.status),
        )
        # The patient is texted what changes for them; a slot booking is texted by
        # scheduling (`booking.confirmed`, with time and place), so not twice.
        texted = action in ("accept", "reject", "return_with_advice", "cancel") or (
            action == "book" and r.booking_id is None
        )
        notify(session, patients, r, kind, now, texted=texted, reason=reason)
    if action == "complete":
        notify(
            session, [r.from_doctor_id], r, "referral.outcome", now, code="referral.outcome.staff"
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
