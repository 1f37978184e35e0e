"""The admin's audit log: actors by name, role and hospital; filters by actor, time range."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from telemed.core import audit
from telemed.core.pagination import PageParams
from telemed.identity import audit_log
from telemed.identity.models import User
from telemed.network.models import Institution


def _user(session: Session, username: str) -> User:
    return session.execute(select(User).where(User.username == username)).scalar_one()


def test_rows_name_the_actor_with_role_and_hospital_and_keep_full_ids(
    client: TestClient, session: Session, login: Callable[[str], dict[str, str]]
) -> None:
    doctor = _user(session, "county-doctor")
    hospital = session.get(Institution, doctor.institution_id)
    assert hospital is not None
    patient_id = _user(session, "patient").patient_id
    assert client.get(f"/api/v1/patients/{patient_id}", headers=login("county-doctor")).is_success

    r = client.get(
        "/api/v1/audit",
        params={"patient_id": str(patient_id), "actor_id": str(doctor.id)},
        headers=login("admin"),
    )
    assert r.status_code == 200
    row = r.json()["items"][0]
    assert row["actor"] == {
        "id": str(doctor.id),
        "username": "county-doctor",
        "full_name": doctor.full_name,
        "role": doctor.role,
        "institution_id": str(hospital.id),
        "institution_name_zh": hospital.name_zh,
        "institution_name_en": hospital.name_en,
    }
    assert row["object_id"] == str(patient_id)  # whole, not cut
    assert row["patient_ids"] == [str(patient_id)]


def test_a_system_row_has_no_actor(session: Session) -> None:
    audit.record(
        session=session,
        actor_role="system",
        action="escalate",
        object_type="referral",
        object_id="r-system-row",
    )
    session.flush()
    rows, total = audit_log.events(
        session=session, page=PageParams(limit=5, offset=0), object_id="r-system-row"
    )
    assert total == 1 and rows[0].actor is None and rows[0].action == "escalate"


def test_actor_filter_matches_part_of_the_name_or_user_name(
    client: TestClient, session: Session, login: Callable[[str], dict[str, str]]
) -> None:
    doctor = _user(session, "county-doctor")
    patient_id = _user(session, "patient").patient_id
    client.get(f"/api/v1/patients/{patient_id}", headers=login("county-doctor"))
    admin = login("admin")
    for term in (doctor.full_name[1:], "COUNTY-doc"):
        r = client.get("/api/v1/audit", params={"actor": term, "limit": 200}, headers=admin)
        assert r.status_code == 200
        actors = [i["actor"] for i in r.json()["items"]]
        assert str(doctor.id) in {a["id"] for a in actors}
        assert all(
            term.lower() in a["full_name"].lower() or term.lower() in a["username"] for a in actors
        )
    everyone = client.get("/api/v1/audit", params={"limit": 200}, headers=admin).json()
    assert everyone["total"] > r.json()["total"]
    none = client.get("/api/v1/audit", params={"actor": "%"}, headers=admin)
    assert none.status_code == 200 and none.json()["total"] == 0  # % is a letter, not a wildcard


def test_time_range_is_since_inclusive_until_exclusive(session: Session) -> None:
    at = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 2026-12-01 00:00 in Asia/Shanghai
    for minutes in (-1, 0, 60):
        audit.record(
            session=session,
            actor_role="system",
            action="update",
            object_type="patient",
            object_id=f"range-{minutes}",
            at=at + timedelta(minutes=minutes),
        )
    session.flush()
    rows, total = audit_log.events(
        session=session,
        page=PageParams(limit=10, offset=0),
        object_type="patient",
        since=at,
        until=at + timedelta(minutes=60),
    )
    assert [r.object_id for r in rows if r.object_id.startswith("range-")] == ["range-0"]
    naive, _ = audit_log.events(
        session=session,
        page=PageParams(limit=10, offset=0),
        since=at.replace(tzinfo=None),
        until=(at + timedelta(minutes=60)).replace(tzinfo=None),
    )
    assert [r.object_id for r in naive if r.object_id.startswith("range-")] == ["range-0"]


def test_a_reversed_range_is_refused_at_the_field(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    r = client.get(
        "/api/v1/audit",
        params={"since": "2026-12-02T00:00:00+08:00", "until": "2026-12-01T00:00:00+08:00"},
        headers=login("admin"),
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "until"


def test_non_admins_cannot_read_the_log(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    assert client.get("/api/v1/audit", headers=login("county-doctor")).status_code == 403


def test_a_page_costs_the_same_statements_whatever_its_length(
    client: TestClient, session: Session, login: Callable[[str], dict[str, str]]
) -> None:
    for name in ("county-doctor", "specialist", "coordinator"):
        patient_id = _user(session, "patient").patient_id
        client.get(f"/api/v1/patients/{patient_id}", headers=login(name))
        client.get("/api/v1/auth/me", headers=login(name))
    seen: list[str] = []
    conn = session.connection()

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(conn, "before_cursor_execute", count)
    try:
        counts = []
        for limit in (1, 50):
            seen.clear()
            rows, _ = audit_log.events(session=session, page=PageParams(limit=limit, offset=0))
            assert len(rows) == limit or limit == 50
            counts.append(len(seen))
    finally:
        event.remove(conn, "before_cursor_execute", count)
    assert len({r.actor.institution_id for r in rows if r.actor and r.actor.institution_id}) > 1
    assert counts[0] == counts[1] <= 4
