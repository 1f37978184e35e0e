"""Alipay (支付宝) open platform as a payment provider (docs/payments.md, "Alipay").

Written on `cryptography` and `httpx` rather than an SDK (the docs say why). Every request
is signed RSA2 with the app's private key; every gateway response is verified with
Alipay's public key before anything in it is believed; notifications are verified the
same way and must name our app_id.

Channels: `wap` (alipay.trade.wap.pay: the phone browser is sent to Alipay's cashier) and
`native` (alipay.trade.precreate: a QR code the patient scans at the bedside).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from math import ceil
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

import httpx

from telemed.core import clock
from telemed.core.clock import SHANGHAI
from telemed.core.payment_settings import AlipaySettings
from telemed.payments.alipay_bill import parse_bill_zip
from telemed.payments.alipay_sign import (
    SignatureError,
    cents_from_yuan,
    load_private_key,
    load_public_key,
    response_content,
    sign,
    signing_string,
    verify,
    yuan,
)
from telemed.payments.provider import (
    BillLine,
    Notice,
    NotificationRejected,
    OrderRequest,
    PayStart,
    ProviderError,
    RefundStart,
)

__all__ = ["AlipayError", "AlipayProvider"]

log = logging.getLogger(__name__)

SUCCESS = "10000"
# Gateway codes that mean "try again later" (service unavailable, unknown system error).
_UNAVAILABLE = {"20000", "20001"}
_PAID = {"TRADE_SUCCESS", "TRADE_FINISHED"}
_TIME = "%Y-%m-%d %H:%M:%S"


class AlipayError(ProviderError):
    """The gateway answered a (verified) business or system error: `sub_code` is Alipay's
    (`ACQ.TRADE_NOT_EXIST`, `isv.invalid-signature` …), `code` is `alipay_<gateway code>`."""

    def __init__(self, answer: Mapping[str, Any]):
        self.gateway_code = str(answer.get("code", ""))
        self.sub_code = str(answer.get("sub_code", ""))
        super().__init__(
            f"Alipay refused: {self.gateway_code} {answer.get('msg', '')} "
            f"{self.sub_code} {answer.get('sub_msg', '')}".strip(),
            code=f"alipay_{self.gateway_code or 'error'}",
            unavailable=self.gateway_code in _UNAVAILABLE,
        )


def _shanghai(value: datetime) -> str:
    return clock.as_utc(value).astimezone(SHANGHAI).strftime(_TIME)


def _utc(value: str) -> datetime:
    return datetime.strptime(value, _TIME).replace(tzinfo=SHANGHAI).astimezone(UTC)


class AlipayProvider:
    """The `PaymentProvider` for Alipay; holds the keys, no database state."""

    name = "alipay"
    channels = frozenset({"wap", "native"})

    def __init__(self, settings: AlipaySettings, *, transport: httpx.BaseTransport | None = None):
        if not (settings.app_id and settings.app_private_key_path):
            raise ProviderError(
                "Alipay needs app_id and app_private_key_path", code="not_configured"
            )
        if not settings.alipay_public_key_path:
            raise ProviderError("Alipay needs alipay_public_key_path", code="not_configured")
        self.app_id = settings.app_id
        self.gateway = settings.gateway
        try:
            self._app_key = load_private_key(settings.app_private_key_path)
            self._alipay_key = load_public_key(settings.alipay_public_key_path)
        except (OSError, ValueError) as exc:
            # the message names the file, never its content
            raise ProviderError(
                f"Alipay's keys cannot be read: {exc}", code="not_configured"
            ) from exc
        self._http = httpx.Client(timeout=settings.timeout_seconds, transport=transport)

    # -- requests ----------------------------------------------------------------------

    def signed_params(
        self, method: str, biz: Mapping[str, Any], **extra: str | None
    ) -> dict[str, str]:
        """The common parameters, `biz_content` and `extra` (notify_url, return_url), signed."""
        params = {
            "app_id": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": _shanghai(clock.now()),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
            **{k: v for k, v in extra.items() if v},
        }
        params["sign"] = sign(signing_string(params), self._app_key)
        return params

    def _call(self, method: str, biz: Mapping[str, Any], **extra: str | None) -> dict[str, Any]:
        params = self.signed_params(method, biz, **extra)
        # biz_content travels in the form body, the rest (charset among them) in the query.
        body = {"biz_content": params.pop("biz_content")}
        try:
            answer = self._http.post(
                self.gateway,
                params=params,
                data=body,
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"Alipay unreachable ({type(exc).__name__})", code="unreachable", unavailable=True
            ) from exc
        if answer.status_code >= 500:
            raise ProviderError(
                f"Alipay gateway answered HTTP {answer.status_code}",
                code="unreachable",
                unavailable=True,
            )
        if answer.status_code != 200:
            raise ProviderError(
                f"Alipay gateway answered HTTP {answer.status_code}", code="bad_status"
            )
        result = self._verified(answer.text, method.replace(".", "_") + "_response")
        log.info("alipay %s: code %s", method, result.get("code"))
        if result.get("code") != SUCCESS:
            raise AlipayError(result)
        return result

    def _verified(self, text: str, key: str) -> dict[str, Any]:
        """The response member `key` once its signature verifies (or Alipay's unsigned error)."""
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise ProviderError("Alipay answered something that is not JSON") from exc
        if not isinstance(document, dict):
            raise ProviderError("Alipay answered something that is not a JSON object")
        if key not in document and "error_response" in document:
            key = "error_response"
        member = document.get(key)
        if not isinstance(member, dict):
            raise ProviderError(f"Alipay's answer has no {key}")
        signature = document.get("sign")
        if not signature:
            # Alipay signs every answer it can; an unsigned success is not believed.
            if member.get("code") == SUCCESS:
                raise ProviderError("Alipay's answer is not signed", code="unverified_response")
            return member
        try:
            verify(response_content(text, key), str(signature), self._alipay_key)
        except SignatureError as exc:
            raise ProviderError(
                "Alipay's answer does not verify with its public key", code="unverified_response"
            ) from exc
        return member

    # -- the seam ----------------------------------------------------------------------

    def start(self, order: OrderRequest) -> PayStart:
        """wap: the signed GET URL of alipay.trade.wap.pay; native: precreate's QR code."""
        biz: dict[str, Any] = {
            "out_trade_no": order.order_no,
            "total_amount": yuan(order.amount_cents),
            "subject": order.description,
        }
        if order.channel == "wap":
            biz |= {"product_code": "QUICK_WAP_WAY", "time_expire": _shanghai(order.expires_at)}
            params = self.signed_params(
                "alipay.trade.wap.pay",
                biz,
                notify_url=order.notify_url,
                return_url=order.return_url,
            )
            return PayStart(kind="redirect", url=f"{self.gateway}?{urlencode(params)}")
        if order.channel == "native":
            minutes = max(1, ceil((order.expires_at - clock.now()).total_seconds() / 60))
            biz |= {"product_code": "FACE_TO_FACE_PAYMENT", "timeout_express": f"{minutes}m"}
            answer = self._call("alipay.trade.precreate", biz, notify_url=order.notify_url)
            return PayStart(kind="qr", url=str(answer["qr_code"]))
        raise ProviderError(f"Alipay does not serve channel {order.channel}", code="bad_channel")

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notice:
        """Verify and read an asynchronous notification (form-encoded POST)."""
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise NotificationRejected("not a form-encoded body", code="malformed") from exc
        signature = params.get("sign")
        if not signature or params.get("sign_type", "RSA2") != "RSA2":
            raise NotificationRejected("no RSA2 signature", code="malformed")
        try:
            verify(
                signing_string(params, exclude=("sign", "sign_type")), signature, self._alipay_key
            )
        except SignatureError as exc:
            raise NotificationRejected(
                "the signature does not verify", code="bad_signature"
            ) from exc
        if params.get("app_id") != self.app_id:
            raise NotificationRejected("the notification is for another app", code="wrong_app")
        try:
            return self._notice(params)
        except (KeyError, ValueError) as exc:
            raise NotificationRejected(
                f"unreadable notification ({exc})", code="malformed"
            ) from exc

    def _notice(self, params: Mapping[str, str]) -> Notice:
        status = params["trade_status"]
        refund_no = None
        kind: Literal["paid", "closed", "refunded"]
        if params.get("out_biz_no") and params.get("refund_fee"):
            # A refund's notification: refund_fee is the total refunded on the trade so far.
            kind, amount, at = "refunded", params["refund_fee"], params.get("gmt_refund")
            refund_no = params["out_biz_no"]
        elif status in _PAID:
            kind, amount, at = "paid", params["total_amount"], params.get("gmt_payment")
        elif status == "TRADE_CLOSED":
            kind, amount, at = "closed", params.get("total_amount") or "0", params.get("gmt_close")
        else:
            raise ValueError(f"trade_status {status} is not a final state")
        return Notice(
            order_no=params["out_trade_no"],
            kind=kind,
            amount_cents=cents_from_yuan(amount),
            at=_utc(at or params["notify_time"]),
            provider_txn=params.get("trade_no") or None,
            notice_id=params.get("notify_id") or None,
            refund_no=refund_no,
        )

    def notification_reply(self, accepted: bool) -> tuple[int, str, bytes]:
        """Alipay reads the plain text `success`; anything else makes it notify again."""
        return 200, "text/plain; charset=utf-8", b"success" if accepted else b"failure"

    def verify_return(self, params: Mapping[str, str]) -> bool:
        """Whether the parameters the payer's browser brought back to return_url are Alipay's
        (signed like a notification). They are only a hint: the notification decides."""
        signature = params.get("sign")
        if not signature or params.get("app_id") != self.app_id:
            return False
        try:
            verify(
                signing_string(params, exclude=("sign", "sign_type")), signature, self._alipay_key
            )
        except SignatureError:
            return False
        return True

    def query(self, order_no: str) -> Notice | None:
        """alipay.trade.query: paid or closed as a Notice; waiting or unknown: None."""
        try:
            answer = self._call("alipay.trade.query", {"out_trade_no": order_no})
        except AlipayError as exc:
            if exc.sub_code == "ACQ.TRADE_NOT_EXIST":
                return None  # the payer never opened the cashier
            raise
        status = answer.get("trade_status")
        txn = answer.get("trade_no") or None
        amount = cents_from_yuan(str(answer.get("total_amount") or "0"))
        if status in _PAID:
            paid_at = answer.get("send_pay_date")
            at = _utc(paid_at) if paid_at else clock.now()
            return Notice(order_no, "paid", amount, at, provider_txn=txn)
        if status == "TRADE_CLOSED":
            return Notice(order_no, "closed", amount, clock.now(), provider_txn=txn)
        return None

    def close(self, order_no: str) -> None:
        """alipay.trade.close; an order the payer never opened is closed already."""
        try:
            self._call("alipay.trade.close", {"out_trade_no": order_no})
        except AlipayError as exc:
            if exc.sub_code != "ACQ.TRADE_NOT_EXIST":
                raise

    def refund(
        self, *, order_no: str, refund_no: str, amount_cents: int, total_cents: int, reason: str
    ) -> RefundStart:
        """alipay.trade.refund (synchronous); out_request_no = refund_no makes a retry safe."""
        biz = {
            "out_trade_no": order_no,
            "refund_amount": yuan(amount_cents),
            "out_request_no": refund_no,
            "refund_reason": reason,
        }
        try:
            answer = self._call("alipay.trade.refund", biz)
        except AlipayError as exc:
            if exc.unavailable:
                raise
            return RefundStart(refund_no, "failed", message=exc.sub_code or exc.gateway_code)
        return RefundStart(refund_no, "succeeded", provider_ref=answer.get("trade_no") or None)

    def bill(self, day: date) -> list[BillLine]:
        """The day's trade bill: its download URL from the gateway, then the zip itself."""
        answer = self._call(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
        )
        try:
            download = self._http.get(str(answer["bill_download_url"]))
        except httpx.HTTPError as exc:
            raise ProviderError(
                "Alipay's bill download failed", code="unreachable", unavailable=True
            ) from exc
        if download.status_code != 200:
            raise ProviderError(f"Alipay's bill download answered HTTP {download.status_code}")
        try:
            return parse_bill_zip(download.content)
        except (ValueError, KeyError, IndexError) as exc:
            raise ProviderError(f"Alipay's bill is unreadable ({exc})", code="bad_bill") from exc

    def close_client(self) -> None:
        """Release the HTTP connections."""
        self._http.close()
