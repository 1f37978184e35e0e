"""The study index (ingest side): studies and instances recorded idempotently.

A study first seen with the accession number of an order on its sender's worklist takes
the order's patient and is attached to the order's request (`dicom.orders.fulfil`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, text, update
from sqlmodel import Session, col, select

from dicom import worklist
from dicom.models import Instance, Study, WorklistItem
from dicom.orders import fulfil
from dicom.sql import insert_for


@dataclass(frozen=True)
class InstanceInfo:
    """The attributes of one instance the index keeps (read from its header)."""

    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    size_bytes: int
    modality: str = ""
    patient_name: str = ""
    dicom_patient_id: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    study_date: str = ""
    description: str = ""
    accession_number: str = ""
    series_number: int | None = None
    instance_number: int | None = None


def parse_date(value: str) -> date | None:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except (ValueError, IndexError):
        return None


def _insert_study(
    session: Session, item: Received, *, source: str, now: datetime, patient_id: uuid.UUID | None
) -> None:
    """Insert the study row unless a concurrent ingest already did (the UID decides)."""
    info = item.info
    session.execute(
        insert_for(session, Study)
        .values(
            id=uuid.uuid4(),
            study_uid=info.study_uid,
            patient_name=info.patient_name[:200],
            dicom_patient_id=info.dicom_patient_id[:64],
            patient_birth_date=info.patient_birth_date[:8],
            patient_sex=info.patient_sex[:16],
            patient_id=patient_id,
            modality=info.modality[:64],
            study_date=parse_date(info.study_date),
            description=info.description[:200],
            accession_number=info.accession_number[:64],
            series_count=0,
            instance_count=0,
            size_bytes=0,
            source_institution_id=item.institution_id,
            source_ae=item.source_ae,
            source=source,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["study_uid"])
    )


@dataclass(frozen=True)
class Received:
    """One instance to index and where it came from."""

    info: InstanceInfo
    institution_id: uuid.UUID | None
    source_ae: str | None
    path: str | None = None
    patient_id: uuid.UUID | None = None


def index_instance(
    *,
    session: Session,
    info: InstanceInfo,
    institution_id: uuid.UUID | None,
    source_ae: str | None,
    source: str,
    now: datetime,
    path: str | None = None,
    patient_id: uuid.UUID | None = None,
) -> tuple[Study, bool]:
    """Record one instance (and its study) in the index. Returns (study, newly indexed)."""
    item = Received(info, institution_id, source_ae, path, patient_id)
    studies, new = index_instances(session=session, items=[item], source=source, now=now)
    return studies[info.study_uid], bool(new)


def index_instances(
    *, session: Session, items: list[Received], source: str, now: datetime
) -> tuple[dict[str, Study], set[str]]:
    """Record a batch of instances (and their studies) in the index with a few statements.

    Returns the studies by UID and the SOP Instance UIDs newly indexed. Idempotent and
    safe under concurrency: the unique SOP Instance UID decides which insert counts, and
    the study counters are incremented in SQL by the inserts that won only.
    """
    firsts: dict[str, Received] = {}
    for item in items:
        firsts.setdefault(item.info.study_uid, item)
    found = _studies_by_uid(session, list(firsts))
    # Patient identity comes from the order (accession number on the sender's worklist),
    # never from identifiers in the header: the rest waits for reconciliation.
    orders = {
        uid: worklist.match_order(
            session=session,
            accession_number=item.info.accession_number,
            institution_id=item.institution_id,
        )
        for uid, item in firsts.items()
        if uid not in found
    }
    for uid, item in firsts.items():
        if uid not in found:
            _insert_study(
                session,
                item,
                source=source,
                now=now,
                patient_id=item.patient_id or _order_patient(orders.get(uid)),
            )
    if len(found) < len(firsts):
        created = set(firsts) - set(found)
        found = _studies_by_uid(session, list(firsts))
        for uid in created:
            order = orders.get(uid)
            if order is not None and found[uid].source_institution_id == order.institution_id:
                fulfil(session, order, found[uid], now)
    rows: dict[str, dict[str, Any]] = {}
    for item in items:  # one row per SOP Instance UID (a batch may repeat one)
        info = item.info
        rows.setdefault(
            info.sop_uid,
            {
                "id": uuid.uuid4(),
                "sop_uid": info.sop_uid,
                "study_id": found[info.study_uid].id,
                "study_uid": info.study_uid,
                "series_uid": info.series_uid,
                "sop_class_uid": info.sop_class_uid,
                "transfer_syntax_uid": info.transfer_syntax_uid,
                "modality": info.modality[:16],
                "series_number": info.series_number,
                "instance_number": info.instance_number,
                "size_bytes": info.size_bytes,
                "path": item.path,
                "created_at": now,
            },
        )
    new = _insert_instances(session, list(rows.values()))
    for uid, study in found.items():
        won = [rows[sop] for sop in new if rows[sop]["study_uid"] == uid]
        if won:
            _count_in(session, study, won, now)
    if new:
        session.flush()
        for study in found.values():
            session.refresh(study)
    return found, new


# One statement text for any number of rows on PostgreSQL: the rows go as one array per
# column (adapted by psycopg in C), so the statement is parsed and planned once per process
# instead of a new multi-row VALUES text per batch.
_COLUMNS = {
    "id": "uuid",
    "sop_uid": "text",
    "study_id": "uuid",
    "study_uid": "text",
    "series_uid": "text",
    "sop_class_uid": "text",
    "transfer_syntax_uid": "text",
    "modality": "text",
    "series_number": "int",
    "instance_number": "int",
    "size_bytes": "bigint",
    "path": "text",
    "created_at": "timestamptz",
}
_UNNEST_INSERT = text(  # built from the constants above only
    f"INSERT INTO {Instance.__tablename__} ({', '.join(_COLUMNS)}) "  # noqa: S608
    "SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _COLUMNS.items())
    + ") ON CONFLICT (sop_uid) DO NOTHING RETURNING sop_uid"
)


def _insert_instances(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows that are new (the unique SOP Instance UID decides); their UIDs."""
    if session.get_bind().dialect.name == "postgresql":
        params = {name: [row[name] for row in rows] for name in _COLUMNS}
        return {sop for (sop,) in session.execute(_UNNEST_INSERT, params)}
    inserted = session.execute(
        insert_for(session, Instance)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["sop_uid"])
        .returning(Instance.sop_uid)
    ).all()
    return {sop for (sop,) in inserted}


