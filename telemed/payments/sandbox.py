"""The sandbox payment provider (development and tests only): payments settle on a page of
ours instead of a provider's.

`start` sends the payer to `/api/v1/payments/sandbox/pay/{order_no}`, where they press
确认支付 or 取消. Confirming has the sandbox write the notification a provider would post:
a JSON body signed with HMAC-SHA256 under a development key derived from the secret key,
which the page posts to our notify endpoint; `parse_notification` verifies it like any
provider's (a forged or stale one raises NotificationRejected). What was paid, closed and
refunded is kept in this process's memory, which is what `query` and `bill` answer from.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from threading import Lock

from telemed.core import clock
from telemed.payments.provider import (
    BillLine,
    Notice,
    NotificationRejected,
    OrderRequest,
    PayStart,
    ProviderError,
    RefundStart,
)

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "SandboxProvider", "sandbox_key"]

SIGNATURE_HEADER = "X-Sandbox-Signature"
TIMESTAMP_HEADER = "X-Sandbox-Timestamp"
MAX_SKEW = timedelta(minutes=5)


def sandbox_key(secret_key: str) -> bytes:
    """The development signing key: derived from the secret key, never stored or logged."""
    return hmac.new(secret_key.encode(), b"telemed-payments-sandbox", hashlib.sha256).digest()


@dataclass
class _Trade:
    request: OrderRequest
    paid: Notice | None = None
    closed: bool = False
    refunds: list[BillLine] = field(default_factory=list)


class SandboxProvider:
    """A provider whose payer confirms on our own development page."""

    name = "sandbox"
    channels = frozenset({"h5", "wap", "native", "jsapi"})

    def __init__(self, *, key: bytes, base_url: str) -> None:
        self._key = key
        self._base_url = base_url.rstrip("/")
        self._trades: dict[str, _Trade] = {}
        self._lock = Lock()

    def __repr__(self) -> str:  # never the key
        return f"SandboxProvider(base_url={self._base_url!r})"

    # -- the payer's side ------------------------------------------------------------
    def start(self, order: OrderRequest) -> PayStart:
        """Remember the order; the payer continues on the sandbox page (a QR of it for
        `native`)."""
        with self._lock:
            trade = self._trades.get(order.order_no)
            if trade is not None and trade.paid is not None:
                raise ProviderError("order already paid", code="order_paid")
            self._trades[order.order_no] = _Trade(request=order)
        url = f"{self._base_url}/api/v1/payments/sandbox/pay/{order.order_no}"
        ref = f"sbx_{order.order_no}"
        if order.channel == "native":
            return PayStart(kind="qr", url=url, provider_ref=ref)
        return PayStart(kind="redirect", url=url, provider_ref=ref)

    def request_of(self, order_no: str) -> OrderRequest | None:
        """The order as `start` was given it (the page shows its amount and returns)."""
        trade = self._trades.get(order_no)
        return trade.request if trade else None

    def confirm(self, order_no: str) -> tuple[dict[str, str], bytes]:
        """The payer pressed 确认支付: settle, and return the signed notification (headers,
        body) that goes to the order's notify URL."""
        now = clock.now()
        with self._lock:
            trade = self._trades.get(order_no)
            if trade is None or trade.closed:
                raise ProviderError("no open sandbox payment for this order", code="no_trade")
            if now >= trade.request.expires_at:
                raise ProviderError("the order has expired", code="order_expired")
            if trade.paid is None:
                trade.paid = Notice(
                    order_no=order_no,
                    kind="paid",
                    amount_cents=trade.request.amount_cents,
                    at=now,
                    provider_txn=f"sbx_tx_{secrets.token_hex(10)}",
                    notice_id=f"sbx_n_{secrets.token_hex(8)}",
                )
            return self.sign(_notice_json(trade.paid))

    # -- notifications ---------------------------------------------------------------
    def sign(self, payload: Mapping[str, object]) -> tuple[dict[str, str], bytes]:
        """Headers and body of a notification signed with the development key."""
        body = json.dumps(payload, sort_keys=True).encode()
        ts = str(int(clock.now().timestamp()))
        return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: self._mac(ts, body)}, body

    def _mac(self, ts: str, body: bytes) -> str:
        return hmac.new(self._key, ts.encode() + b"\n" + body, hashlib.sha256).hexdigest()

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notice:
        """Verify the HMAC and the timestamp, then read the notice."""
        low = {k.lower(): v for k, v in headers.items()}
        ts, sig = low.get(TIMESTAMP_HEADER.lower()), low.get(SIGNATURE_HEADER.lower())
        if not ts or not sig:
            raise NotificationRejected("unsigned notification", code="bad_signature")
        if not hmac.compare_digest(self._mac(ts, body), sig):
            raise NotificationRejected("signature does not verify", code="bad_signature")
        try:
            at_sent = datetime.fromtimestamp(int(ts), tz=clock.now().tzinfo)
        except ValueError as exc:
            raise NotificationRejected("bad timestamp", code="malformed") from exc
        if abs(clock.now() - at_sent) > MAX_SKEW:
            raise NotificationRejected("stale timestamp", code="stale_timestamp")
        try:
            data = json.loads(body)
            return Notice(
                order_no=str(data["order_no"]),
                kind=data["kind"],
                amount_cents=int(data["amount_cents"]),
                at=datetime.fromisoformat(data["at"]),
                provider_txn=data.get("provider_txn"),
                notice_id=data.get("notice_id"),
                refund_no=data.get("refund_no"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise NotificationRejected("unreadable notification", code="malformed") from exc

    def notification_reply(self, accepted: bool) -> tuple[int, str, bytes]:
        if accepted:
            return 200, "application/json", b'{"code":"SUCCESS"}'
        return 400, "application/json", b'{"code":"FAIL"}'

    # -- the merchant's side ---------------------------------------------------------
    def query(self, order_no: str) -> Notice | None:
        trade = self._trades.get(order_no)
        if trade is None:
            return None
        if trade.paid is not None:
            return trade.paid
        if trade.closed:
            return Notice(order_no=order_no, kind="closed", amount_cents=0, at=clock.now())
        return None

    def close(self, order_no: str) -> None:
        with self._lock:
            trade = self._trades.get(order_no)
            if trade is None:
                return
            if trade.paid is not None:
                raise ProviderError("order already paid", code="order_paid")
            trade.closed = True

    def refund(
        self, *, order_no: str, refund_no: str, amount_cents: int, total_cents: int, reason: str
    ) -> RefundStart:
        with self._lock:
            trade = self._trades.get(order_no)
            if trade is None or trade.paid is None:
                return RefundStart(refund_no=refund_no, state="failed", message="not paid here")
            done = sum(r.amount_cents for r in trade.refunds)
            if done + amount_cents > trade.paid.amount_cents:
                return RefundStart(refund_no=refund_no, state="failed", message="over refund")
            if not any(r.refund_no == refund_no for r in trade.refunds):
                trade.refunds.append(
                    BillLine(
                        order_no=order_no,
                        kind="refund",
                        amount_cents=amount_cents,
                        at=clock.now(),
                        provider_txn=trade.paid.provider_txn,
                        refund_no=refund_no,
                    )
                )
        return RefundStart(refund_no=refund_no, state="succeeded", provider_ref=f"sbx_{refund_no}")

    def bill(self, day: date) -> list[BillLine]:
        lines: list[BillLine] = []
        for order_no, trade in list(self._trades.items()):
            if trade.paid is not None:
                lines.append(
                    BillLine(
                        order_no=order_no,
                        kind="paid",
                        amount_cents=trade.paid.amount_cents,
                        at=trade.paid.at,
                        provider_txn=trade.paid.provider_txn,
                    )
                )
            lines.extend(trade.refunds)
        return [line for line in lines if line.at.astimezone(clock.SHANGHAI).date() == day]


def _notice_json(n: Notice) -> dict[str, object]:
    return {
        "order_no": n.order_no,
        "kind": n.kind,
        "amount_cents": n.amount_cents,
        "at": n.at.isoformat(),
        "provider_txn": n.provider_txn,
        "notice_id": n.notice_id,
        "refund_no": n.refund_no,
    }
