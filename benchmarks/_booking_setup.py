"""Shared data of the booking benchmarks: patients who book for themselves (accounts with
tokens, as after a login) and one specialist's slots, written in bulk."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta


def make_patients(n: int, *, tag: str = "rush") -> list[str]:
    """`n` patients, each with a patient account and a bearer token; return the tokens."""
    from sqlalchemy import insert
    from sqlmodel import Session, select

    from telemed.core.db import get_engine
    from telemed.core.ids import uuid7
    from telemed.identity.models import AuthToken, Patient, Role, User
    from telemed.identity.security import new_token, token_digest

    now = datetime.now(UTC)
    tokens: list[str] = []
    with Session(get_engine()) as s:
        home = s.execute(select(User).where(User.username == "patient")).scalar_one()
        county = s.get(Patient, home.patient_id)
        assert county is not None
        patients, users, token_rows = [], [], []
        for i in range(n):
            pid, uid = uuid7(), uuid7()
            serial = uuid.uuid4().hex
            patients.append(
                {
                    "id": pid,
                    "name": f"{tag}{i}",
                    "sex": "female" if i % 2 else "male",
                    "birth_date": date(1970 + i % 40, 1 + i % 12, 1 + i % 28),
                    "resident_id_hash": hashlib.sha256(serial.encode()).hexdigest(),
                    "resident_id_masked": "1501**********0000",
                    "phone": f"138{i:08d}"[-11:],
                    "institution_id": county.institution_id,
                    "county_code": county.county_code,
                    "preferred_language": ("zh-CN", "en", None)[i % 3],
                    "created_at": now,
                }
            )
            users.append(
                {
                    "id": uid,
                    "username": f"{tag}-{serial[:16]}",
                    "password_hash": "x",
                    "role": Role.PATIENT,
                    "full_name": f"{tag}{i}",
                    "patient_id": pid,
                    "is_active": True,
                    "must_change_password": False,
                    "created_at": now,
                }
            )
            tok = new_token()
            tokens.append(tok)
            token_rows.append(
                {
                    "id": uuid7(),
                    "token_hash": token_digest(tok),
                    "user_id": uid,
                    "created_at": now,
                    "expires_at": now + timedelta(days=1),
                }
            )
        for rows, model in ((patients, Patient), (users, User), (token_rows, AuthToken)):
            for k in range(0, len(rows), 2000):
                s.execute(insert(model), rows[k : k + 2000])
        s.commit()
    return tokens


def make_slots(n: int, *, capacity: int, days_ahead: int = 7, released: bool = True) -> list[str]:
    """`n` outpatient slots of the demo specialist, 30 min each, `days_ahead` days on; with
    `released` their release time is now (the 08:00 release has just happened)."""
    from sqlalchemy import insert
    from sqlmodel import Session, select

    from scheduling.models import Slot
    from telemed.core.db import get_engine
    from telemed.core.ids import uuid7
    from telemed.identity.models import User

    now = datetime.now(UTC)
    with Session(get_engine()) as s:
        star = s.execute(select(User).where(User.username == "specialist")).scalar_one()
        start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=days_ahead)
        rows = [
            {
                "id": uuid7(),
                "institution_id": star.institution_id,
                "specialist_id": star.id,
                "specialty_code": "cardiology",
                "service_class": "outpatient",
                "title": star.title,
                "league_code": "150100",
                "tier": "regional",
                "institution_name": "rush",
                "specialist_name": star.full_name,
                "start_at": start + timedelta(minutes=30 * i),
                "end_at": start + timedelta(minutes=30 * (i + 1)),
                "capacity": capacity,
                "reserved": 0,
                "release_at": now if released else start,
                "booked": 0,
                "reserved_booked": 0,
                "status": "active",
                "created_at": now,
            }
            for i in range(n)
        ]
        s.execute(insert(Slot), rows)
        s.commit()
    return [str(r["id"]) for r in rows]


def integrity(slot_ids: list[str] | None = None) -> dict[str, int]:
    """Overbooked slots (counter or rows above capacity), people booked twice into one
    slot, people with more than one booking of the run, and the bookings made."""
    from sqlalchemy import text

    from telemed.core.db import get_engine

    with get_engine().connect() as conn:
        q = {
            "overbooked": "SELECT count(*) FROM scheduling_slot s WHERE s.booked > s.capacity "
            "OR (SELECT count(*) FROM scheduling_booking b WHERE b.slot_id = s.id "
            "AND b.status IN ('pending','booked','arrived')) > s.capacity",
            "double_in_slot": "SELECT count(*) FROM (SELECT slot_id, person_id FROM "
            "scheduling_booking WHERE status IN ('pending','booked','arrived') "
            "GROUP BY 1, 2 HAVING count(*) > 1) d",
            "booked": "SELECT count(*) FROM scheduling_booking WHERE status = 'booked'",
        }
        return {k: int(conn.execute(text(v)).scalar_one()) for k, v in q.items()}
