"""Our Alipay provider against the fake gateway over real HTTP: signed requests, verified
responses, wap.pay, precreate, query, close, refund and the bill (docs/payments.md)."""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from telemed.core.clock import SHANGHAI
from telemed.core.payment_settings import AlipaySettings
from telemed.payments.alipay import AlipayError, AlipayProvider
from telemed.payments.alipay_bill import parse_bill_zip
from telemed.payments.alipay_sign import DevKeys, create_dev_keys, signing_string
from telemed.payments.fake_alipay import FakeAlipay
from telemed.payments.provider import Notice, ProviderError
from tests.payments.alipay_fixtures import *  # noqa: F403 (the fixtures)
from tests.payments.alipay_fixtures import Receiver, order, settings_for


def pay_in_cashier(url: str) -> httpx.Response:
    """Open the cashier as the payer's phone does and press 确认付款."""
    with httpx.Client(follow_redirects=False) as browser:
        page = browser.get(url, follow_redirects=True)
        assert page.status_code == 200, page.text
        assert "确认付款" in page.text and "取消" in page.text
        action = re.search(r'action="([^"]+/pay)"', page.text)
        assert action is not None
        return browser.post(str(page.url.join(action.group(1))))


def test_signing_string_is_alipays_sorted_form() -> None:
    params = {
        "method": "alipay.trade.pay",
        "app_id": "9021000123609320",
        "sign_type": "RSA2",
        "biz_content": '{"out_trade_no":"A1","total_amount":"0.10","subject":"测试订单"}',
        "charset": "utf-8",
        "timestamp": "2023-08-03 17:42:46",
        "version": "1.0",
        "notify_url": "http://www.notify.com/notify",
        "return_url": "",
        "sign": "x",
    }
    # the string Alipay's gateway echoes when it refuses a signature (values not encoded,
    # sign_type kept for requests, sign and empty values left out)
    assert signing_string(params) == (
        "app_id=9021000123609320&biz_content="
        '{"out_trade_no":"A1","total_amount":"0.10","subject":"测试订单"}'
        "&charset=utf-8&method=alipay.trade.pay&notify_url=http://www.notify.com/notify"
        "&sign_type=RSA2&timestamp=2023-08-03 17:42:46&version=1.0"
    )
    assert "sign_type" not in signing_string(params, exclude=("sign", "sign_type"))


def test_wap_pay_is_a_signed_gateway_url_the_fake_accepts(
    fake: FakeAlipay, provider: AlipayProvider, receiver: Receiver
) -> None:
    start = provider.start(order("WAP0001", notify=receiver.url))
    assert start.kind == "redirect" and start.url is not None
    url = urlsplit(start.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == fake.gateway
    params = dict(parse_qsl(url.query))
    assert params["method"] == "alipay.trade.wap.pay"
    assert (params["charset"], params["sign_type"], params["version"]) == ("utf-8", "RSA2", "1.0")
    assert params["notify_url"] == receiver.url
    assert params["return_url"].endswith("order=WAP0001")
    stamp = datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=1)
    biz = json.loads(params["biz_content"])
    assert biz["out_trade_no"] == "WAP0001" and biz["total_amount"] == "12.50"
    assert biz["product_code"] == "QUICK_WAP_WAY" and biz["subject"] == "远程会诊费 · 心内科"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", biz["time_expire"])

    paid = pay_in_cashier(start.url)
    assert paid.status_code == 303
    back = urlsplit(paid.headers["location"])
    assert back.path == "/pay/return"
    returned = dict(parse_qsl(back.query))
    assert returned["out_trade_no"] == "WAP0001" and returned["order"] == "WAP0001"
    returned.pop("order")
    assert provider.verify_return(returned)
    assert not provider.verify_return({**returned, "total_amount": "0.01"})

    notice = receiver.next()
    assert isinstance(notice, Notice)
    assert (notice.order_no, notice.kind, notice.amount_cents) == ("WAP0001", "paid", 1250)
    assert notice.provider_txn == fake.trades["WAP0001"]["trade_no"] and notice.notice_id


