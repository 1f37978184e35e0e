"""A local fake Alipay open-platform gateway for tests and `make run` (development only).

    python -m telemed.payments.fake_alipay --port 8790 --state-dir var/fake-alipay

It speaks the gateway's protocol over real HTTP (docs/payments.md, "The fake Alipay"):
verifies the app's RSA2 request signatures with the app public key it was given (a bad one:
`isv.invalid-signature`), signs its answers with its own "Alipay" private key, serves a
phone-sized cashier for wap.pay and precreate's QR code, posts the signed asynchronous
notification to notify_url (again, a few times, until it reads `success`), sends the browser
back to return_url with signed parameters, answers query/close/refund and serves the trade
bill zip. Tests drive it in process (`FakeAlipay(...).start()`) and use its hooks to send a
forged, altered or duplicated notification.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from telemed.core.clock import SHANGHAI
from telemed.payments import fake_alipay_pages as pages
from telemed.payments.alipay_sign import (
    DEV_APP_ID,
    SignatureError,
    cents_from_yuan,
    create_dev_keys,
    load_private_key,
    load_public_key,
    sign,
    signing_string,
    verify,
    yuan,
)

__all__ = ["FakeAlipay", "main"]

SELLER_ID = "2088000000000001"
_TIME = "%Y-%m-%d %H:%M:%S"
_REQUIRED = ("app_id", "method", "charset", "sign_type", "sign", "timestamp", "version")
_ERRORS = {
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


def _local(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime(_TIME)


class _Refusal(Exception):
    def __init__(self, sub_code: str, detail: str = ""):
        super().__init__(sub_code)
        self.sub_code = sub_code
        self.detail = detail


@dataclass
class FakeAlipay:
    """The gateway's state: trades by out_trade_no, every notification sent and answered."""

    app_id: str
    app_public_key: rsa.RSAPublicKey
    alipay_private_key: rsa.RSAPrivateKey
    state_dir: Path | None = None
    # Pauses before each delivery attempt of a notification (Alipay's real schedule spans
    # 25 hours; the fake's is short).
    notify_delays: tuple[float, ...] = (0.0, 0.2, 0.5, 1.0)
    trades: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # each attempt: params, answer
    refused: list[dict[str, str]] = field(default_factory=list)  # refused requests (sub_code)
    sent: dict[str, dict[str, str]] = field(default_factory=dict)  # last genuine, by trade
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _server: ThreadingHTTPServer | None = None
    _seq: int = 0

    def __post_init__(self) -> None:
        self._delivered = threading.Condition(self._lock)

    @classmethod
    def from_dir(cls, state_dir: str | Path, *, app_id: str = DEV_APP_ID, **kw: Any) -> FakeAlipay:
        """A fake whose development keys live in `state_dir` (made there when absent)."""
        keys = create_dev_keys(state_dir, app_id=app_id)
        fake = cls(
            app_id=app_id,
            app_public_key=load_public_key(keys.app_public_key),
            alipay_private_key=load_private_key(keys.alipay_private_key),
            state_dir=Path(state_dir),
            **kw,
        )
        saved = fake.state_dir / "trades.json" if fake.state_dir else None
        if saved and saved.exists():
            fake.trades = json.loads(saved.read_text())
        return fake

    # -- running --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def gateway(self) -> str:
        return f"{self.url}/gateway.do"

    def start(self, *, host: str = "127.0.0.1", port: int = 0) -> FakeAlipay:
        """Serve in a background thread (port 0: a free one)."""
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _save(self) -> None:
        if self.state_dir is not None:
            (self.state_dir / "trades.json").write_text(json.dumps(self.trades, ensure_ascii=False))

    def _next(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{datetime.now(UTC):%Y%m%d%H%M%S}{self._seq:06d}"

    # -- the gateway ----------------------------------------------------------------------

    def answer(self, params: dict[str, str]) -> tuple[str, str]:
        """A gateway call: (response member key, signed JSON body)."""
        method = params.get("method", "")
        key = method.replace(".", "_") + "_response" if method else "error_response"
        try:
            self.check_signature(params)
            handler = _METHODS.get(method)
            if handler is None:
                raise _Refusal("isv.invalid-method")
            biz = json.loads(params.get("biz_content") or "{}")
            with self._lock:
                member = {"code": "10000", "msg": "Success", **handler(self, params, biz)}
                self._save()
            return key, self.signed_body(key, member)
        except _Refusal as refusal:
            self.refused.append({"sub_code": refusal.sub_code, "method": method})
            code, msg, sub_msg = _ERRORS[refusal.sub_code]
            member = {"code": code, "msg": msg, "sub_code": refusal.sub_code}
            member["sub_msg"] = sub_msg + refusal.detail
            # Refusals before the app is known go out unsigned, as Alipay's do.
            signed = refusal.sub_code.startswith("ACQ.") or refusal.sub_code.startswith("isp.")
            return key, self.signed_body(key, member) if signed else json.dumps({key: member})

    def check_signature(self, params: dict[str, str]) -> None:
        """Alipay's checks of the common parameters and the RSA2 signature."""
        if not params.get("sign"):
            raise _Refusal("isv.missing-signature")
        if any(not params.get(name) for name in _REQUIRED):
            raise _Refusal("isv.missing-signature")
        if params["app_id"] != self.app_id:
            raise _Refusal("isv.invalid-app-id")
        if params["sign_type"] != "RSA2":
            raise _Refusal("isv.invalid-signature-type")
        content = signing_string(params)
        try:
            verify(content, params["sign"], self.app_public_key)
        except SignatureError as exc:
            raise _Refusal("isv.invalid-signature", f"，网关生成的验签字符串为：{content}") from exc

    def signed_body(self, key: str, member: dict[str, Any]) -> str:
        """`{"<key>":{…},"sign":"…"}` signed over the member's exact JSON text."""
        content = json.dumps(member, ensure_ascii=False, separators=(",", ":"))
        signature = sign(content, self.alipay_private_key)
        return f'{{"{key}":{content},"sign":"{signature}"}}'

    def _trade(self, biz: dict[str, Any], *, opened: bool = True) -> dict[str, Any]:
        trade = self.trades.get(str(biz.get("out_trade_no", "")))
        if trade is None or (opened and not trade["opened"]):
            raise _Refusal("ACQ.TRADE_NOT_EXIST")
        return trade

    def open_trade(self, params: dict[str, str], biz: dict[str, Any], kind: str) -> dict[str, Any]:
        """A trade for wap.pay / precreate; the same out_trade_no must carry the same order."""
        out_trade_no = str(biz["out_trade_no"])
        existing = self.trades.get(out_trade_no)
        if existing is not None:
            if existing["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                raise _Refusal("ACQ.TRADE_HAS_SUCCESS")
            if existing["total_amount"] != yuan(cents_from_yuan(str(biz["total_amount"]))):
                raise _Refusal("ACQ.CONTEXT_INCONSISTENT")
            return existing
        now = datetime.now(UTC)
        trade = {
            "out_trade_no": out_trade_no,
            "trade_no": self._next(""),
            "total_amount": yuan(cents_from_yuan(str(biz["total_amount"]))),
            "subject": str(biz.get("subject", "")),
            "kind": kind,
            "status": "WAIT_BUYER_PAY",
            # a precreated trade exists at Alipay only once the QR code is scanned
            "opened": kind == "wap",
            "notify_url": params.get("notify_url", ""),
            "return_url": params.get("return_url", ""),
            "gmt_create": _local(now),
            "gmt_payment": "",
            "gmt_close": "",
            "refunds": [],
        }
        self.trades[out_trade_no] = trade
        return trade

    # -- the cashier ----------------------------------------------------------------------

    def by_trade_no(self, trade_no: str) -> dict[str, Any] | None:
        return next((t for t in self.trades.values() if t["trade_no"] == trade_no), None)

    def pay(self, trade: dict[str, Any]) -> None:
        """The payer confirmed: the trade is paid and its notification goes out."""
        with self._lock:
            if trade["status"] != "WAIT_BUYER_PAY":
                return
            trade.update(status="TRADE_SUCCESS", opened=True, gmt_payment=_local(datetime.now(UTC)))
            self._save()
        self.deliver(self.notification(trade))

    def return_params(self, trade: dict[str, Any]) -> dict[str, str]:
        """The signed parameters the browser brings back to return_url after paying."""
        params = {
            "app_id": self.app_id,
            "auth_app_id": self.app_id,
            "method": "alipay.trade.wap.pay.return",
            "charset": "utf-8",
            "version": "1.0",
            "timestamp": _local(datetime.now(UTC)),
            "out_trade_no": trade["out_trade_no"],
            "trade_no": trade["trade_no"],
            "total_amount": trade["total_amount"],
            "seller_id": SELLER_ID,
        }
        params["sign"] = sign(signing_string(params), self.alipay_private_key)
        params["sign_type"] = "RSA2"
        return params

    # -- notifications --------------------------------------------------------------------

    def notification(
        self, trade: dict[str, Any], *, refund: dict[str, str] | None = None
    ) -> dict[str, str]:
        """The trade's asynchronous notification as it stands (signed)."""
        params = {
            "notify_time": _local(datetime.now(UTC)),
            "notify_type": "trade_status_sync",
            "notify_id": self._next("n"),
            "charset": "utf-8",
            "version": "1.0",
            "app_id": self.app_id,
            "auth_app_id": self.app_id,
            "seller_id": SELLER_ID,
            "buyer_id": "2088000000000099",
            "trade_no": trade["trade_no"],
            "out_trade_no": trade["out_trade_no"],
            "trade_status": trade["status"],
            "total_amount": trade["total_amount"],
            "receipt_amount": trade["total_amount"],
            "subject": trade["subject"],
            "gmt_create": trade["gmt_create"],
            "gmt_payment": trade["gmt_payment"],
            "gmt_close": trade["gmt_close"],
        }
        if refund is not None:
            params |= {
                "out_biz_no": refund["out_request_no"],
                "refund_fee": refund["refund_fee"],
                "gmt_refund": refund["gmt_refund"],
            }
        return self.signed_notification(params)

    def signed_notification(
        self, params: dict[str, str], *, key: rsa.RSAPrivateKey | None = None
    ) -> dict[str, str]:
        """`params` signed as Alipay signs a notification (with `key` to forge one)."""
        params = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
        content = signing_string(params)
        params["sign"] = sign(content, key or self.alipay_private_key)
        params["sign_type"] = "RSA2"
        return params

    def post_notification(self, url: str, params: dict[str, str]) -> str:
        """One delivery attempt; the stripped answer body (or the failure) is recorded."""
        try:
            reply = httpx.post(url, data=params, timeout=5.0).text.strip()
        except httpx.HTTPError as exc:
            reply = f"<{type(exc).__name__}>"
        with self._delivered:
            self.deliveries.append({"params": params, "answer": reply})
            self._delivered.notify_all()
        return reply

    def answers(self, out_trade_no: str, *, count: int, timeout: float = 10.0) -> list[str]:
        """The receiver's answers to the trade's notifications, once `count` have come."""

        def known() -> list[str]:
            return [
                d["answer"] for d in self.deliveries if d["params"]["out_trade_no"] == out_trade_no
            ]

        with self._delivered:
            self._delivered.wait_for(lambda: len(known()) >= count, timeout)
            return known()

    def deliver(self, params: dict[str, str], *, url: str | None = None) -> threading.Thread:
        """Post a notification in the background until the receiver answers `success`."""
        target = url or self.trades[params["out_trade_no"]]["notify_url"]
        self.sent[params["out_trade_no"]] = params

        def run() -> None:
            for pause in self.notify_delays:
                time.sleep(pause)
                if self.post_notification(target, params) == "success":
                    return

        thread = threading.Thread(target=run, daemon=True)
        if target:
            thread.start()
        return thread

    # test hooks

    def send_forged(self, out_trade_no: str, **changes: str) -> str:
        """Post, once, a notification of the trade signed with a key that is not Alipay's."""
        trade = self.trades[out_trade_no]
        forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        params = self.signed_notification({**self.notification(trade), **changes}, key=forger)
        return self.post_notification(trade["notify_url"], params)

    def send_altered(self, out_trade_no: str, **changes: str) -> str:
        """Post, once, a genuine notification changed after it was signed."""
        trade = self.trades[out_trade_no]
        return self.post_notification(trade["notify_url"], {**self.notification(trade), **changes})

    def send_signed(self, out_trade_no: str, **changes: str) -> str:
        """Post, once, a notification with `changes` signed by Alipay's key (e.g. app_id)."""
        trade = self.trades[out_trade_no]
        params = self.signed_notification({**self.notification(trade), **changes})
        return self.post_notification(trade["notify_url"], params)

    def resend_last(self, out_trade_no: str) -> str:
        """Post, once, the last genuine notification of the trade again, unchanged."""
        return self.post_notification(
            self.trades[out_trade_no]["notify_url"], self.sent[out_trade_no]
        )

    # -- bills ----------------------------------------------------------------------------

    def bill(self, day: date) -> bytes:
        """The trade bill zip of `day` (Asia/Shanghai) from the fake's trades."""
        stamp = day.isoformat()
        rows = []
        for trade in self.trades.values():
            common = {
                "支付宝交易号": trade["trade_no"],
                "商户订单号": trade["out_trade_no"],
                "商品名称": trade["subject"],
                "创建时间": trade["gmt_create"],
                "对方账户": "patient@example.com",
            }
            if trade["gmt_payment"].startswith(stamp):
                rows.append(
                    common
                    | {"业务类型": "交易", "完成时间": trade["gmt_payment"]}
                    | {
                        "订单金额（元）": trade["total_amount"],
                        "商家实收（元）": trade["total_amount"],
                    }
                )
            for refund in trade["refunds"]:
                if refund["gmt_refund"].startswith(stamp):
                    amount = "-" + refund["refund_amount"]
                    rows.append(
                        common
                        | {"业务类型": "退款", "完成时间": refund["gmt_refund"]}
                        | {"订单金额（元）": amount, "商家实收（元）": amount}
                        | {"退款批次号/请求号": refund["out_request_no"]}
                    )
        return pages.bill_zip(
            account=SELLER_ID, day=day, rows=rows, exported=datetime.now(SHANGHAI)
        )


# -- the methods, each (fake, common params, biz_content) -> the response's fields ----------


def _precreate(fake: FakeAlipay, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    trade = fake.open_trade(params, biz, "qr")
    return {"out_trade_no": trade["out_trade_no"], "qr_code": f"{fake.url}/qr/{trade['trade_no']}"}


def _query(fake: FakeAlipay, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    trade = fake._trade(biz)
    answer = {k: trade[k] for k in ("trade_no", "out_trade_no", "total_amount")}
    answer |= {"trade_status": trade["status"], "buyer_logon_id": "pat***@example.com"}
    if trade["gmt_payment"]:
        answer["send_pay_date"] = trade["gmt_payment"]
    return answer


def _close(fake: FakeAlipay, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    trade = fake._trade(biz)
    if trade["status"] != "WAIT_BUYER_PAY":
        raise _Refusal("ACQ.TRADE_STATUS_ERROR")
    trade.update(status="TRADE_CLOSED", gmt_close=_local(datetime.now(UTC)))
    return {"trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"]}


def _refund(fake: FakeAlipay, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    trade = fake._trade(biz)
    request_no = str(biz.get("out_request_no") or trade["out_trade_no"])
    asked = cents_from_yuan(str(biz["refund_amount"]))
    done = {r["out_request_no"]: r for r in trade["refunds"]}
    refunded = sum(cents_from_yuan(r["refund_amount"]) for r in trade["refunds"])
    answer = {"trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"]}
    if request_no in done:  # the same request again: answered, no money moves
        return answer | {"fund_change": "N", "refund_fee": yuan(refunded)}
    if trade["status"] != "TRADE_SUCCESS":
        raise _Refusal("ACQ.TRADE_STATUS_ERROR")
    if asked <= 0 or refunded + asked > cents_from_yuan(trade["total_amount"]):
        raise _Refusal("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
    now = _local(datetime.now(UTC))
    refund = {"out_request_no": request_no, "refund_amount": yuan(asked), "gmt_refund": now}
    trade["refunds"].append(refund)
    if refunded + asked == cents_from_yuan(trade["total_amount"]):
        trade.update(status="TRADE_CLOSED", gmt_close=now)
    total = yuan(refunded + asked)
    fake.deliver(fake.notification(trade, refund={**refund, "refund_fee": total}))
    return answer | {"fund_change": "Y", "refund_fee": total, "gmt_refund_pay": now}


def _bill_url(fake: FakeAlipay, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
    if biz.get("bill_type") != "trade":
        raise _Refusal("isp.bill_not_exist")
    day = date.fromisoformat(str(biz["bill_date"]))
    return {"bill_download_url": f"{fake.url}/bill/{day.isoformat()}.zip"}


_METHODS = {
    "alipay.trade.precreate": _precreate,
    "alipay.trade.query": _query,
    "alipay.trade.close": _close,
    "alipay.trade.refund": _refund,
    "alipay.data.dataservice.bill.downloadurl.query": _bill_url,
}


def _handler(fake: FakeAlipay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, ctype: str, body: bytes, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def _html(self, text: str, status: int = 200) -> None:
            self._send(status, "text/html; charset=utf-8", text.encode())

        def _params(self) -> dict[str, str]:
            query = urlsplit(self.path).query
            params = dict(parse_qsl(query, keep_blank_values=True))
            if self.command == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode("utf-8")
                params |= dict(parse_qsl(form, keep_blank_values=True))
            return params

        def _wap_pay(self, params: dict[str, str]) -> None:
            try:
                fake.check_signature(params)
                biz = json.loads(params.get("biz_content") or "{}")
                with fake._lock:
                    trade = fake.open_trade(params, biz, "wap")
                    fake._save()
            except _Refusal as refusal:
                fake.refused.append({"sub_code": refusal.sub_code, "method": params["method"]})
                code = refusal.sub_code.removeprefix("isv.").removeprefix("ACQ.")
                self._html(pages.error_page(code, _ERRORS[refusal.sub_code][2]), 400)
                return
            self._send(303, "text/plain", b"", Location=f"/cashier/{trade['trade_no']}")

        def _gateway(self) -> None:
            params = self._params()
            if params.get("method") == "alipay.trade.wap.pay":
                self._wap_pay(params)
                return
            _, body = fake.answer(params)
            self._send(200, "application/json;charset=utf-8", body.encode())

        def _cashier(self, trade_no: str, action: str) -> None:
            trade = fake.by_trade_no(trade_no)
            if trade is None:
                self._html(pages.error_page("TRADE_NOT_EXIST", "交易不存在"), 404)
            elif action == "" and self.command == "GET":
                with fake._lock:
                    trade["opened"] = True
                    fake._save()
                self._html(
                    pages.cashier_page(
                        trade_no=trade_no, subject=trade["subject"], amount=trade["total_amount"]
                    )
                )
            elif action == "pay" and self.command == "POST":
                if trade["status"] not in ("WAIT_BUYER_PAY", "TRADE_SUCCESS"):
                    self._html(pages.result_page("交易已关闭，无法付款"), 409)
                    return
                fake.pay(trade)
                if trade["kind"] == "wap" and trade["return_url"]:
                    back = trade["return_url"]
                    back += ("&" if "?" in back else "?") + urlencode(fake.return_params(trade))
                    self._send(303, "text/plain", b"", Location=back)
                else:
                    self._html(pages.result_page(f"支付成功 ¥{trade['total_amount']}"))
            elif action == "cancel" and self.command == "POST":
                self._html(pages.result_page("已取消付款"))
            else:
                self._html(pages.error_page("INVALID_REQUEST", "无效的请求"), 404)

        def _hook(self, params: dict[str, str]) -> None:
            # the test hook for a fake run as its own process: mode forged | altered | duplicate
            hooks = {
                "forged": fake.send_forged,
                "altered": lambda no: fake.send_altered(no, total_amount="0.01"),
                "duplicate": fake.resend_last,
            }
            hook, no = hooks.get(params.get("mode", "")), params.get("out_trade_no", "")
            if hook is None or no not in fake.trades:
                self._send(400, "text/plain", b"mode: forged|altered|duplicate, out_trade_no")
                return
            self._send(200, "text/plain; charset=utf-8", hook(no).encode())

        def _route(self) -> None:
            path = urlsplit(self.path).path
            parts = [p for p in path.split("/") if p]
            if path == "/gateway.do":
                self._gateway()
            elif len(parts) in (2, 3) and parts[0] in ("cashier", "qr"):
                self._cashier(parts[1], parts[2] if len(parts) == 3 else "")
            elif path == "/_fake/notify" and self.command == "POST":
                self._hook(self._params())
            elif len(parts) == 2 and parts[0] == "bill" and self.command == "GET":
                day = date.fromisoformat(parts[1].removesuffix(".zip"))
                with fake._lock:
                    data = fake.bill(day)
                self._send(200, "application/zip", data)
            else:
                self._send(404, "text/plain", b"not found")

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route()

        def log_message(self, *args: Any) -> None:
            pass  # quiet: request lines carry signatures

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve the fake gateway until interrupted."""
    parser = argparse.ArgumentParser(description="A local fake Alipay gateway (development).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--state-dir", default="var/fake-alipay")
    parser.add_argument("--app-id", default=DEV_APP_ID)
    args = parser.parse_args(argv)
    fake = FakeAlipay.from_dir(args.state_dir, app_id=args.app_id).start(
        host=args.host, port=args.port
    )
    keys = create_dev_keys(args.state_dir, app_id=args.app_id)
    print(f"fake Alipay gateway on {fake.gateway} (app_id {args.app_id})", flush=True)
    print(f"  TELEMED_PAYMENTS__ALIPAY__GATEWAY={fake.gateway}", flush=True)
    print(f"  TELEMED_PAYMENTS__ALIPAY__APP_ID={args.app_id}", flush=True)
    print(f"  TELEMED_PAYMENTS__ALIPAY__APP_PRIVATE_KEY_PATH={keys.app_private_key}", flush=True)
    print(
        f"  TELEMED_PAYMENTS__ALIPAY__ALIPAY_PUBLIC_KEY_PATH={keys.alipay_public_key}", flush=True
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
