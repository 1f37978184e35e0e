"""The seam between payment orders and a payment provider (WeChat Pay, Alipay, the sandbox).

A provider turns an order into the start of a payment on the payer's device (`start`),
reads and verifies its asynchronous notifications (`parse_notification`), answers them in
its own format (`notification_reply`), queries, closes, refunds and serves its bill file.
It holds no database state: the order module (telemed.payments) applies what it reports,
once, under the order's row lock. Amounts are integer fen (分), times UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

# How the payer's device takes the payment:
# - "h5": a phone browser outside WeChat/Alipay is sent to the provider's page (redirect);
# - "jsapi": inside WeChat (公众号/小程序), parameters for WeixinJSBridge / wx.requestPayment;
# - "native": a QR code the payer scans (bedside settlement, Native pay / precreate);
# - "wap": Alipay's mobile web page (alipay.trade.wap.pay, a redirect).
Channel = Literal["h5", "jsapi", "native", "wap"]


@dataclass(frozen=True)
class OrderRequest:
    """What the provider needs to open a payment for one of our orders."""

    order_no: str  # our out_trade_no: unique, 6–32 characters of [A-Za-z0-9_-]
    amount_cents: int  # the patient's own share, in fen (> 0)
    currency: str  # "CNY"
    description: str  # shown to the payer by the provider (≤ 127 bytes UTF-8)
    expires_at: datetime  # UTC; the provider refuses payment after it
    channel: Channel
    notify_url: str  # where the provider posts its notifications
    return_url: str | None = None  # where the payer's browser comes back (h5, wap)
    payer_ref: str | None = None  # the payer's openid (jsapi)
    client_ip: str | None = None  # the payer's IP (h5 requires it)


@dataclass(frozen=True)
class PayStart:
    """How the payer's device continues: open `url`, show `url` as a QR code, or call the
    in-app payment with `params`."""

    kind: Literal["redirect", "qr", "jsapi"]
    url: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    provider_ref: str | None = None  # prepay_id, trade_no … when the provider gives one


@dataclass(frozen=True)
class Notice:
    """A verified fact from the provider about one order (a notification or a query)."""

    order_no: str
    kind: Literal["paid", "closed", "refunded", "refund_failed"]
    amount_cents: int  # paid: the amount paid; refunded: the amount refunded
    at: datetime  # when the provider says it happened (UTC)
    provider_txn: str | None = None  # transaction_id / trade_no
    notice_id: str | None = None  # the provider's notification id, when it has one
    refund_no: str | None = None  # our out_refund_no (refund notices)


@dataclass(frozen=True)
class RefundStart:
    refund_no: str  # our out_refund_no
    state: Literal["processing", "succeeded", "failed"]
    provider_ref: str | None = None  # refund_id at the provider
    message: str = ""


@dataclass(frozen=True)
class BillLine:
    """One line of the provider's bill file (对账单) for a day."""

    order_no: str
    kind: Literal["paid", "refund"]
    amount_cents: int
    at: datetime
    provider_txn: str | None = None
    refund_no: str | None = None


class ProviderError(Exception):
    """The provider refused a request or could not be reached (`unavailable`: 503)."""

    def __init__(self, message: str, *, code: str = "provider_error", unavailable: bool = False):
        super().__init__(message)
        self.code = code
        self.unavailable = unavailable


class NotificationRejected(Exception):
    """A notification that does not verify: a forged or altered signature, a stale
    timestamp, a body that does not decrypt, an unknown certificate. Never applied;
    the caller audits it. `code`: bad_signature, stale_timestamp, undecryptable,
    unknown_certificate, malformed, wrong_app (verified, but for another app or merchant)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


class PaymentProvider(Protocol):
    name: str  # "sandbox", "wechat", "alipay"
    channels: frozenset[str]  # the Channel values it serves

    def start(self, order: OrderRequest) -> PayStart:
        """Open the payment at the provider (raises ProviderError)."""

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notice:
        """Verify and read one notification (raises NotificationRejected)."""

    def notification_reply(self, accepted: bool) -> tuple[int, str, bytes]:
        """(status, content type, body) the provider expects in answer to a notification."""

    def query(self, order_no: str) -> Notice | None:
        """The order's state at the provider: a Notice once paid or closed, else None."""

    def close(self, order_no: str) -> None:
        """Close an unpaid order at the provider (expiry, cancellation)."""

    def refund(
        self, *, order_no: str, refund_no: str, amount_cents: int, total_cents: int, reason: str
    ) -> RefundStart:
        """Refund (part of) a paid order."""

    def bill(self, day: date) -> list[BillLine]:
        """The provider's bill file for `day` (Asia/Shanghai), parsed."""
