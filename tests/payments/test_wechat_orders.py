"""Orders at the fake WeChat Pay: H5, JSAPI and Native starts, the payer's page, query,
close and refunds."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from telemed.payments.fake_wechat import FakeWechatPay
from telemed.payments.provider import OrderRequest, ProviderError
from telemed.payments.wechat import WechatPayProvider
from telemed.payments.wechat_devkeys import DevKeySet
from tests.payments.conftest import NotifyEndpoint, an_order, paid_order, refund


def test_h5_order_redirects_to_the_payer_page_with_the_return_url(
    provider: WechatPayProvider, fake: FakeWechatPay
) -> None:
    start = provider.start(
        an_order("H5ORDER0001", "h5", client_ip="10.0.0.8", return_url="http://app.local/#/pay/1")
    )
    assert start.kind == "redirect" and start.url
    sent = fake.orders["H5ORDER0001"].request
    assert sent["scene_info"] == {"payer_client_ip": "10.0.0.8", "h5_info": {"type": "Wap"}}
    assert sent["amount"] == {"total": 1850, "currency": "CNY"}
    assert sent["time_expire"] == "2036-12-04T10:00:00+08:00"
    assert sent["mchid"] == fake.keys.mchid and sent["appid"] == fake.keys.appid
    query = parse_qs(urlsplit(start.url).query)
    assert query["redirect_url"] == ["http://app.local/#/pay/1"]
    page = httpx.get(start.url)
    assert "¥18.50" in page.text and "确认支付" in page.text and "取消" in page.text
    assert "name=viewport" in page.text


def test_h5_order_needs_the_payer_ip(provider: WechatPayProvider) -> None:
    with pytest.raises(ProviderError) as refused:
        provider.start(an_order("H5ORDER0002", "h5"))
    assert refused.value.code == "missing_client_ip"


def test_jsapi_order_gives_pay_sign_parameters_signed_by_the_merchant_key(
    provider: WechatPayProvider, fake: FakeWechatPay, keyset: DevKeySet
) -> None:
    start = provider.start(
        an_order("JSORDER0001", "jsapi", payer_ref="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    )
    assert start.kind == "jsapi" and start.provider_ref == fake.orders["JSORDER0001"].prepay_id
    params = dict(start.params)
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"] == f"prepay_id={start.provider_ref}" and params["signType"] == "RSA"
    assert fake.orders["JSORDER0001"].request["payer"] == {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
    signed = "".join(params[k] + "\n" for k in ("appId", "timeStamp", "nonceStr", "package"))
    public = x509.load_pem_x509_certificate(keyset.merchant_cert.read_bytes()).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        base64.b64decode(params["paySign"]), signed.encode(), padding.PKCS1v15(), hashes.SHA256()
    )


def test_native_order_gives_a_weixin_code_url(
    provider: WechatPayProvider, fake: FakeWechatPay
) -> None:
    start = provider.start(an_order("NATIVE00001", "native"))
    assert start.kind == "qr" and start.url
    assert re.fullmatch(r"weixin://wxpay/bizpayurl\?pr=\w+", start.url)
    pr = start.url.split("pr=")[1]
    assert "¥18.50" in httpx.get(f"{fake.public_url}/pay/native", params={"pr": pr}).text


def test_the_same_order_twice_is_one_order_and_a_changed_one_is_refused(
    provider: WechatPayProvider,
) -> None:
    first = provider.start(an_order("NATIVE00002", "native"))
    assert provider.start(an_order("NATIVE00002", "native")).url == first.url
    changed = OrderRequest(**{**an_order("NATIVE00002").__dict__, "amount_cents": 1})
    with pytest.raises(ProviderError) as refused:
        provider.start(changed)
    assert refused.value.code == "wechat_invalid_request"


def test_confirming_on_the_payer_page_pays_and_query_reports_it(
    provider: WechatPayProvider, fake: FakeWechatPay, endpoint: NotifyEndpoint
) -> None:
    start = provider.start(
        an_order(
            "H5ORDER0003",
            "h5",
            client_ip="10.0.0.9",
            notify_url=endpoint.url,
            return_url="http://app.local/back",
        )
    )
    assert provider.query("H5ORDER0003") is None  # NOTPAY
    prepay_id = fake.orders["H5ORDER0003"].prepay_id
    done = httpx.post(
        f"{fake.public_url}/pay/confirm",
        data={"prepay_id": prepay_id, "redirect_url": "http://app.local/back"},
    )
    assert done.status_code == 303 and done.headers["location"] == "http://app.local/back"
    notice = provider.query("H5ORDER0003")
    assert notice is not None and notice.kind == "paid" and notice.amount_cents == 1850
    assert notice.provider_txn == fake.orders["H5ORDER0003"].transaction_id
    assert notice.at.tzinfo is not None
    assert "支付成功" in httpx.get(start.url or "").text


def test_cancel_on_the_payer_page_leaves_the_order_unpaid(
    provider: WechatPayProvider, fake: FakeWechatPay
) -> None:
    provider.start(an_order("H5ORDER0004", "h5", client_ip="10.0.0.9"))
    prepay_id = fake.orders["H5ORDER0004"].prepay_id
    assert (
        "已取消" in httpx.post(f"{fake.public_url}/pay/cancel", data={"prepay_id": prepay_id}).text
    )
    assert provider.query("H5ORDER0004") is None


def test_close_then_query_reports_closed_and_paying_is_no_longer_possible(
    provider: WechatPayProvider, fake: FakeWechatPay
) -> None:
    provider.start(an_order("NATIVE00003", "native"))
    provider.close("NATIVE00003")
    notice = provider.query("NATIVE00003")
    assert notice is not None and notice.kind == "closed"
    prepay_id = fake.orders["NATIVE00003"].prepay_id
    assert (
        "订单已关闭"
        in httpx.post(f"{fake.public_url}/pay/confirm", data={"prepay_id": prepay_id}).text
    )
    assert fake.orders["NATIVE00003"].trade_state == "CLOSED"


def test_closing_a_paid_order_is_refused_and_an_unknown_order_queries_none(
    provider: WechatPayProvider, fake: FakeWechatPay
) -> None:
    provider.start(an_order("NATIVE00004", "native"))
    fake.pay("NATIVE00004")
    with pytest.raises(ProviderError) as refused:
        provider.close("NATIVE00004")
    assert refused.value.code == "wechat_orderpaid" and not refused.value.unavailable
    assert provider.query("NOSUCHORDER1") is None


def test_refund_is_processing_then_notified_as_refunded(
    provider: WechatPayProvider, fake: FakeWechatPay, endpoint: NotifyEndpoint
) -> None:
    paid_order(provider, fake, "NATIVE00005", endpoint.url)
    started = refund(provider, "NATIVE00005", "RF00005A", 850)
    assert started.state == "processing" and started.provider_ref
    sent = fake.refunds["RF00005A"]
    assert (sent.refund, sent.total, sent.notify_url) == (850, 1850, endpoint.url)
    assert sent.reason == "患者取消预约"
    fake.wait_deliveries(2)
    refunded = endpoint.notices[-1]
    assert (refunded.kind, refunded.order_no, refunded.refund_no, refunded.amount_cents) == (
        "refunded",
        "NATIVE00005",
        "RF00005A",
        850,
    )
    # the same refund number again is the same refund, not a second one
    again = refund(provider, "NATIVE00005", "RF00005A", 850)
    assert again.state == "succeeded" and again.provider_ref == started.provider_ref
    with pytest.raises(ProviderError) as refused:  # more than what is left
        refund(provider, "NATIVE00005", "RF00005B", 1001)
    assert refused.value.code == "wechat_invalid_request"


def test_a_refund_that_ends_abnormal_is_notified_as_failed(
    provider: WechatPayProvider, fake: FakeWechatPay, endpoint: NotifyEndpoint
) -> None:
    paid_order(provider, fake, "NATIVE00006", endpoint.url)
    fake.refund_outcome = "ABNORMAL"
    refund(provider, "NATIVE00006", "RF00006A", 1850)
    fake.wait_deliveries(2)
    failed = endpoint.notices[-1]
    assert (failed.kind, failed.refund_no, failed.amount_cents) == (
        "refund_failed",
        "RF00006A",
        1850,
    )


def test_refund_of_an_unpaid_order_is_refused(provider: WechatPayProvider) -> None:
    provider.start(an_order("NATIVE00007"))
    with pytest.raises(ProviderError) as refused:
        refund(provider, "NATIVE00007", "RF00007A", 1)
    assert refused.value.code == "wechat_resource_not_exists"
