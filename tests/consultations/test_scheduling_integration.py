"""Accepting books the live session via scheduling; cancelling frees it; slots rank proposals."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from scheduling import service as scheduling_service
from scheduling.schemas import RuleCreate
from telemed.consultations import service
from telemed.core.clock import to_shanghai
from telemed.identity.models import Role, Title, User
from telemed.network import service as network_service
from telemed.network.models import Institution

API = "/api/v1/consultations"


def _live(make_request: Any) -> dict[str, Any]:
    return make_request(
        service_class="consultation",
        urgency="routine",
        specialty="cardiology",
        specialist="specialist",
    )


def test_accepting_books_the_specialists_earliest_slot(
    client: TestClient, login: Any, make_request: Any, session: Session, users: Any, clock: Any
) -> None:
    spec = users("specialist")
    earliest = scheduling_service.search_slots(
        session=session,
        viewer=spec,
        now=clock(),
        specialist_id=spec.id,
        service_class="consultation",
        limit=1,
    )[0]
    c = _live(make_request)
    got = client.post(f"{API}/{c['id']}/accept", headers=login("specialist")).json()
    assert got["state"] == "scheduled" and got["booking_id"]
    booking = scheduling_service.get_booking(
        session=session, booking_id=uuid.UUID(got["booking_id"])
    )
    assert booking.slot_id == earliest.id
    assert (booking.reference_type, booking.reference_id) == ("consultation", uuid.UUID(c["id"]))
    assert booking.patient_id == uuid.UUID(c["patient_id"])
    window = service.session_window(session=session, consultation_id=uuid.UUID(c["id"]))
    assert window == (earliest.start_at, earliest.end_at)


def test_accepting_with_a_chosen_slot_and_cancel_frees_it(
    client: TestClient, login: Any, make_request: Any, session: Session, users: Any, clock: Any
) -> None:
    spec = users("specialist")
    slots = scheduling_service.search_slots(
        session=session,
        viewer=spec,
        now=clock(),
        specialist_id=spec.id,
        service_class="consultation",
        limit=3,
    )
    chosen = slots[2]
    c = _live(make_request)
    r = client.post(
        f"{API}/{c['id']}/accept", json={"slot_id": str(chosen.id)}, headers=login("coordinator")
    )
    assert r.status_code == 200, r.text
    assert r.json()["assigned_specialist_id"] == str(spec.id)
    booking_id = uuid.UUID(r.json()["booking_id"])
    r = client.post(
        f"{API}/{c['id']}/cancel", json={"reason": "病情好转"}, headers=login("county-doctor")
    )
    assert r.status_code == 200, r.text
    assert (
        scheduling_service.get_booking(session=session, booking_id=booking_id).status == "cancelled"
    )
    again = scheduling_service.search_slots(
        session=session,
        viewer=spec,
        now=clock(),
        specialist_id=spec.id,
        service_class="consultation",
        limit=3,
    )
    assert chosen.id in {s.id for s in again}


def test_a_refused_booking_refuses_the_accept_as_a_whole(
    client: TestClient, login: Any, make_request: Any, session: Session, users: Any, clock: Any
) -> None:
    spec = users("specialist")
    slot = scheduling_service.search_slots(
        session=session,
        viewer=spec,
        now=clock(),
        specialist_id=spec.id,
        service_class="consultation",
        limit=1,
    )[0]
    first, second = _live(make_request), _live(make_request)
    assert (
        client.post(
            f"{API}/{first['id']}/accept",
            json={"slot_id": str(slot.id)},
            headers=login("specialist"),
        ).status_code
        == 200
    )
    r = client.post(
        f"{API}/{second['id']}/accept", json={"slot_id": str(slot.id)}, headers=login("specialist")
    )
    # taken slot (and the same patient twice at one time): scheduling says 409, nothing changes
    assert r.status_code == 409 and r.json()["code"] in ("slot_full", "person_overlap")
    assert (
        client.get(f"{API}/{second['id']}", headers=login("specialist")).json()["state"]
        == "submitted"
    )


def test_proposal_breaks_ties_by_earliest_slot(session: Session, users: Any, clock: Any) -> None:
    doctor, admin = users("county-doctor"), users("admin")
    county = session.get(Institution, doctor.institution_id)
    assert county is not None
    regional = next(
        r
        for r in session.execute(
            select(Institution).where(Institution.tier == "regional")
        ).scalars()
        if network_service.shared_alliance(session=session, a=county.id, b=r.id)
    )

    def specialist(name: str, weekday: int) -> User:
        u = User(
            username=f"tcm-slot-{name}",
            password_hash="x",
            role=Role.SPECIALIST,
            full_name=name,
            institution_id=regional.id,
            specialty_code="tcm",
            title=Title.CHIEF,
            created_at=clock(),
        )
        session.add(u)
        session.flush()
        scheduling_service.create_rule(
            session=session,
            by=admin,
            now=clock(),
            data=RuleCreate(
                specialist_id=u.id,
                service_class="consultation",
                weekdays=[weekday],  # type: ignore[arg-type]
                start_time=time(14, 0),
                end_time=time(15, 0),
                follow_holidays=False,
            ),
        )
        return u

    today = to_shanghai(clock()).weekday()
    later = specialist("乙", (today + 3) % 7)  # sorts first by name, but its slot is later
    sooner = specialist("甲", (today + 1) % 7)
    found = service.propose(
        session=session,
        viewer=doctor,
        requesting_institution_id=county.id,
        service_class="consultation",
        specialty="tcm",
        title=None,
        now=clock(),
    )
    ids = [p.specialist_id for p in found]
    assert ids.index(sooner.id) < ids.index(later.id)
    assert (
        found[ids.index(sooner.id)].earliest_slot_at < found[ids.index(later.id)].earliest_slot_at
    )  # type: ignore[operator]
