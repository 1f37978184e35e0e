"""Notifications from the fake WeChat Pay: verified, decrypted and read into a Notice;
forged, altered, stale and unknown-certificate ones refused with their code; retried by
the fake while we do not answer 2xx."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from telemed.payments.fake_wechat import FakeWechatPay
from telemed.payments.fake_wechat_state import Forgery
from telemed.payments.provider import NotificationRejected
from telemed.payments.wechat import WechatPayProvider
from telemed.payments.wechat_devkeys import DevKeySet, provider_settings
from tests.payments.conftest import NotifyEndpoint, an_order


def placed(provider: WechatPayProvider, endpoint: NotifyEndpoint, no: str) -> None:
    provider.start(an_order(no, amount_cents=3000, notify_url=endpoint.url))


def test_a_payment_notification_is_verified_decrypted_and_read(
    provider: WechatPayProvider, fake: FakeWechatPay, endpoint: NotifyEndpoint
) -> None:
    placed(provider, endpoint, "NOTIFY00001")
    fake.pay("NOTIFY00001")
    [delivery] = fake.wait_deliveries(1)
    assert (delivery.event_type, delivery.status) == ("TRANSACTION.SUCCESS", 204)
    [notice] = endpoint.notices
    order = fake.orders["NOTIFY00001"]
    assert (notice.order_no, notice.kind, notice.amount_cents) == ("NOTIFY00001", "paid", 3000)
    assert notice.provider_txn == order.transaction_id
    assert notice.notice_id and notice.notice_id.startswith("EV-")
    assert notice.at == datetime.fromisoformat(order.success_time or "").astimezone(UTC)
    assert notice.at.tzinfo == UTC


def test_a_duplicate_notification_reads_the_same_notice_twice_with_distinct_ids(
    provider: WechatPayProvider, fake: FakeWechatPay, endpoint: NotifyEndpoint
) -> None:
    placed(provider, endpoint, "NOTIFY00002")
    fake.pay("NOTIFY00002")
    fake.notify("NOTIFY00002", times=2)
    fake.wait_deliveries(3)
    assert len(endpoint.notices) == 3
    assert {(n.order_no, n.kind, n.provider_txn) for n in endpoint.notices} == {
        ("NOTIFY00002", "paid", fake.orders["NOTIFY00002"].transaction_id)
    }  # the order module applies it once (by order state), whatever the notice id


@pytest.mark.parametrize(
    ("forge", "code"),
    [
        ("wrong_key", "bad_signature"),
        ("altered", "bad_signature"),
        ("stale", "stale_timestamp"),
        ("unknown_serial", "unknown_certificate"),
        ("wrong_apiv3_key", "undecryptable"),
    ],
)
def test_a_forged_notification_is_refused_with_its_code_and_wechat_retries(
    provider: WechatPayProvider,
    fake: FakeWechatPay,
    endpoint: NotifyEndpoint,
    forge: Forgery,
    code: str,
) -> None:
    placed(provider, endpoint, "NOTIFY00003")
    fake.pay("NOTIFY00003")
    fake.wait_deliveries(1)
    fake.notify("NOTIFY00003", forge=forge)
    attempts = 1 + len(fake.retry_delays)
    deliveries = fake.wait_deliveries(1 + attempts)
    assert [d.status for d in deliveries[1:]] == [500] * attempts  # refused each time
    assert endpoint.rejected == [code] * attempts
    assert len(endpoint.notices) == 1  # only the genuine one


def test_the_refusal_reply_is_what_wechat_expects(provider: WechatPayProvider) -> None:
    status, content_type, body = provider.notification_reply(False)
    assert status >= 400 and content_type == "application/json"
    assert json.loads(body) == {"code": "FAIL", "message": "失败"}
    assert provider.notification_reply(True)[0] in (200, 204)


def test_a_notification_not_answered_2xx_is_sent_again_until_it_is(
    provider: WechatPayProvider, fake: FakeWechatPay, endpoint: NotifyEndpoint
) -> None:
    placed(provider, endpoint, "NOTIFY00004")
    endpoint.refuse_first = 2
    fake.pay("NOTIFY00004")
    deliveries = fake.wait_deliveries(3)
    assert [d.status for d in deliveries] == [500, 500, 204]
    assert [n.order_no for n in endpoint.notices] == ["NOTIFY00004"]


def test_headers_missing_or_body_not_json_are_malformed(
    provider: WechatPayProvider, fake: FakeWechatPay
) -> None:
    with pytest.raises(NotificationRejected) as missing:
        provider.parse_notification({}, b"{}")
    assert missing.value.code == "malformed"
    body = b"not json"
    with pytest.raises(NotificationRejected) as not_json:
        provider.parse_notification(fake.signed_headers(body), body)
    assert not_json.value.code == "malformed"


@pytest.mark.parametrize(
    "resource",
    [
        {"mchid": "1230000109", "out_trade_no": "X1", "trade_state": "SUCCESS"},  # another
        {"mchid": "1900000109", "trade_state": "SUCCESS", "amount": {"total": "eighteen"}},
    ],
)
def test_a_resource_for_another_merchant_or_of_wrong_types_is_malformed(
    provider: WechatPayProvider, fake: FakeWechatPay, resource: dict[str, object]
) -> None:
    body, headers = fake.notification("TRANSACTION.SUCCESS", "支付成功", "transaction", resource)
    with pytest.raises(NotificationRejected) as refused:
        provider.parse_notification(headers, body)
    assert refused.value.code == "malformed"


def test_lowercase_header_names_are_read_too(
    provider: WechatPayProvider, fake: FakeWechatPay, endpoint: NotifyEndpoint
) -> None:
    placed(provider, endpoint, "NOTIFY00005")
    order = fake.pay("NOTIFY00005")
    fake.wait_deliveries(1)
    body, headers = fake.notification(
        "TRANSACTION.SUCCESS", "支付成功", "transaction", fake.transaction(order)
    )
    lowered = {k.lower(): v for k, v in headers.items()}
    assert provider.parse_notification(lowered, body).kind == "paid"


def test_public_key_mode_notifications_verify_with_the_configured_key(
    keyset: DevKeySet, fake: FakeWechatPay, endpoint: NotifyEndpoint
) -> None:
    fake.public_key_mode = True
    settings = provider_settings(keyset, base_url=fake.public_url, public_key_mode=True)
    provider = WechatPayProvider(settings)
    endpoint.provider = provider
    placed(provider, endpoint, "NOTIFY00006")
    fake.pay("NOTIFY00006")
    fake.wait_deliveries(1)
    assert [n.order_no for n in endpoint.notices] == ["NOTIFY00006"]
    assert "/v3/certificates" not in [url for _, url, _ in fake.requests]
    fake.notify("NOTIFY00006", forge="wrong_key")
    fake.wait_deliveries(2)
    assert endpoint.rejected[0] == "bad_signature"
