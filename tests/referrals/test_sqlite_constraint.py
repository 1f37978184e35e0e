"""The one-active-contract index also holds on SQLite (the one-machine database)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from telemed.cli import upgrade_database


def test_partial_unique_index_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    upgrade_database(url)
    engine = create_engine(url)
    insert = text(
        "INSERT INTO fd_contract (id, patient_id, team_id, status, term_start, term_end, "
        "signing_channel, signed_by_id, signed_at, consent, created_at) VALUES "
        "(:id, :p, :t, :s, '2026-12-01', '2027-12-01', 'doctor', :u, "
        "'2026-12-01 00:00:00', '{}', '2026-12-01 00:00:00')"
    )
    patient, team, user = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    with engine.begin() as conn:  # foreign keys are not enforced on this bare engine
        for status in ("expired", "expired", "pending", "active"):
            conn.execute(
                insert, {"id": uuid.uuid4().hex, "p": patient, "t": team, "s": status, "u": user}
            )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert, {"id": uuid.uuid4().hex, "p": patient, "t": team, "s": "active", "u": user}
        )
    engine.dispose()
