"""The rolling-horizon job: materialize slots from rules, safe to re-run.

Re-running creates only the missing slots (unique rule/start/end). A rule change that
removes a slot with bookings never drops them: the slot is withdrawn, its active bookings
are flagged `needs_reschedule` and their holders notified.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, insert
from sqlmodel import Session, col, or_, select

from scheduling.holidays import Calendar
from scheduling.models import (
    ACTIVE_STATUSES,
    Booking,
    ScheduleException,
    ScheduleRule,
    Slot,
)
from scheduling.notices import Recipients, booking_notes, recipients_of
from scheduling.places import release_expired_holds
from scheduling.rules import expand
from scheduling.waitlist import offer_freed
from telemed.core.clock import to_shanghai
from telemed.core.ids import uuid7
from telemed.identity.models import User
from telemed.network.models import Institution

log = logging.getLogger("telemed.scheduling.horizon")


@dataclass
class HorizonResult:
    rules: int = 0
    created: int = 0
    updated: int = 0
    withdrawn: int = 0
    deleted: int = 0
    flagged_bookings: int = 0
    uncovered_years: list[int] = field(default_factory=list)


def materialize(
    *,
    session: Session,
    now: datetime,
    horizon_days: int = 28,
    rule_ids: list[uuid.UUID] | None = None,
    fresh: bool = False,
) -> HorizonResult:
    """Bring the slots of (the given, else all) rules in line with the rules up to the horizon."""
    result = HorizonResult()
    first_day = to_shanghai(now).date()
    last_day = first_day + timedelta(days=horizon_days)
    stmt = select(ScheduleRule)
    if rule_ids is not None:
        stmt = stmt.where(col(ScheduleRule.id).in_(rule_ids))
    rules = list(session.execute(stmt).scalars())
    if not rules:
        return result
    calendar = Calendar.load(session=session, start=first_day, end=last_day)
    for year in calendar.uncovered_years(first_day, last_day):
        log.warning(
            "holiday calendar: %s is past the built-in calendar and has no entered days; "
            "only 元旦/劳动节/国庆节 are days off. Enter the State Council's notice for %s "
            "(春节, 清明, 端午, 中秋 and 调休) with POST /api/v1/holidays",
            year,
            year,
        )
        result.uncovered_years.append(year)
    inst_ids = {r.institution_id for r in rules}
    insts = {
        i.id: i
        for i in session.execute(
            select(Institution).where(col(Institution.id).in_(inst_ids))
        ).scalars()
    }
    doc_ids = {r.specialist_id for r in rules if r.specialist_id}
    docs = (
        {u.id: u for u in session.execute(select(User).where(col(User.id).in_(doc_ids))).scalars()}
        if doc_ids
        else {}
    )
    leave, extra = _exceptions(session, rules, now, last_day)
    new_rows: list[dict[str, object]] = []
    for rule in rules:
        result.rules += 1
        wanted = (
            expand(
                rule,
                first_day=first_day,
                last_day=last_day,
                calendar=calendar,
                leave=leave.get(rule.id, []),
                extra=extra.get(rule.id, []),
            )
            if rule.active
            else []
        )
        wanted = [w for w in wanted if w.start_at > now]
        existing = (
            {}
            if fresh  # rules just inserted in bulk have no slots yet (demo seed)
            else {
                (s.start_at, s.end_at): s
                for s in session.execute(
                    select(Slot).where(Slot.rule_id == rule.id, col(Slot.start_at) > now)
                ).scalars()
            }
        )
        inst = insts[rule.institution_id]
        doc = docs.get(rule.specialist_id) if rule.specialist_id else None
        for w in wanted:
            slot = existing.pop((w.start_at, w.end_at), None)
            if slot is None:
                new_rows.append(
                    {
                        "id": uuid7(),
                        "rule_id": rule.id,
                        "institution_id": rule.institution_id,
                        "specialist_id": rule.specialist_id,
                        "resource_name": rule.resource_name,
                        "specialty_code": rule.specialty_code,
                        "service_class": rule.service_class,
                        "title": doc.title if doc else None,
                        "league_code": inst.league_code,
                        "tier": inst.tier,
                        "institution_name": inst.name_zh,
                        "specialist_name": doc.full_name if doc else rule.resource_name,
                        "start_at": w.start_at,
                        "end_at": w.end_at,
                        "capacity": rule.capacity,
                        "reserved": w.reserved,
                        "release_at": w.release_at,
                        "booked": 0,
                        "reserved_booked": 0,
                        "status": "active",
                        "created_at": now,
                    }
                )
                continue
            capacity = max(rule.capacity, slot.booked)  # never below what is booked
            reserved = max(min(w.reserved, capacity), slot.reserved_booked)
            changed = (
                slot.status != "active"
                or slot.capacity != capacity
                or slot.reserved != reserved
                or slot.release_at != w.release_at
                or slot.service_class != rule.service_class
            )
            if changed:
                slot.status = "active"
                slot.capacity = capacity
                slot.reserved = reserved
                slot.release_at = w.release_at
                slot.service_class = rule.service_class
                slot.specialty_code = rule.specialty_code
                result.updated += 1
        for slot in existing.values():
            if slot.status != "active":
                continue
            has_rows = session.execute(
                select(Booking.id).where(Booking.slot_id == slot.id).limit(1)
            ).first()
            if has_rows is None:
                session.execute(delete(Slot).where(col(Slot.id) == slot.id))
                result.deleted += 1
                continue
            slot.status = "withdrawn"
            result.withdrawn += 1
            result.flagged_bookings += _flag_bookings(session, slot, now)
    session.flush()
    if new_rows:
        for i in range(0, len(new_rows), 5000):
            # Core insert: the ORM bulk path costs more than the database here.
            session.connection().execute(insert(Slot.__table__), new_rows[i : i + 5000])  # type: ignore[attr-defined]
        result.created = len(new_rows)
    return result


def _exceptions(
    session: Session, rules: list[ScheduleRule], now: datetime, last_day: date
) -> tuple[
    dict[uuid.UUID, list[tuple[datetime, datetime]]],
    dict[uuid.UUID, list[tuple[datetime, datetime]]],
]:
    rule_ids = [r.id for r in rules]
    by_doc: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for r in rules:
        if r.specialist_id:
            by_doc[r.specialist_id].append(r.id)
    rows = session.execute(
        select(ScheduleException).where(
            col(ScheduleException.end_at) > now,
            or_(
                col(ScheduleException.rule_id).in_(rule_ids),
                col(ScheduleException.specialist_id).in_(list(by_doc)),
            ),
        )
    ).scalars()
    leave: dict[uuid.UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    extra: dict[uuid.UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    for ex in rows:
        targets = (
            [ex.rule_id] if ex.rule_id else by_doc.get(ex.specialist_id or uuid.UUID(int=0), [])
        )
        for rid in targets:
            (leave if ex.kind == "leave" else extra)[rid].append((ex.start_at, ex.end_at))
    return leave, extra


def _flag_bookings(session: Session, slot: Slot, now: datetime) -> int:
    """Flag the active bookings of a withdrawn slot and tell their holders."""
    rows = list(
        session.execute(
            select(Booking).where(
                Booking.slot_id == slot.id, col(Booking.status).in_(ACTIVE_STATUSES)
            )
        ).scalars()
    )
    known = recipients_of(session, (b.patient_id for b in rows))  # once for the slot
    for b in rows:
        b.needs_reschedule = True
        for note in booking_notes(
            session,
            b,
            kind="booking.needs_reschedule",
            data={"booking_id": str(b.id), "slot_id": str(slot.id)},
            now=now,
            known=known.get(b.patient_id) if b.patient_id is not None else Recipients(),
        ):
            session.add(note)
    return len(rows)


def expire_holds(*, session: Session, now: datetime) -> int:
    """Release every expired hold (the booking path also does it per slot, under its lock)
    and offer the freed places to the waitlist, in order (a lapsed offer moves on)."""
    slot_ids = [
        sid
        for (sid,) in session.execute(
            select(Booking.slot_id)
            .where(Booking.status == "pending", col(Booking.hold_expires_at) <= now)
            .distinct()
        ).all()
    ]
    n = 0
    for sid in slot_ids:
        slot = session.execute(
            select(Slot).where(Slot.id == sid).with_for_update(key_share=True)
        ).scalar_one()
        freed = release_expired_holds(session=session, slot=slot, now=now)
        n += freed
        offer_freed(session=session, slot=slot, now=now, places=freed)
    return n


__all__ = ["HorizonResult", "expire_holds", "materialize"]
