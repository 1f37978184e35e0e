"""A local fake WeChat Pay (development and tests only): speaks API v3 over real HTTP,
verifies our request signatures, signs its answers, serves the platform certificate, a
payer's page, notifications, refunds and the trade bill (docs/payments.md, "The fake").

    python -m telemed.payments.fake_wechat --port 8010 --state-dir var/fake-wechat
    python -m telemed.payments.fake_wechat --state-dir var/fake-wechat --init

The state directory holds the development key set (created on first use, see
`wechat_devkeys`), the fake's orders and `wechat.env`, the TELEMED_PAYMENTS__WECHAT__*
settings of a server that uses it. `--init` only writes those and exits.
"""

from __future__ import annotations

import argparse
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from telemed.payments.fake_wechat_http import create_fake_app
from telemed.payments.fake_wechat_state import FakeWechatPay
from telemed.payments.wechat_devkeys import DevKeySet, create_dev_keyset, write_env_file

__all__ = ["FakeWechatPay", "main", "serve_fake"]


@contextmanager
def serve_fake(fake: FakeWechatPay, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `fake` in a thread of this process (port 0: a free one); yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    url = f"http://{host}:{sock.getsockname()[1]}"
    fake.public_url = url
    config = uvicorn.Config(
        create_fake_app(fake), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the fake WeChat Pay did not start")
            thread.join(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _keyset(state_dir: Path, base_url: str) -> DevKeySet:
    keys = create_dev_keyset(state_dir / "keys")
    write_env_file(keys, base_url=base_url, cert_dir=state_dir / "platform-certs")
    return keys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fake WeChat Pay API v3 (development only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--state-dir", type=Path, default=Path("var/fake-wechat"))
    parser.add_argument("--public-key-mode", action="store_true", help="sign as 微信支付公钥")
    parser.add_argument(
        "--init", action="store_true", help="write the key set and wechat.env, exit"
    )
    args = parser.parse_args(argv)
    base_url = f"http://{args.host}:{args.port}"
    keys = _keyset(args.state_dir, base_url)
    if args.init:
        print(keys.directory / "wechat.env")
        return
    fake = FakeWechatPay(keys, state_dir=args.state_dir, public_key_mode=args.public_key_mode)
    fake.public_url = base_url
    uvicorn.run(create_fake_app(fake), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
