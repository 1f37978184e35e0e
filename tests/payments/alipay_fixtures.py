"""Fixtures of the Alipay tests: the fake gateway on a free port with fresh development
keys, our provider pointed at it, and a notify receiver that hands what it is posted to
the provider and answers as the order module would. A test module takes the fixtures
with `from tests.payments.alipay_fixtures import *`."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from telemed.core.payment_settings import AlipaySettings
from telemed.payments.alipay import AlipayProvider
from telemed.payments.alipay_sign import DevKeys, create_dev_keys
from telemed.payments.fake_alipay import FakeAlipay
from telemed.payments.fake_alipay_http import BackgroundServer
from telemed.payments.provider import Notice, NotificationRejected, OrderRequest

__all__ = ["fake_fixture", "keys_fixture", "provider_fixture", "receiver_fixture"]


def order(
    no: str,
    *,
    channel: str = "wap",
    cents: int = 1250,
    notify: str = "",
    description: str = "远程会诊费 · 心内科",
    return_url: str | None = None,
) -> OrderRequest:
    """One of our orders as the provider is handed it (15 minutes to pay)."""
    return OrderRequest(
        order_no=no,
        amount_cents=cents,
        currency="CNY",
        description=description,
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
        channel=channel,  # type: ignore[arg-type]
        notify_url=notify or "http://127.0.0.1:9/notify",
        return_url=return_url or "http://127.0.0.1:9/pay/return?order=" + no,
    )


@dataclass
class Receiver:
    """Our notify_url: every post goes through `provider.parse_notification`."""

    provider: AlipayProvider
    failures_first: int = 0  # answer `failure` to this many verified posts first
    results: queue.Queue[Notice | NotificationRejected] = field(default_factory=queue.Queue)
    returns: queue.Queue[str] = field(default_factory=queue.Queue)  # paths of GETs (return_url)
    _server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"{self._server.url}/api/v1/payments/notify/alipay"

    def next(self, timeout: float = 10.0) -> Notice | NotificationRejected:
        """The next post's outcome (waits for it)."""
        return self.results.get(timeout=timeout)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                accepted = False
                try:
                    notice = receiver.provider.parse_notification(dict(self.headers), body)
                    if receiver.failures_first > 0:
                        receiver.failures_first -= 1
                    else:
                        accepted = True
                    receiver.results.put(notice)
                except NotificationRejected as rejected:
                    receiver.results.put(rejected)
                status, ctype, reply = receiver.provider.notification_reply(accepted)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def do_GET(self) -> None:
                # our return_url: the payer's browser comes back here
                receiver.returns.put(self.path)
                page = "<!doctype html><title>返回</title><p data-testid=back>已返回</p>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = BackgroundServer(Handler)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


@pytest.fixture(name="keys", scope="module")
def keys_fixture(tmp_path_factory: pytest.TempPathFactory) -> DevKeys:
    return create_dev_keys(tmp_path_factory.mktemp("alipay-keys"))


@pytest.fixture(name="fake")
def fake_fixture(keys: DevKeys, tmp_path: Path) -> Iterator[FakeAlipay]:
    state = tmp_path / "fake"
    state.mkdir()
    for key in keys.directory.glob("*.pem"):
        (state / key.name).write_bytes(key.read_bytes())
    gateway = FakeAlipay.from_dir(state, notify_delays=(0.0, 0.05, 0.1, 0.2)).start()
    yield gateway
    gateway.stop()


def settings_for(fake: FakeAlipay, keys: DevKeys, **changes: Any) -> AlipaySettings:
    values = {
        "gateway": fake.gateway,
        "app_id": keys.app_id,
        "app_private_key_path": str(keys.app_private_key),
        "alipay_public_key_path": str(keys.alipay_public_key),
        "timeout_seconds": 5.0,
    }
    return AlipaySettings(**(values | changes))


@pytest.fixture(name="provider")
def provider_fixture(fake: FakeAlipay, keys: DevKeys) -> Iterator[AlipayProvider]:
    ours = AlipayProvider(settings_for(fake, keys))
    yield ours
    ours.close_client()


@pytest.fixture(name="receiver")
def receiver_fixture(provider: AlipayProvider) -> Iterator[Receiver]:
    running = Receiver(provider).start()
    yield running
    running.stop()
