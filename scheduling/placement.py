"""Taking a place in a slot and writing the booking in one statement (PostgreSQL).

The booking rush's hot path. The idempotency claim, the slot's place-taking UPDATE, the
booking row and its outbox notifications go to the database as one statement of
data-modifying CTEs, instead of four round trips and an ORM flush:

    WITH claimed AS (INSERT INTO idempotency_record ... ON CONFLICT DO NOTHING RETURNING key),
         took    AS (UPDATE scheduling_slot SET booked = booked + 1 ...
                     WHERE id = :slot AND <pool has room> AND EXISTS (SELECT FROM claimed)
                     RETURNING id),
         placed  AS (INSERT INTO scheduling_booking SELECT <the booking> FROM took RETURNING id),
         noted   AS (INSERT INTO notification SELECT <each notification> FROM placed)
    SELECT EXISTS (SELECT FROM claimed), EXISTS (SELECT FROM took)

Each write depends on the one before: with no place, nothing is written but the claim,
which the refusal's rollback removes. The UPDATE is `take_statement`, the same one the ORM
path runs (row lock, WHERE re-checked on the committed row), and the exclusion constraint
still refuses an overlapping booking of the person. The columns come from the models'
mappings and the values from the model objects the service built, so no column list is
written here; the statement is built once per shape (claim or not, number of
notifications, pool) with bind parameters only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Select,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal_column,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from scheduling.models import ACTIVE_STATUSES, Booking, BookingStatus, Slot
from telemed.core import idempotency
from telemed.core.db import UTCDateTime
from telemed.core.idempotency import IdempotencyRecord
from telemed.core.notifications import Notification
from telemed.identity.models import Patient, User


def take_statement(slot_id: Any, now: Any, *, reserved: bool) -> Any:
    """The atomic UPDATE that takes a place if the pool has one (row lock + re-check)."""
    pool = (
        (col(Slot.reserved_booked) < col(Slot.reserved)) & (col(Slot.release_at) > now)
        if reserved
        else (col(Slot.release_at) <= now)
        | (
            (col(Slot.booked) - col(Slot.reserved_booked))
            < (col(Slot.capacity) - col(Slot.reserved))
        )
    )
    return (
        update(Slot)
        .where(
            col(Slot.id) == slot_id,
            col(Slot.status) == "active",
            col(Slot.booked) < col(Slot.capacity),
            pool,
        )
        .values(
            booked=Slot.booked + 1,
            reserved_booked=Slot.reserved_booked + (1 if reserved else 0),
        )
        .execution_options(synchronize_session=False)
    )


_FIELDS: dict[Any, tuple[tuple[str, Any], ...]] = {}


def _fields(model: Any) -> tuple[tuple[str, Any], ...]:
    """(attribute, column) of each mapped column of the model."""
    found = _FIELDS.get(model)
    if found is None:
        found = _FIELDS[model] = tuple(
            (p.key, p.columns[0]) for p in sa_inspect(model).column_attrs
        )
    return found


def _row(model: type[Any], prefix: str, source: Any) -> Select[Any]:
    """SELECT <a row of `model`, as typed parameters named prefix_column> FROM source."""
    return select(
        *(
            cast(bindparam(f"{prefix}_{c.name}", type_=c.type), c.type).label(c.name)
            for _, c in _fields(model)
        )
    ).select_from(source)


def _params(obj: Any, prefix: str) -> dict[str, Any]:
    return {f"{prefix}_{c.name}": getattr(obj, attr) for attr, c in _fields(type(obj))}


def _columns(model: type[Any]) -> list[str]:
    return [c.name for _, c in _fields(model)]


@lru_cache(maxsize=32)
def _statement(
    with_claim: bool, notes: int, reserved: bool, audited: tuple[type[Any], ...] = ()
) -> Any:
    """The statement for a shape of booking, built once (bind parameters only); `audited`:
    the models of the booking's audit rows (event, then its patient link), written only
    when the place was taken."""
    take = take_statement(
        bindparam("slot_id"), bindparam("now", type_=UTCDateTime()), reserved=reserved
    )
    claimed = None
    if with_claim:
        table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
        values = {c.name: bindparam(f"k_{c.name}", type_=c.type) for c in table.columns}
        claimed = idempotency.claim_statement("postgresql", values).cte("claimed")
        take = take.where(exists(select(claimed.c.key)))
    took = take.returning(col(Slot.id)).cte("took")
    placed = (
        insert(Booking)
        .from_select(_columns(Booking), _row(Booking, "b", took))
        .returning(col(Booking.id))
        .cte("placed")
    )
    final = select(
        exists(select(claimed.c.key)) if claimed is not None else true(),
        exists(select(took.c.id)),
    )
    source = placed
    for i, model in enumerate(audited):  # each row after the one before (the link's FK)
        source = (
            insert(model)
            .from_select(_columns(model), _row(model, f"a{i}", source))
            .returning(literal_column("1"))
            .cte(f"audited{i}")
        )
        final = final.add_cte(source)
    if not notes:
        return final.add_cte(placed)
    rows = [_row(Notification, f"n{i}", placed) for i in range(notes)]
    noted = insert(Notification).from_select(
        _columns(Notification), union_all(*rows) if len(rows) > 1 else rows[0]
    )
    return final.add_cte(noted.cte("noted"))


def place(
    session: Session,
    *,
    booking: Booking,
    notes: list[Notification],
    claim: dict[str, Any] | None,
    reserved: bool,
    now: Any,
    audited: list[Any] | None = None,
) -> tuple[bool, bool]:
    """Run the statement; return (the key was claimed, a place was taken and written).

    `claim` is the idempotency claim's row (`idempotency.claim_values`), None without a key;
    `reserved`: take the place from the family-doctor reserved pool.
    """
    params: dict[str, Any] = {"slot_id": booking.slot_id, "now": now, **_params(booking, "b")}
    for i, note in enumerate(notes):
        params.update(_params(note, f"n{i}"))
    if claim is not None:
        params.update({f"k_{name}": value for name, value in claim.items()})
    rows = audited or []
    for i, row in enumerate(rows):
        params.update(_params(row, f"a{i}"))
    stmt = _statement(claim is not None, len(notes), reserved, tuple(type(r) for r in rows))
    got_claim, taken = session.execute(stmt, params).one()
    return bool(got_claim), bool(taken)


def is_fast(session: Session) -> bool:
    """Data-modifying CTEs are PostgreSQL's; other databases take the ORM path."""
    return session.get_bind().dialect.name == "postgresql"


