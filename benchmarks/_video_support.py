"""Shared set-up of the video benchmarks: a migrated, seeded database and the app served by
uvicorn in its own process.

`database="postgres"` (the default, what production runs): a throwaway PostgreSQL with the
server's default durability (fsync, synchronous commit and full-page writes on, unlike the
test suite's cluster), so the signaling socket goes through the PostgreSQL channel
(LISTEN/NOTIFY) as a deployed worker does. `database="sqlite"`: a scratch SQLite file and
the in-process channel (the embedded set-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class Served:
    base_url: str
    database_url: str
    recordings_dir: Path

    def token(self, username: str) -> str:
        r = httpx.post(
            f"{self.base_url}/api/v1/auth/token",
            data={"username": username, "password": "telemed-demo"},
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def room(self, invited: list[str], *, mode: str = "p2p", max_participants: int = 2) -> str:
        """A room hosted by `specialist`, open now."""
        from sqlmodel import Session, select

        from telemed.core import clock
        from telemed.core.db import make_engine
        from telemed.core.settings import VideoSettings
        from telemed.identity.models import User
        from telemed.video import service
        from telemed.video.schemas import RoomCreate

        engine = make_engine(self.database_url)
        now = clock.now()
        with Session(engine) as s:
            users = {
                u.username: u
                for u in s.execute(
                    select(User).where(User.username.in_(["specialist", *invited]))  # type: ignore[attr-defined]
                ).scalars()
            }
            room = service.create_room(
                session=s,
                data=RoomCreate(
                    title="benchmark",
                    starts_at=now,
                    ends_at=now + timedelta(hours=1),
                    invited_user_ids=[users[u].id for u in invited],
                    mode=mode,  # type: ignore[arg-type]
                    max_participants=max_participants,
                ),
                by=users["specialist"],
                now=now,
                settings=VideoSettings(max_relay_participants=16, max_p2p_participants=16),
            )
            s.commit()
            rid = str(room.id)
        engine.dispose()
        return rid

    def user_ids(self, *names: str) -> dict[str, str]:
        from sqlmodel import Session, select

        from telemed.core.db import make_engine
        from telemed.identity.models import User

        engine = make_engine(self.database_url)
        with Session(engine) as s:
            rows = s.execute(select(User).where(User.username.in_(names))).scalars()  # type: ignore[attr-defined]
            out = {u.username: str(u.id) for u in rows}
        engine.dispose()
        return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server did not listen on {port}")


RELAXED = ("fsync=", "synchronous_commit=", "full_page_writes=")  # the suite's, not ours


@contextmanager
def _postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster with default durability; yields its SQLAlchemy URL."""
    from tests.support import pgserver

    server = pgserver.start()
    try:
        # The suite's cluster runs without fsync; a benchmark measures what production pays.
        server.halt()
        words = server.options.split()
        kept = [
            w
            for i, w in enumerate(words)
            if not w.startswith(RELAXED)
            and not (w == "-c" and i + 1 < len(words) and words[i + 1].startswith(RELAXED))
        ]
        server.options = " ".join(kept)
        server.resume()
        yield server.url
    finally:
        server.stop()


def durability(database_url: str) -> str:
    """fsync / synchronous_commit of the benchmark's database (printed with the settings)."""
    if not database_url.startswith("postgresql"):
        return "sqlite (WAL)"
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        got = [
            f"{name}={conn.execute(text(f'SHOW {name}')).scalar()}"
            for name in ("fsync", "synchronous_commit", "full_page_writes")
        ]
        version = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    return f"PostgreSQL {version} ({', '.join(got)})"


@contextmanager
def served_app(database: str = "postgres", source: Path = ROOT) -> Iterator[Served]:
    """Migrate and seed a scratch database, serve it in a separate process (the app's code
    from `source`: this tree, or another checkout to compare with)."""
    with contextlib.ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="telemed-bench-video-"))
        if database == "postgres":
            db_url = stack.enter_context(_postgres())
        else:
            db_url = f"sqlite:///{tmp / 'telemed.db'}"
        yield stack.enter_context(_serve(tmp, db_url, source))


@contextmanager
def _serve(tmp: Path, db_url: str, source: Path) -> Iterator[Served]:
    env = {
        **os.environ,
        "TELEMED_ENV": "development",
        "TELEMED_DATABASE_URL": db_url,
        "TELEMED_LOG_LEVEL": "WARNING",
        "TELEMED_VIDEO__RECORDINGS_DIR": str(tmp / "recordings"),
        "TELEMED_VIDEO__MAX_RELAY_PARTICIPANTS": "16",
        "TELEMED_VIDEO__MESSAGES_PER_SECOND": "1000",
        "TELEMED_VIDEO__MESSAGE_BURST": "1000",
        "PYTHONPATH": str(source),
    }
    os.environ.update({k: env[k] for k in ("TELEMED_ENV", "TELEMED_DATABASE_URL")})
    from telemed.cli import upgrade_database
    from telemed.core.db import make_engine
    from telemed.core.settings import get_settings
    from telemed.seed import seed_demo

    get_settings.cache_clear()
    upgrade_database(db_url)
    engine = make_engine(db_url)
    from sqlmodel import Session

    with Session(engine) as s:
        seed_demo(s, get_settings())
        s.commit()
    engine.dispose()
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "telemed.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=tmp,
    )
    try:
        _wait_port(port)
        yield Served(f"http://127.0.0.1:{port}", db_url, tmp / "recordings")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]
