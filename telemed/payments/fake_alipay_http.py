"""The fake Alipay gateway's HTTP handler: the gateway, the cashier pages, the bill
download and the test hooks, each handed to the `FakeAlipay` it serves."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from telemed.payments import fake_alipay_pages as pages
from telemed.payments.fake_alipay_methods import ERRORS, Refusal

if TYPE_CHECKING:
    from telemed.payments.fake_alipay import FakeAlipay

__all__ = ["BackgroundServer", "make_handler"]


class BackgroundServer:
    """An HTTP server answering on a daemon thread of its own (port 0: a free one)."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], *, host: str = "127.0.0.1", port: int = 0
    ):
        self.server = ThreadingHTTPServer((host, port), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_handler(fake: FakeAlipay) -> type[BaseHTTPRequestHandler]:
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
                with fake.lock:
                    trade = fake.open_trade(params, biz, "wap")
                    fake.save()
            except Refusal as refusal:
                fake.refused.append({"sub_code": refusal.sub_code, "method": params["method"]})
                code = refusal.sub_code.removeprefix("isv.").removeprefix("ACQ.")
                self._html(pages.error_page(code, ERRORS[refusal.sub_code][2]), 400)
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
                with fake.lock:
                    trade["opened"] = True
                    fake.save()
                self._html(
                    pages.cashier_page(
                        trade_no=trade_no, subject=trade["subject"], amount=trade["total_amount"]
                    )
                )
            elif action == "pay" and self.command == "POST":
                with fake.lock:
                    fake.expire_if_due(trade)
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
            hooks: dict[str, Callable[[str], str]] = {
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
                with fake.lock:
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
