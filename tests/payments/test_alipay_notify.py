"""Alipay's asynchronous notifications, posted by the fake gateway over real HTTP to a
notify_url that hands them to our provider: verified ones become Notices; forged, altered
and other apps' ones are rejected; a duplicate carries the same notify_id; Alipay posts
again until it reads `success`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from telemed.payments.alipay import AlipayProvider
from telemed.payments.fake_alipay import FakeAlipay
from telemed.payments.provider import Notice, NotificationRejected
from tests.payments.alipay_fixtures import *  # noqa: F403 (the fixtures)
from tests.payments.alipay_fixtures import Receiver, order


def paid_order(provider: AlipayProvider, receiver: Receiver, no: str) -> Notice:
    """An order paid by QR code at the fake; its first verified notification."""
    start = provider.start(
        order(no, channel="native", cents=2000, notify=receiver.url, description="家庭病床服务费")
    )
    assert start.url is not None
    trade_no = start.url.rsplit("/", 1)[1]
    httpx.post(f"{start.url.split('/qr/')[0]}/cashier/{trade_no}/pay").raise_for_status()
    notice = receiver.next()
    assert isinstance(notice, Notice)
    return notice


def answered(fake: FakeAlipay, no: str) -> None:
    """Wait until the fake has the receiver's answer to the trade's first notification."""
    fake.answers(no, count=1)


def rejected(receiver: Receiver) -> str:
    outcome = receiver.next()
    assert isinstance(outcome, NotificationRejected), outcome
    return outcome.code


def test_a_verified_notification_is_a_paid_notice_answered_success(
    fake: FakeAlipay, provider: AlipayProvider, receiver: Receiver
) -> None:
    notice = paid_order(provider, receiver, "NT0001")
    assert (notice.order_no, notice.kind, notice.amount_cents) == ("NT0001", "paid", 2000)
    assert notice.provider_txn == fake.trades["NT0001"]["trade_no"]
    assert notice.at.tzinfo is not None and abs(notice.at - datetime.now(UTC)) < timedelta(
        minutes=1
    )
    assert fake.answers("NT0001", count=1) == ["success"]
    (delivery,) = [d for d in fake.deliveries if d["params"]["out_trade_no"] == "NT0001"]
    assert notice.notice_id == delivery["params"]["notify_id"]
    assert delivery["params"]["sign_type"] == "RSA2"


def test_forged_altered_and_foreign_notifications_are_rejected(
    fake: FakeAlipay, provider: AlipayProvider, receiver: Receiver
) -> None:
    paid_order(provider, receiver, "NT0002")

    assert fake.send_forged("NT0002") == "failure"
    assert rejected(receiver) == "bad_signature"

    assert fake.send_altered("NT0002", total_amount="0.01") == "failure"
    assert rejected(receiver) == "bad_signature"

    assert fake.send_altered("NT0002", trade_status="TRADE_CLOSED") == "failure"
    assert rejected(receiver) == "bad_signature"

    # signed by Alipay, but for another merchant's app
    assert fake.send_signed("NT0002", app_id="2021009999999999") == "failure"
    assert rejected(receiver) == "wrong_app"

    assert fake.send_signed("NT0002", trade_status="WAIT_BUYER_PAY") == "failure"
    assert rejected(receiver) == "malformed"


def test_a_duplicate_notification_verifies_with_the_same_notify_id(
    fake: FakeAlipay, provider: AlipayProvider, receiver: Receiver
) -> None:
    first = paid_order(provider, receiver, "NT0003")
    answered(fake, "NT0003")
    assert fake.resend_last("NT0003") == "success"
    again = receiver.next()
    assert again == first  # the order module applies it once (by order state, notify_id)


def test_alipay_posts_again_until_it_reads_success(
    fake: FakeAlipay, provider: AlipayProvider, receiver: Receiver
) -> None:
    receiver.failures_first = 2
    paid_order(provider, receiver, "NT0004")  # answered failure
    second, third = receiver.next(), receiver.next()
    assert isinstance(second, Notice) and isinstance(third, Notice)
    assert fake.answers("NT0004", count=3) == ["failure", "failure", "success"]
    assert len({d["params"]["notify_id"] for d in fake.deliveries}) == 1


def test_a_body_that_is_not_alipays_form_is_malformed(provider: AlipayProvider) -> None:
    for body in (b"\xff\xfe", b"out_trade_no=X&trade_status=TRADE_SUCCESS", b""):
        try:
            provider.parse_notification({}, body)
        except NotificationRejected as refused:
            assert refused.code == "malformed"
        else:
            raise AssertionError(f"accepted {body!r}")


def test_a_signed_notification_missing_fields_is_malformed(
    fake: FakeAlipay, provider: AlipayProvider
) -> None:
    params = fake.signed_notification({"app_id": fake.app_id, "trade_status": "TRADE_SUCCESS"})
    body = httpx.QueryParams(params).__str__().encode()
    try:
        provider.parse_notification({}, body)
    except NotificationRejected as refused:
        assert refused.code == "malformed"
    else:
        raise AssertionError("accepted a notification without out_trade_no")


def test_the_fake_run_as_a_process_takes_its_hooks_over_http(
    fake: FakeAlipay, provider: AlipayProvider, receiver: Receiver
) -> None:
    paid_order(provider, receiver, "NT0005")
    answered(fake, "NT0005")
    hook = f"{fake.url}/_fake/notify"
    assert httpx.post(hook, data={"out_trade_no": "NT0005", "mode": "forged"}).text == "failure"
    assert rejected(receiver) == "bad_signature"
    assert httpx.post(hook, data={"out_trade_no": "NT0005", "mode": "duplicate"}).text == "success"
    assert isinstance(receiver.next(), Notice)
    assert httpx.post(hook, data={"out_trade_no": "NT0005", "mode": "x"}).status_code == 400
