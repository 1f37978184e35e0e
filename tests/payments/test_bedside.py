"""Bedside settlement over HTTP: staff who may act for the patient list the patient's
orders (`?patient_id=`), another hospital's staff get 404 (audited); the receipt PDF is
409 `not_paid` before payment and names the amounts, the provider's transaction and the
paid time afterwards, for the patient and that staff alike."""

from __future__ import annotations

import subprocess
import uuid

from sqlmodel import select

from telemed.core.audit import AuditEvent
from tests.payments.conftest import demo_patient, user_named


def _order(client, headers, booking_id):  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/payment-orders",
        json={"subject_type": "booking", "subject_id": str(booking_id)},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


def _text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return "".join(out.stdout.decode().split())


def test_staff_acting_for_the_patient_list_their_orders_others_get_404(
    client, login, session, book, sandbox
):
    order = _order(client, login("patient"), book().id)
    patient_id = order["patient_id"]
    # the county doctor works at the patient's hospital (not the order's): may act for them
    county = user_named(session, "county-doctor")
    assert county.institution_id == demo_patient(session).institution_id
    assert county.institution_id != uuid.UUID(order["institution_id"])
    h = login("county-doctor")
    listed = client.get("/api/v1/payment-orders", params={"patient_id": patient_id}, headers=h)
    assert listed.status_code == 200, listed.text
    assert order["id"] in {o["id"] for o in listed.json()}
    assert {o["patient_id"] for o in listed.json()} == {patient_id}
    one = client.get(f"/api/v1/payment-orders/{order['id']}", headers=h)
    assert one.status_code == 200
    # the read is audited, naming the patient
    reads = session.execute(
        select(AuditEvent).where(
            AuditEvent.object_type == "payment_order",
            AuditEvent.action == "read",
            AuditEvent.actor_id == county.id,
        )
    ).scalars()
    assert any(str(e.patient_id) == patient_id for e in reads)

    # the family doctor of another (township) institution, with no contract: 404, audited
    fd = login("family-doctor")
    other = client.get("/api/v1/payment-orders", params={"patient_id": patient_id}, headers=fd)
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")
    for r in (
        client.get(f"/api/v1/payment-orders/{order['id']}", headers=fd),
        client.get(f"/api/v1/payment-orders/{order['id']}/receipt.pdf", headers=fd),
    ):
        assert r.status_code == 404
    refused = session.execute(
        select(AuditEvent).where(
            AuditEvent.object_type == "patient",
            AuditEvent.object_id == patient_id,
            AuditEvent.action == "refused",
            AuditEvent.actor_id == user_named(session, "family-doctor").id,
        )
    ).first()
    assert refused is not None
    unknown = client.get(
        "/api/v1/payment-orders", params={"patient_id": str(uuid.uuid4())}, headers=h
    )
    assert unknown.status_code == 404


def test_receipt_is_409_before_payment_and_names_the_amounts_after(
    client, login, session, book, sandbox
):
    demo_patient(session).insurance_category = "urban_employee"
    session.flush()
    order = _order(client, login("patient"), book().id)
    h = login("county-doctor")
    early = client.get(f"/api/v1/payment-orders/{order['id']}/receipt.pdf", headers=h)
    assert early.status_code == 409 and early.json()["code"] == "not_paid"
    start = client.post(
        f"/api/v1/payment-orders/{order['id']}/pay",
        json={"provider": "sandbox", "channel": "native"},
        headers=h,
    )
    assert start.status_code == 200, start.text
    assert start.json()["kind"] == "qr"
    headers, body = sandbox.confirm(order["order_no"])
    assert client.post("/api/v1/payments/notify/sandbox", content=body, headers=headers).is_success
    paid = client.get(f"/api/v1/payment-orders/{order['id']}", headers=h).json()
    assert paid["state"] == "paid"

    for username in ("county-doctor", "patient"):
        r = client.get(f"/api/v1/payment-orders/{order['id']}/receipt.pdf", headers=login(username))
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        text = _text(r.content)
        assert "缴费凭证" in text
        # 100 yuan at the regional hospital; urban employees' example rule: 60 %
        assert "费用合计¥100.00" in text
        assert "医保支付¥60.00" in text
        assert "个人自付¥40.00" in text
        assert paid["provider_txn"] in text and order["order_no"] in text
        assert demo_patient(session).resident_id_masked in text
        assert "北京时间" in text
    en = client.get(
        f"/api/v1/payment-orders/{order['id']}/receipt.pdf?lang=en", headers=login("patient")
    )
    assert "Ownshare¥40.00" in _text(en.content)
    # Mongolian script: the vertical layout, the receipt's own texts falling back to zh-CN
    mn = client.get(
        f"/api/v1/payment-orders/{order['id']}/receipt.pdf?lang=mn-Mong", headers=login("patient")
    )
    assert mn.status_code == 200 and mn.content.startswith(b"%PDF")
    receipts = session.execute(
        select(AuditEvent).where(
            AuditEvent.object_type == "payment_order",
            AuditEvent.object_id == order["id"],
            AuditEvent.action == "read",
        )
    ).scalars()
    assert any((e.detail or {}).get("what") == "receipt" for e in receipts)
