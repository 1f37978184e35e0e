"""The WeChat Pay trade bill file (交易账单, `bill_type=ALL`) read into BillLine.

The file is comma-separated text: a header row, one row per payment or refund with every
field prefixed by a backtick (so spreadsheets keep long numbers as text; a comma inside a
field, as in a product name, is not a separator), then the summary
header (`总交易单数,…`) and its one row. Times are Beijing time, amounts yuan with two
decimals. Columns are found by their header names, not their position.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from telemed.core.clock import SHANGHAI
from telemed.payments.provider import BillLine, ProviderError

__all__ = ["check_hash", "parse_trade_bill"]

SUMMARY_HEADER = "总交易单数"


def check_hash(content: bytes, *, hash_type: str, hash_value: str) -> None:
    """Refuse a downloaded bill whose digest is not the one the signed answer gave."""
    if hash_type.upper() != "SHA1":
        raise ProviderError(f"unknown bill hash type {hash_type}", code="bad_bill")
    if not hmac.compare_digest(hashlib.sha1(content).hexdigest(), hash_value.lower()):
        raise ProviderError("the bill file does not match its hash", code="bad_bill")


def _fields(line: str) -> list[str]:
    # Data fields start with a backtick, so ",`" separates them and a comma inside one
    # (a product name) stays; header rows have no backticks.
    if line.startswith("`"):
        return [f.strip() for f in line[1:].split(",`")]
    return [f.strip() for f in line.split(",")]


def _fen(value: str) -> int:
    try:
        return int((Decimal(value) * 100).to_integral_exact())
    except (InvalidOperation, ValueError) as exc:
        raise ProviderError(f"bill amount {value!r} is not a number", code="bad_bill") from exc


def _at(value: str) -> datetime:
    try:
        local = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except ValueError as exc:
        raise ProviderError(f"bill time {value!r} is not a time", code="bad_bill") from exc
    return local.astimezone(UTC)


def _line(row: dict[str, str]) -> BillLine | None:
    state = row.get("交易状态", "")
    order_no, at = row["商户订单号"], _at(row["交易时间"])
    txn = row.get("微信订单号") or None
    if state == "SUCCESS":
        paid = _fen(row["订单金额"])
        return BillLine(order_no=order_no, kind="paid", amount_cents=paid, at=at, provider_txn=txn)
    if state == "REFUND":
        refunded = _fen(row.get("申请退款金额") or row["退款金额"])
        return BillLine(
            order_no=order_no,
            kind="refund",
            amount_cents=refunded,
            at=at,
            provider_txn=txn,
            refund_no=row.get("商户退款单号") or None,
        )
    return None  # REVOKED (撤销) and the like move no money


def parse_trade_bill(content: bytes) -> list[BillLine]:
    """The payments and refunds of one trade bill file; the row count is checked against
    the summary (a truncated file is refused)."""
    text = content.decode("utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ProviderError("the bill file is empty", code="bad_bill")
    names = _fields(lines[0])
    if "商户订单号" not in names or "交易状态" not in names:
        raise ProviderError("the bill file has no trade header", code="bad_bill")
    result: list[BillLine] = []
    rows = 0
    summary: dict[str, str] | None = None
    body = iter(lines[1:])
    for line in body:
        if line.startswith(SUMMARY_HEADER):
            summary = dict(zip(_fields(line), _fields(next(body, "")), strict=False))
            break
        values = _fields(line)
        if len(values) != len(names):
            raise ProviderError("a bill row does not match the header", code="bad_bill")
        rows += 1
        bill_line = _line(dict(zip(names, values, strict=True)))
        if bill_line is not None:
            result.append(bill_line)
    if summary is None or summary.get(SUMMARY_HEADER) != str(rows):
        raise ProviderError("the bill file's summary does not match its rows", code="bad_bill")
    return result
