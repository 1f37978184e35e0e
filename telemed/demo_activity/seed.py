"""The entry point: `seed_activity` replays the month once; `has_activity` tells whether it ran."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session, col, select

from telemed.core import clock
from telemed.core.settings import Settings
from telemed.demo_activity.appointments import start_bookings
from telemed.demo_activity.cast import find_cast
from telemed.demo_activity.consultations import consultation_story
from telemed.demo_activity.county_pacs import register_county_pacs
from telemed.demo_activity.patients import patient_spec
from telemed.demo_activity.plans import plans
from telemed.demo_activity.referrals import referral_story
from telemed.demo_activity.simulation import DAYS, RANDOM_SEED, Sim, Story
from telemed.identity import resident_id as rid
from telemed.identity.models import Patient
from telemed.network.models import Institution


def has_activity(session: Session, settings: Settings) -> bool:
    """True when this seeder ran already (its first demo patient is registered)."""
    counties = session.execute(
        select(Institution.county_code).where(
            Institution.tier == "county", col(Institution.county_code).is_not(None)
        )
    ).scalars()
    key = settings.security.secret_key
    marks = [rid.fingerprint(patient_spec(0, cc).resident_id, key=key) for cc in counties if cc]
    if not marks:
        return False
    first = select(Patient.id).where(col(Patient.resident_id_hash).in_(marks)).limit(1)
    return session.execute(first).first() is not None


def seed_activity(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> dict[str, int]:
    """Replay ~30 days of consultations and referrals up to `now`; idempotent."""
    now = now or clock.now()
    if has_activity(session, settings):
        register_county_pacs(session)
        return {"consultations": 0, "referrals": 0, "patients": 0, "bookings": 0}
    rng = random.Random(RANDOM_SEED)
    cast = find_cast(session, rng)
    if cast is None:
        return {"consultations": 0, "referrals": 0, "patients": 0, "bookings": 0}
    start = now - timedelta(days=DAYS)
    cons, refs = plans(cast, rng, start, now)
    sim = Sim(session=session, settings=settings, now=now, rng=rng)
    # stories start in time order, so patients are registered in a stable order
    starts: list[tuple[datetime, int, Callable[[], Story]]] = [
        (cp.at, i, partial(consultation_story, sim, cp)) for i, cp in enumerate(cons)
    ]
    starts += [
        (rp.at, len(cons) + j, partial(referral_story, sim, rp)) for j, rp in enumerate(refs)
    ]
    for _, _, make in sorted(starts, key=lambda x: (x[0], x[1])):
        sim.start(make())
    start_bookings(sim, cast, start)
    sim.run()
    register_county_pacs(session)  # after the month: its opinions were sent nowhere
    return {
        "consultations": sim.consultations,
        "referrals": sim.referrals,
        "patients": sim.patients,
        "bookings": sim.bookings,
    }
