"""The modality worklist (MWL): imaging orders published by remote imaging requests.

A request for imaging (a consultation of the imaging-diagnosis class with a study
expected from the county) publishes one scheduled procedure step here: our accession
number, a suggested Study Instance UID, the patient's demographics and a PatientID in the
requesting hospital's namespace (IssuerOfPatientID = the hospital's code; never our
internal id). The hospital's modalities query it by C-FIND (`dicom.mwl`); a study that
arrives from that hospital with that accession number is matched to the order
(`match_order`, called by the index when the study is first seen).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from pydicom.uid import generate_uid
from sqlmodel import Session, col, select

from dicom.models import LinkTarget, OrderStatus, WorklistItem
from telemed.core import audit
from telemed.core.errors import Invalid, NotFound
from telemed.identity.models import Patient, User
from telemed.network.models import DicomAE, Institution

__all__ = [
    "cancel_orders",
    "match_order",
    "modality_aes",
    "orders_of",
    "publish_order",
    "scheduled_orders",
]

_CS_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ ")


def _accession(now: datetime) -> str:
    """Our accession number (SH, 16 chars): `TM` + date + 8 random base-32 characters."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "TM" + now.strftime("%y%m%d") + "".join(secrets.choice(alphabet) for _ in range(8))


def _hospital_patient_id(session: Session, institution_id: uuid.UUID, patient_id: uuid.UUID) -> str:
    """The patient's ID in the hospital's namespace: reused across that hospital's orders."""
    known = session.execute(
        select(WorklistItem.dicom_patient_id).where(
            WorklistItem.institution_id == institution_id, WorklistItem.patient_id == patient_id
        )
    ).first()
    if known is not None:
        return str(known[0])
    return "TM" + secrets.token_hex(6).upper()


def publish_order(
    *,
    session: Session,
    target_type: str,
    target_id: uuid.UUID,
    patient_id: uuid.UUID,
    institution_id: uuid.UUID,
    by: User,
    modality: str,
    scheduled_at: datetime,
    procedure: str,
    now: datetime,
) -> WorklistItem:
    """Put one scheduled procedure step on the requesting hospital's worklist (audited)."""
    if target_type not in {t.value for t in LinkTarget}:
        raise Invalid(f"unknown target type {target_type!r}", field="target_type")
    modality = modality.strip().upper()
    if not modality or len(modality) > 16 or set(modality) - _CS_CHARS:
        raise Invalid("modality must be a DICOM modality code such as CT or MR", field="modality")
    patient = session.get(Patient, patient_id)
    institution = session.get(Institution, institution_id)
    if patient is None or institution is None:
        raise NotFound("patient or institution of the order not found")
    item = WorklistItem(
        accession_number=_accession(now),
        study_uid=generate_uid(),
        institution_id=institution_id,
        patient_id=patient_id,
        dicom_patient_id=_hospital_patient_id(session, institution_id, patient_id),
        issuer_of_patient_id=institution.code[:64],
        target_type=target_type,
        target_id=target_id,
        modality=modality,
        procedure=procedure[:64],
        scheduled_at=scheduled_at,
        requested_by_id=by.id,
        referring_physician=by.full_name[:64],
        status=OrderStatus.SCHEDULED,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    audit.record(
        session=session,
        actor_id=by.id,
        actor_role=by.role,
        action="create",
        object_type="worklist_item",
        object_id=item.id,
        patient_id=patient_id,
        detail={"accession_number": item.accession_number, target_type: str(target_id)},
        at=now,
    )
    return item


def cancel_orders(
    *, session: Session, target_type: str, target_id: uuid.UUID, now: datetime
) -> int:
    """Take the scheduled orders of a withdrawn request off the worklist; returns how many."""
    items = session.execute(
        select(WorklistItem).where(
            WorklistItem.target_type == target_type,
            WorklistItem.target_id == target_id,
            WorklistItem.status == OrderStatus.SCHEDULED,
        )
    ).scalars()
    n = 0
    for item in items:
        item.status = OrderStatus.CANCELLED
        item.updated_at = now
        n += 1
    session.flush()
    return n


def orders_of(*, session: Session, target_type: str, target_id: uuid.UUID) -> list[WorklistItem]:
    """The orders of one request (the caller authorizes the request)."""
    return list(
        session.execute(
            select(WorklistItem)
            .where(WorklistItem.target_type == target_type, WorklistItem.target_id == target_id)
            .order_by(col(WorklistItem.created_at))
        ).scalars()
    )


def scheduled_orders(*, session: Session, institution_id: uuid.UUID) -> list[WorklistItem]:
    """What a hospital's modalities see: its scheduled orders, earliest first."""
    return list(
        session.execute(
            select(WorklistItem)
            .where(
                WorklistItem.institution_id == institution_id,
                WorklistItem.status == OrderStatus.SCHEDULED,
            )
            .order_by(col(WorklistItem.scheduled_at))
        ).scalars()
    )


def modality_aes(*, session: Session, institution_id: uuid.UUID) -> list[str]:
    """The registered modality AE titles of a hospital (the scheduled station AEs)."""
    return list(
        session.execute(
            select(DicomAE.ae_title)
            .where(DicomAE.institution_id == institution_id, DicomAE.kind == "modality")
            .order_by(col(DicomAE.ae_title))
        ).scalars()
    )


def match_order(
    *, session: Session, accession_number: str, institution_id: uuid.UUID | None
) -> WorklistItem | None:
    """The order a study from `institution_id` with this accession number fulfils, if any.

    Only the hospital the order was published for can fulfil it; cancelled orders match
    nothing.
    """
    accession = accession_number.strip()
    if not accession or institution_id is None:
        return None
    return session.execute(
        select(WorklistItem).where(
            WorklistItem.accession_number == accession,
            WorklistItem.institution_id == institution_id,
            WorklistItem.status != OrderStatus.CANCELLED,
        )
    ).scalar_one_or_none()


def orders_for_institution(
    *,
    session: Session,
    institution_id: uuid.UUID,
    target_id: uuid.UUID | None = None,
    status: str | None = None,
) -> list[WorklistItem]:
    """A hospital's orders, newest first (its staff's view of the worklist)."""
    stmt = select(WorklistItem).where(WorklistItem.institution_id == institution_id)
    if target_id is not None:
        stmt = stmt.where(WorklistItem.target_id == target_id)
    if status is not None:
        stmt = stmt.where(WorklistItem.status == status)
    return list(
        session.execute(stmt.order_by(col(WorklistItem.created_at).desc()).limit(500)).scalars()
    )
