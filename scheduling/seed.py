"""Demo schedules: every network hospital's doctors get weekly rules and materialized slots.

Bulk inserts keep the whole demo seed fast (rules in one statement, slots through the
horizon job's batched insert).
"""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import insert
from sqlmodel import Session, col, select

from scheduling.horizon import materialize
from scheduling.models import ScheduleRule
from telemed.core import clock
from telemed.core.clock import to_shanghai
from telemed.core.ids import uuid7
from telemed.core.settings import Settings
from telemed.identity.models import Role, User

SEED_DAYS = 21  # the demo's next three weeks; the horizon job extends to the full horizon

# (service class, weekdays, start, end, minutes, capacity, reserved share)
PATTERNS = [
    ("outpatient", "0,2,4", time(8, 30), time(11, 30), 30, 1, 0.2),
    ("consultation", "1,3", time(14, 30), time(17, 0), 30, 1, 0.0),
]
SPECIALIST_PATTERNS = [
    ("outpatient", "0,1,2,3,4", time(8, 0), time(11, 30), 30, 1, 0.2),
    ("consultation", "0,1,2,3,4", time(14, 0), time(17, 0), 30, 1, 0.0),
    ("mdt", "3", time(17, 0), time(18, 0), 60, 5, 0.0),
]
# ECG readers and pathologists (telemed/seed.py `_seed_readers`) read on weekdays
READER_SPECIALTIES = ("electrophysiology", "pathology")
READERS = ("pathologist", "ecg-reader")
READER_PATTERNS = [
    ("imaging_reading", "0,1,2,3,4", time(8, 0), time(12, 0), 30, 2, 0.0),
    ("imaging_reading", "0,1,2,3,4", time(14, 0), time(17, 30), 30, 2, 0.0),
]


def seed_demo(session: Session, settings: Settings) -> dict[str, int]:
    """Schedules for `dr-*`, `reader-*` and the named demo doctors; idempotent."""
    if session.execute(select(ScheduleRule.id).limit(1)).first() is not None:
        return {"rules": 0, "slots": 0}
    now = clock.now()
    today = to_shanghai(now).date()
    doctors = session.execute(
        select(User).where(
            col(User.role).in_([Role.SPECIALIST, Role.COUNTY_DOCTOR]),
            col(User.institution_id).is_not(None),
            col(User.specialty_code).is_not(None),
            (col(User.username).startswith("dr-"))
            | (col(User.username).startswith("reader-"))
            | col(User.username).in_(["specialist", "specialist2", *READERS]),
        )
    ).scalars()
    rows = []
    for doc in doctors:
        patterns = SPECIALIST_PATTERNS if not doc.username.startswith("dr-") else PATTERNS
        if doc.username.startswith("reader-") or doc.username in READERS:
            patterns = READER_PATTERNS  # they read, they do not see patients
        elif doc.specialty_code in READER_SPECIALTIES and doc.role == Role.SPECIALIST:
            patterns = [*patterns, *READER_PATTERNS]
        for svc, days, start, end, minutes, cap, share in patterns:
            rows.append(
                {
                    "id": uuid7(),
                    "institution_id": doc.institution_id,
                    "specialist_id": doc.id,
                    "resource_name": None,
                    "specialty_code": doc.specialty_code,
                    "service_class": svc,
                    "weekdays": days,
                    "start_time": start,
                    "end_time": end,
                    "slot_minutes": minutes,
                    "capacity": cap,
                    "reserved_share": share,
                    "release_hours_before": 48,
                    "valid_from": today - timedelta(days=1),
                    "valid_to": None,
                    "follow_holidays": True,
                    "active": True,
                    "version": 1,
                    "created_by_id": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if rows:
        session.execute(insert(ScheduleRule), rows)
    result = materialize(session=session, now=now, horizon_days=SEED_DAYS, fresh=True)
    session.flush()
    return {"rules": len(rows), "slots": result.created}
