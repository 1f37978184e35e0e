"""The provider against the fake WeChat Pay over real HTTP, and a merchant notify
endpoint that hands what arrives to the provider, as the order module's route will."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from telemed.payments.fake_wechat import FakeWechatPay, serve_fake
from telemed.payments.provider import Notice, NotificationRejected, OrderRequest, RefundStart
from telemed.payments.wechat import WechatPayProvider
from telemed.payments.wechat_devkeys import DevKeySet, create_dev_keyset, provider_settings


@pytest.fixture(scope="session")
def keyset(tmp_path_factory: pytest.TempPathFactory) -> DevKeySet:
    return create_dev_keyset(tmp_path_factory.mktemp("wechat-keys"))


@pytest.fixture
def fake(keyset: DevKeySet) -> Iterator[FakeWechatPay]:
    fake = FakeWechatPay(keyset)
    fake.retry_delays = (0.05, 0.05, 0.05)  # WeChat waits 15 s, 15 s, 30 s …
    with serve_fake(fake):
        yield fake


@dataclass
class NotifyEndpoint:
    """Our side of notifications: parse with the provider, answer its reply."""

    url: str = ""
    provider: WechatPayProvider | None = None
    refuse_first: int = 0  # answer this many accepted notifications with 500 first
    notices: list[Notice] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        assert self.provider is not None
        try:
            notice = self.provider.parse_notification(headers, body)
        except NotificationRejected as exc:
            with self.lock:
                self.rejected.append(exc.code)
            return self.provider.notification_reply(False)
        with self.lock:
            if self.refuse_first > 0:
                self.refuse_first -= 1
                return self.provider.notification_reply(False)
            self.notices.append(notice)
        return self.provider.notification_reply(True)


@pytest.fixture
def endpoint() -> Iterator[NotifyEndpoint]:
    receiver = NotifyEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, content_type, reply = receiver.handle(dict(self.headers.items()), body)
            receiver.answers.append(status)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/payments/notify/wechat"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def provider(
    keyset: DevKeySet, fake: FakeWechatPay, endpoint: NotifyEndpoint, tmp_path: Path
) -> WechatPayProvider:
    settings = provider_settings(keyset, base_url=fake.public_url, cert_dir=tmp_path / "certs")
    provider = WechatPayProvider(settings, notify_url=endpoint.url)
    endpoint.provider = provider
    return provider


def an_order(no: str, channel: str = "native", **extra: Any) -> OrderRequest:
    """An order of 18.50 yuan open for ten years unless `extra` says otherwise."""
    values: dict[str, Any] = {
        "order_no": no,
        "amount_cents": 1850,
        "currency": "CNY",
        "description": "心内科远程门诊",
        "expires_at": datetime(2036, 12, 4, 2, 0, tzinfo=UTC),
        "channel": channel,
        "notify_url": "http://127.0.0.1:9/notify",
        **extra,
    }
    return OrderRequest(**values)


def paid_order(
    provider: WechatPayProvider, fake: FakeWechatPay, no: str, notify_url: str, cents: int = 1850
) -> None:
    """Place a Native order, pay it at the fake and wait for its notification."""
    before = len(fake.deliveries)
    provider.start(an_order(no, notify_url=notify_url, amount_cents=cents))
    fake.pay(no)
    fake.wait_deliveries(before + 1)


def refund(
    provider: WechatPayProvider, no: str, refund_no: str, cents: int, total: int = 1850
) -> RefundStart:
    return provider.refund(
        order_no=no,
        refund_no=refund_no,
        amount_cents=cents,
        total_cents=total,
        reason="患者取消预约",
    )
