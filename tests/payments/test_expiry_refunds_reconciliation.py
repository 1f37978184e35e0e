"""Expiry closes an unpaid order and gives its booking's place back; cancelling a paid
booking refunds it through its provider (a failure stays visible and the job retries);
reconciliation finds each kind of mismatch with the provider's bill."""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session

from scheduling.models import Slot
from telemed.core import clock as core_clock
from telemed.payments import service as payments
from telemed.payments.models import PaymentOrder, PaymentRefund
from telemed.payments.provider import BillLine, ProviderError, RefundStart


def _paying(client, h, booking):  # type: ignore[no-untyped-def]
    """The booking's order, opened at the sandbox."""
    order = client.post(
        "/api/v1/payment-orders",
        json={"subject_type": "booking", "subject_id": str(booking.id)},
        headers=h,
    ).json()
    client.post(
        f"/api/v1/payment-orders/{order['id']}/pay",
        json={"provider": "sandbox", "channel": "h5"},
        headers=h,
    )
    return order


def _paid(client, login, session, book, sandbox, n=0):  # type: ignore[no-untyped-def]
    booking = book(n)
    order = _paying(client, login("patient"), booking)
    headers, body = sandbox.confirm(order["order_no"])
    assert client.post("/api/v1/payments/notify/sandbox", content=body, headers=headers).is_success
    return booking, uuid.UUID(order["id"])


def test_expired_order_is_closed_at_the_provider_and_its_booking_released(
    client, login, session: Session, book, sandbox, clock, priced_slots
):
    h = login("patient")
    booking = book()
    slot = session.get(Slot, booking.slot_id)
    assert slot is not None
    session.refresh(slot)
    taken = slot.booked
    assert taken == 1
    order = _paying(client, h, booking)
    clock.advance(minutes=16)  # past order_ttl_minutes (15)
    assert payments.expire_due(session=session, now=core_clock.now()) == 1
    row = session.get(PaymentOrder, uuid.UUID(order["id"]))
    assert row is not None and (row.state, row.closed_reason) == ("closed", "expired")
    assert sandbox.query(order["order_no"]).kind == "closed"  # type: ignore[union-attr]
    session.refresh(booking)
    session.refresh(slot)
    assert booking.status == "cancelled" and booking.status_reason == "payment expired"
    assert slot.booked == taken - 1
    # a new order for a new booking expires lazily when read
    other = client.post(
        "/api/v1/payment-orders",
        json={"subject_type": "booking", "subject_id": str(book(1).id)},
        headers=h,
    ).json()
    clock.advance(minutes=16)
    read = client.get(f"/api/v1/payment-orders/{other['id']}", headers=h).json()
    assert read["state"] == "closed" and read["closed_reason"] == "expired"


def test_cancelling_a_paid_booking_refunds_its_own_share(client, login, session, book, sandbox):
    booking, order_id = _paid(client, login, session, book, sandbox)
    r = client.post(
        f"/api/v1/bookings/{booking.id}/cancel",
        json={"reason": "plans changed"},
        headers=login("patient"),
    )
    assert r.status_code == 200, r.text
    order = client.get(f"/api/v1/payment-orders/{order_id}", headers=login("patient")).json()
    assert order["state"] == "refunded"
    assert order["refunded_cents"] == order["own_cents"]
    assert [(x["state"], x["amount_cents"]) for x in order["refunds"]] == [
        ("succeeded", order["own_cents"])
    ]
    today = core_clock.now().astimezone(core_clock.SHANGHAI).date()
    assert [line.kind for line in sandbox.bill(today)] == ["paid", "refund"]


def test_cancelling_an_unpaid_booking_closes_its_order(client, login, session, book, sandbox):
    h = login("patient")
    booking = book()
    order = client.post(
        "/api/v1/payment-orders",
        json={"subject_type": "booking", "subject_id": str(booking.id)},
        headers=h,
    ).json()
    client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "x"}, headers=h)
    got = client.get(f"/api/v1/payment-orders/{order['id']}", headers=h).json()
    assert (got["state"], got["closed_reason"]) == ("closed", "subject_cancelled")


