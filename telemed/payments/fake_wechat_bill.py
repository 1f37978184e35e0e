"""The fake WeChat Pay's trade bill file (交易账单, ALL), laid out as WeChat Pay's bill
documentation describes it: the header row, one backtick-prefixed row per payment and per
refund of the (Beijing) day, the summary header and its row. Amounts in yuan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from telemed.payments.fake_wechat_records import FakeOrder, FakeRefund

__all__ = ["trade_bill"]

HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
).split(",")
SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def _local(rfc3339: str | None) -> str:
    return (rfc3339 or "")[:19].replace("T", " ")


def _row(order: FakeOrder, mchid: str, **values: str) -> list[str]:
    common = {
        "公众账号ID": order.appid,
        "商户号": mchid,
        "特约商户号": "0",
        "微信订单号": order.transaction_id or "",
        "商户订单号": order.out_trade_no,
        "用户标识": order.openid or "",
        "交易类型": order.trade_type,
        "付款银行": "OTHERS",
        "货币种类": "CNY",
        "商品名称": order.description,
        "费率": "0.60%",
    }
    row = {name: "0.00" if "金额" in name or name == "手续费" else "" for name in HEADER}
    row.update(common, **values)
    return [row[name] for name in HEADER]


def trade_bill(
    orders: Iterable[FakeOrder], refunds: Mapping[str, FakeRefund], *, mchid: str, day: str
) -> bytes | None:
    """The day's bill (`day` as YYYY-MM-DD, Beijing), None when nothing happened."""
    rows: list[list[str]] = []
    paid = refunded = 0
    for order in orders:
        if not order.success_time or not order.success_time.startswith(day):
            continue
        paid += order.total
        rows.append(
            _row(
                order,
                mchid,
                交易时间=_local(order.success_time),
                交易状态="SUCCESS",
                应结订单金额=_yuan(order.total),
                订单金额=_yuan(order.total),
            )
        )
        for refund in (refunds[no] for no in order.refunds):
            if refund.status != "SUCCESS" or not (refund.success_time or "").startswith(day):
                continue
            refunded += refund.refund
            rows.append(
                _row(
                    order,
                    mchid,
                    交易时间=_local(refund.success_time),
                    交易状态="REFUND",
                    微信退款单号=refund.refund_id,
                    商户退款单号=refund.out_refund_no,
                    退款金额=_yuan(refund.refund),
                    申请退款金额=_yuan(refund.refund),
                    退款类型="ORIGINAL",
                    退款状态="SUCCESS",
                )
            )
    if not rows:
        return None
    totals = [str(len(rows)), _yuan(paid), _yuan(refunded), "0.00", "0.00", _yuan(paid)]
    lines = [",".join(HEADER), *("`" + ",`".join(r) for r in rows), SUMMARY]
    lines.append("`" + ",`".join([*totals, _yuan(refunded)]))
    return ("\r\n".join(lines) + "\r\n").encode()
