"""One PostgreSQL cluster per test run and one migrated, demo-seeded template database in it.

The first process of the run that needs a database starts the cluster (or uses the server
named by TELEMED_TEST_DATABASE_URL), migrates and seeds the template; every test database
after that (each worker's, the browser tests' live server's, the FHIR server's) is a copy:
`CREATE DATABASE x TEMPLATE telemed_template_<run>`, a file copy instead of minutes of
migrations and seeding. The controller stops the cluster when the run ends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.support import pgserver, shared


def _db_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + name


def _admin(admin_url: str, *statements: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def _seed_template(url: str) -> None:
    """Migrate `url` and load the demo network and accounts (no activity), as the
    session's test database always was; every connection to it is closed afterwards."""
    from sqlmodel import Session

    from telemed.cli import upgrade_database
    from telemed.core.db import get_engine
    from telemed.core.settings import get_settings
    from telemed.seed import seed_demo

    before = os.environ.get("TELEMED_DATABASE_URL")
    os.environ["TELEMED_DATABASE_URL"] = url
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        upgrade_database(url)
        with Session(get_engine()) as session:
            seed_demo(session, get_settings())
            session.commit()
    finally:
        get_engine().dispose()
        get_engine.cache_clear()
        get_settings.cache_clear()
        if before is None:
            os.environ.pop("TELEMED_DATABASE_URL", None)
        else:
            os.environ["TELEMED_DATABASE_URL"] = before


def _build(base: Path) -> dict[str, Any]:
    external = os.environ.get("TELEMED_TEST_DATABASE_URL")
    if external:
        admin_url = external
    else:
        server = pgserver.start()
        shared.on_end(
            "pgcluster",
            datadir=str(server.datadir),
            port=server.port,
            bindir=str(server.bindir),
            as_user=server.as_user,
        )
        admin_url = server.url
    template = f"telemed_template_{base.name.rsplit('-', 1)[-1].lower()}"
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{template}"', f'CREATE DATABASE "{template}"')
    if external:
        shared.on_end("dropdb", admin_url=admin_url, name=template)
    _seed_template(_db_url(admin_url, template))
    return {"admin_url": admin_url, "template": template}


def cluster() -> dict[str, Any]:
    """{"admin_url", "template"} of this run, built by the first caller."""
    return shared.once("pgtemplate", _build)


def create_database(name: str) -> str:
    """A new database `name`, a copy of the seeded template; its URL."""
    info = cluster()
    statement = f'CREATE DATABASE "{name}" TEMPLATE "{info["template"]}"'
    for attempt in range(50):
        try:
            _admin(info["admin_url"], f'DROP DATABASE IF EXISTS "{name}"', statement)
            break
        except OperationalError as exc:
            # Another worker copying the template at the same instant holds it briefly.
            if "being accessed by other users" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.1)
    return _db_url(info["admin_url"], name)


def drop_database(name: str) -> None:
    """Drop a database made by `create_database` (ending its sessions)."""
    _admin(cluster()["admin_url"], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stop_cluster(*, datadir: str, port: int, bindir: str, as_user: list[str]) -> None:
    pgserver.PgServer(datadir=Path(datadir), port=port, bindir=Path(bindir), as_user=as_user).stop()


def _drop(*, admin_url: str, name: str) -> None:
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


TEARDOWNS: dict[str, Callable[..., None]] = {"pgcluster": _stop_cluster, "dropdb": _drop}
