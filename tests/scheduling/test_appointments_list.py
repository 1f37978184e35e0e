"""The appointments list names each booking's doctor, specialty, hospital and fee, and
reads them in a fixed number of statements however many bookings the caller has."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from telemed.consultations import payments
from tests.scheduling.conftest import slots_of


def _statements(session: Session, call: Any) -> list[str]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        if "SAVEPOINT" not in args[2]:
            seen.append(args[2])

    session.expunge_all()
    conn = session.connection()
    event.listen(conn, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(conn, "before_cursor_execute", count)
    return seen


def _book(client: TestClient, headers: dict[str, str], slot_id: object) -> None:
    r = client.post("/api/v1/bookings", json={"slot_id": str(slot_id)}, headers=headers)
    assert r.status_code == 201, r.text


def test_each_appointment_names_doctor_specialty_hospital_and_fee_in_fixed_statements(
    client: TestClient, login: Any, session: Session, clock: Any, make_rule: Any
) -> None:
    ph = login("patient")
    rule = make_rule(capacity=1)
    slots = slots_of(session, rule)
    fee = payments.fee_for(session=session, service_class="outpatient", tier=slots[0].tier)
    assert fee is not None  # the demo fee schedule
    _book(client, ph, slots[0].id)

    one: list[Any] = []
    first = _statements(session, lambda: one.append(client.get("/api/v1/bookings", headers=ph)))
    item = next(b for b in one[0].json() if b["slot_id"] == str(slots[0].id))
    assert item["specialist_name"] == "测试医生"
    assert item["specialist_title"] == "chief_physician"
    assert item["specialty_code"] == "cardiology"
    assert item["institution_name"] == slots[0].institution_name != ""
    assert (item["fee_cents"], item["currency"]) == (fee.amount_cents, fee.currency)

    for s in slots[1:4]:
        _book(client, ph, s.id)
    more: list[Any] = []
    second = _statements(session, lambda: more.append(client.get("/api/v1/bookings", headers=ph)))
    assert len(more[0].json()) == len(one[0].json()) + 3
    # more bookings, not more statements: no query per row
    assert len(second) == len(first), (first, second)


def test_a_service_without_a_fee_lists_no_fee(
    client: TestClient, login: Any, session: Session, clock: Any, make_rule: Any
) -> None:
    rule = make_rule(service_class="training")
    slot = slots_of(session, rule)[0]
    if payments.fee_for(session=session, service_class="training", tier=slot.tier) is not None:
        session.execute(
            payments.FeeSchedule.__table__.delete().where(  # type: ignore[attr-defined]
                payments.FeeSchedule.service_class == "training"
            )
        )
    ph = login("patient")
    _book(client, ph, slot.id)
    listed = client.get("/api/v1/bookings", headers=ph).json()
    item = next(b for b in listed if b["slot_id"] == str(slot.id))
    assert item["fee_cents"] is None and item["currency"] is None
    found = client.get(
        "/api/v1/slots", params={"service_class": "training", "limit": 200}, headers=ph
    ).json()
    assert found and all(s["fee_cents"] is None for s in found)
    paid = client.get(
        "/api/v1/slots", params={"service_class": "outpatient", "limit": 5}, headers=ph
    ).json()
    assert paid and all(isinstance(s["fee_cents"], int) for s in paid)
