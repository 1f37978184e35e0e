"""`python -m telemed.payments.fake_wechat` as `make run` starts it: `--init` writes the
key set and the server's TELEMED_PAYMENTS__WECHAT__* settings, the process serves API v3
on its port and keeps its orders in the state directory across restarts."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from telemed.core.settings import Settings
from telemed.payments.provider import OrderRequest
from telemed.payments.wechat import WechatPayProvider
from tests.support.ports import free_port, wait_port


@contextmanager
def fake_process(port: int, state: Path) -> Iterator[str]:
    command = [sys.executable, "-m", "telemed.payments.fake_wechat"]
    proc = subprocess.Popen([*command, "--port", str(port), "--state-dir", str(state)])
    try:
        wait_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_command_serves_the_settings_it_wrote_and_keeps_its_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, state = free_port(), tmp_path / "fake-wechat"
    init = subprocess.run(
        [sys.executable, "-m", "telemed.payments.fake_wechat", "--port", str(port)]
        + ["--state-dir", str(state), "--init"],
        capture_output=True,
        text=True,
        check=True,
    )
    env_file = Path(init.stdout.strip())
    assert env_file == state / "keys" / "wechat.env" and oct(env_file.stat().st_mode)[-3:] == "600"
    for line in env_file.read_text().splitlines():
        name, value = line.split("=", 1)
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None).payments.wechat  # type: ignore[call-arg]
    assert settings.base_url == f"http://127.0.0.1:{port}" and settings.cert_dir
    order = OrderRequest(
        order_no="PROCESS0001",
        amount_cents=990,
        currency="CNY",
        description="预约挂号",
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
        channel="native",
        notify_url="http://127.0.0.1:9/notify",  # nobody listens: the fake retries, harmless
    )
    with fake_process(port, state) as url:
        provider = WechatPayProvider(settings)
        assert provider.start(order).kind == "qr"
        assert httpx.post(f"{url}/fake/orders/PROCESS0001/pay").json() == {"trade_state": "SUCCESS"}
    with fake_process(port, state):
        notice = WechatPayProvider(settings).query("PROCESS0001")
    assert notice is not None and (notice.kind, notice.amount_cents) == ("paid", 990)
    assert list(Path(settings.cert_dir).glob("*.pem"))
