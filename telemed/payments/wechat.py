"""WeChat Pay API v3 (微信支付) as a PaymentProvider: H5, JSAPI and Native orders, verified
and decrypted notifications, query, close, refund and the trade bill (docs/payments.md).

Written on `cryptography` + `httpx` rather than the `wechatpayv3` SDK: the SDK's gateway
is fixed to api.mch.weixin.qq.com, it downloads the platform certificates and bill files
without verifying the answer, does not refuse stale notifications, reports every failure
as `None`/a bare Exception (we need bad_signature, stale_timestamp … apart), and logs
request headers and decrypted notifications when given a logger.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal, cast
from urllib.parse import quote, urlencode

import httpx
from cryptography.exceptions import InvalidTag

from telemed.core import clock
from telemed.core.clock import SHANGHAI
from telemed.core.payment_settings import WechatPaySettings
from telemed.payments.provider import (
    BillLine,
    Notice,
    NotificationRejected,
    OrderRequest,
    PayStart,
    ProviderError,
    RefundStart,
)
from telemed.payments.wechat_bill import check_hash, parse_trade_bill
from telemed.payments.wechat_client import WechatClient, aead_decrypt

__all__ = ["WechatPayProvider", "rfc3339"]

REFUND_STATES: dict[str, Literal["processing", "succeeded", "failed"]] = {
    "SUCCESS": "succeeded",
    "PROCESSING": "processing",
    "CLOSED": "failed",
    "ABNORMAL": "failed",
}
REFUND_EVENTS: dict[str, Literal["refunded", "refund_failed"]] = {
    "REFUND.SUCCESS": "refunded",
    "REFUND.ABNORMAL": "refund_failed",
    "REFUND.CLOSED": "refund_failed",
}


def rfc3339(value: datetime) -> str:
    """A time as WeChat Pay writes it: RFC 3339 in Beijing time, `2026-12-04T09:30:00+08:00`."""
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds")


def _time(value: object, *, fallback: datetime) -> datetime:
    if not isinstance(value, str) or not value:
        return fallback
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        return fallback


class WechatPayProvider:
    """One merchant (直连商户) at WeChat Pay API v3. `notify_url`: where refund
    notifications go (orders carry their own); `transport`/`now` for tests."""

    name = "wechat"
    channels = frozenset({"h5", "jsapi", "native"})

    def __init__(
        self,
        settings: WechatPaySettings,
        *,
        notify_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], datetime] = clock.now,
    ):
        if not settings.appid:
            raise ProviderError(
                "WeChat Pay needs TELEMED_PAYMENTS__WECHAT__APPID", code="bad_configuration"
            )
        self.appid = settings.appid
        self._notify_url = notify_url
        self._now = now
        self.client = WechatClient(settings, transport=transport, now=now)

    # orders ----------------------------------------------------------------------------

    def start(self, order: OrderRequest) -> PayStart:
        """Place the order (`POST /v3/pay/transactions/{h5|jsapi|native}`)."""
        if order.channel not in self.channels:
            raise ProviderError(
                f"WeChat Pay has no {order.channel} payment", code="unsupported_channel"
            )
        if order.currency != "CNY":
            raise ProviderError("WeChat Pay takes CNY only", code="unsupported_currency")
        body: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.client.mchid,
            "description": order.description,
            "out_trade_no": order.order_no,
            "time_expire": rfc3339(order.expires_at),
            "notify_url": order.notify_url,
            "amount": {"total": order.amount_cents, "currency": order.currency},
        }
        if order.channel == "h5":
            if not order.client_ip:
                raise ProviderError("H5 payment needs the payer's IP", code="missing_client_ip")
            body["scene_info"] = {"payer_client_ip": order.client_ip, "h5_info": {"type": "Wap"}}
        if order.channel == "jsapi":
            if not order.payer_ref:
                raise ProviderError("JSAPI payment needs the payer's openid", code="missing_openid")
            body["payer"] = {"openid": order.payer_ref}
        _, answer = self.client.request("POST", f"/v3/pay/transactions/{order.channel}", body)
        answer = answer or {}
        if order.channel == "h5":
            url = str(answer.get("h5_url", ""))
            if order.return_url:  # WeChat sends the payer back there after paying
                url += (
                    ("&" if "?" in url else "?")
                    + "redirect_url="
                    + quote(order.return_url, safe="")
                )
            return PayStart(kind="redirect", url=url)
        if order.channel == "native":
            return PayStart(kind="qr", url=str(answer.get("code_url", "")))
        prepay_id = str(answer.get("prepay_id", ""))
        return PayStart(kind="jsapi", params=self.jsapi_params(prepay_id), provider_ref=prepay_id)

    def jsapi_params(self, prepay_id: str) -> dict[str, str]:
        """What WeixinJSBridge `getBrandWCPayRequest` / wx.requestPayment take: the merchant
        key's RSA-SHA256 signature over "appId\\ntimeStamp\\nnonceStr\\npackage\\n"."""
        params = {
            "appId": self.appid,
            "timeStamp": str(int(self._now().timestamp())),
            "nonceStr": secrets.token_hex(16),
            "package": f"prepay_id={prepay_id}",
            "signType": "RSA",
        }
        message = "".join(params[k] + "\n" for k in ("appId", "timeStamp", "nonceStr", "package"))
        return {**params, "paySign": self.client.sign(message)}

    def query(self, order_no: str) -> Notice | None:
        """`GET /v3/pay/transactions/out-trade-no/{no}`: paid (SUCCESS, REFUND), closed
        (CLOSED, REVOKED), else None (NOTPAY, USERPAYING, PAYERROR, unknown order)."""
        path = f"/v3/pay/transactions/out-trade-no/{quote(order_no, safe='')}?" + urlencode(
            {"mchid": self.client.mchid}
        )
        try:
            _, answer = self.client.request("GET", path)
        except ProviderError as exc:
            if exc.code == "wechat_order_not_exist":
                return None
            raise
        try:
            return self._trade_notice(answer or {}, notice_id=None)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ProviderError(
                "the order answer is not as documented", code="bad_response"
            ) from exc

    def close(self, order_no: str) -> None:
        """`POST …/out-trade-no/{no}/close` (answered 204)."""
        path = f"/v3/pay/transactions/out-trade-no/{quote(order_no, safe='')}/close"
        self.client.request("POST", path, {"mchid": self.client.mchid})

    def refund(
        self, *, order_no: str, refund_no: str, amount_cents: int, total_cents: int, reason: str
    ) -> RefundStart:
        """`POST /v3/refund/domestic/refunds`; the outcome also comes as a REFUND.* notice."""
        body: dict[str, Any] = {
            "out_trade_no": order_no,
            "out_refund_no": refund_no,
            "reason": reason[:80],
            "amount": {"refund": amount_cents, "total": total_cents, "currency": "CNY"},
        }
        if self._notify_url:
            body["notify_url"] = self._notify_url
        _, answer = self.client.request("POST", "/v3/refund/domestic/refunds", body)
        answer = answer or {}
        status = str(answer.get("status", ""))
        return RefundStart(
            refund_no=refund_no,
            state=REFUND_STATES.get(status, "processing"),
            provider_ref=answer.get("refund_id"),
            message=status,
        )

    def bill(self, day: date) -> list[BillLine]:
        """The day's trade bill (`GET /v3/bill/tradebill`, then its download_url), its SHA1
        checked; a day without trades (NO_STATEMENT_EXIST) has no lines."""
        query = urlencode({"bill_date": day.isoformat(), "bill_type": "ALL"})
        try:
            _, answer = self.client.request("GET", f"/v3/bill/tradebill?{query}")
        except ProviderError as exc:
            if exc.code == "wechat_no_statement_exist":
                return []
            raise
        answer = answer or {}
        content = self.client.download(str(answer.get("download_url", "")))
        check_hash(
            content,
            hash_type=str(answer.get("hash_type", "")),
            hash_value=str(answer.get("hash_value", "")),
        )
        return parse_trade_bill(content)

    # notifications ---------------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notice:
        """Verify (signature by the named platform key, timestamp within 5 minutes),
        decrypt the resource and read one payment or refund notification."""
        self.client.check(headers, body)
        envelope = self._json(body)
        resource = envelope.get("resource")
        if not isinstance(resource, dict) or resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise NotificationRejected("no AEAD_AES_256_GCM resource", code="malformed")
        try:
            plain = aead_decrypt(
                self.client.apiv3_key,
                nonce=str(resource.get("nonce", "")),
                associated_data=str(resource.get("associated_data") or ""),
                ciphertext=str(resource.get("ciphertext", "")),
            )
        except (InvalidTag, ValueError) as exc:
            raise NotificationRejected(
                "the resource does not decrypt", code="undecryptable"
            ) from exc
        data = self._json(plain)
        if data.get("mchid") != self.client.mchid:
            raise NotificationRejected("the notification is for another merchant", code="malformed")
        try:
            return self._read_event(envelope, data)
        except (TypeError, ValueError, AttributeError) as exc:  # a field of the wrong type
            raise NotificationRejected(
                "the resource is not as documented", code="malformed"
            ) from exc

    def _read_event(self, envelope: Mapping[str, Any], data: Mapping[str, Any]) -> Notice:
        event = str(envelope.get("event_type", ""))
        notice_id = str(envelope.get("id") or "") or None
        created = _time(envelope.get("create_time"), fallback=self._now())
        if event == "TRANSACTION.SUCCESS":
            notice = self._trade_notice(data, notice_id=notice_id)
            if notice is None or notice.kind != "paid":
                raise NotificationRejected(
                    "TRANSACTION.SUCCESS without a paid trade", code="malformed"
                )
            return notice
        if event in REFUND_EVENTS:
            return self._refund_notice(
                data, kind=REFUND_EVENTS[event], notice_id=notice_id, created=created
            )
        raise NotificationRejected(f"unknown event {event}", code="malformed")

    def notification_reply(self, accepted: bool) -> tuple[int, str, bytes]:
        """204 without a body when accepted; otherwise 500 with `{"code":"FAIL",…}`, which
        WeChat Pay answers by sending the notification again later."""
        if accepted:
            return 204, "application/json", b""
        body = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode()
        return 500, "application/json", body

    # reading ---------------------------------------------------------------------------

    @staticmethod
    def _json(raw: bytes) -> dict[str, Any]:
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise NotificationRejected("not JSON", code="malformed") from exc
        if not isinstance(value, dict):
            raise NotificationRejected("not a JSON object", code="malformed")
        return cast(dict[str, Any], value)

    def _trade_notice(self, data: Mapping[str, Any], *, notice_id: str | None) -> Notice | None:
        state = data.get("trade_state")
        amount = data.get("amount") or {}
        order_no = str(data.get("out_trade_no", ""))
        if state in ("SUCCESS", "REFUND"):
            return Notice(
                order_no=order_no,
                kind="paid",
                amount_cents=int(amount.get("total", 0)),
                at=_time(data.get("success_time"), fallback=self._now()),
                provider_txn=data.get("transaction_id"),
                notice_id=notice_id,
            )
        if state in ("CLOSED", "REVOKED"):
            return Notice(
                order_no=order_no,
                kind="closed",
                amount_cents=0,
                at=self._now(),
                notice_id=notice_id,
            )
        return None

    @staticmethod
    def _refund_notice(
        data: Mapping[str, Any],
        *,
        kind: Literal["refunded", "refund_failed"],
        notice_id: str | None,
        created: datetime,
    ) -> Notice:
        amount = data.get("amount") or {}
        return Notice(
            order_no=str(data.get("out_trade_no", "")),
            kind=kind,
            amount_cents=int(amount.get("refund", 0)),
            at=_time(data.get("success_time"), fallback=created),
            provider_txn=data.get("transaction_id"),
            notice_id=notice_id,
            refund_no=data.get("out_refund_no"),
        )
