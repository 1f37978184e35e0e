"""A booking refers only to an object the booker may act on (`scheduling.references`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from scheduling.models import Booking, Slot
from telemed.identity.models import Role, User
from tests.consultations.conftest import demo_patient, make_request, users  # noqa: F401
from tests.scheduling.conftest import slots_of


def _state(session: Session, slot_id: uuid.UUID) -> tuple[int, int]:
    session.expire_all()
    slot = session.get(Slot, slot_id)
    assert slot is not None
    count = session.execute(
        select(func.count()).select_from(Booking).where(Booking.slot_id == slot_id)
    ).scalar_one()
    return slot.booked, int(count)


def test_booking_references_must_be_objects_the_booker_acts_on(
    client: Any,
    login: Any,
    session: Session,
    make_rule: Any,
    make_request: Any,  # noqa: F811
    demo_patient: Any,  # noqa: F811
) -> None:
    slot = slots_of(session, make_rule())[0]
    county = login("county-doctor")
    county_user = session.execute(select(User).where(User.username == "county-doctor")).scalar_one()
    outsider = session.execute(
        select(User)
        .where(User.role == Role.COUNTY_DOCTOR, User.institution_id != county_user.institution_id)
        .order_by(User.username)
        .limit(1)
    ).scalar_one()
    c = make_request()  # county-doctor's request to specialist2 (a candidate: reads it)
    cancelled = make_request()
    assert (
        client.post(
            f"/api/v1/consultations/{cancelled['id']}/cancel",
            json={"reason": "患者转院"},
            headers=county,
        ).status_code
        == 200
    )
    before = _state(session, slot.id)

    def book(headers: dict[str, str], **ref: Any) -> Any:
        body = {"slot_id": str(slot.id), "patient_id": str(demo_patient.id), **ref}
        return client.post("/api/v1/bookings", json=body, headers=headers)

    refused = [
        (county, {"reference_type": "consultation", "reference_id": str(uuid.uuid4())}, 404,
         "reference_not_found"),
        (county, {"reference_type": "referral", "reference_id": str(uuid.uuid4())}, 404,
         "reference_not_found"),
        (county, {"reference_type": "home_visit", "reference_id": str(uuid.uuid4())}, 404,
         "reference_not_found"),
        (login(outsider.username), {"reference_type": "consultation", "reference_id": c["id"]},
         404, "reference_not_found"),
        (login("specialist2"), {"reference_type": "consultation", "reference_id": c["id"]}, 403,
         "reference_forbidden"),
        (county, {"reference_type": "consultation", "reference_id": cancelled["id"]}, 409,
         "reference_closed"),
        (county, {"reference_type": "invoice", "reference_id": c["id"]}, 422,
         "unknown_reference_type"),
        (county, {"reference_type": "consultation"}, 422, "reference_incomplete"),
        (county, {"reference_id": c["id"]}, 422, "reference_incomplete"),
    ]  # fmt: skip
    for headers, ref, status, code in refused:
        r = book(headers, **ref)
        assert r.status_code == status, (ref, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == code, (ref, r.json())
        assert _state(session, slot.id) == before, ref  # nothing written
    # The hidden request and the missing one answer alike: no existence leak.
    hidden = book(login(outsider.username), reference_type="consultation", reference_id=c["id"])
    assert hidden.json()["detail"] == f"consultation {c['id']} not found"

    ok = book(county, reference_type="consultation", reference_id=c["id"])
    assert ok.status_code == 201, ok.text
    assert ok.json()["reference_id"] == c["id"]
    assert _state(session, slot.id) == (before[0] + 1, before[1] + 1)
