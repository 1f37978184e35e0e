"""A real Janus (Debian package `janus`) for tests and benchmarks.

`start()` writes a configuration directory of its own (never /etc/janus): `janus.jcfg`
with token authentication and an API secret, only the VideoRoom plugin and the HTTP
transport (Janus API and Admin API on free loopback ports) linked into private plugin and
transport folders, an RTP port range, no STUN/NAT settings, logging to `janus.log`; runs
`janus -F <dir>` and waits until `/janus/info` answers. `JanusServer.stop()` ends it.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from telemed.core.settings import VideoSettings
from tests.support.ports import free_port

JANUS_BIN = shutil.which("janus") or "/usr/bin/janus"
LIB_DIR = Path("/usr/lib/x86_64-linux-gnu/janus")
VIDEOROOM_PLUGIN = LIB_DIR / "plugins" / "libjanus_videoroom.so"
HTTP_TRANSPORT = LIB_DIR / "transports" / "libjanus_http.so"


def available() -> bool:
    """True when the Janus binary, its VideoRoom plugin and HTTP transport are installed."""
    return Path(JANUS_BIN).exists() and VIDEOROOM_PLUGIN.exists() and HTTP_TRANSPORT.exists()


@dataclass
class JanusServer:
    """A running Janus on loopback."""

    base: Path
    http_port: int
    admin_port: int
    rtp_ports: tuple[int, int]
    api_secret: str
    admin_secret: str
    room_admin_key: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The Janus API (`/janus`)."""
        return f"http://127.0.0.1:{self.http_port}/janus"

    @property
    def admin_url(self) -> str:
        """The Admin API (`/admin`)."""
        return f"http://127.0.0.1:{self.admin_port}/admin"

    def video_settings(self) -> VideoSettings:
        """The app's settings (`TELEMED_VIDEO__JANUS_*`) for this server."""
        return VideoSettings(
            janus_url=self.url,
            janus_admin_url=self.admin_url,
            janus_api_secret=self.api_secret,
            janus_admin_secret=self.admin_secret,
            janus_room_admin_key=self.room_admin_key,
        )

    def write_config(self) -> Path:
        conf = self.base / "conf"
        for sub in ("conf", "plugins", "transports", "events", "loggers"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        for src, folder in ((VIDEOROOM_PLUGIN, "plugins"), (HTTP_TRANSPORT, "transports")):
            link = self.base / folder / src.name
            if not link.exists():
                link.symlink_to(src)
        (conf / "janus.jcfg").write_text(
            f"""general: {{
\tconfigs_folder = "{conf}"
\tplugins_folder = "{self.base / "plugins"}"
\ttransports_folder = "{self.base / "transports"}"
\tevents_folder = "{self.base / "events"}"
\tloggers_folder = "{self.base / "loggers"}"
\tlog_to_stdout = false
\tlog_to_file = "{self.base / "janus.log"}"
\tdebug_level = 4
\tserver_name = "telemed-test"
\tsession_timeout = 60
\tapi_secret = "{self.api_secret}"
\ttoken_auth = true
\tadmin_secret = "{self.admin_secret}"
\tprotected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var"]
}}
certificates: {{
}}
media: {{
\trtp_port_range = "{self.rtp_ports[0]}-{self.rtp_ports[1]}"
}}
nat: {{
\tice_ignore_list = "vmnet"
}}
plugins: {{
}}
transports: {{
}}
events: {{
\tbroadcast = false
}}
loggers: {{
}}
"""
        )
        (conf / "janus.transport.http.jcfg").write_text(
            f"""general: {{
\tjson = "compact"
\tbase_path = "/janus"
\thttp = true
\tport = {self.http_port}
\tip = "127.0.0.1"
\thttps = false
}}
admin: {{
\tadmin_base_path = "/admin"
\tadmin_http = true
\tadmin_port = {self.admin_port}
\tadmin_ip = "127.0.0.1"
\tadmin_https = false
}}
cors: {{
}}
"""
        )
        (conf / "janus.plugin.videoroom.jcfg").write_text(
            f"""general: {{
\tadmin_key = "{self.room_admin_key}"
\tstring_ids = true
}}
"""
        )
        return conf

    def _launch(self) -> None:
        conf = self.write_config()
        log = open(self.base / "stdout.log", "ab")
        self.process = subprocess.Popen(
            [JANUS_BIN, "-F", str(conf), "-C", str(conf / "janus.jcfg"), "-o", "-N"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.base,
        )
        log.close()
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until `/janus/info` answers (or the process died)."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Janus exited with {self.process.returncode}: {self.log()}")
            try:
                r = httpx.get(self.url + "/info", timeout=1.0)
                if r.status_code == 200 and r.json().get("janus") == "server_info":
                    return
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.05)
        raise TimeoutError(f"Janus not ready after {timeout}s ({last}): {self.log()}")

    def log(self, tail: int = 4000) -> str:
        text = ""
        for p in sorted(self.base.glob("*.log")):
            text += p.read_text(errors="replace")
        return text[-tail:]

    def stop(self) -> None:
        """Stop the process (the directory is kept until `cleanup`)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def start() -> JanusServer:
    """Start a Janus on free ports with a generated config directory; waits until it answers."""
    if not available():
        raise RuntimeError("Janus is missing (apt-get install janus janus-tools)")
    base = Path(tempfile.mkdtemp(prefix="telemed-janus-"))
    low = (
        20000 + (free_port() % 2000) * 20
    )  # a private range per server (tests may run in parallel)
    server = JanusServer(
        base=base,
        http_port=free_port(),
        admin_port=free_port(),
        rtp_ports=(low, low + 199),
        api_secret=secrets.token_urlsafe(16),
        admin_secret=secrets.token_urlsafe(16),
        room_admin_key=secrets.token_urlsafe(16),
    )
    server._launch()
    return server
