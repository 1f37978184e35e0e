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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

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
from telemed.payments.fake_alipay_http import BackgroundServer, make_handler
from telemed.payments.fake_alipay_methods import (
    ERRORS,
    METHODS,
    REQUIRED,
    SELLER_ID,
    Refusal,
    local_time,
)

__all__ = ["FakeAlipay", "main"]


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
    lock: threading.RLock = field(default_factory=threading.RLock)
    _server: BackgroundServer | None = None
    _seq: int = 0

    def __post_init__(self) -> None:
        self._delivered = threading.Condition(self.lock)

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
        return self._server.url

    @property
    def gateway(self) -> str:
        return f"{self.url}/gateway.do"

    def start(self, *, host: str = "127.0.0.1", port: int = 0) -> FakeAlipay:
        """Serve in a background thread (port 0: a free one)."""
        self._server = BackgroundServer(make_handler(self), host=host, port=port)
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.stop()

    def save(self) -> None:
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
            handler = METHODS.get(method)
            if handler is None:
                raise Refusal("isv.invalid-method")
            biz = json.loads(params.get("biz_content") or "{}")
            with self.lock:
                member = {"code": "10000", "msg": "Success", **handler(self, params, biz)}
                self.save()
            return key, self.signed_body(key, member)
        except Refusal as refusal:
            self.refused.append({"sub_code": refusal.sub_code, "method": method})
            code, msg, sub_msg = ERRORS[refusal.sub_code]
            member = {"code": code, "msg": msg, "sub_code": refusal.sub_code}
            member["sub_msg"] = sub_msg + refusal.detail
            # Refusals before the app is known go out unsigned, as Alipay's do.
            signed = refusal.sub_code.startswith("ACQ.") or refusal.sub_code.startswith("isp.")
            return key, self.signed_body(key, member) if signed else json.dumps({key: member})

    def check_signature(self, params: dict[str, str]) -> None:
        """Alipay's checks of the common parameters and the RSA2 signature."""
        if not params.get("sign"):
            raise Refusal("isv.missing-signature")
        if any(not params.get(name) for name in REQUIRED):
            raise Refusal("isv.missing-signature")
        if params["app_id"] != self.app_id:
            raise Refusal("isv.invalid-app-id")
        if params["sign_type"] != "RSA2":
            raise Refusal("isv.invalid-signature-type")
        content = signing_string(params)
        try:
            verify(content, params["sign"], self.app_public_key)
        except SignatureError as exc:
            raise Refusal("isv.invalid-signature", f"，网关生成的验签字符串为：{content}") from exc

    def signed_body(self, key: str, member: dict[str, Any]) -> str:
        """`{"<key>":{…},"sign":"…"}` signed over the member's exact JSON text."""
        content = json.dumps(member, ensure_ascii=False, separators=(",", ":"))
        signature = sign(content, self.alipay_private_key)
        return f'{{"{key}":{content},"sign":"{signature}"}}'

    def find_trade(self, biz: dict[str, Any], *, opened: bool = True) -> dict[str, Any]:
        trade = self.trades.get(str(biz.get("out_trade_no", "")))
        if trade is None or (opened and not trade["opened"]):
            raise Refusal("ACQ.TRADE_NOT_EXIST")
        self.expire_if_due(trade)
        return trade

    def open_trade(self, params: dict[str, str], biz: dict[str, Any], kind: str) -> dict[str, Any]:
        """A trade for wap.pay / precreate; the same out_trade_no must carry the same order."""
        out_trade_no = str(biz["out_trade_no"])
        existing = self.trades.get(out_trade_no)
        if existing is not None:
            if existing["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                raise Refusal("ACQ.TRADE_HAS_SUCCESS")
            if existing["total_amount"] != yuan(cents_from_yuan(str(biz["total_amount"]))):
                raise Refusal("ACQ.CONTEXT_INCONSISTENT")
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
            "gmt_create": local_time(now),
            "gmt_payment": "",
            "gmt_close": "",
            "expires": _expiry(biz, now),
            "refunds": [],
        }
        self.trades[out_trade_no] = trade
        return trade

    # -- the cashier ----------------------------------------------------------------------

    def by_trade_no(self, trade_no: str) -> dict[str, Any] | None:
        return next((t for t in self.trades.values() if t["trade_no"] == trade_no), None)

    def expire_if_due(self, trade: dict[str, Any]) -> None:
        """Alipay closes an unpaid trade at its time_expire / timeout_express."""
        if (
            trade["status"] == "WAIT_BUYER_PAY"
            and local_time(datetime.now(UTC)) >= trade["expires"]
        ):
            trade.update(status="TRADE_CLOSED", gmt_close=trade["expires"])
            self.save()

    def pay(self, trade: dict[str, Any]) -> None:
        """The payer confirmed: the trade is paid and its notification goes out."""
        with self.lock:
            self.expire_if_due(trade)
            if trade["status"] != "WAIT_BUYER_PAY":
                return
            trade.update(
                status="TRADE_SUCCESS", opened=True, gmt_payment=local_time(datetime.now(UTC))
            )
            self.save()
        self.deliver(self.notification(trade))

    def return_params(self, trade: dict[str, Any]) -> dict[str, str]:
        """The signed parameters the browser brings back to return_url after paying."""
        params = {
            "app_id": self.app_id,
            "auth_app_id": self.app_id,
            "method": "alipay.trade.wap.pay.return",
            "charset": "utf-8",
            "version": "1.0",
            "timestamp": local_time(datetime.now(UTC)),
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
            "notify_time": local_time(datetime.now(UTC)),
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


def _expiry(biz: dict[str, Any], now: datetime) -> str:
    """When an unpaid trade closes: time_expire, else now + timeout_express (default 15d)."""
    if biz.get("time_expire"):
        return str(biz["time_expire"])
    express = str(biz.get("timeout_express") or "15d")
    unit = {"m": 1, "h": 60, "d": 1440}[express[-1]]
    return local_time(now + timedelta(minutes=int(express[:-1]) * unit))


def main(argv: list[str] | None = None) -> None:
    """Serve the fake gateway until interrupted."""
    parser = argparse.ArgumentParser(description="A local fake Alipay gateway (development).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--state-dir", default="var/fake-alipay")
    parser.add_argument("--app-id", default=DEV_APP_ID)
    parser.add_argument(
        "--keys-only", action="store_true", help="make the development keys and exit"
    )
    args = parser.parse_args(argv)
    keys = create_dev_keys(args.state_dir, app_id=args.app_id)
    env = {
        "APP_ID": args.app_id,
        "APP_PRIVATE_KEY_PATH": keys.app_private_key,
        "ALIPAY_PUBLIC_KEY_PATH": keys.alipay_public_key,
    }
    if args.keys_only:
        for name, value in env.items():
            print(f"TELEMED_PAYMENTS__ALIPAY__{name}={value}")
        return
    fake = FakeAlipay.from_dir(args.state_dir, app_id=args.app_id).start(
        host=args.host, port=args.port
    )
    print(f"fake Alipay gateway on {fake.gateway}; our side's settings:", flush=True)
    for name, value in {"GATEWAY": fake.gateway, **env}.items():
        print(f"  TELEMED_PAYMENTS__ALIPAY__{name}={value}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
