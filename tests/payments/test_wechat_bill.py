"""The trade bill: requested, downloaded, its SHA1 checked, parsed into BillLine."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest

from telemed.core.clock import SHANGHAI
from telemed.payments.fake_wechat import FakeWechatPay
from telemed.payments.provider import ProviderError
from telemed.payments.wechat import WechatPayProvider
from telemed.payments.wechat_bill import parse_trade_bill
from tests.payments.conftest import NotifyEndpoint, paid_order, refund


def today() -> date:
    return datetime.now(UTC).astimezone(SHANGHAI).date()


def test_the_day_bill_lists_payments_and_refunds(
    provider: WechatPayProvider, fake: FakeWechatPay, endpoint: NotifyEndpoint
) -> None:
    paid_order(provider, fake, "BILL0000001", endpoint.url, 2500)
    paid_order(provider, fake, "BILL0000002", endpoint.url, 1)
    refund(provider, "BILL0000001", "RFBILL01", 1000, total=2500)
    fake.wait_deliveries(3)
    lines = provider.bill(today())
    assert sorted((b.order_no, b.kind, b.amount_cents, b.refund_no) for b in lines) == [
        ("BILL0000001", "paid", 2500, None),
        ("BILL0000001", "refund", 1000, "RFBILL01"),
        ("BILL0000002", "paid", 1, None),
    ]
    first = next(b for b in lines if b.order_no == "BILL0000001" and b.kind == "paid")
    assert first.provider_txn == fake.orders["BILL0000001"].transaction_id
    assert first.at.tzinfo is not None and first.at.astimezone(SHANGHAI).date() == today()
    assert all(ok for _, _, ok in fake.requests)
    assert any(url.startswith("/v3/billdownload/file?token=") for _, url, _ in fake.requests)


def test_a_day_without_trades_has_no_lines(provider: WechatPayProvider) -> None:
    assert provider.bill(date(2026, 1, 1)) == []


def test_a_bill_file_that_does_not_match_its_hash_is_refused(
    provider: WechatPayProvider,
    fake: FakeWechatPay,
    endpoint: NotifyEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paid_order(provider, fake, "BILL0000003", endpoint.url, 700)
    genuine = fake.trade_bill

    def altered(day: str) -> bytes | None:
        content = genuine(day)
        return content.replace(b"`7.00", b"`0.07") if content else None

    answer = fake.bill_answer
    monkeypatch.setattr(
        fake,
        "bill_answer",
        lambda day: {
            **(answer(day) or {}),
            "hash_value": hashlib.sha1(genuine(day) or b"").hexdigest(),
        },
    )
    monkeypatch.setattr(fake, "trade_bill", altered)
    with pytest.raises(ProviderError, match="does not match its hash") as refused:
        provider.bill(today())
    assert refused.value.code == "bad_bill"


SAMPLE = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n"
    "`2026-12-03 23:59:58,`wx1,`1900000109,`0,`,`4200001,`A0000001,`o1,`NATIVE,`SUCCESS,`OTHERS,"
    "`CNY,`12.34,`0.00,`0,`0,`0.00,`0.00,`,`,`挂号费,`,`0.07,`0.60%,`12.34,`0.00,`\r\n"
    "`2026-12-03 10:00:00,`wx1,`1900000109,`0,`,`4200002,`A0000002,`o1,`JSAPI,`REVOKED,`OTHERS,"
    "`CNY,`0.00,`0.00,`0,`0,`0.00,`0.00,`,`,`挂号费,`,`0.00,`0.60%,`5.00,`0.00,`\r\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n"
    "`2,`12.34,`0.00,`0.00,`0.07,`17.34,`0.00\r\n"
)


def test_the_bill_file_format_beijing_times_yuan_and_backticks() -> None:
    [line] = parse_trade_bill(SAMPLE.encode())  # the REVOKED row moves no money
    assert (line.order_no, line.kind, line.amount_cents, line.provider_txn) == (
        "A0000001",
        "paid",
        1234,
        "4200001",
    )
    assert line.at == datetime(2026, 12, 3, 15, 59, 58, tzinfo=UTC)


def test_a_truncated_bill_file_is_refused() -> None:
    with pytest.raises(ProviderError, match="summary"):
        parse_trade_bill(SAMPLE.encode().split("总交易单数".encode())[0])
    with pytest.raises(ProviderError, match="summary"):
        parse_trade_bill(SAMPLE.replace("`2,`12.34", "`3,`12.34").encode())


def test_a_download_url_on_another_host_is_not_followed(
    provider: WechatPayProvider,
    fake: FakeWechatPay,
    endpoint: NotifyEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paid_order(provider, fake, "BILL0000004", endpoint.url, 700)
    answer = fake.bill_answer
    monkeypatch.setattr(
        fake,
        "bill_answer",
        lambda day: {**(answer(day) or {}), "download_url": "http://elsewhere.example/v3/x"},
    )
    with pytest.raises(ProviderError) as refused:
        provider.bill(today())
    assert refused.value.code == "bad_response"
