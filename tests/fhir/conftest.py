"""A real uvicorn serving the app on its own demo-seeded PostgreSQL database, for FHIR
clients nobody here wrote (fhirpy, fhirclient) to talk to over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.support import pgtemplate
from tests.support.uvicorn import app_env, serve

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "telemed-demo"


@dataclass
class FhirServer:
    url: str  # the app's root
    db: Engine  # its database, to find the seeded objects a test talks about

    @property
    def base(self) -> str:
        return f"{self.url}/fhir/R4"

    def token(self, username: str) -> str:
        r = httpx.post(
            f"{self.url}/api/v1/auth/token",
            data={"username": username, "password": DEMO_PASSWORD},
            timeout=60,
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def http(self, username: str | None = None) -> httpx.Client:
        headers = {"Accept": "application/fhir+json"}
        if username:
            headers["Authorization"] = f"Bearer {self.token(username)}"
        return httpx.Client(base_url=self.base, headers=headers, timeout=60)

    def one(self, sql: str, **params: Any) -> Any:
        with self.db.connect() as conn:
            return conn.execute(text(sql), params).first()


@pytest.fixture(scope="session")
def fhir_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FhirServer]:
    dbname = f"telemed_fhir_{uuid.uuid4().hex[:8]}"
    db_url = pgtemplate.create_database(dbname)  # migrated and demo-seeded, no activity
    env = app_env(
        TELEMED_DATABASE_URL=db_url,
        TELEMED_DICOM__ARCHIVE_DIR=str(tmp_path_factory.mktemp("archive")),
        TELEMED_DICOM__SPOOL_DIR=str(tmp_path_factory.mktemp("spool")),
        TELEMED_DICOM__GATEWAY_ENABLED="false",
    )
    engine = create_engine(db_url)
    try:
        with serve(env) as url:
            yield FhirServer(url=url, db=engine)
    finally:
        engine.dispose()
        pgtemplate.drop_database(dbname)