def test_the_cashier_refuses_an_altered_wap_pay_url(
    fake: FakeAlipay, provider: AlipayProvider
) -> None:
    start = provider.start(order("WAP0002"))
    assert start.url is not None
    altered = start.url.replace("12.50", "0.01")
    page = httpx.get(altered)
    assert page.status_code == 400
    assert "invalid-signature" in page.text and "验签出错" in page.text
    assert "WAP0002" not in fake.trades


def test_a_request_signed_with_another_key_is_refused(
    fake: FakeAlipay, keys: DevKeys, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stranger = create_dev_keys(tmp_path_factory.mktemp("stranger"))
    wrong = AlipayProvider(
        settings_for(fake, keys, app_private_key_path=str(stranger.app_private_key))
    )
    with pytest.raises(AlipayError) as refused:
        wrong.query("NOPE0001")
    assert refused.value.sub_code == "isv.invalid-signature"
    assert refused.value.code == "alipay_40002"
    assert fake.refused[-1] == {"sub_code": "isv.invalid-signature", "method": "alipay.trade.query"}


class _Tamper(httpx.BaseTransport):
    """Passes requests to the real fake over HTTP and alters what comes back."""

    def __init__(self, old: str, new: str):
        self.real = httpx.HTTPTransport()
        self.old, self.new = old, new

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.real.handle_request(request)
        body = answer.read().decode().replace(self.old, self.new)
        return httpx.Response(answer.status_code, content=body.encode())


def test_a_tampered_or_unverifiable_response_is_refused(
    fake: FakeAlipay, keys: DevKeys, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = settings_for(fake, keys)
    tampered = AlipayProvider(settings, transport=_Tamper("/qr/", "/qr/evil"))
    with pytest.raises(ProviderError) as refused:
        tampered.start(order("QR0009", channel="native"))
    assert refused.value.code == "unverified_response"

    unsigned = AlipayProvider(settings, transport=_Tamper('"sign":', '"signature":'))
    with pytest.raises(ProviderError, match="not signed"):
        unsigned.start(order("QR0010", channel="native"))

    stranger = create_dev_keys(tmp_path_factory.mktemp("not-alipay"))
    wrong_key = AlipayProvider(
        settings_for(fake, keys, alipay_public_key_path=str(stranger.alipay_public_key))
    )
    with pytest.raises(ProviderError) as refused:
        wrong_key.start(order("QR0011", channel="native"))
    assert refused.value.code == "unverified_response"


def test_precreate_gives_a_qr_code_whose_cashier_pays(
    fake: FakeAlipay, provider: AlipayProvider, receiver: Receiver
) -> None:
    start = provider.start(order("QR0001", channel="native", cents=3000, notify=receiver.url))
    assert start.kind == "qr" and start.url is not None
    assert start.url.startswith(fake.url + "/qr/")
    assert provider.query("QR0001") is None  # not scanned yet: unknown to Alipay
    paid = pay_in_cashier(start.url)
    assert paid.status_code == 200 and "支付成功" in paid.text
    notice = receiver.next()
    assert isinstance(notice, Notice) and (notice.kind, notice.amount_cents) == ("paid", 3000)
    queried = provider.query("QR0001")
    assert queried is not None and (queried.kind, queried.amount_cents) == ("paid", 3000)
    assert queried.provider_txn == notice.provider_txn
    assert abs(queried.at - notice.at) < timedelta(seconds=1)


def test_query_and_close(fake: FakeAlipay, provider: AlipayProvider) -> None:
    provider.start(order("QR0002", channel="native"))
    provider.close("QR0002")  # never scanned: nothing to close at Alipay, no error

    start = provider.start(order("QR0003", channel="native"))
    assert start.url is not None
    httpx.get(start.url).raise_for_status()  # scanned, not paid
    assert provider.query("QR0003") is None
    provider.close("QR0003")
    closed = provider.query("QR0003")
    assert closed is not None and closed.kind == "closed"
    assert fake.trades["QR0003"]["status"] == "TRADE_CLOSED"
    assert pay_in_cashier(start.url).status_code == 409

    provider.close("NEVER0001")  # unknown to Alipay: closed already


def test_the_cashier_shows_the_order_and_refuses_after_time_expire(
    fake: FakeAlipay, provider: AlipayProvider
) -> None:
    start = provider.start(order("EX0001", cents=9))
    assert start.url is not None
    page = httpx.get(start.url, follow_redirects=True)
    assert 'name="viewport"' in page.text and 'lang="zh-CN"' in page.text
    assert "¥0.09" in page.text and "远程会诊费 · 心内科" in page.text
    cancelled = httpx.post(str(page.url) + "/cancel")
    assert "已取消付款" in cancelled.text and fake.trades["EX0001"]["status"] == "WAIT_BUYER_PAY"

    late = replace(order("EX0002"), expires_at=datetime.now(UTC) - timedelta(seconds=1))
    start = provider.start(late)
    assert start.url is not None
    assert pay_in_cashier(start.url).status_code == 409
    closed = provider.query("EX0002")
    assert closed is not None and closed.kind == "closed"


def test_a_paid_trade_cannot_be_closed(provider: AlipayProvider, receiver: Receiver) -> None:
    start = provider.start(order("QR0004", channel="native", notify=receiver.url))
    assert start.url is not None
    pay_in_cashier(start.url)
    with pytest.raises(AlipayError) as refused:
        provider.close("QR0004")
    assert refused.value.sub_code == "ACQ.TRADE_STATUS_ERROR"


def test_refund_in_parts_is_idempotent_per_refund_no_and_never_exceeds_the_payment(
    fake: FakeAlipay, provider: AlipayProvider, receiver: Receiver
) -> None:
    start = provider.start(order("RF0001", cents=5000, notify=receiver.url))
    assert start.url is not None
    pay_in_cashier(start.url)
    assert isinstance(receiver.next(), Notice)

    args = {"order_no": "RF0001", "total_cents": 5000, "reason": "预约取消"}
    first = provider.refund(refund_no="RFN0001", amount_cents=2000, **args)
    assert (first.refund_no, first.state) == ("RFN0001", "succeeded")
    assert first.provider_ref == fake.trades["RF0001"]["trade_no"]
    notice = receiver.next()
    assert isinstance(notice, Notice)
    assert (notice.kind, notice.refund_no, notice.amount_cents) == ("refunded", "RFN0001", 2000)

    again = provider.refund(refund_no="RFN0001", amount_cents=2000, **args)
    assert again.state == "succeeded"
    assert len(fake.trades["RF0001"]["refunds"]) == 1  # no money moved twice

    too_much = provider.refund(refund_no="RFN0002", amount_cents=3001, **args)
    assert (too_much.state, too_much.message) == ("failed", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
    rest = provider.refund(refund_no="RFN0003", amount_cents=3000, **args)
    assert rest.state == "succeeded"
    assert fake.trades["RF0001"]["status"] == "TRADE_CLOSED"

    unpaid = provider.refund(
        order_no="NEVER0002", refund_no="RFN0004", amount_cents=1, total_cents=1, reason="x"
    )
    assert (unpaid.state, unpaid.message) == ("failed", "ACQ.TRADE_NOT_EXIST")


def test_the_bill_is_a_zip_of_gbk_csv_read_into_lines(
    fake: FakeAlipay, provider: AlipayProvider, receiver: Receiver
) -> None:
    for no, cents in (("BL0001", 1250), ("BL0002", 800)):
        start = provider.start(order(no, cents=cents, notify=receiver.url))
        assert start.url is not None
        pay_in_cashier(start.url)
    provider.refund(
        order_no="BL0002", refund_no="BLR0001", amount_cents=300, total_cents=800, reason="部分退款"
    )
    today = datetime.now(SHANGHAI).date()

    lines = provider.bill(today)
    by_kind = {(line.order_no, line.kind): line for line in lines}
    assert set(by_kind) == {("BL0001", "paid"), ("BL0002", "paid"), ("BL0002", "refund")}
    assert by_kind[("BL0001", "paid")].amount_cents == 1250
    assert by_kind[("BL0001", "paid")].provider_txn == fake.trades["BL0001"]["trade_no"]
    refund = by_kind[("BL0002", "refund")]
    assert (refund.amount_cents, refund.refund_no) == (300, "BLR0001")
    assert all(line.at.tzinfo is not None and line.at <= datetime.now(UTC) for line in lines)

    # the file itself is what Alipay serves: GBK, comment header and footer, padded cells
    data = httpx.get(f"{fake.url}/bill/{today.isoformat()}.zip").content
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        detail = next(n for n in names if n.endswith("_业务明细.csv"))
        text = archive.read(detail).decode("gbk")
    assert any(n.endswith("_业务明细(汇总).csv") for n in names)
    assert text.startswith("#支付宝业务明细查询")
    assert "#交易合计：2笔" in text and "#退款合计：1笔" in text and "-3.00\t" in text
    assert parse_bill_zip(data) == lines

    assert provider.bill(today - timedelta(days=3)) == []


def test_a_bill_with_gbk_member_names_and_no_utf8_flag_is_read() -> None:
    text = (
        "#支付宝业务明细查询\n支付宝交易号,商户订单号,业务类型,完成时间,订单金额（元）,退款批次号/请求号\n"
        "2026120422001\t,ORD1\t,交易\t,2026-12-04 09:30:00\t,12.50\t,\n#导出时间：[x]\n"
    )
    name = "2088_20261204_业务明细.csv".encode("gbk")
    placeholder = b"N" * len(name)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(placeholder.decode(), text.encode("gbk"))
    # Alipay's member names are GBK bytes without the UTF-8 flag (zipfile writes UTF-8)
    raw = out.getvalue().replace(placeholder, name)
    (line,) = parse_bill_zip(raw)
    assert (line.order_no, line.kind, line.amount_cents) == ("ORD1", "paid", 1250)
    assert line.at == datetime(2026, 12, 4, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_bill_zip(b"not a zip")


def test_an_unreachable_gateway_is_unavailable(keys: DevKeys, fake: FakeAlipay) -> None:
    gone = AlipayProvider(settings_for(fake, keys, gateway="http://127.0.0.1:9/gateway.do"))
    with pytest.raises(ProviderError) as refused:
        gone.query("ANY0001")
    assert refused.value.unavailable and refused.value.code == "unreachable"


def test_missing_keys_are_not_configured(keys: DevKeys, fake: FakeAlipay, tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as refused:
        AlipayProvider(settings_for(fake, keys, app_private_key_path=str(tmp_path / "no.pem")))
    assert refused.value.code == "not_configured"
    with pytest.raises(ProviderError) as refused:
        AlipayProvider(settings_for(fake, keys, app_id=None))
    assert refused.value.code == "not_configured"


def test_the_fake_runs_as_its_own_process(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = tmp_path / "fake-alipay"
    command = [sys.executable, "-m", "telemed.payments.fake_alipay", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--state-dir", str(state)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        env = dict(line.strip().split("=", 1) for line in lines[1:])
        prefix = "TELEMED_PAYMENTS__ALIPAY__"
        settings = AlipaySettings(**{k.removeprefix(prefix).lower(): v for k, v in env.items()})
        assert settings.gateway == f"http://127.0.0.1:{port}/gateway.do"
        ours = AlipayProvider(settings)
        start = ours.start(order("PR0001", channel="native"))
        assert start.url is not None and httpx.get(start.url).status_code == 200
        assert ours.query("PR0001") is None  # waiting for the payer
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "PR0001" in (state / "trades.json").read_text()
