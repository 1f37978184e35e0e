"""A patient's order paid through WeChat Pay end to end: the app served by uvicorn with
"wechat" as its provider, the fake WeChat Pay over real HTTP posting its signed, encrypted
notifications to our notify route; a duplicate applied once, a forgery refused and audited,
the cancellation refunded through the same provider."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from telemed.payments.fake_wechat import FakeWechatPay
from telemed.payments.wechat_devkeys import DevKeySet, provider_settings
from tests.support import pgtemplate
from tests.support.ports import free_port
from tests.support.uvicorn import app_env, serve

PASSWORD = "telemed-demo"


@pytest.fixture
def app_with_wechat(
    keyset: DevKeySet, fake: FakeWechatPay, tmp_path: Path
) -> Iterator[tuple[str, Engine]]:
    dbname = f"telemed_pay_{uuid.uuid4().hex[:8]}"
    db_url = pgtemplate.create_database(dbname)  # migrated and demo-seeded
    port = free_port()
    wechat = provider_settings(keyset, base_url=fake.public_url, cert_dir=tmp_path / "certs")
    env = app_env(
        TELEMED_DATABASE_URL=db_url,
        TELEMED_DICOM__ARCHIVE_DIR=str(tmp_path / "archive"),
        TELEMED_DICOM__SPOOL_DIR=str(tmp_path / "spool"),
        TELEMED_DICOM__GATEWAY_ENABLED="false",
        TELEMED_PAYMENTS__PROVIDERS='["wechat"]',
        TELEMED_PAYMENTS__PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        **{
            f"TELEMED_PAYMENTS__WECHAT__{k.upper()}": str(v)
            for k, v in wechat.model_dump().items()
            if v is not None
        },
    )
    engine = create_engine(db_url)
    try:
        with serve(env, port=port) as url:
            yield url, engine
    finally:
        engine.dispose()
        pgtemplate.drop_database(dbname)


def _until(check: Any, what: str, timeout: float = 20.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


def _logged_in(url: str, username: str) -> httpx.Client:
    token = httpx.post(
        f"{url}/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    ).json()["access_token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})


def _priced_slot(api: httpx.Client, patient_id: str, *, days: int) -> dict[str, Any]:
    """The first priced outpatient slot `days` ahead at a time the patient is free."""
    slots = api.get(
        "/api/v1/slots",
        params={
            "service_class": "outpatient",
            "patient_id": patient_id,
            "start_from": (datetime.now(UTC) + timedelta(days=days)).isoformat(),
            "limit": 50,
        },
    ).json()
    return next(s for s in slots if (s["fee_cents"] or 0) > 0)


def test_a_booking_fee_paid_through_wechat_pay_and_refunded_on_cancelling(
    app_with_wechat: tuple[str, Engine], fake: FakeWechatPay
) -> None:
    url, db = app_with_wechat
    with _logged_in(url, "patient") as api:
        me = api.get("/api/v1/auth/me").json()
        slot = _priced_slot(api, me["patient_id"], days=2)
        booked = api.post(
            "/api/v1/bookings",
            json={"slot_id": slot["id"]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert booked.status_code == 201, booked.text
        order = api.post(
            "/api/v1/payment-orders",
            json={"subject_type": "booking", "subject_id": booked.json()["id"]},
        ).json()
        assert order["total_cents"] == slot["fee_cents"]
        start = api.post(
            f"/api/v1/payment-orders/{order['id']}/pay",
            json={"provider": "wechat", "channel": "h5", "return_path": "/#/payments"},
        )
        assert start.status_code == 200, start.text
        assert start.json()["kind"] == "redirect"
        assert start.json()["url"].startswith(fake.public_url)  # the fake's payer page
        no = start.json()["order"]["order_no"]
        assert fake.orders[no].total == order["own_cents"]

        def state() -> str:
            return str(api.get(f"/api/v1/payment-orders/{order['id']}").json()["state"])

        fake.pay(no)  # the payer confirms on the phone: WeChat notifies us
        _until(lambda: state() == "paid", "paid on WeChat's notification")

        def applied() -> int:
            with db.connect() as c:
                return int(
                    c.execute(
                        text(
                            "SELECT count(*) FROM payment_applied_notice n JOIN payment_order o "
                            "ON o.id = n.order_id WHERE o.order_no = :no"
                        ),
                        {"no": no},
                    ).scalar_one()
                )

        def refused() -> int:
            with db.connect() as c:
                return int(
                    c.execute(
                        text(
                            "SELECT count(*) FROM audit_event "
                            "WHERE object_type = 'payment_notification' AND object_id = 'wechat'"
                        )
                    ).scalar_one()
                )

        assert applied() == 1
        sent = len(fake.deliveries)
        fake.notify(no)  # WeChat's duplicate: acknowledged, not applied again
        fake.wait_deliveries(sent + 1)
        assert fake.deliveries[sent].status is not None and fake.deliveries[sent].status < 300
        assert applied() == 1 and state() == "paid"
        before = refused()
        fake.notify(no, forge="wrong_key")  # signed with a key that is not WeChat's
        _until(lambda: refused() > before, "the forged notification audited")
        assert all(d.status is None or d.status >= 400 for d in fake.deliveries[sent + 1 :])
        assert state() == "paid"

        cancelled = api.post(
            f"/api/v1/bookings/{booked.json()['id']}/cancel", json={"reason": "行程有变"}
        )
        assert cancelled.status_code == 200, cancelled.text
        _until(lambda: state() == "refunded", "refunded through WeChat Pay")
        refund = next(r for r in fake.refunds.values() if r.out_trade_no == no)
        assert refund.refund == order["own_cents"] and refund.status == "SUCCESS"


def test_a_bedside_native_code_scanned_and_paid_through_wechat_pay_then_its_receipt(
    app_with_wechat: tuple[str, Engine], fake: FakeWechatPay
) -> None:
    """The county doctor of the patient's hospital lists the patient's orders, opens a
    Native payment (the code_url the bedside page draws); the patient's WeChat opens what
    the code names (the fake's page for `pr`) and confirms; the order is paid on WeChat's
    notification and its receipt names WeChat's transaction number."""
    url, _ = app_with_wechat
    with _logged_in(url, "county-doctor") as api:
        patient = api.get("/api/v1/patients", params={"q": "巴特尔"}).json()[0]
        slot = _priced_slot(api, patient["id"], days=14)
        booked = api.post(
            "/api/v1/bookings", json={"slot_id": slot["id"], "patient_id": patient["id"]}
        )
        assert booked.status_code == 201, booked.text
        order = api.post(
            "/api/v1/payment-orders",
            json={"subject_type": "booking", "subject_id": booked.json()["id"]},
        ).json()
        listed = api.get("/api/v1/payment-orders", params={"patient_id": patient["id"]}).json()
        assert order["id"] in {o["id"] for o in listed}
        early = api.get(f"/api/v1/payment-orders/{order['id']}/receipt.pdf")
        assert early.status_code == 409 and early.json()["code"] == "not_paid"

        start = api.post(
            f"/api/v1/payment-orders/{order['id']}/pay",
            json={"provider": "wechat", "channel": "native"},
        )
        assert start.status_code == 200, start.text
        assert start.json()["kind"] == "qr"
        code_url = start.json()["url"]
        assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
        pr = code_url.split("pr=", 1)[1]

        # the patient's WeChat opens what the code names, and the patient confirms
        with httpx.Client(base_url=fake.public_url) as phone:
            page = phone.get("/pay/native", params={"pr": pr})
            assert page.status_code == 200 and f"{order['own_cents'] / 100:.2f}" in page.text
            assert phone.post("/pay/confirm", data={"prepay_id": pr}).status_code < 400

        def refreshed() -> dict[str, Any] | None:  # what the bedside page does every 2 s
            o = api.post(f"/api/v1/payment-orders/{order['id']}/refresh").json()
            return o if o["state"] == "paid" else None

        paid = _until(refreshed, "paid on WeChat's notification")
        assert paid["provider"] == "wechat" and paid["channel"] == "native"
        pdf = api.get(f"/api/v1/payment-orders/{order['id']}/receipt.pdf")
        assert pdf.status_code == 200, pdf.text
        out = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True,
                             check=True).stdout.decode()  # fmt: skip
        flat = "".join(out.split())
        assert "微信支付" in flat and paid["provider_txn"] in flat
        assert f"个人自付¥{order['own_cents'] / 100:.2f}" in flat
