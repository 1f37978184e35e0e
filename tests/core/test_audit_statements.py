"""The audit rows written with SQLAlchemy Core (one statement on PostgreSQL) are exactly
the rows the ORM unit of work wrote: same columns, same values."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, event, literal, null
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, select

from telemed.core import audit
from telemed.core.audit import AuditEvent, AuditEventPatient
from telemed.core.logging import request_id_var, request_origin_var
from telemed.identity.models import User

AT = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def origin() -> Iterator[None]:
    rid = request_id_var.set("req-audit-1")
    org = request_origin_var.set(("10.1.2.3", "GET", "/dicom-web/studies/1.2.3/metadata"))
    yield
    request_origin_var.reset(org)
    request_id_var.reset(rid)


def _rows(session: Session, event_id: uuid.UUID) -> tuple[dict[str, Any], list[uuid.UUID]]:
    ev = session.execute(select(AuditEvent).where(AuditEvent.id == event_id)).scalar_one()
    links = session.execute(
        select(AuditEventPatient.patient_id).where(AuditEventPatient.event_id == event_id)
    ).scalars()
    row = {k: v for k, v in ev.model_dump().items() if k != "id"}
    return row, sorted(links)


def _orm_rows(session: Session, event: AuditEvent, links: list[AuditEventPatient]) -> uuid.UUID:
    """What the ORM path wrote (`_add` + flush), under a fresh id."""
    clone = AuditEvent(**{**event.model_dump(), "id": uuid.uuid4()})
    session.add(clone)
    session.add_all(AuditEventPatient(event_id=clone.id, patient_id=x.patient_id) for x in links)
    session.flush()
    return clone.id


@pytest.mark.usefixtures("origin")
def test_read_writes_the_orm_rows_in_one_statement(session: Session) -> None:
    user = session.execute(select(User).where(User.username == "county-doctor")).scalar_one()
    patients = [uuid.uuid4(), uuid.uuid4()]
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    conn = session.connection()
    event.listen(conn, "before_cursor_execute", listener)
    try:
        ev = audit.read(
            session, user, object_type="study", patient_ids=[*patients, patients[0], None],
            object_ids=["1.2.3", "1.2.4"], what="qido-studies", at=AT,
        )  # fmt: skip
    finally:
        event.remove(conn, "before_cursor_execute", listener)
    assert ev is not None
    assert len(seen) == 1 and seen[0].count("INSERT INTO") == 2, seen
    got = _rows(session, ev.id)
    links = [AuditEventPatient(event_id=ev.id, patient_id=p) for p in patients]
    assert got == _rows(session, _orm_rows(session, ev, links))
    row, linked = got
    assert linked == sorted(patients) and row["patient_id"] is None
    assert row["ip"] == "10.1.2.3" and row["request_id"] == "req-audit-1"
    assert row["detail"] == {"what": "qido-studies", "count": 2, "object_ids": ["1.2.3", "1.2.4"]}
    assert row["at"] == AT and row["actor_id"] == user.id and row["actor_role"] == user.role


@pytest.mark.usefixtures("origin")
@pytest.mark.parametrize("patient", [True, False])
def test_read_found_writes_what_read_writes(session: Session, patient: bool) -> None:
    user = session.execute(select(User).where(User.username == "county-doctor")).scalar_one()
    pid = uuid.uuid4() if patient else None
    found = sa_select(literal(pid) if pid else null())
    assert audit.read_found(
        session, user, object_type="study", object_id="1.2.9", patient_of=found,
        what="frames", at=AT,
    )  # fmt: skip
    (by_found,) = session.execute(
        select(AuditEvent.id).where(AuditEvent.object_id == "1.2.9")
    ).scalars()
    ev = audit.read(
        session, user, object_type="study", object_id="1.2.10", patient_ids=[pid],
        what="frames", at=AT,
    )  # fmt: skip
    assert ev is not None
    (row_f, links_f), (row_r, links_r) = _rows(session, by_found), _rows(session, ev.id)
    assert row_f == {**row_r, "object_id": "1.2.9"}
    assert links_f == links_r == ([pid] if pid else [])
    assert row_f["patient_id"] == pid and row_f["detail"] == {"what": "frames"}


def test_read_found_writes_nothing_when_nothing_is_found(session: Session) -> None:
    before = session.execute(select(AuditEvent.id)).scalars().all()
    nothing = sa_select(literal(uuid.uuid4())).where(literal(False))
    assert not audit.read_found(
        session, None, object_type="study", object_id="1.2.11", patient_of=nothing
    )
    assert session.execute(select(AuditEvent.id)).scalars().all() == before


@pytest.mark.usefixtures("origin")
def test_sqlite_writes_the_same_rows_in_two_statements() -> None:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[audit._EVENTS, audit._LINKS])
    pid = uuid.uuid4()
    with Session(engine) as s:
        assert audit.read_found(
            s, None, object_type="study", object_id="1.2.12",
            patient_of=sa_select(literal(pid)), what="metadata", at=AT,
        )  # fmt: skip
        ev = audit.read(
            s, None, object_type="study", object_id="1.2.12", patient_ids=[pid],
            what="metadata", at=AT,
        )  # fmt: skip
        assert ev is not None
        rows = s.execute(select(AuditEvent)).scalars().all()
        assert len(rows) == 2
        a, b = ({k: v for k, v in r.model_dump().items() if k != "id"} for r in rows)
        assert a == b and a["patient_id"] == pid and a["ip"] == "10.1.2.3"
        assert s.execute(select(AuditEventPatient.patient_id)).scalars().all() == [pid, pid]
