"""A real Janus (Debian package `janus`) for tests and benchmarks.

`start()` writes a configuration directory of its own through `telemed.video.janus_dev`
(shared with `make run`: token authentication and an API secret, only the VideoRoom plugin
and the HTTP transport, Janus API and Admin API on free loopback ports, a private RTP port
range, logging to `janus.log`), runs `janus -F <dir>` and waits until `/janus/info`
answers. `JanusServer.stop()` ends it.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from telemed.core.settings import VideoSettings
from telemed.video.janus_dev import JanusConfig, available, wait_ready
from tests.support.ports import free_port

__all__ = ["JanusServer", "available", "start"]


@dataclass
class JanusServer(JanusConfig):
    """A running Janus on loopback."""

    process: subprocess.Popen[bytes] | None = None

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
        return self.write()

    def _launch(self) -> None:
        self.write()
        log = open(self.base / "stdout.log", "ab")
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.base
        )
        log.close()
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until `/janus/info` answers (or the process died)."""
        proc = self.process
        if wait_ready(self.url, timeout=timeout, alive=lambda: proc is None or proc.poll() is None):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"Janus exited with {proc.returncode}: {self.log()}")
        raise TimeoutError(f"Janus not ready after {timeout}s: {self.log()}")

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