def test_a_failed_refund_stays_visible_and_the_job_retries_it(
    client, login, session, book, sandbox, monkeypatch
):
    booking, order_id = _paid(client, login, session, book, sandbox)
    real = sandbox.refund

    def down(**kw):  # type: ignore[no-untyped-def]
        raise ProviderError("provider unreachable", code="unreachable", unavailable=True)

    monkeypatch.setattr(sandbox, "refund", down)
    client.post(
        f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "x"}, headers=login("patient")
    )
    order = client.get(f"/api/v1/payment-orders/{order_id}", headers=login("patient")).json()
    assert order["state"] == "refund_failed"
    assert (
        order["refunds"][0]["state"] == "failed" and order["refunds"][0]["message"] == "unreachable"
    )
    monkeypatch.setattr(sandbox, "refund", real)
    out = payments.sweep(session=session, now=core_clock.now())
    assert out["refunds_retried"] == 1
    row = session.get(PaymentOrder, order_id)
    assert row is not None and row.state == "refunded"


def test_a_refund_in_processing_completes_on_the_providers_notice(
    client, login, session, book, sandbox, monkeypatch
):
    booking, order_id = _paid(client, login, session, book, sandbox)
    monkeypatch.setattr(
        sandbox,
        "refund",
        lambda **kw: RefundStart(refund_no=kw["refund_no"], state="processing"),
    )
    client.post(
        f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "x"}, headers=login("patient")
    )
    row = session.get(PaymentOrder, order_id)
    assert row is not None and row.state == "refunding"
    refund = session.query(PaymentRefund).filter_by(order_id=order_id).one()
    headers, body = sandbox.sign(
        {
            "order_no": row.order_no,
            "kind": "refunded",
            "amount_cents": refund.amount_cents,
            "at": core_clock.now().isoformat(),
            "refund_no": refund.refund_no,
            "notice_id": "r1",
            "provider_txn": None,
        }
    )
    for _ in range(2):  # a repeat is acknowledged, not applied again
        assert client.post(
            "/api/v1/payments/notify/sandbox", content=body, headers=headers
        ).is_success
    session.refresh(row)
    assert row.state == "refunded" and row.refunded_cents == refund.amount_cents


class _Bill:
    """A provider whose bill file is set by the test (the rest is the sandbox's)."""

    def __init__(self, sandbox, lines):  # type: ignore[no-untyped-def]
        self._sandbox, self._lines = sandbox, lines

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._sandbox, name)

    def bill(self, day: date) -> list[BillLine]:
        return self._lines


def test_reconciliation_finds_each_kind_of_mismatch(
    client, login, session, book, sandbox, monkeypatch
):
    from telemed.payments import providers

    _, a = _paid(client, login, session, book, sandbox, 0)
    _, b = _paid(client, login, session, book, sandbox, 1)
    _, c = _paid(client, login, session, book, sandbox, 2)
    oa, ob, oc = (session.get(PaymentOrder, x) for x in (a, b, c))
    assert oa and ob and oc
    now = core_clock.now()
    lines = [
        BillLine(order_no=oa.order_no, kind="paid", amount_cents=oa.own_cents, at=now),
        BillLine(order_no=ob.order_no, kind="paid", amount_cents=ob.own_cents - 1, at=now),
        BillLine(order_no="TM20261201UNKNOWN00001", kind="paid", amount_cents=500, at=now),
    ]  # c is missing at the provider
    providers.set_provider("sandbox", _Bill(sandbox, lines))  # type: ignore[arg-type]
    day = now.astimezone(core_clock.SHANGHAI).date()
    assert (
        client.get(
            "/api/v1/payments/reconciliation", params={"day": str(day)}, headers=login("patient")
        ).status_code
        == 403
    )
    r = client.get(
        "/api/v1/payments/reconciliation", params={"day": str(day)}, headers=login("coordinator")
    )
    assert r.status_code == 200, r.text
    (run,) = [x for x in r.json() if x["provider"] == "sandbox"]
    kinds = {(m["kind"], m["order_no"]) for m in run["mismatches"]}
    assert kinds == {
        ("amount_mismatch", ob.order_no),
        ("missing_here", "TM20261201UNKNOWN00001"),
        ("missing_at_provider", oc.order_no),
    }
    assert (run["ours"], run["theirs"], run["matched"]) == (3, 3, 1)
    # stored: a second read answers the same run; a re-run replaces it
    providers.set_provider("sandbox", _Bill(sandbox, lines[:1]))  # type: ignore[arg-type]
    again = client.get(
        "/api/v1/payments/reconciliation", params={"day": str(day)}, headers=login("admin")
    ).json()
    assert [x["ran_at"] for x in again] == [run["ran_at"]]
    rerun = client.post(
        "/api/v1/payments/reconciliation",
        params={"day": str(day), "provider": "sandbox"},
        headers=login("admin"),
    ).json()
    assert {m["order_no"] for m in rerun["mismatches"]} == {ob.order_no, oc.order_no}
