"""Appointments: a month of bookings on a few league specialists' slots (attended or
missed), and this week booked out for some of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from scheduling import service as scheduling
from scheduling.horizon import materialize
from scheduling.models import ScheduleRule, Slot
from telemed.core.clock import SHANGHAI
from telemed.core.ids import uuid7
from telemed.demo_activity.cast import Cast, League
from telemed.demo_activity.simulation import DAYS, Sim, Story
from telemed.identity.models import Patient, User
from telemed.network.models import Institution

SCHEDULED_PER_LEAGUE = 2  # league-hospital specialists whose slots the demo books
BOOKED_SHARE = (0.45, 0.85)  # of a specialist's past slots, random per specialist
NOSHOW_SHARE = 0.12
BOOKED_OUT = 2  # specialists booked out this week: the dashboard's overloaded list
PATIENTS_PER_SPECIALIST = 6


def past_slots(session: Session, specialists: list[User], start: datetime, now: datetime) -> None:
    """Slots of the past month for these specialists: their demo weekly rules, valid from
    `start`, copied into rules of their own and materialized from `start` up to `now`."""
    rules = list(
        session.execute(
            select(ScheduleRule).where(
                col(ScheduleRule.specialist_id).in_([u.id for u in specialists]),
                col(ScheduleRule.capacity) == 1,
            )
        ).scalars()
    )
    if not rules:
        return
    rows = []
    for r in rules:
        row = {c.name: getattr(r, c.name) for c in ScheduleRule.__table__.columns}  # type: ignore[attr-defined]
        row.update(
            id=uuid7(),
            valid_from=start.astimezone(SHANGHAI).date(),
            valid_to=now.astimezone(SHANGHAI).date(),
            created_at=start,
            updated_at=start,
        )
        rows.append(row)
    session.execute(insert(ScheduleRule), rows)
    ids = [r["id"] for r in rows]
    materialize(session=session, now=start, horizon_days=DAYS + 1, rule_ids=ids, fresh=True)
    session.execute(delete(Slot).where(col(Slot.rule_id).in_(ids), col(Slot.start_at) >= now))
    session.flush()


def booked_at(sim: Sim, slot: Slot) -> datetime:
    """When the place was booked: up to 40 hours ahead (after a reserved place's release),
    never before the month replayed, and before `now` for the slots still to come."""
    t = slot.start_at - timedelta(hours=sim.rng.uniform(2, 40))
    t = max(t, sim.now - timedelta(days=DAYS))
    return min(t, sim.now - timedelta(minutes=sim.rng.randint(1, 60)))


def booking_story(
    sim: Sim, slot: Slot, booker: User, specialist: User, patient: Callable[[], Patient]
) -> Story:
    """Booked a few days ahead by a county doctor; attended (arrived, fulfilled) or missed."""
    rng = sim.rng
    t = booked_at(sim, slot)
    yield t
    b = scheduling.book(
        session=sim.session, slot_id=slot.id, by=booker, patient_id=patient().id, now=t
    )
    sim.bookings += 1
    if rng.random() < NOSHOW_SHARE:
        t = slot.end_at + timedelta(minutes=rng.randint(5, 120))
        yield t
        scheduling.mark(session=sim.session, booking_id=b.id, action="noshow", by=specialist, now=t)
        return
    t = slot.start_at - timedelta(minutes=rng.randint(0, 20))
    yield t
    scheduling.mark(session=sim.session, booking_id=b.id, action="arrive", by=specialist, now=t)
    t = slot.end_at + timedelta(minutes=rng.randint(0, 30))
    yield t
    scheduling.mark(session=sim.session, booking_id=b.id, action="fulfil", by=specialist, now=t)


def start_bookings(sim: Sim, cast: Cast, start: datetime) -> None:
    """Bookings on the past month's slots of a few league specialists per league, and every
    slot of this week (Asia/Shanghai) of the first `BOOKED_OUT` of them."""
    rng = sim.rng
    chosen: list[tuple[League, User]] = []
    for league in cast.leagues:
        for u in sorted(league.specialists, key=lambda u: u.username)[:SCHEDULED_PER_LEAGUE]:
            chosen.append((league, u))
    past_slots(sim.session, [u for _, u in chosen], start, sim.now)
    today = sim.now.astimezone(SHANGHAI).date()
    monday = datetime.combine(today - timedelta(days=today.weekday()), time(), SHANGHAI)
    week_end = monday + timedelta(days=7)
    for k, (league, specialist) in enumerate(chosen):
        booked_out = k < BOOKED_OUT
        until = week_end if booked_out else sim.now
        slots = sim.session.execute(
            select(Slot)
            .where(
                Slot.specialist_id == specialist.id,
                col(Slot.capacity) == 1,
                col(Slot.status) == "active",
                col(Slot.start_at) >= start,
                col(Slot.start_at) < until,
            )
            .order_by(col(Slot.start_at))
        ).scalars()
        share = rng.uniform(*BOOKED_SHARE)
        county, doctors = league.counties[k % len(league.counties)]
        pool: list[Patient] = []

        def patient(county: Institution = county, pool: list[Patient] = pool) -> Patient:
            # a few patients take turns: one specialist's slots never overlap
            if len(pool) < PATIENTS_PER_SPECIALIST:
                pool.append(sim.patient(county, sim.at or sim.now))
            return pool[sim.bookings % len(pool)]

        for slot in list(slots):
            this_week = slot.start_at >= monday
            if not ((booked_out and this_week) or rng.random() < share):
                continue
            if slot.reserved and slot.start_at > sim.now and slot.release_at > sim.now:
                continue  # kept for family-doctor referrals until its release
            sim.start(booking_story(sim, slot, doctors[0], specialist, patient))