@lru_cache(maxsize=1)
def state_statement() -> Any:
    """One round trip for a booking: the slot, whether the person has an overlapping active
    booking, whether the slot has expired holds (which still count until released), an
    earlier use of the idempotency key, and of the patient asked for (`patient`): the
    no-shows since `since` (the policy check, from the partial index of no-shows), their
    language and how many accounts they have (the notification's recipients). Built once
    (the hot path of a booking rush)."""
    overlap = exists().where(
        col(Booking.person_id) == bindparam("person"),
        col(Booking.status).in_(ACTIVE_STATUSES),
        col(Booking.start_at) < Slot.end_at,
        col(Booking.end_at) > Slot.start_at,
    )
    expired = exists().where(
        col(Booking.slot_id) == Slot.id,
        col(Booking.status) == BookingStatus.PENDING,
        col(Booking.hold_expires_at) <= bindparam("now", type_=UTCDateTime()),
    )
    earlier_hash, earlier_response = idempotency.earlier_use(bindparam("key"))
    patient = bindparam("patient", type_=Booking.__table__.c.patient_id.type)  # type: ignore[attr-defined]
    noshows = (
        select(func.count())
        .select_from(Booking)
        .where(
            col(Booking.patient_id) == patient,
            col(Booking.status) == BookingStatus.NOSHOW,
            col(Booking.start_at) > bindparam("since", type_=UTCDateTime()),
        )
        .scalar_subquery()
    )
    language = (
        select(col(Patient.preferred_language)).where(col(Patient.id) == patient).scalar_subquery()
    )
    accounts = (
        select(func.count()).select_from(User).where(col(User.patient_id) == patient)
    ).scalar_subquery()
    return (
        select(  # sqlalchemy's select(): sqlmodel's types at most four columns
            Slot,
            overlap.label("overlap"),
            expired.label("expired"),
            earlier_hash.label("earlier_hash"),
            earlier_response.label("earlier_response"),
            noshows.label("noshows"),
            language.label("language"),
            accounts.label("accounts"),
        )
        .where(col(Slot.id) == bindparam("slot_id"))
        .execution_options(populate_existing=True)  # the committed counters, not a stale copy
    )


def warm_up(engine: Any) -> bool:
    """Compile the booking's statements once before the first request (a cold server's
    first bookings of a rush must not each pay SQLAlchemy's compilation): the first
    statement and the place-taking UPDATE, run for an unknown slot and rolled back.
    False when the database is not reachable (the pool connects on demand later)."""
    if engine.dialect.name != "postgresql":
        return False
    nobody, now = uuid.uuid4(), datetime.now(UTC)
    params = {"slot_id": nobody, "person": nobody, "patient": nobody, "key": ""}
    try:
        with Session(engine) as session:
            session.execute(state_statement(), {**params, "since": now, "now": now}).first()
            for reserved in (False, True):
                session.execute(take_statement(nobody, now, reserved=reserved))
            session.rollback()
    except SQLAlchemyError:
        return False
    return True
