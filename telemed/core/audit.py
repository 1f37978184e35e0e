"""Append-only audit log of reads and changes of patient-related objects.

Three calls write it, and nothing else does:

- `read(session, actor, object_type=..., object_id=..., patient_ids=...)`: one row for every
  response that carries patient data: a single object, or a list (one row per list call,
  `object_id="*"`, naming every patient and object returned). Routes do not call it: the
  domains' visibility loaders and list queries do, so a read cannot skip its row.
- `refused(session, actor, object_type=..., object_id=..., patient_id=..., reason=...)`: a
  security event (`action="refused"`) when an existing object is hidden from or denied to the
  caller. The request then fails and its transaction rolls back; the row is written again
  after the rollback (`telemed.core.db.after_rollback`), so it survives.
- `record(...)`: a change (create, update, a workflow action, login ...), in the caller's
  transaction, naming the patient of the object changed. The domains write it from their
  change helpers (one per domain: a booking's, a referral's event, a contract's ...), so a
  write route cannot skip it either; `tests/core/test_audit_coverage.py` calls every route
  that returns patient data and fails when one names nobody.

`read_found(...)` is `read` of the object a given SELECT finds, folded into that SELECT's
statement (a look-up and its audit row in one round trip). A read's and a refusal's rows go
in with SQLAlchemy Core, the event and its patient rows in one INSERT on PostgreSQL (no ORM
unit of work, no extra flush); the rows are those the ORM wrote.

Every row names the patients it concerns in `audit_event_patient` (and, when there is
exactly one, in `audit_event.patient_id`), so "who saw this patient" finds list reads too.
The client address, method and path come from the request being served. On PostgreSQL a
trigger (see the migrations) refuses UPDATE and DELETE of both tables.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    ForeignKey,
    Table,
    bindparam,
    cast,
    func,
    insert,
    literal,
)
from sqlalchemy import select as sa_select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Select
from sqlmodel import Field, Session, SQLModel

from telemed.core import clock
from telemed.core.db import after_rollback, id_field, utc_field
from telemed.core.errors import NotFound
from telemed.core.logging import request_id_var, request_origin_var

__all__ = [
    "LIST",
    "REFUSED",
    "Actor",
    "AuditEvent",
    "AuditEventPatient",
    "read",
    "read_found",
    "record",
    "refused",
    "visible_or_404",
]

LIST = "*"  # object_id of a list read
REFUSED = "refused"  # action of a refused attempt on an existing object
_T = TypeVar("_T")
log = logging.getLogger(__name__)


class Actor(Protocol):
    """Who acts: a user (identity's `User` satisfies this)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def role(self) -> str: ...


class AuditEvent(SQLModel, table=True):
    """Who read or changed which object, when, from where."""

    __tablename__ = "audit_event"

    id: uuid.UUID = id_field()
    at: datetime = utc_field(index=True)
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    actor_role: str | None = None
    action: str = Field(max_length=32)  # read, refused, create, update, login, ...
    object_type: str = Field(max_length=64, index=True)
    object_id: str = Field(max_length=128, index=True)
    patient_id: uuid.UUID | None = Field(default=None, index=True)
    ip: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AuditEventPatient(SQLModel, table=True):
    """One patient an audit row concerns (a list read names many)."""

    __tablename__ = "audit_event_patient"

    event_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("audit_event.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    patient_id: uuid.UUID = Field(primary_key=True, index=True)


def _event(
    *,
    actor_id: uuid.UUID | None,
    actor_role: str | None,
    action: str,
    object_type: str,
    object_id: str | uuid.UUID,
    patients: list[uuid.UUID],
    ip: str | None,
    detail: dict[str, Any],
    at: datetime | None,
    event_id: uuid.UUID | None = None,
) -> tuple[AuditEvent, list[AuditEventPatient]]:
    origin = request_origin_var.get()
    event = AuditEvent(
        at=at or clock.now(),
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        patient_id=patients[0] if len(patients) == 1 else None,
        ip=ip if ip is not None else (origin[0] if origin else None),
        request_id=request_id_var.get(),
        detail=detail,
    )
    if event_id is not None:
        event.id = event_id
    return event, [AuditEventPatient(event_id=event.id, patient_id=p) for p in patients]


def _add(session: Session, event: AuditEvent, links: list[AuditEventPatient]) -> None:
    session.add(event)
    session.add_all(links)  # inserted after the event: the unit of work follows the FK


_EVENTS: Table = AuditEvent.__table__  # type: ignore[attr-defined]
_LINKS: Table = AuditEventPatient.__table__  # type: ignore[attr-defined]


def _row(event: AuditEvent) -> dict[str, Any]:
    return {c.name: getattr(event, c.name) for c in _EVENTS.columns}


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# Built once (bound parameters only), so a write costs neither building nor a cache key.
_EVENT_INSERT = insert(_EVENTS).values(
    {c.name: bindparam(f"e_{c.name}", type_=c.type) for c in _EVENTS.columns}
)
_PATIENTS = bindparam("e_patients", type_=ARRAY(_LINKS.c.patient_id.type))
_EVENT_ROW = _EVENT_INSERT.returning(_EVENTS.c.id).cte("audit_event_row")
_EVENT_AND_PATIENTS_INSERT = insert(_LINKS).from_select(
    ["event_id", "patient_id"], sa_select(_EVENT_ROW.c.id, func.unnest(_PATIENTS))
)


def _write(session: Session, event: AuditEvent, links: list[AuditEventPatient]) -> None:
    """The event and its patient rows written now with SQLAlchemy Core, not the ORM unit of
    work: on PostgreSQL in ONE statement built once (the event's INSERT as a data-modifying
    CTE of the patient rows' INSERT from an array; the foreign key is checked at the
    statement's end), elsewhere in two. The rows are exactly those `_add` would flush."""
    params = {f"e_{k}": v for k, v in _row(event).items()}
    patients = [link.patient_id for link in links]
    with session.no_autoflush:  # the rows need none of the pending objects (no FK to them)
        if not patients:
            session.execute(_EVENT_INSERT, params)
        elif _on_postgresql(session):
            session.execute(_EVENT_AND_PATIENTS_INSERT, {**params, "e_patients": patients})
        else:
            session.execute(_EVENT_INSERT, params)
            rows = [{"event_id": event.id, "patient_id": p} for p in patients]
            session.execute(insert(_LINKS), rows)


def _distinct(ids: Iterable[uuid.UUID | None]) -> list[uuid.UUID]:
    return list(dict.fromkeys(i for i in ids if i is not None))


def record(
    *,
    session: Session,
    actor_id: uuid.UUID | None = None,
    actor_role: str | None = None,
    action: str,
    object_type: str,
    object_id: str | uuid.UUID,
    patient_id: uuid.UUID | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
    by: Actor | None = None,
) -> AuditEvent:
    """Append one row about a change (or login) in the caller's transaction; the actor is
    `by` (a user) or `actor_id`/`actor_role`."""
    event, links = _event(
        actor_id=by.id if by is not None else actor_id,
        actor_role=by.role if by is not None else actor_role,
        action=action,
        object_type=object_type,
        object_id=object_id,
        patients=_distinct([patient_id]),
        ip=ip,
        detail=detail or {},
        at=at,
    )
    _add(session, event, links)
    return event


def read(
    session: Session,
    actor: Actor | None,
    *,
    object_type: str,
    object_id: str | uuid.UUID | None = None,
    patient_ids: Iterable[uuid.UUID | None] = (),
    object_ids: Iterable[str | uuid.UUID] | None = None,
    what: str | None = None,
    at: datetime | None = None,
) -> AuditEvent | None:
    """Record that `actor` was shown patient data: one object, or a list.

    A list read (no `object_id`) is one row with `object_id="*"`, naming the patients and
    objects returned (`detail.object_ids`, `detail.count`); an empty list records nothing.
    `what` says which part of the object was shown (`detail.what`: history, documents ...).
    """
    patients = _distinct(patient_ids)
    detail: dict[str, Any] = {}
    if what:
        detail["what"] = what
    if object_id is None:
        ids = [str(i) for i in (object_ids or ())]
        if not ids and not patients:
            return None
        detail["count"] = len(ids)
        detail["object_ids"] = ids
    event, links = _event(
        actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else None,
        action="read",
        object_type=object_type,
        object_id=LIST if object_id is None else object_id,
        patients=patients,
        ip=None,
        detail=detail,
        at=at,
    )
    _write(session, event, links)
    return event


def read_found(
    session: Session,
    actor: Actor | None,
    *,
    object_type: str,
    object_id: str,
    patient_of: Select[Any],
    what: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Record that `actor` was shown the object `patient_of` finds, in the statement that
    looks for it; True when it found one (else nothing is written).

    `patient_of` selects at most one row: the object's patient id (or NULL). The row
    written is the one `read(object_id=..., patient_ids=[that id], what=...)` writes; on
    PostgreSQL the look-up, the event and its patient row are one statement (one round
    trip), elsewhere the look-up comes first."""
    if not _on_postgresql(session):
        found = session.execute(patient_of).first()
        if found is None:
            return False
        read(
            session,
            actor,
            object_type=object_type,
            object_id=object_id,
            patient_ids=[found[0]],
            what=what,
            at=at,
        )
        return True
    event, _ = _event(
        actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else None,
        action="read",
        object_type=object_type,
        object_id=object_id,
        patients=[],
        ip=None,
        detail={"what": what} if what else {},
        at=at,
    )
    row = _row(event)
    del row["patient_id"]  # the found object's
    target = patient_of.cte("audited_object")
    values = [literal(v, _EVENTS.c[k].type) for k, v in row.items()]
    patient = cast(list(target.c)[0], _EVENTS.c.patient_id.type)
    event_insert = (
        insert(_EVENTS)
        .from_select([*row, "patient_id"], sa_select(*values, patient))
        .returning(_EVENTS.c.id, _EVENTS.c.patient_id)
        .cte("audit_event_row")
    )
    link_insert = (
        insert(_LINKS)
        .from_select(
            ["event_id", "patient_id"],
            sa_select(event_insert.c.id, event_insert.c.patient_id).where(
                event_insert.c.patient_id.is_not(None)
            ),
        )
        .cte("audit_event_patient_row")
    )
    stmt = sa_select(event_insert.c.id).add_cte(link_insert)
    with session.no_autoflush:
        return session.execute(stmt).first() is not None


def refused(
    session: Session,
    actor: Actor | None,
    *,
    object_type: str,
    object_id: str | uuid.UUID,
    reason: str,
    patient_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Record a refused attempt on an existing object; the row survives the rollback.

    `detail` carries the `reason`, and the `method` and `path` of the request."""
    origin = request_origin_var.get()
    detail: dict[str, Any] = {"reason": reason}
    if origin:
        detail["method"], detail["path"] = origin[1], origin[2]
    fields: dict[str, Any] = {
        "actor_id": actor.id if actor else None,
        "actor_role": actor.role if actor else None,
        "action": REFUSED,
        "object_type": object_type,
        "object_id": object_id,
        "patients": _distinct([patient_id]),
        "ip": origin[0] if origin else None,
        "detail": detail,
        "at": clock.now(),
    }
    event, links = _event(**fields)

    def _again(s: Session) -> None:
        if s.get(AuditEvent, event.id) is None:  # not committed before the failure
            _write(s, *_event(**fields, event_id=event.id))

    after_rollback(session, _again)
    try:
        _write(session, event, links)
    except SQLAlchemyError:  # the request's transaction has failed: written after its rollback
        log.warning("refusal of %s %s recorded after the rollback", object_type, object_id)
    return event


def refused_request(
    session: Session, actor: Actor, *, route: str, params: dict[str, Any], exc: Exception
) -> None:
    """Record a request refused with 403 on an object the caller may see but not act on
    (the services record their 404 refusals themselves, with the patient).

    The object is the route's first path parameter (`consultation_id=…` → `consultation`),
    or the route itself when it names none; `reason` is the problem's code and detail."""
    if params:
        name, value = next(iter(params.items()))
        object_type, object_id = name.removesuffix("_id").removesuffix("_uid"), str(value)
    else:
        object_type, object_id = "route", route
    code = getattr(exc, "code", "forbidden")
    refused(
        session,
        actor,
        object_type=object_type[:64],
        object_id=object_id[:128],
        reason=f"{code}: {getattr(exc, 'detail', '') or exc}"[:500],
        patient_id=_patient_of(session, object_type, object_id),
    )


def _patient_of(session: Session, table_name: str, object_id: str) -> uuid.UUID | None:
    """The patient of the object a refused route names, when its table has one (a
    consultation, referral, booking ...): looked up by primary key, else None."""
    table = SQLModel.metadata.tables.get(table_name)
    if table is None or "patient_id" not in table.c or "id" not in table.c:
        return None
    try:
        ident = uuid.UUID(object_id)
    except ValueError:
        return None
    try:
        with session.begin_nested():
            found = session.execute(
                sa_select(table.c.patient_id).where(table.c.id == ident)
            ).scalar_one_or_none()
    except Exception:  # the request's transaction cannot serve: record without the patient
        return None
    return found if isinstance(found, uuid.UUID) else None


def visible_or_404(
    session: Session,
    actor: Actor | None,
    obj: _T | None,
    *,
    visible: bool,
    object_type: str,
    ident: object,
    reason: str,
    label: str | None = None,
    patient_id: uuid.UUID | None = None,
) -> _T:
    """`obj` when the actor may see it; else 404 `<label> <ident> not found` (no existence
    leak), and when `obj` exists a refusal row (its patient: `patient_id` or `obj.patient_id`)."""
    if obj is not None and visible:
        return obj
    if obj is not None:
        refused(
            session,
            actor,
            object_type=object_type,
            object_id=str(ident),
            patient_id=patient_id or getattr(obj, "patient_id", None),
            reason=reason,
        )
    raise NotFound(f"{label or object_type} {ident} not found")
