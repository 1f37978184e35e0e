"""The fake Alipay gateway's methods: each takes (fake, common parameters, biz_content)
and returns the fields of its answer, or raises `Refusal` with Alipay's sub_code. Also the
error table and the gateway's time format. Development only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from telemed.core.clock import SHANGHAI
from telemed.payments.alipay_sign import cents_from_yuan, yuan

if TYPE_CHECKING:
    from telemed.payments.fake_alipay import FakeAlipay

__all__ = ["ERRORS", "METHODS", "REQUIRED", "SELLER_ID", "Refusal", "local_time"]

SELLER_ID = "2088000000000001"
TIME = "%Y-%m-%d %H:%M:%S"
REQUIRED = ("app_id", "method", "charset", "sign_type", "sign", "timestamp", "version")
ERRORS = {
    "isv.missing-signature": ("40001", "Missing Required Arguments", "缺少签名参数"),
    "isv.invalid-app-id": ("40002", "Invalid Arguments", "无效的AppID参数"),
    "isv.invalid-signature-type": ("40002", "Invalid Arguments", "无效的签名类型"),
    "isv.invalid-signature": (
        "40002",
        "Invalid Arguments",
        "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配",
    ),
    "isv.invalid-method": ("40002", "Invalid Arguments", "不存在的方法名"),
    "ACQ.TRADE_NOT_EXIST": ("40004", "Business Failed", "交易不存在"),
    "ACQ.TRADE_HAS_SUCCESS": ("40004", "Business Failed", "交易已被支付"),
    "ACQ.TRADE_STATUS_ERROR": ("40004", "Business Failed", "交易状态不合法"),
    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL": ("40004", "Business Failed", "退款金额超限"),
    "ACQ.CONTEXT_INCONSISTENT": ("40004", "Business Failed", "交易信息被篡改"),
    "isp.bill_not_exist": ("40004", "Business Failed", "账单不存在"),
}


def local_time(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime(TIME)


class Refusal(Exception):
    def __init__(self, sub_code: str, detail: str = ""):
        super().__init__(sub_code)
        self.sub_code = sub_code
        self.detail = detail


def precreate(fake: FakeAlipay, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    trade = fake.open_trade(params, biz, "qr")
    return {"out_trade_no": trade["out_trade_no"], "qr_code": f"{fake.url}/qr/{trade['trade_no']}"}


def query(fake: FakeAlipay, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    trade = fake.find_trade(biz)
    answer = {k: trade[k] for k in ("trade_no", "out_trade_no", "total_amount")}
    answer |= {"trade_status": trade["status"], "buyer_logon_id": "pat***@example.com"}
    if trade["gmt_payment"]:
        answer["send_pay_date"] = trade["gmt_payment"]
    return answer


def close(fake: FakeAlipay, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    trade = fake.find_trade(biz)
    if trade["status"] != "WAIT_BUYER_PAY":
        raise Refusal("ACQ.TRADE_STATUS_ERROR")
    trade.update(status="TRADE_CLOSED", gmt_close=local_time(datetime.now(UTC)))
    return {"trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"]}


def refund(fake: FakeAlipay, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    trade = fake.find_trade(biz)
    request_no = str(biz.get("out_request_no") or trade["out_trade_no"])
    asked = cents_from_yuan(str(biz["refund_amount"]))
    done = {r["out_request_no"]: r for r in trade["refunds"]}
    refunded = sum(cents_from_yuan(r["refund_amount"]) for r in trade["refunds"])
    answer = {"trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"]}
    if request_no in done:  # the same request again: answered, no money moves
        return answer | {"fund_change": "N", "refund_fee": yuan(refunded)}
    if trade["status"] != "TRADE_SUCCESS":
        raise Refusal("ACQ.TRADE_STATUS_ERROR")
    if asked <= 0 or refunded + asked > cents_from_yuan(trade["total_amount"]):
        raise Refusal("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
    now = local_time(datetime.now(UTC))
    refund = {"out_request_no": request_no, "refund_amount": yuan(asked), "gmt_refund": now}
    trade["refunds"].append(refund)
    if refunded + asked == cents_from_yuan(trade["total_amount"]):
        trade.update(status="TRADE_CLOSED", gmt_close=now)
    total = yuan(refunded + asked)
    fake.deliver(fake.notification(trade, refund={**refund, "refund_fee": total}))
    return answer | {"fund_change": "Y", "refund_fee": total, "gmt_refund_pay": now}


def bill_url(fake: FakeAlipay, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    if biz.get("bill_type") != "trade":
        raise Refusal("isp.bill_not_exist")
    day = date.fromisoformat(str(biz["bill_date"]))
    return {"bill_download_url": f"{fake.url}/bill/{day.isoformat()}.zip"}


METHODS = {
    "alipay.trade.precreate": precreate,
    "alipay.trade.query": query,
    "alipay.trade.close": close,
    "alipay.trade.refund": refund,
    "alipay.data.dataservice.bill.downloadurl.query": bill_url,
}
