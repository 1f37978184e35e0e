"""Home visits (上门服务) a resident or their team asks for, and the helpers the home
services share (the team's staff, the resident's contracted team, the audit row)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime

from sqlmodel import Session, col, select

from referrals import booking
from referrals.family.changes import record_change
from referrals.family.contract_queries import active_contract_for
from referrals.family.models import HomeVisitRequest
from referrals.family.states import HOME_VISIT, HOME_VISIT_OPEN, next_or
from referrals.family.teams import get_team, is_member, teams_of_user
from telemed.core import audit
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.targets import Access
from telemed.identity import permissions
from telemed.identity.models import Role, User


def require_team_staff(session: Session, user: User, team_id: uuid.UUID) -> None:
    if not is_member(session=session, user=user, team_id=team_id):
        raise Forbidden("only members of the resident's team do this", code="not_team_member")


def contracted_team(session: Session, patient_id: uuid.UUID) -> uuid.UUID:
    contract = active_contract_for(session=session, patient_id=patient_id)
    if contract is None:
        raise Conflict(
            "home services need an active family-doctor contract", code="no_active_contract"
        )
    return contract.team_id


def request_home_visit(
    *,
    session: Session,
    patient_id: uuid.UUID,
    by: User,
    now: datetime,
    reason: str,
    preferred_date: date | None,
) -> HomeVisitRequest:
    """The resident (in the app) or a team member asks for a home visit."""
    permissions.require_patient_read(session, by, patient_id)  # 404 to outsiders
    team_id = contracted_team(session, patient_id)
    if by.role == Role.PATIENT:
        if by.patient_id != patient_id:
            raise NotFound(f"patient {patient_id} not found")
    else:
        require_team_staff(session, by, team_id)
    req = HomeVisitRequest(
        patient_id=patient_id,
        team_id=team_id,
        requested_by_id=by.id,
        reason=reason,
        preferred_date=preferred_date,
        created_at=now,
    )
    session.add(req)
    session.flush()
    record_change(session, by, "request", req, now=now)
    return req


def _visible(session: Session, user: User, req: HomeVisitRequest) -> bool:
    """The resident themself, members of the request's team, admins."""
    return (
        user.role == Role.ADMIN
        or (user.role == Role.PATIENT and user.patient_id == req.patient_id)
        or is_member(session=session, user=user, team_id=req.team_id)
    )


def booking_reference_access(session: Session, user: User, visit_id: uuid.UUID) -> Access:
    """Booking-reference resolver for scheduling: members of the request's team book for a
    home visit that is still requested (or scheduled, to rebook)."""
    req = session.get(HomeVisitRequest, visit_id)
    if req is None:
        return Access.MISSING
    if not _visible(session, user, req):
        return Access.HIDDEN
    if not is_member(session=session, user=user, team_id=req.team_id):
        return Access.READ_ONLY
    return Access.WRITE if req.status in HOME_VISIT_OPEN else Access.CLOSED


def get_home_visit(*, session: Session, visit_id: uuid.UUID, user: User) -> HomeVisitRequest:
    req = session.get(HomeVisitRequest, visit_id)
    return audit.visible_or_404(
        session,
        user,
        req,
        visible=req is not None and _visible(session, user, req),
        object_type="home_visit",
        ident=visit_id,
        label="home visit",
        reason="neither the patient nor a member of their team",
    )


def home_visits_for(
    *, session: Session, patient_id: uuid.UUID, user: User
) -> list[HomeVisitRequest]:
    """A resident's home visits the user may see (their own, or their team's), newest first."""
    if user.role == Role.PATIENT and user.patient_id != patient_id:
        raise NotFound(f"patient {patient_id} not found")
    rows = list(
        session.execute(
            select(HomeVisitRequest)
            .where(HomeVisitRequest.patient_id == patient_id)
            .order_by(col(HomeVisitRequest.created_at).desc())
        ).scalars()
    )
    if user.role in (Role.ADMIN, Role.PATIENT):  # a patient: their own (checked above)
        return rows
    mine = set(teams_of_user(session=session, user_id=user.id))  # once, not per visit
    return [r for r in rows if r.team_id in mine]


def home_visits_of_residents(
    *, session: Session, residents: Iterable[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], list[HomeVisitRequest]]:
    """The home visits of each (team, resident) pair, newest first, in one query."""
    pairs = list(dict.fromkeys(residents))
    out: dict[tuple[uuid.UUID, uuid.UUID], list[HomeVisitRequest]] = {p: [] for p in pairs}
    if pairs:
        rows = session.execute(
            select(HomeVisitRequest)
            .where(
                col(HomeVisitRequest.team_id).in_({t for t, _ in pairs}),
                col(HomeVisitRequest.patient_id).in_({p for _, p in pairs}),
            )
            .order_by(col(HomeVisitRequest.created_at).desc())
        ).scalars()
        for req in rows:
            found = out.get((req.team_id, req.patient_id))
            if found is not None:
                found.append(req)
    return out


def schedule_home_visit(
    *,
    session: Session,
    req: HomeVisitRequest,
    by: User,
    now: datetime,
    slot_id: uuid.UUID | None,
    scheduled_at: datetime | None,
) -> HomeVisitRequest:
    """Schedule through a `home_visit` slot of the scheduling service (or a given time)."""
    require_team_staff(session, by, req.team_id)
    target = next_or(
        HOME_VISIT,
        req.status,
        "schedule",
        Conflict(f"home visit is {req.status}", code="not_requested"),
    )
    if slot_id is not None:
        b = booking.book_slot(
            session=session,
            slot_id=slot_id,
            by=by,
            patient_id=req.patient_id,
            now=now,
            reference_type="home_visit",
            reference_id=req.id,
            institution_id=get_team(session=session, team_id=req.team_id).institution_id,
        )
        req.booking_id = b.booking_id
        req.scheduled_at = b.start_at
    elif scheduled_at is not None:
        req.scheduled_at = scheduled_at
    else:
        raise Invalid("give slot_id or scheduled_at", field="slot_id")
    req.status = target
    session.flush()
    record_change(session, by, "schedule", req, now=now)
    return req


def finish_home_visit(
    *, session: Session, req: HomeVisitRequest, by: User, now: datetime, done: bool
) -> HomeVisitRequest:
    """Mark a home visit done (team) or cancel it (team or the resident)."""
    if by.role == Role.PATIENT and not done and by.patient_id == req.patient_id:
        pass
    else:
        require_team_staff(session, by, req.team_id)
    if req.status not in HOME_VISIT_OPEN:
        raise Conflict(f"home visit is {req.status}", code="visit_finished")
    action = "done" if done else "cancel"
    req.status = next_or(
        HOME_VISIT, req.status, action, Conflict("schedule the visit first", code="not_scheduled")
    )
    req.done_at = now
    session.flush()
    record_change(session, by, action, req, now=now)
    return req


def open_home_visits(*, session: Session, team_id: uuid.UUID) -> list[HomeVisitRequest]:
    return list(
        session.execute(
            select(HomeVisitRequest)
            .where(
                HomeVisitRequest.team_id == team_id,
                col(HomeVisitRequest.status).in_(HOME_VISIT_OPEN),
            )
            .order_by(col(HomeVisitRequest.created_at))
        ).scalars()
    )
