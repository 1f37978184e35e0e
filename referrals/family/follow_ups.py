"""Follow-ups of chronic packages (随访): the term's schedule, recording one, the overdue."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from referrals.family.contract_queries import packages_of, today
from referrals.family.models import Contract, ContractStatus, FollowUp, ServicePackage
from referrals.family.teams import is_member
from telemed.core import audit
from telemed.core.errors import Conflict
from telemed.identity.models import Role, User


def generate_follow_ups(*, session: Session, contract: Contract) -> list[FollowUp]:
    """The follow-up schedule of the term for every chronic package of the contract."""
    rows = []
    for code in packages_of(session=session, contract_id=contract.id):
        pkg = session.get(ServicePackage, code)
        if pkg is None or not pkg.follow_up_interval_days:
            continue
        due = contract.term_start + timedelta(days=pkg.follow_up_interval_days)
        while due <= contract.term_end:
            row = FollowUp(
                contract_id=contract.id,
                team_id=contract.team_id,
                patient_id=contract.patient_id,
                package_code=code,
                due_on=due,
            )
            session.add(row)
            rows.append(row)
            due += timedelta(days=pkg.follow_up_interval_days)
    session.flush()
    return rows


def follow_ups_of(*, session: Session, contract_id: uuid.UUID) -> list[FollowUp]:
    return list(
        session.execute(
            select(FollowUp)
            .where(FollowUp.contract_id == contract_id)
            .order_by(col(FollowUp.due_on))
        ).scalars()
    )


def complete_follow_up(
    *,
    session: Session,
    follow_up_id: uuid.UUID,
    by: User,
    now: datetime,
    notes: str,
    measurements: dict[str, Any],
) -> FollowUp:
    found = session.get(FollowUp, follow_up_id)
    fu = audit.visible_or_404(
        session,
        by,
        found,
        visible=found is not None
        and (by.role == Role.ADMIN or is_member(session=session, user=by, team_id=found.team_id)),
        object_type="follow_up",
        ident=follow_up_id,
        label="follow-up",
        reason="not a member of the resident's team",
    )
    if fu.done_at is not None:
        raise Conflict("follow-up already recorded", code="already_done")
    fu.done_at = now
    fu.done_by_id = by.id
    fu.notes = notes
    fu.measurements = measurements
    session.flush()
    audit.record(
        session=session,
        by=by,
        action="done",
        object_type="follow_up",
        object_id=fu.id,
        patient_id=fu.patient_id,
        detail={"contract_id": str(fu.contract_id)},
        at=now,
    )
    return fu


def overdue_follow_ups(*, session: Session, team_id: uuid.UUID, now: datetime) -> list[FollowUp]:
    return list(
        session.execute(
            select(FollowUp)
            .join(Contract, col(Contract.id) == FollowUp.contract_id)
            .where(
                FollowUp.team_id == team_id,
                col(FollowUp.done_at).is_(None),
                FollowUp.due_on < today(now),
                Contract.status == ContractStatus.ACTIVE,
            )
            .order_by(col(FollowUp.due_on))
        ).scalars()
    )
