"""Schedule administration: weekly rules and their exceptions (leave, extra sessions)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from scheduling.horizon import HorizonResult, materialize
from scheduling.models import ScheduleException, ScheduleRule
from scheduling.rules import parse_weekdays
from scheduling.schemas import ExceptionCreate, RuleCreate, RuleUpdate
from telemed.core.clock import to_shanghai
from telemed.core.db import get_or_404
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.settings import get_settings
from telemed.identity.models import Role, User
from telemed.network.models import Institution


def _horizon_days() -> int:
    return get_settings().scheduling.horizon_days


def _require_scheduler(user: User, institution_id: uuid.UUID) -> None:
    if user.role == Role.ADMIN:
        return
    if user.role == Role.COORDINATOR and user.institution_id == institution_id:
        return
    raise Forbidden("only coordinators of the hospital manage its schedules")


def _check_overlap(session: Session, rule: ScheduleRule) -> None:
    if rule.specialist_id is None or not rule.active:
        return
    days = parse_weekdays(rule.weekdays)
    others = session.execute(
        select(ScheduleRule).where(
            ScheduleRule.specialist_id == rule.specialist_id,
            ScheduleRule.active == True,  # noqa: E712
            ScheduleRule.id != rule.id,
        )
    ).scalars()
    for other in others:
        if not days & parse_weekdays(other.weekdays):
            continue
        if not (rule.start_time < other.end_time and other.start_time < rule.end_time):
            continue
        if rule.valid_to is not None and rule.valid_to < other.valid_from:
            continue
        if other.valid_to is not None and other.valid_to < rule.valid_from:
            continue
        raise Conflict(
            f"overlaps rule {other.id} of the same specialist",
            code="rule_overlap",
            rule_id=str(other.id),
        )


def create_rule(*, session: Session, data: RuleCreate, by: User, now: datetime) -> ScheduleRule:
    """Create a weekly rule (validated, no overlap per specialist) and materialize its slots."""
    specialist = session.get(User, data.specialist_id) if data.specialist_id else None
    if data.specialist_id and specialist is None:
        raise NotFound(f"user {data.specialist_id} not found")
    institution_id = data.institution_id or (specialist.institution_id if specialist else None)
    if institution_id is None or session.get(Institution, institution_id) is None:
        raise Invalid("unknown institution", field="institution_id")
    if specialist is not None and specialist.institution_id != institution_id:
        raise Invalid("the specialist works at another institution", field="specialist_id")
    _require_scheduler(by, institution_id)
    specialty = data.specialty_code or (specialist.specialty_code if specialist else None)
    if not specialty:
        raise Invalid("specialty_code is required for a resource", field="specialty_code")
    today = to_shanghai(now).date()
    valid_from = data.valid_from or today
    if valid_from < today:
        raise Invalid("valid_from is in the past", field="valid_from")
    rule = ScheduleRule(
        institution_id=institution_id,
        specialist_id=data.specialist_id,
        resource_name=data.resource_name,
        specialty_code=specialty,
        service_class=data.service_class,
        weekdays=",".join(str(d) for d in data.weekdays),
        start_time=data.start_time,
        end_time=data.end_time,
        slot_minutes=data.slot_minutes,
        capacity=data.capacity,
        reserved_share=data.reserved_share,
        release_hours_before=data.release_hours_before,
        valid_from=valid_from,
        valid_to=data.valid_to,
        follow_holidays=data.follow_holidays,
        created_by_id=by.id,
        created_at=now,
        updated_at=now,
    )
    _check_overlap(session, rule)
    session.add(rule)
    session.flush()
    materialize(session=session, now=now, horizon_days=_horizon_days(), rule_ids=[rule.id])
    return rule


def get_rule(*, session: Session, rule_id: uuid.UUID) -> ScheduleRule:
    rule = get_or_404(session, ScheduleRule, rule_id, "schedule rule")
    return rule


def update_rule(
    *, session: Session, rule_id: uuid.UUID, data: RuleUpdate, by: User, now: datetime
) -> tuple[ScheduleRule, HorizonResult]:
    """Change a rule; slots follow, bookings on removed slots are flagged, never dropped."""
    rule = get_rule(session=session, rule_id=rule_id)
    _require_scheduler(by, rule.institution_id)
    changes = data.model_dump(exclude_unset=True)
    if "weekdays" in changes and changes["weekdays"] is not None:
        days = changes.pop("weekdays")
        if not days or any(d < 0 or d > 6 for d in days):
            raise Invalid("weekdays are 0 (Monday) to 6 (Sunday)", field="weekdays")
        rule.weekdays = ",".join(str(d) for d in sorted(set(days)))
    for name, value in changes.items():
        if value is not None or name == "valid_to":
            setattr(rule, name, value)
    if rule.end_time <= rule.start_time:
        raise Invalid("end_time must be after start_time", field="end_time")
    rule.version += 1
    rule.updated_at = now
    _check_overlap(session, rule)
    session.flush()
    result = materialize(session=session, now=now, horizon_days=_horizon_days(), rule_ids=[rule.id])
    return rule, result


def list_rules(
    *,
    session: Session,
    institution_id: uuid.UUID | None = None,
    specialist_id: uuid.UUID | None = None,
) -> list[ScheduleRule]:
    stmt = select(ScheduleRule)
    if institution_id:
        stmt = stmt.where(ScheduleRule.institution_id == institution_id)
    if specialist_id:
        stmt = stmt.where(ScheduleRule.specialist_id == specialist_id)
    return list(session.execute(stmt.order_by(col(ScheduleRule.created_at)).limit(500)).scalars())


def add_exception(
    *, session: Session, data: ExceptionCreate, by: User, now: datetime
) -> tuple[ScheduleException, HorizonResult]:
    """Record leave or an extra session and re-materialize the rules it touches."""
    if data.end_at <= now:
        raise Invalid("the exception is in the past", field="end_at")
    if data.rule_id:
        rule = get_rule(session=session, rule_id=data.rule_id)
        institution_id = rule.institution_id
        rule_ids = [rule.id]
    else:
        doc = session.get(User, data.specialist_id)
        if doc is None or doc.institution_id is None:
            raise NotFound(f"user {data.specialist_id} not found")
        institution_id = doc.institution_id
        rule_ids = [r.id for r in list_rules(session=session, specialist_id=doc.id)]
    _require_scheduler(by, institution_id)
    ex = ScheduleException(
        kind=data.kind,
        institution_id=institution_id,
        rule_id=data.rule_id,
        specialist_id=data.specialist_id,
        start_at=data.start_at,
        end_at=data.end_at,
        reason=data.reason,
        created_by_id=by.id,
        created_at=now,
    )
    session.add(ex)
    session.flush()
    result = materialize(session=session, now=now, horizon_days=_horizon_days(), rule_ids=rule_ids)
    return ex, result
