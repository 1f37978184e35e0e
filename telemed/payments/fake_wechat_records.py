"""What the fake WeChat Pay keeps: its orders, refunds, signed answers and notification
deliveries (plain records; the behaviour is in `fake_wechat_state`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Delivery", "FakeOrder", "FakeRefund", "SignedAnswer"]


@dataclass
class FakeRefund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    reason: str
    notify_url: str | None
    status: str = "PROCESSING"
    created: str = ""
    success_time: str | None = None


@dataclass
class FakeOrder:
    out_trade_no: str
    trade_type: str  # MWEB (h5), JSAPI, NATIVE
    appid: str
    description: str
    total: int
    currency: str
    notify_url: str
    time_expire: str | None
    prepay_id: str
    request: dict[str, Any]
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: str | None = None
    openid: str | None = None
    refunds: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SignedAnswer:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass
class Delivery:
    url: str
    event_type: str
    status: int | None  # None: the notify URL could not be reached
