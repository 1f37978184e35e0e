"""A throwaway PostgreSQL server for the test run.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
user (`runuser`). Set TELEMED_TEST_DATABASE_URL to use an existing server instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port


def _bindir() -> Path:
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(cand, "initdb").exists():
            return Path(cand)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")


@dataclass
class PgServer:
    datadir: Path
    port: int
    bindir: Path
    as_user: list[str]
    options: str = ""

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True)

    def pg_ctl(self, *args: str) -> None:
        """Run pg_ctl on this cluster (e.g. `stop -m fast`, `start -w`)."""
        self.run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args)

    def halt(self) -> None:
        """Stop the server, ending every session (a database outage); `resume()` restarts it."""
        self.pg_ctl("-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the server again on the same port and data."""
        log = str(self.datadir.parent / "log")
        self.pg_ctl("-o", self.options, "-w", "-t", "60", "-l", log, "start")

    def stop(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start(*, durable: bool = False) -> PgServer:
    """initdb a temp cluster on a free port and start it (fsync off: tests only; `durable`
    keeps PostgreSQL's default fsync, synchronous commit and full page writes: benchmarks)."""
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="telemed-pg-"))
    datadir = base / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres", "postgres")
        os.chmod(base, 0o700)
    port = free_port()
    server = PgServer(datadir=datadir, port=port, bindir=bindir, as_user=as_user)
    server.run(
        str(bindir / "initdb"),
        "-D",
        str(datadir),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-locale",
    )
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=300"
    if not durable:
        opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    server.options = opts
    server.resume()
    return server
