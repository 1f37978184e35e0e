"""The notify endpoint: a sandbox notification verified by its HMAC, applied once; forged
ones and wrong amounts refused in the provider's reply format and audited; a payer back
before the notification settles through the query path."""

from __future__ import annotations

import json
import uuid

from sqlmodel import select

from telemed.core.audit import AuditEvent
from telemed.payments.models import AppliedNotice, PaymentOrder


def _order_paying(client, login, book, channel="h5"):  # type: ignore[no-untyped-def]
    h = login("patient")
    order = client.post(
        "/api/v1/payment-orders",
        json={"subject_type": "booking", "subject_id": str(book().id)},
        headers=h,
    ).json()
    start = client.post(
        f"/api/v1/payment-orders/{order['id']}/pay",
        json={"provider": "sandbox", "channel": channel, "return_path": "/#/payments"},
        headers=h,
    )
    assert start.status_code == 200, start.text
    return start.json()


def _notify(client, headers, body):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/payments/notify/sandbox", content=body, headers=headers)


def test_pay_starts_at_the_sandbox_and_its_signed_notification_is_applied_once(
    client, login, session, book, sandbox
):
    start = _order_paying(client, login, book)
    assert start["kind"] == "redirect"
    assert start["url"].endswith(f"/api/v1/payments/sandbox/pay/{start['order']['order_no']}")
    assert start["order"]["state"] == "paying"
    qr = _order_paying(client, login, lambda: book(1), channel="native")
    assert qr["kind"] == "qr"
    headers, body = sandbox.confirm(start["order"]["order_no"])
    first = _notify(client, headers, body)
    assert first.status_code == 200 and first.json() == {"code": "SUCCESS"}
    again = _notify(client, headers, body)  # the provider's retry
    assert again.status_code == 200 and again.json() == {"code": "SUCCESS"}
    order = client.get(
        f"/api/v1/payment-orders/{start['order']['id']}", headers=login("patient")
    ).json()
    assert order["state"] == "paid" and order["provider_txn"].startswith("sbx_tx_")
    applied = (
        session.execute(
            select(AppliedNotice).where(AppliedNotice.order_id == uuid.UUID(order["id"]))
        )
        .scalars()
        .all()
    )
    assert [a.kind for a in applied] == ["paid"]
    changes = (
        session.execute(
            select(AuditEvent).where(
                AuditEvent.object_id == order["id"], AuditEvent.action == "payment.pay"
            )
        )
        .scalars()
        .all()
    )
    assert len(changes) == 1


def test_forged_notification_is_refused_in_the_providers_format_and_audited(
    client, login, session, book, sandbox
):
    start = _order_paying(client, login, book)
    headers, body = sandbox.confirm(start["order"]["order_no"])
    forged_body = body.replace(b'"kind": "paid"', b'"kind": "paid" ')  # altered after signing
    r = _notify(client, headers, forged_body)
    assert r.status_code == 400 and r.json() == {"code": "FAIL"}
    unsigned = _notify(client, {}, body)
    assert unsigned.status_code == 400
    rows = (
        session.execute(
            select(AuditEvent).where(
                AuditEvent.object_type == "payment_notification", AuditEvent.action == "refused"
            )
        )
        .scalars()
        .all()
    )
    assert len(rows) >= 2
    assert all("bad_signature" in r.detail["reason"] for r in rows[-2:])
    assert all("sbx_tx_" not in json.dumps(r.detail) for r in rows)  # never the body
    order = session.get(PaymentOrder, uuid.UUID(start["order"]["id"]))
    assert order is not None and order.state == "paying"


def test_amount_mismatch_is_refused_and_audited(client, login, session, book, sandbox):
    start = _order_paying(client, login, book)
    no = start["order"]["order_no"]
    headers, body = sandbox.sign(
        {
            "order_no": no,
            "kind": "paid",
            "amount_cents": 1,
            "at": "2026-12-01T01:00:00+00:00",
            "provider_txn": "sbx_tx_x",
            "notice_id": "n1",
            "refund_no": None,
        }
    )
    r = _notify(client, headers, body)
    assert r.status_code == 400
    order = session.get(PaymentOrder, uuid.UUID(start["order"]["id"]))
    assert order is not None and order.state == "paying"
    row = (
        session.execute(
            select(AuditEvent).where(
                AuditEvent.object_id == start["order"]["id"], AuditEvent.action == "refused"
            )
        )
        .scalars()
        .first()
    )
    assert row is not None and "amount_mismatch" in row.detail["reason"]
    assert row.patient_id == order.patient_id


def test_payer_back_before_the_notification_settles_by_query(client, login, book, sandbox):
    start = _order_paying(client, login, book)
    sandbox.confirm(start["order"]["order_no"])  # paid at the provider, notification not yet in
    h = login("patient")
    r = client.post(f"/api/v1/payment-orders/{start['order']['id']}/refresh", headers=h)
    assert r.status_code == 200 and r.json()["state"] == "paid"


def test_sandbox_page_confirms_and_returns(client, login, book, sandbox):
    start = _order_paying(client, login, book)
    no = start["order"]["order_no"]
    page = client.get(f"/api/v1/payments/sandbox/pay/{no}")
    own = start["order"]["own_cents"]
    assert page.status_code == 200 and "确认支付" in page.text and f"{own / 100:.2f}" in page.text
    back = client.post(f"/api/v1/payments/sandbox/pay/{no}/confirm", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"].endswith("/#/payments")
    # the test client has no network: the return path's query settles it
    r = client.post(
        f"/api/v1/payment-orders/{start['order']['id']}/refresh", headers=login("patient")
    )
    assert r.json()["state"] == "paid"
