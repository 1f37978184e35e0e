"""The fake WeChat Pay's state and its side of the protocol, written from WeChat Pay's
API v3 documentation (not with the provider's code): it verifies merchant request
signatures with the merchant certificate, signs answers with its platform key, seals
resources with AEAD_AES_256_GCM and posts notifications, retrying on non-2xx answers.

Development and tests only: the routes are in `fake_wechat_http`, the runner and command
in `fake_wechat`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from telemed.core.clock import SHANGHAI
from telemed.payments.fake_wechat_bill import trade_bill
from telemed.payments.fake_wechat_records import Delivery, FakeOrder, FakeRefund, SignedAnswer
from telemed.payments.wechat_devkeys import DevKeySet

__all__ = ["FakeWechatPay", "Forgery"]

_AUTH = re.compile(r"^WECHATPAY2-SHA256-RSA2048 (.+)$")
_PAIR = re.compile(r'(\w+)="([^"]*)"')
# How a forged notification is made (the test hook): signed with another key, altered
# after signing, signed 10 minutes ago, naming a certificate WeChat never issued, or
# sealed with another APIv3 key.
Forgery = Literal["wrong_key", "altered", "stale", "unknown_serial", "wrong_apiv3_key"]


def _beijing(value: datetime) -> str:
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds")


class FakeWechatPay:
    """A WeChat Pay merchant platform for one merchant, in memory (saved to `state_dir`)."""

    def __init__(
        self, keys: DevKeySet, *, state_dir: Path | None = None, public_key_mode: bool = False
    ):
        self.keys = keys
        self.public_url = "http://127.0.0.1"  # set by the runner once it listens
        self.public_key_mode = public_key_mode
        self.retry_delays: tuple[float, ...] = (15, 15, 30, 180)  # WeChat's first intervals
        self.refund_outcome = "SUCCESS"  # or ABNORMAL / CLOSED: what refunds end in
        self.tamper_next_answer = False  # test hook: alter the next answer after signing
        self._platform_key = self._load_key(keys.platform_key)
        self._merchant_public = x509.load_pem_x509_certificate(
            keys.merchant_cert.read_bytes()
        ).public_key()
        self.orders: dict[str, FakeOrder] = {}
        self.refunds: dict[str, FakeRefund] = {}
        self.bills: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, bool]] = []  # (method, url, signature verified)
        self.deliveries: list[Delivery] = []
        self._nonces: set[str] = set()
        self.lock = threading.RLock()
        self._delivered = threading.Condition(self.lock)
        self._state = state_dir / "orders.json" if state_dir else None
        self._load()

    @staticmethod
    def _load_key(path: Path) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    # persistence ------------------------------------------------------------------------

    def _load(self) -> None:
        if self._state is None or not self._state.exists():
            return
        saved = json.loads(self._state.read_text())
        self.orders = {k: FakeOrder(**v) for k, v in saved.get("orders", {}).items()}
        self.refunds = {k: FakeRefund(**v) for k, v in saved.get("refunds", {}).items()}

    def save(self) -> None:
        if self._state is None:
            return
        with self.lock:
            data = {
                "orders": {k: asdict(v) for k, v in self.orders.items()},
                "refunds": {k: asdict(v) for k, v in self.refunds.items()},
            }
        self._state.write_text(json.dumps(data, ensure_ascii=False, indent=1))

    # the merchant's signatures -------------------------------------------------------------

    def verify_request(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> str | None:
        """None when the request is signed by the merchant as API v3 requires; otherwise
        why not (the fake answers 401 SIGN_ERROR)."""
        match = _AUTH.match(headers.get("authorization", ""))
        if not match:
            return "Authorization is not WECHATPAY2-SHA256-RSA2048"
        fields = dict(_PAIR.findall(match.group(1)))
        if fields.get("mchid") != self.keys.mchid:
            return "mchid is not this merchant"
        if fields.get("serial_no", "").upper() != self.keys.merchant_serial:
            return "serial_no is not the merchant certificate"
        stamp, nonce = fields.get("timestamp", ""), fields.get("nonce_str", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return "timestamp more than 5 minutes off"
        message = f"{method}\n{url}\n{stamp}\n{nonce}\n".encode() + body + b"\n"
        assert isinstance(self._merchant_public, rsa.RSAPublicKey)
        try:
            signature = base64.b64decode(fields.get("signature", ""), validate=True)
            self._merchant_public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return "signature does not verify with the merchant certificate"
        with self.lock:
            if nonce in self._nonces:
                return "nonce_str used before"
            self._nonces.add(nonce)
        return None

    # our own signatures ------------------------------------------------------------------

    @property
    def serial(self) -> str:
        return self.keys.public_key_id if self.public_key_mode else self.keys.platform_serial

    def signed_headers(
        self,
        body: bytes,
        *,
        key: rsa.RSAPrivateKey | None = None,
        serial: str | None = None,
        at: float | None = None,
    ) -> dict[str, str]:
        stamp, nonce = str(int(at if at is not None else time.time())), secrets.token_hex(16)
        message = f"{stamp}\n{nonce}\n".encode() + body + b"\n"
        signature = (key or self._platform_key).sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": serial or self.serial,
            "Wechatpay-Signature": base64.b64encode(signature).decode(),
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    def answer(self, status: int, payload: dict[str, Any] | None) -> SignedAnswer:
        """A signed answer (204: empty body); tampered after signing when told to."""
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Request-ID": secrets.token_hex(16), **self.signed_headers(body)}
        if self.tamper_next_answer and body:
            self.tamper_next_answer = False
            body = body[:-1] + b',"tampered":true}'
        return SignedAnswer(status, body, headers)

    def seal(self, plain: bytes, associated_data: str, *, key: str | None = None) -> dict[str, str]:
        """An AEAD_AES_256_GCM envelope of `plain` under the APIv3 key (or `key`)."""
        nonce = secrets.token_hex(6)  # 12 characters, as WeChat's nonces
        sealed = AESGCM((key or self.keys.apiv3_key).encode()).encrypt(
            nonce.encode(), plain, associated_data.encode()
        )
        return {
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(sealed).decode(),
            "associated_data": associated_data,
            "nonce": nonce,
        }

    def certificates(self) -> dict[str, Any]:
        """The `/v3/certificates` answer: the platform certificate, sealed."""
        cert = x509.load_pem_x509_certificate(self.keys.platform_cert.read_bytes())
        item = {
            "serial_no": self.keys.platform_serial,
            "effective_time": _beijing(cert.not_valid_before_utc),
            "expire_time": _beijing(cert.not_valid_after_utc),
            "encrypt_certificate": self.seal(
                cert.public_bytes(serialization.Encoding.PEM), "certificate"
            ),
        }
        return {"data": [item]}

    # payments ----------------------------------------------------------------------------

    def find_prepay(self, prepay_id: str) -> FakeOrder | None:
        with self.lock:
            return next((o for o in self.orders.values() if o.prepay_id == prepay_id), None)

    def transaction(self, order: FakeOrder) -> dict[str, Any]:
        """The order as the query API and TRANSACTION.SUCCESS show it."""
        out: dict[str, Any] = {
            "appid": order.appid,
            "mchid": self.keys.mchid,
            "out_trade_no": order.out_trade_no,
            "trade_type": order.trade_type,
            "trade_state": order.trade_state,
            "trade_state_desc": {"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭"}.get(
                order.trade_state, order.trade_state
            ),
            "amount": {"total": order.total, "currency": order.currency},
        }
        if order.transaction_id:
            out.update(
                transaction_id=order.transaction_id,
                bank_type="OTHERS",
                success_time=order.success_time,
                payer={"openid": order.openid or "o-fake-payer"},
            )
            out["amount"].update(payer_total=order.total, payer_currency=order.currency)
        return out

    def pay(self, out_trade_no: str) -> FakeOrder:
        """The payer confirms: the order is paid and its notification is sent."""
        with self.lock:
            order = self.orders[out_trade_no]
            if order.trade_state == "NOTPAY":
                order.trade_state = "SUCCESS"
                order.transaction_id = (
                    "4200" + datetime.now(UTC).strftime("%Y%m%d") + secrets.token_hex(7)[:14]
                )
                order.success_time = _beijing(datetime.now(UTC))
                order.openid = order.openid or "o-fake-payer"
        self.save()
        self.notify(order.out_trade_no)
        return order

    def refund_done(self, refund: FakeRefund) -> None:
        """The refund reaches its outcome (`refund_outcome`) and its notification is sent."""
        with self.lock:
            refund.status = self.refund_outcome
            if refund.status == "SUCCESS":
                refund.success_time = _beijing(datetime.now(UTC))
                order = self.orders[refund.out_trade_no]
                order.trade_state = "REFUND"
        self.save()
        self.notify_refund(refund.out_refund_no)

    # notifications -------------------------------------------------------------------------

    def notification(
        self,
        event_type: str,
        summary: str,
        original_type: str,
        resource: dict[str, Any],
        *,
        forge: Forgery | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A notification body and its headers (forged as told)."""
        envelope = {
            "id": "EV-" + secrets.token_hex(10),
            "create_time": _beijing(datetime.now(UTC)),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original_type,
                **self.seal(
                    json.dumps(resource, ensure_ascii=False).encode(),
                    original_type,
                    key="x" * 32 if forge == "wrong_apiv3_key" else None,
                ),
            },
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if forge == "wrong_key"
            else None
        )
        at = time.time() - 600 if forge == "stale" else None
        serial = "7132D72A03E93CDDF8C03BBD1F37EEDF" if forge == "unknown_serial" else None
        headers = self.signed_headers(body, key=key, serial=serial, at=at)
        if forge == "altered":
            body = body.replace(b'"summary": "', b'"summary": "!', 1)
        return body, headers

    def notify(self, out_trade_no: str, *, forge: Forgery | None = None, times: int = 1) -> None:
        """Send TRANSACTION.SUCCESS for a paid order (`times` copies: a duplicate)."""
        order = self.orders[out_trade_no]
        for _ in range(times):
            body, headers = self.notification(
                "TRANSACTION.SUCCESS",
                "支付成功",
                "transaction",
                self.transaction(order),
                forge=forge,
            )
            self._deliver(order.notify_url, "TRANSACTION.SUCCESS", body, headers)

    def notify_refund(
        self, out_refund_no: str, *, forge: Forgery | None = None, times: int = 1
    ) -> None:
        refund = self.refunds[out_refund_no]
        if not refund.notify_url:
            return
        event = {
            "SUCCESS": "REFUND.SUCCESS",
            "ABNORMAL": "REFUND.ABNORMAL",
            "CLOSED": "REFUND.CLOSED",
        }[refund.status]
        resource = {
            "mchid": self.keys.mchid,
            "out_trade_no": refund.out_trade_no,
            "transaction_id": refund.transaction_id,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "refund_status": refund.status,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": refund.total,
                "payer_refund": refund.refund,
            },
        }
        if refund.success_time:
            resource["success_time"] = refund.success_time
        for _ in range(times):
            body, headers = self.notification(
                event, "退款状态变更", "refund", resource, forge=forge
            )
            self._deliver(refund.notify_url, event, body, headers)

    def _deliver(self, url: str, event_type: str, body: bytes, headers: dict[str, str]) -> None:
        def run() -> None:
            for delay in (0.0, *self.retry_delays):
                time.sleep(delay)
                try:
                    status: int | None = httpx.post(
                        url,
                        content=body,
                        headers={**headers, "Content-Type": "application/json"},
                        timeout=5,
                    ).status_code
                except httpx.HTTPError:
                    status = None
                with self._delivered:
                    self.deliveries.append(Delivery(url, event_type, status))
                    self._delivered.notify_all()
                if status is not None and 200 <= status < 300:
                    return

        threading.Thread(target=run, name="fake-wechat-notify", daemon=True).start()

    def wait_deliveries(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """Block until `count` delivery attempts were made (tests)."""
        with self._delivered:
            if not self._delivered.wait_for(lambda: len(self.deliveries) >= count, timeout):
                raise TimeoutError(f"{len(self.deliveries)} of {count} deliveries after {timeout}s")
            return list(self.deliveries)

    # bills -----------------------------------------------------------------------------------

    def trade_bill(self, day: str) -> bytes | None:
        """The day's ALL trade bill (Beijing days), None when nothing happened that day."""
        with self.lock:
            return trade_bill(self.orders.values(), self.refunds, mchid=self.keys.mchid, day=day)

    def bill_answer(self, day: str) -> dict[str, str] | None:
        content = self.trade_bill(day)
        if content is None:
            return None
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.bills[token] = content
        return {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(content).hexdigest(),
            "download_url": f"{self.public_url}/v3/billdownload/file?token={token}",
        }

    def expired(self, order: FakeOrder) -> bool:
        if not order.time_expire:
            return False
        return datetime.fromisoformat(order.time_expire) < datetime.now(UTC)