def _order_patient(order: WorklistItem | None) -> uuid.UUID | None:
    return order.patient_id if order is not None else None


def _studies_by_uid(session: Session, uids: list[str]) -> dict[str, Study]:
    return {
        s.study_uid: s
        for s in session.execute(select(Study).where(col(Study.study_uid).in_(uids))).scalars()
    }


def _count_in(session: Session, study: Study, won: list[dict[str, Any]], now: datetime) -> None:
    """Add the instances that won their insert to the study's counters (in SQL)."""
    # Distinct series counted in SQL, never incremented from a Python-side guess: two
    # concurrent first instances of one series must not count it twice.
    distinct_series = (
        select(func.count(func.distinct(Instance.series_uid)))
        .where(Instance.study_id == study.id)
        .scalar_subquery()
    )
    modalities = set(filter(None, study.modality.split("/")))
    added = {r["modality"] for r in won if r["modality"]}
    values: dict[str, Any] = {
        "instance_count": Study.instance_count + len(won),
        "size_bytes": Study.size_bytes + sum(r["size_bytes"] for r in won),
        "series_count": distinct_series,
        "updated_at": now,
    }
    if added - modalities:
        values["modality"] = "/".join(sorted(modalities | added))[:64]
    session.execute(update(Study).where(col(Study.id) == study.id).values(**values))


def instances_of(*, session: Session, study_uid: str) -> list[Instance]:
    """Indexed instances of a study in series/instance order."""
    return list(
        session.execute(
            select(Instance)
            .where(Instance.study_uid == study_uid)
            .order_by(
                col(Instance.series_number), col(Instance.series_uid), col(Instance.instance_number)
            )
        ).scalars()
    )
