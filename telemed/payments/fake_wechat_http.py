"""The fake WeChat Pay's HTTP face: the API v3 routes (each request's merchant signature
verified first, each answer signed), the payer's page, and the test hooks under /fake/.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

from fastapi import FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from telemed.payments.fake_wechat_records import FakeOrder, FakeRefund
from telemed.payments.fake_wechat_state import FakeWechatPay, Forgery

__all__ = ["create_fake_app"]

ORDER_NO = re.compile(r"^[A-Za-z0-9_*|-]{6,32}$")
TRADE_TYPES = {"h5": "MWEB", "jsapi": "JSAPI", "native": "NATIVE"}
FORGERIES = ("wrong_key", "altered", "stale", "unknown_serial", "wrong_apiv3_key")


def _problem(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _required(body: dict[str, Any], *paths: str) -> str | None:
    for path in paths:
        value: Any = body
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value in (None, ""):
            source = path.replace(".", "/")
            return f"输入源“/body/{source}”映射到字段“{path}”必填性规则校验失败，此字段为必填项"
    return None


class _Routes:
    def __init__(self, fake: FakeWechatPay, merchant_name: str):
        self.fake = fake
        self.merchant_name = merchant_name

    def reply(self, status: int, payload: dict[str, Any] | None) -> Response:
        answer = self.fake.answer(status, payload)
        return Response(
            answer.body, status_code=status, headers=answer.headers, media_type="application/json"
        )

    async def verified(self, request: Request) -> tuple[bytes, Response | None]:
        body = await request.body()
        url = request.scope["raw_path"].decode()
        if request.scope.get("query_string"):
            url += "?" + request.scope["query_string"].decode()
        refusal = self.fake.verify_request(request.method, url, dict(request.headers), body)
        self.fake.requests.append((request.method, url, refusal is None))
        if refusal is not None:
            return body, Response(
                json.dumps(_problem("SIGN_ERROR", f"签名错误: {refusal}"), ensure_ascii=False),
                status_code=401,
                media_type="application/json",
            )
        return body, None

    # orders ---------------------------------------------------------------------------

    async def create(self, kind: str, request: Request) -> Response:
        raw, refused = await self.verified(request)
        if refused:
            return refused
        if kind not in TRADE_TYPES:
            return self.reply(404, _problem("NOT_FOUND", "无效的请求地址"))
        try:
            body = cast(dict[str, Any], json.loads(raw))
        except ValueError:
            return self.reply(400, _problem("PARAM_ERROR", "请求体不是JSON"))
        extra = {
            "h5": ("scene_info.payer_client_ip", "scene_info.h5_info.type"),
            "jsapi": ("payer.openid",),
        }
        paths = (
            "appid",
            "mchid",
            "description",
            "out_trade_no",
            "notify_url",
            "amount.total",
            *extra.get(kind, ()),
        )
        missing = _required(body, *paths)
        if missing:
            return self.reply(400, _problem("PARAM_ERROR", missing))
        if body["appid"] != self.fake.keys.appid or body["mchid"] != self.fake.keys.mchid:
            return self.reply(400, _problem("APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配"))
        no, amount = str(body["out_trade_no"]), body["amount"]
        if (
            not ORDER_NO.match(no)
            or not isinstance(amount.get("total"), int)
            or amount["total"] <= 0
        ):
            return self.reply(400, _problem("PARAM_ERROR", "out_trade_no 或 amount.total 不合规则"))
        with self.fake.lock:
            order = self.fake.orders.get(no)
            if order is not None:
                if order.trade_state != "NOTPAY":
                    code = (
                        "ORDERPAID"
                        if order.trade_state in ("SUCCESS", "REFUND")
                        else "ORDER_CLOSED"
                    )
                    return self.reply(
                        400, _problem(code, "订单已支付" if code == "ORDERPAID" else "订单已关闭")
                    )
                if order.request != body or order.trade_type != TRADE_TYPES[kind]:
                    return self.reply(400, _problem("INVALID_REQUEST", "201 商户订单号重复"))
            else:
                order = FakeOrder(
                    out_trade_no=no,
                    trade_type=TRADE_TYPES[kind],
                    appid=body["appid"],
                    description=str(body["description"]),
                    total=int(amount["total"]),
                    currency=str(amount.get("currency", "CNY")),
                    notify_url=str(body["notify_url"]),
                    time_expire=body.get("time_expire"),
                    prepay_id="wx" + datetime.now(UTC).strftime("%d%H%M%S") + secrets.token_hex(12),
                    request=body,
                    openid=(body.get("payer") or {}).get("openid"),
                )
                self.fake.orders[no] = order
        self.fake.save()
        if kind == "h5":
            return self.reply(
                200, {"h5_url": f"{self.fake.public_url}/pay/checkmweb?prepay_id={order.prepay_id}"}
            )
        if kind == "native":
            return self.reply(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={order.prepay_id}"})
        return self.reply(200, {"prepay_id": order.prepay_id})

    async def query(self, no: str, request: Request) -> Response:
        _, refused = await self.verified(request)
        if refused:
            return refused
        if request.query_params.get("mchid") != self.fake.keys.mchid:
            return self.reply(400, _problem("PARAM_ERROR", "mchid 不正确"))
        order = self.fake.orders.get(no)
        if order is None:
            return self.reply(404, _problem("ORDER_NOT_EXIST", "订单不存在"))
        if order.trade_state == "NOTPAY" and self.fake.expired(order):
            order.trade_state = "CLOSED"
        return self.reply(200, self.fake.transaction(order))

    async def close(self, no: str, request: Request) -> Response:
        raw, refused = await self.verified(request)
        if refused:
            return refused
        if (json.loads(raw or b"{}") or {}).get("mchid") != self.fake.keys.mchid:
            return self.reply(400, _problem("PARAM_ERROR", "mchid 不正确"))
        with self.fake.lock:
            order = self.fake.orders.get(no)
            if order is None:
                return self.reply(404, _problem("ORDER_NOT_EXIST", "订单不存在"))
            if order.trade_state in ("SUCCESS", "REFUND"):
                return self.reply(400, _problem("ORDERPAID", "订单已支付"))
            order.trade_state = "CLOSED"
        self.fake.save()
        return self.reply(204, None)

    # refunds --------------------------------------------------------------------------

    async def refund(self, request: Request) -> Response:
        raw, refused = await self.verified(request)
        if refused:
            return refused
        body = cast(dict[str, Any], json.loads(raw or b"{}"))
        missing = _required(
            body,
            "out_trade_no",
            "out_refund_no",
            "amount.refund",
            "amount.total",
            "amount.currency",
        )
        if missing:
            return self.reply(400, _problem("PARAM_ERROR", missing))
        with self.fake.lock:
            existing = self.fake.refunds.get(body["out_refund_no"])
            if existing is not None:
                return self.reply(200, self._refund_json(existing))
            order = self.fake.orders.get(body["out_trade_no"])
            if (
                order is None
                or order.trade_state not in ("SUCCESS", "REFUND")
                or not order.transaction_id
            ):
                return self.reply(404, _problem("RESOURCE_NOT_EXISTS", "订单不存在"))
            amount = body["amount"]
            if amount["total"] != order.total:
                return self.reply(400, _problem("PARAM_ERROR", "订单金额与原订单不一致"))
            taken = sum(
                self.fake.refunds[n].refund
                for n in order.refunds
                if self.fake.refunds[n].status != "CLOSED"
            )
            if amount["refund"] <= 0 or taken + amount["refund"] > order.total:
                return self.reply(400, _problem("INVALID_REQUEST", "申请退款金额超过订单可退金额"))
            refund = FakeRefund(
                out_refund_no=body["out_refund_no"],
                refund_id="50" + secrets.token_hex(14),
                out_trade_no=order.out_trade_no,
                transaction_id=order.transaction_id,
                refund=int(amount["refund"]),
                total=order.total,
                reason=str(body.get("reason", "")),
                notify_url=body.get("notify_url"),
                created=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            self.fake.refunds[refund.out_refund_no] = refund
            order.refunds.append(refund.out_refund_no)
        self.fake.save()
        threading.Timer(0.1, self.fake.refund_done, args=(refund,)).start()
        return self.reply(200, self._refund_json(refund))

    async def refund_query(self, no: str, request: Request) -> Response:
        _, refused = await self.verified(request)
        if refused:
            return refused
        refund = self.fake.refunds.get(no)
        if refund is None:
            return self.reply(404, _problem("RESOURCE_NOT_EXISTS", "退款单不存在"))
        return self.reply(200, self._refund_json(refund))

    @staticmethod
    def _refund_json(refund: FakeRefund) -> dict[str, Any]:
        out: dict[str, Any] = {
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": refund.transaction_id,
            "out_trade_no": refund.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": refund.created,
            "status": refund.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": refund.total,
                "payer_refund": refund.refund,
                "settlement_refund": refund.refund,
                "settlement_total": refund.total,
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        if refund.success_time:
            out["success_time"] = refund.success_time
        return out

    # certificates and bills -------------------------------------------------------------

    async def certificates(self, request: Request) -> Response:
        _, refused = await self.verified(request)
        return refused or self.reply(200, self.fake.certificates())

    async def tradebill(self, request: Request) -> Response:
        _, refused = await self.verified(request)
        if refused:
            return refused
        day = request.query_params.get("bill_date", "")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            return self.reply(400, _problem("PARAM_ERROR", "bill_date 格式为 yyyy-MM-DD"))
        answer = self.fake.bill_answer(day)
        if answer is None:
            return self.reply(400, _problem("NO_STATEMENT_EXIST", "账单文件不存在"))
        return self.reply(200, answer)

    async def billdownload(self, request: Request) -> Response:
        _, refused = await self.verified(request)
        if refused:
            return refused
        content = self.fake.bills.get(request.query_params.get("token", ""))
        if content is None:
            return self.reply(404, _problem("RESOURCE_NOT_EXISTS", "下载链接已失效"))
        return Response(content, media_type="application/octet-stream")

    # the payer's page -------------------------------------------------------------------

    def page(self, order: FakeOrder | None, redirect_url: str) -> HTMLResponse:
        if order is None:
            return HTMLResponse(_PAGE.format(body="<p class=msg>订单不存在</p>"), status_code=404)
        state = order.trade_state
        if state == "NOTPAY" and self.fake.expired(order):
            state = "CLOSED"
        if state != "NOTPAY":
            text = "支付成功" if state in ("SUCCESS", "REFUND") else "订单已关闭"
            return HTMLResponse(_PAGE.format(body=f"<p class=msg>{text}</p>"))
        fields = (
            f'<input type=hidden name=prepay_id value="{html.escape(order.prepay_id)}">'
            f'<input type=hidden name=redirect_url value="{html.escape(redirect_url)}">'
        )
        body = (
            f"<p class=merchant>{html.escape(self.merchant_name)}</p>"
            f"<p class=desc>{html.escape(order.description)}</p>"
            f"<p class=amount>¥{order.total / 100:.2f}</p>"
            f"<form method=post action=/pay/confirm>{fields}"
            "<button class=pay>确认支付</button></form>"
            f"<form method=post action=/pay/cancel>{fields}"
            "<button class=cancel>取消</button></form>"
        )
        return HTMLResponse(_PAGE.format(body=body))

    def after(self, redirect_url: str, text: str) -> Response:
        if redirect_url:
            return RedirectResponse(redirect_url, status_code=303)
        return HTMLResponse(_PAGE.format(body=f"<p class=msg>{text}</p>"))


_PAGE = """<!doctype html><html lang=zh-CN><head><meta charset=utf-8>
<meta name=viewport content="width=device-width,initial-scale=1">
<title>微信支付（开发用模拟）</title>
<style>body{{font-family:sans-serif;max-width:420px;margin:0 auto;padding:24px;background:#ededed}}
.merchant{{color:#555;text-align:center}}.desc{{text-align:center}}
.amount{{font-size:40px;text-align:center;font-weight:600}}
button{{width:100%;padding:14px;margin:8px 0;font-size:17px;border:0;border-radius:8px}}
.pay{{background:#07c160;color:#fff}}.cancel{{background:#fff;color:#333}}
.msg{{text-align:center;font-size:20px}}
</style></head><body><h1 style="font-size:18px;text-align:center">微信支付</h1>{body}
<p style="color:#999;font-size:12px;text-align:center">开发环境的模拟微信支付，不产生真实扣款</p>
</body></html>"""


def create_fake_app(
    fake: FakeWechatPay, *, merchant_name: str = "内蒙古远程医疗协同网络（开发）"
) -> FastAPI:
    """The fake's ASGI app."""
    app = FastAPI(title="fake WeChat Pay API v3", docs_url=None, redoc_url=None, openapi_url=None)
    r = _Routes(fake, merchant_name)
    app.add_api_route("/v3/certificates", r.certificates, methods=["GET"])
    app.add_api_route("/v3/pay/transactions/out-trade-no/{no}", r.query, methods=["GET"])
    app.add_api_route("/v3/pay/transactions/out-trade-no/{no}/close", r.close, methods=["POST"])
    app.add_api_route("/v3/pay/transactions/{kind}", r.create, methods=["POST"])
    app.add_api_route("/v3/refund/domestic/refunds", r.refund, methods=["POST"])
    app.add_api_route("/v3/refund/domestic/refunds/{no}", r.refund_query, methods=["GET"])
    app.add_api_route("/v3/bill/tradebill", r.tradebill, methods=["GET"])
    app.add_api_route("/v3/billdownload/file", r.billdownload, methods=["GET"])

    @app.get("/pay/checkmweb", response_class=HTMLResponse)
    def checkmweb(prepay_id: str = "", redirect_url: str = "") -> HTMLResponse:
        return r.page(fake.find_prepay(prepay_id), redirect_url)

    @app.get("/pay/native", response_class=HTMLResponse)
    def native(pr: str = "") -> HTMLResponse:  # what scanning weixin://wxpay/bizpayurl?pr= opens
        return r.page(fake.find_prepay(pr), "")

    @app.post("/pay/confirm")
    def confirm(prepay_id: str = Form(...), redirect_url: str = Form("")) -> Response:
        order = fake.find_prepay(prepay_id)
        if order is None or order.trade_state != "NOTPAY" or fake.expired(order):
            return r.page(order, redirect_url)
        fake.pay(order.out_trade_no)
        return r.after(redirect_url, "支付成功")

    @app.post("/pay/cancel")
    def cancel(prepay_id: str = Form(...), redirect_url: str = Form("")) -> Response:
        return r.after(redirect_url, "已取消支付")

    @app.post("/fake/orders/{no}/pay")
    def hook_pay(no: str) -> dict[str, str]:
        """Test hook: pay without the page."""
        return {"trade_state": fake.pay(no).trade_state}

    @app.post("/fake/orders/{no}/notify")
    def hook_notify(no: str, forge: str | None = None, times: int = 1) -> dict[str, int]:
        """Test hook: send the order's notification again, `times` copies, forged as told."""
        fake.notify(no, forge=_forgery(forge), times=times)
        return {"sent": times}

    @app.post("/fake/refunds/{no}/notify")
    def hook_refund_notify(no: str, forge: str | None = None, times: int = 1) -> dict[str, int]:
        fake.notify_refund(no, forge=_forgery(forge), times=times)
        return {"sent": times}

    @app.get("/fake/pay-url")
    def pay_url(prepay_id: str, redirect_url: str = "") -> dict[str, str]:
        """Where a JSAPI prepay is paid in development (no WeChat client here)."""
        suffix = f"&redirect_url={quote(redirect_url, safe='')}" if redirect_url else ""
        return {"url": f"{fake.public_url}/pay/checkmweb?prepay_id={prepay_id}{suffix}"}

    return app


def _forgery(value: str | None) -> Forgery | None:
    return cast(Forgery, value) if value in FORGERIES else None
