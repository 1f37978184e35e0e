"""Lists of referrals (the caller's, the receiver's worklist), breach escalation, and the
care plans referrals hand to family-doctor teams."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from referrals.events import record_event
from referrals.family.contract_queries import patient_user_ids
from referrals.family.follow_ups import overdue_follow_ups
from referrals.family.home_beds import beds_due
from referrals.family.home_visits import open_home_visits
from referrals.family.models import (
    Contract,
    FamilyDoctorTeam,
    FollowUp,
    HomeSickBed,
    HomeVisitRequest,
)
from referrals.family.teams import is_member, teams_of_user
from referrals.models import CarePlanTask, Referral
from referrals.notices import notify, receiver_staff
from referrals.states import WAITING
from telemed.core import audit
from telemed.core.errors import Conflict
from telemed.identity.models import Role, User


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
        team_ids = teams_of_user(session=session, user_id=user.id)
        if role == "sent":
            stmt = stmt.where(sent)
        elif role == "received":
            stmt = stmt.where(received)
        else:
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
        record_event(
            session,
            r,
            "escalate",
            r.status,
            r.status,
            None,
            now,
            None,
            {
                "reason_code": "contact_date_passed",
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
        notify(
            session,
            [*receiver_staff(session, r), *coords, r.from_doctor_id],
            r,
            "referral.breach",
            now,
            code="referral.breach.staff",
            level=r.escalation_level,
        )
        if r.escalation_level == 1:  # the patient hears once that the receiver was chased
            notify(
                session,
                patient_user_ids(session=session, patient_id=r.patient_id),
                r,
                "referral.overdue",
                now,
                texted=True,
            )
        n += 1
    session.flush()
    return n


def care_plans_of_team(*, session: Session, team_id: uuid.UUID) -> list[CarePlanTask]:
    """The team's care plans not yet taken up, oldest first."""
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
    """A member of the resident's team takes up a care plan (once)."""
    found = session.get(CarePlanTask, task_id)
    task = audit.visible_or_404(
        session,
        by,
        found,
        visible=found is not None and is_member(session=session, user=by, team_id=found.team_id),
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


@dataclass(frozen=True)
class TeamWork:
    """What a family-doctor team must do (its worklist)."""

    overdue_follow_ups: list[FollowUp]
    care_plans: list[CarePlanTask]
    home_visits: list[HomeVisitRequest]
    home_beds_due: list[tuple[HomeSickBed, datetime]]
    waiting_referrals: list[Referral]

    def patient_ids(self) -> set[uuid.UUID]:
        """Every patient the worklist names."""
        return {
            *(f.patient_id for f in self.overdue_follow_ups),
            *(p.patient_id for p in self.care_plans),
            *(v.patient_id for v in self.home_visits),
            *(b.patient_id for b, _ in self.home_beds_due),
            *(r.patient_id for r in self.waiting_referrals),
        }


def team_work(*, session: Session, team: FamilyDoctorTeam, now: datetime) -> TeamWork:
    """Overdue follow-ups, care plans from referrals, open home visits, home sick beds due a
    visit, referrals waiting at the team's institution."""
    return TeamWork(
        overdue_follow_ups=overdue_follow_ups(session=session, team_id=team.id, now=now),
        care_plans=care_plans_of_team(session=session, team_id=team.id),
        home_visits=open_home_visits(session=session, team_id=team.id),
        home_beds_due=beds_due(session=session, team_id=team.id, now=now),
        waiting_referrals=receiver_worklist(session=session, institution_id=team.institution_id),
    )
