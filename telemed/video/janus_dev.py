"""Janus for development (`make run`) and the tests: a generated configuration, then Janus.

`JanusConfig.write()` writes a configuration directory of its own (never /etc/janus):
`janus.jcfg` with token authentication and an API secret, only the VideoRoom plugin and the
HTTP transport (Janus API and Admin API on loopback ports) linked into private plugin and
transport folders, an RTP port range, no STUN/NAT settings, logging to `janus.log`.
The tests (tests/support/janus.py) run it on free ports; `make run` (scripts/run.sh) through
this module's command, development only:

    python -m telemed.video.janus_dev --dir var/janus --port 8088 --env   # TELEMED_VIDEO__JANUS_*=…
    python -m telemed.video.janus_dev --dir var/janus --port 8088         # writes, execs janus
    python -m telemed.video.janus_dev --dir var/janus --port 8088 --wait 20  # until it answers

The secrets are random, made once per directory (`<dir>/secrets.json`, mode 0600) so the
server and Janus agree across restarts; they are printed only by `--env`, for the script to
export, never logged.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["JANUS_BIN", "JanusConfig", "available", "main", "wait_ready"]

JANUS_BIN = shutil.which("janus") or "/usr/bin/janus"
LIB_DIR = Path("/usr/lib/x86_64-linux-gnu/janus")
VIDEOROOM_PLUGIN = LIB_DIR / "plugins" / "libjanus_videoroom.so"
HTTP_TRANSPORT = LIB_DIR / "transports" / "libjanus_http.so"
PROTECTED = '["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var"]'


def available() -> bool:
    """True when the Janus binary, its VideoRoom plugin and HTTP transport are installed."""
    return Path(JANUS_BIN).exists() and VIDEOROOM_PLUGIN.exists() and HTTP_TRANSPORT.exists()


@dataclass
class JanusConfig:
    """Where a Janus of ours listens, with which secrets, and its configuration directory."""

    base: Path
    http_port: int
    admin_port: int
    rtp_ports: tuple[int, int]
    api_secret: str
    admin_secret: str
    room_admin_key: str
    server_name: str = "telemed-test"

    @property
    def url(self) -> str:
        """The Janus API (`/janus`)."""
        return f"http://127.0.0.1:{self.http_port}/janus"

    @property
    def admin_url(self) -> str:
        """The Admin API (`/admin`)."""
        return f"http://127.0.0.1:{self.admin_port}/admin"

    @property
    def conf(self) -> Path:
        return self.base / "conf"

    def env(self) -> dict[str, str]:
        """The server's settings for this Janus (`TELEMED_VIDEO__JANUS_*`)."""
        return {
            "TELEMED_VIDEO__JANUS_URL": self.url,
            "TELEMED_VIDEO__JANUS_ADMIN_URL": self.admin_url,
            "TELEMED_VIDEO__JANUS_API_SECRET": self.api_secret,
            "TELEMED_VIDEO__JANUS_ADMIN_SECRET": self.admin_secret,
            "TELEMED_VIDEO__JANUS_ROOM_ADMIN_KEY": self.room_admin_key,
        }

    def command(self) -> list[str]:
        """How Janus is started on this configuration."""
        conf = self.conf
        return [JANUS_BIN, "-F", str(conf), "-C", str(conf / "janus.jcfg"), "-o", "-N"]

    def write(self) -> Path:
        """Write the configuration directory; returns its `conf` folder."""
        conf, base = self.conf, self.base
        for sub in ("conf", "plugins", "transports", "events", "loggers"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        for src, folder in ((VIDEOROOM_PLUGIN, "plugins"), (HTTP_TRANSPORT, "transports")):
            link = base / folder / src.name
            if not link.exists():
                link.symlink_to(src)
        general = {
            "configs_folder": f'"{conf}"',
            "plugins_folder": f'"{base / "plugins"}"',
            "transports_folder": f'"{base / "transports"}"',
            "events_folder": f'"{base / "events"}"',
            "loggers_folder": f'"{base / "loggers"}"',
            "log_to_stdout": "false",
            "log_to_file": f'"{base / "janus.log"}"',
            "debug_level": "4",
            "server_name": f'"{self.server_name}"',
            "session_timeout": "60",
            "api_secret": f'"{self.api_secret}"',
            "token_auth": "true",
            "admin_secret": f'"{self.admin_secret}"',
            "protected_folders": PROTECTED,
        }
        media = {"rtp_port_range": f'"{self.rtp_ports[0]}-{self.rtp_ports[1]}"'}
        (conf / "janus.jcfg").write_text(
            _section("general", general)
            + "certificates: {\n}\n"
            + _section("media", media)
            + _section("nat", {"ice_ignore_list": '"vmnet"'})
            + "plugins: {\n}\ntransports: {\n}\n"
            + _section("events", {"broadcast": "false"})
            + "loggers: {\n}\n"
        )
        http = {"json": '"compact"', "base_path": '"/janus"', "http": "true",
                "port": str(self.http_port), "ip": '"127.0.0.1"', "https": "false"}  # fmt: skip
        admin = {"admin_base_path": '"/admin"', "admin_http": "true",
                 "admin_port": str(self.admin_port), "admin_ip": '"127.0.0.1"',
                 "admin_https": "false"}  # fmt: skip
        (conf / "janus.transport.http.jcfg").write_text(
            _section("general", http) + _section("admin", admin) + "cors: {\n}\n"
        )
        (conf / "janus.plugin.videoroom.jcfg").write_text(
            _section("general", {"admin_key": f'"{self.room_admin_key}"', "string_ids": "true"})
        )
        return conf


def _section(name: str, values: dict[str, str]) -> str:
    """One libconfig section of Janus's `.jcfg` files."""
    return f"{name}: {{\n" + "".join(f"\t{k} = {v}\n" for k, v in values.items()) + "}\n"


def wait_ready(url: str, *, timeout: float, alive: Callable[[], bool] | None = None) -> bool:
    """Poll `<url>/info` until Janus answers (False after `timeout` seconds, or as soon as
    `alive()` says the process ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (alive is None or alive()):
        try:
            r = httpx.get(url + "/info", timeout=1.0)
            if r.status_code == 200 and r.json().get("janus") == "server_info":
                return True
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.05)
    return False


def _secrets(base: Path) -> dict[str, str]:
    """The directory's secrets, made on first use (random, kept 0600)."""
    path = base / "secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    made = {k: secrets.token_urlsafe(32) for k in ("api", "admin", "room_admin")}
    base.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(made, f)
    return made


def dev_config(base: Path, *, port: int, admin_port: int, rtp: tuple[int, int]) -> JanusConfig:
    """The development Janus of a directory (`make run`)."""
    keys = _secrets(base.absolute())
    return JanusConfig(
        base=base.absolute(),
        http_port=port,
        admin_port=admin_port,
        rtp_ports=rtp,
        api_secret=keys["api"],
        admin_secret=keys["admin"],
        room_admin_key=keys["room_admin"],
        server_name="telemed-dev",
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m telemed.video.janus_dev`: print the settings, wait, or write and exec."""
    p = argparse.ArgumentParser(prog="python -m telemed.video.janus_dev", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--dir", type=Path, default=Path("var/janus"))
    p.add_argument("--port", type=int, default=8088, help="Janus API (HTTP)")
    p.add_argument("--admin-port", type=int, default=None, help="Admin API (default port + 1)")
    p.add_argument("--rtp", default="20000-20199", help="the RTP port range")
    p.add_argument("--env", action="store_true", help="print TELEMED_VIDEO__JANUS_*=… lines")
    p.add_argument("--check", action="store_true", help="exit 0 when Janus is installed")
    p.add_argument("--wait", type=float, default=None, help="wait until it answers (seconds)")
    args = p.parse_args(argv)
    if args.check:
        return 0 if available() else 1
    low, high = (int(x) for x in args.rtp.split("-", 1))
    config = dev_config(
        args.dir, port=args.port, admin_port=args.admin_port or args.port + 1, rtp=(low, high)
    )
    if args.env:
        for name, value in config.env().items():
            print(f"{name}={value}")
        return 0
    if args.wait is not None:
        return 0 if wait_ready(config.url, timeout=args.wait) else 1
    if not available():
        print("janus is not installed (apt-get install janus janus-tools)", file=sys.stderr)
        return 1
    config.write()
    os.chdir(config.base)
    os.execv(config.command()[0], config.command())
    return 1  # pragma: no cover (execv does not return)


if __name__ == "__main__":
    raise SystemExit(main())
