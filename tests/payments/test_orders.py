"""Orders over HTTP: priced from the fee schedule and split by the coverage table,
idempotent, one standing order per subject, per-object access, the state machine's 409s."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from telemed.core.audit import AuditEvent
from telemed.core.errors import InvalidTransition
from telemed.payments.models import PaymentOrder
from telemed.payments.states import ORDER
from tests.payments.conftest import demo_patient, user_named


def _create(client, headers, booking_id, key=None):  # type: ignore[no-untyped-def]
    h = {**headers, **({"Idempotency-Key": key} if key else {})}
    return client.post(
        "/api/v1/payment-orders",
        json={"subject_type": "booking", "subject_id": str(booking_id)},
        headers=h,
    )


def test_order_is_priced_and_split_by_the_patients_insurance_category(
    client, login, session, book, sandbox
):
    demo_patient(session).insurance_category = "urban_employee"
    session.flush()
    booking = book()
    r = _create(client, login("patient"), booking.id)
    assert r.status_code == 201, r.text
    o = r.json()
    # demo fee schedule: outpatient at the coordinator's (regional) hospital, 100 yuan;
    # the seeded example rule for urban employees: 60 %
    assert o["total_cents"] == 10000
    assert (o["insurance_cents"], o["own_cents"]) == (6000, 4000)
    assert o["insurance_category"] == "urban_employee" and o["state"] == "created"
    assert o["order_no"].startswith("TM") and len(o["order_no"]) == 22
    assert o["institution_name"]


def test_admin_edits_the_coverage_table_and_new_orders_follow_it(
    client, login, session, book, sandbox
):
    demo_patient(session).insurance_category = "urban_rural_resident"
    session.flush()
    rows = client.get("/api/v1/payments/coverage", headers=login("patient")).json()
    assert any(r["is_example"] for r in rows)
    refused = client.put(
        "/api/v1/payments/coverage",
        json={
            "service_class": "outpatient",
            "insurance_category": "urban_rural_resident",
            "rate_bp": 9000,
        },
        headers=login("coordinator"),
    )
    assert refused.status_code == 403
    put = client.put(
        "/api/v1/payments/coverage",
        json={
            "service_class": "outpatient",
            "insurance_category": "urban_rural_resident",
            "rate_bp": 9000,
            "cap_cents": 2500,
            "note": "test",
        },
        headers=login("admin"),
    )
    assert put.status_code == 200 and put.json()["is_example"] is False
    o = _create(client, login("patient"), book().id).json()
    assert (o["insurance_cents"], o["own_cents"]) == (2500, 7500)  # 90 %, capped at 25 yuan
    bad = client.put(
        "/api/v1/payments/coverage",
        json={"service_class": "outpatient", "insurance_category": "gold", "rate_bp": 1},
        headers=login("admin"),
    )
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_insurance_category"


def test_self_pay_patient_pays_everything(client, login, session, book, sandbox):
    demo_patient(session).insurance_category = None
    session.flush()
    o = _create(client, login("patient"), book().id).json()
    assert o["insurance_category"] == "self_pay"
    assert (o["insurance_cents"], o["own_cents"]) == (0, 10000)


def test_creation_is_idempotent_and_one_standing_order_per_subject(
    client, login, session, book, sandbox
):
    booking = book()
    h = login("patient")
    first = _create(client, h, booking.id, key="o-1")
    again = _create(client, h, booking.id, key="o-1")
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    other_key = _create(client, h, booking.id, key="o-2")
    assert other_key.json()["id"] == first.json()["id"]  # the subject's standing order
    no_key = _create(client, h, booking.id)
    assert no_key.json()["id"] == first.json()["id"]
    reused = client.post(
        "/api/v1/payment-orders",
        json={"subject_type": "booking", "subject_id": str(uuid.uuid4())},
        headers={**h, "Idempotency-Key": "o-1"},
    )
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
    n = (
        session.execute(select(PaymentOrder).where(PaymentOrder.subject_id == booking.id))
        .scalars()
        .all()
    )
    assert len(n) == 1


def test_another_patient_and_another_hospitals_staff_get_404(
    client, login, session, book, sandbox, other_patient
):
    booking = book()
    order = _create(client, login("patient"), booking.id).json()
    # the family doctor works at another hospital and has no contract with the patient (the
    # county doctor, at the patient's own hospital, may act for them: test_bedside)
    for username in (other_patient, "family-doctor"):
        user = user_named(session, username)
        if username == "family-doctor":
            assert user.institution_id != uuid.UUID(order["institution_id"])
        h = login(username)
        for r in (
            client.get(f"/api/v1/payment-orders/{order['id']}", headers=h),
            client.post(
                f"/api/v1/payment-orders/{order['id']}/pay",
                json={"provider": "sandbox", "channel": "h5"},
                headers=h,
            ),
            client.post(f"/api/v1/payment-orders/{order['id']}/refresh", headers=h),
        ):
            assert r.status_code == 404, (username, r.text)
        listed = client.get("/api/v1/payment-orders", headers=h).json()
        assert order["id"] not in {o["id"] for o in listed}
        # an order for someone else's booking cannot be made either
        assert _create(client, h, booking.id).status_code == 404
    refusals = (
        session.execute(
            select(AuditEvent).where(
                AuditEvent.object_type == "payment_order",
                AuditEvent.object_id == order["id"],
                AuditEvent.action == "refused",
            )
        )
        .scalars()
        .all()
    )
    assert refusals
    # staff of the order's hospital see it, and the read is audited
    coord = login("coordinator")
    assert client.get(f"/api/v1/payment-orders/{order['id']}", headers=coord).status_code == 200
    assert order["id"] in {
        o["id"] for o in client.get("/api/v1/payment-orders", headers=coord).json()
    }


def test_illegal_transitions_are_409_with_a_stable_code(client, login, session, book, sandbox):
    with pytest.raises(InvalidTransition):
        ORDER.next("created", "refund")
    with pytest.raises(InvalidTransition):
        ORDER.next("refunded", "pay")
    with pytest.raises(InvalidTransition):
        ORDER.next("closed", "start")
    order = _create(client, login("patient"), book().id).json()
    row = session.get(PaymentOrder, uuid.UUID(order["id"]))
    assert row is not None
    row.state = "refunded"
    session.flush()
    r = client.post(
        f"/api/v1/payment-orders/{order['id']}/pay",
        json={"provider": "sandbox", "channel": "h5"},
        headers=login("patient"),
    )
    assert r.status_code == 409
    assert r.json()["code"] == "invalid_transition" and r.json()["current_state"] == "refunded"


def test_unpriced_or_unknown_subjects_are_refused(client, login, sandbox):
    h = login("patient")
    r = client.post(
        "/api/v1/payment-orders",
        json={"subject_type": "booking", "subject_id": str(uuid.uuid4())},
        headers=h,
    )
    assert r.status_code == 404
    r = client.post(
        "/api/v1/payment-orders",
        json={"subject_type": "parking", "subject_id": str(uuid.uuid4())},
        headers=h,
    )
    assert r.status_code == 422
