from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from telemed.core.audit import AuditEvent
from telemed.identity.models import User


def test_reading_a_patient_writes_an_audit_row(
    client: TestClient, session: Session, login: Callable[[str], dict[str, str]]
) -> None:
    doctor = session.execute(select(User).where(User.username == "county-doctor")).scalar_one()
    patient_id = session.execute(
        select(User.patient_id).where(User.username == "patient")
    ).scalar_one()
    r = client.get(f"/api/v1/patients/{patient_id}", headers=login("county-doctor"))
    assert r.status_code == 200
    rows = (
        session.execute(
            select(AuditEvent).where(
                AuditEvent.patient_id == patient_id, AuditEvent.actor_id == doctor.id
            )
        )
        .scalars()
        .all()
    )
    assert [(e.action, e.object_type) for e in rows] == [("read", "patient")]
    assert rows[0].ip and rows[0].request_id

    audit = client.get(
        "/api/v1/audit", params={"patient_id": str(patient_id)}, headers=login("admin")
    )
    assert audit.status_code == 200
    assert audit.json()["total"] >= 1


def test_audit_log_is_append_only(committed_engine: Engine) -> None:
    with committed_engine.connect() as conn, conn.begin():
        conn.execute(
            text(
                "INSERT INTO audit_event (id, at, action, object_type, object_id, detail) "
                "VALUES (gen_random_uuid(), now(), 'read', 'x', 'y', '{}')"
            )
        )
    with pytest.raises(DBAPIError, match="append-only"):
        with committed_engine.connect() as conn, conn.begin():
            conn.execute(text("UPDATE audit_event SET action = 'forged' WHERE object_type = 'x'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with committed_engine.connect() as conn, conn.begin():
            conn.execute(text("DELETE FROM audit_event WHERE object_type = 'x'"))
