"""The ingest pipeline: every received instance goes spool first, then archive, then index.

`receive` is the one way in for what senders hand us: the gateway's C-STORE (county
modalities and PACS, and the priors our own C-MOVE retrievals in `dicom.jobs` bring back
through it) and STOW-RS (the web upload and `telemed dicom push`, a STOW-RS client). It checks the
instance (`inspect_instance` refuses bad input with a reason and the DICOM status to
answer), lets the path admit it (owner, size), and writes it durably to the spool before
anyone is told it was accepted. The forwarder (`dicom.spool.Forwarder`) then calls
`ingest`, which stores it in the archive and the index (idempotently); STOW-RS, which
answers with the stored result, does that step itself (`store_received`) and hands the
file to the forwarder when the archive is unavailable.

Two paths are not spool-first, on purpose:
- the de-identified copy of a study (`dicom.jobs`) calls `ingest` directly: its source is
  already in the archive and the job is re-run whole when it fails, so nothing received
  can be lost;
- Orthanc's own DICOM port (`dicom.orthanc_feed`): Orthanc acknowledges a C-STORE only
  after it has stored the instance, so only the index is written, from Orthanc's changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from io import BytesIO
from typing import Any, Protocol

import pydicom
from pydicom import config as pydicom_config
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID
from pydicom.valuerep import validate_value
from pynetdicom import ALL_TRANSFER_SYNTAXES
from sqlmodel import Session, select

from dicom import service
from dicom.archive import Archive, ArchiveUnavailable
from dicom.models import Instance, Study
from dicom.schemas import StoredInstance

# Transfer syntaxes we accept for storage (pynetdicom's full list + deflate).
ACCEPTED_TRANSFER_SYNTAXES = frozenset(ALL_TRANSFER_SYNTAXES) | {"1.2.840.10008.1.2.1.99"}
REQUIRED = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")

# C-STORE statuses (PS3.4 B.2.3) used for refusals.
STATUS_OUT_OF_RESOURCES = 0xA700
# PS3.7 C.4 (general failure status, also valid for C-STORE): "Refused: Not Authorized".
# Answered for an instance whose study belongs to another institution.
STATUS_NOT_AUTHORIZED = 0x0124
STATUS_DATASET_MISMATCH = 0xA900
STATUS_CANNOT_UNDERSTAND = 0xC000


class Rejected(Exception):
    """An instance refused with a stable `code`, a reason and a DICOM status."""

    def __init__(self, code: str, reason: str, *, status: int = STATUS_CANNOT_UNDERSTAND):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Inspected:
    dataset: Dataset
    info: service.InstanceInfo
    data: bytes  # Part-10 bytes (a missing preamble restored)


def _expected_pixel_bytes(ds: Dataset) -> int | None:
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        bits = int(ds.BitsAllocated)
        samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
        frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    except (AttributeError, TypeError, ValueError):
        return None
    total_bits = rows * cols * samples * frames * bits
    return (total_bits + 7) // 8


def inspect_instance(data: bytes) -> Inspected:
    """Parse and validate one Part-10 instance; raise `Rejected` with a reason."""
    if data[:2] == b"\x02\x00" and data[128:132] != b"DICM":
        # File meta present but no preamble (pydicom's dcmwrite without enforce_file_format).
        data = b"\x00" * 128 + b"DICM" + data
    if len(data) < 132 or data[128:132] != b"DICM":
        raise Rejected(
            "no_meta_header",
            "not a DICOM Part-10 file: the 128-byte preamble and 'DICM' prefix are missing",
        )
    try:
        ds = pydicom.dcmread(BytesIO(data))
    except InvalidDicomError as exc:
        raise Rejected("not_dicom", f"not a readable DICOM file: {exc}") from exc
    except Exception as exc:  # pydicom raises many kinds on broken input
        raise Rejected(
            "unreadable", f"unreadable DICOM data ({type(exc).__name__}: {exc})"
        ) from exc
    _validate_values(ds)
    _decode_all(ds)
    ts = getattr(ds.file_meta, "TransferSyntaxUID", None)
    if not ts:
        raise Rejected("no_transfer_syntax", "the file meta header has no Transfer Syntax UID")
    if str(ts) not in ACCEPTED_TRANSFER_SYNTAXES:
        raise Rejected(
            "unsupported_transfer_syntax",
            f"transfer syntax {ts} is not supported",
            status=STATUS_DATASET_MISMATCH,
        )
    missing = [k for k in REQUIRED if not str(getattr(ds, k, "") or "")]
    if missing:
        raise Rejected(
            "missing_attributes",
            f"required attributes missing (truncated file?): {', '.join(missing)}",
            status=STATUS_DATASET_MISMATCH,
        )
    if "PixelData" in ds:
        expected = _expected_pixel_bytes(ds)
        if UID(str(ts)).is_compressed:
            try:
                from pydicom.encaps import generate_frames

                frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
                got = sum(1 for _ in generate_frames(ds.PixelData, number_of_frames=frames))
                if got < frames:
                    raise ValueError(f"{got} of {frames} frames")
            except Exception as exc:
                raise Rejected(
                    "truncated", f"encapsulated pixel data is incomplete: {exc}"[:300]
                ) from exc
        elif expected is not None and len(ds.PixelData) < expected:
            raise Rejected(
                "truncated",
                f"pixel data has {len(ds.PixelData)} bytes, {expected} expected (truncated file)",
            )
    info = service.InstanceInfo(
        study_uid=str(ds.StudyInstanceUID),
        series_uid=str(ds.SeriesInstanceUID),
        sop_uid=str(ds.SOPInstanceUID),
        sop_class_uid=str(ds.SOPClassUID),
        transfer_syntax_uid=str(ts),
        size_bytes=len(data),
        modality=str(getattr(ds, "Modality", "") or ""),
        patient_name=str(getattr(ds, "PatientName", "") or ""),
        dicom_patient_id=str(getattr(ds, "PatientID", "") or ""),
        patient_birth_date=str(getattr(ds, "PatientBirthDate", "") or ""),
        patient_sex=str(getattr(ds, "PatientSex", "") or ""),
        study_date=str(getattr(ds, "StudyDate", "") or ""),
        description=str(getattr(ds, "StudyDescription", "") or ""),
        accession_number=str(getattr(ds, "AccessionNumber", "") or ""),
        series_number=_int(getattr(ds, "SeriesNumber", None)),
        instance_number=_int(getattr(ds, "InstanceNumber", None)),
    )
    return Inspected(dataset=ds, info=info, data=data)


CHECKED_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI"})


def _validate_values(ds: Dataset) -> None:
    """Check the raw values of the coded VRs (a bad VR or value is refused, not guessed)."""
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        vr = getattr(raw, "VR", None)
        if vr not in CHECKED_VRS:
            continue
        value = raw.value
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value if value else "")
        for part in text.rstrip(" \x00").split("\\"):
            try:
                validate_value(vr, part.strip(" \x00"), pydicom_config.RAISE)
            except ValueError as exc:
                raise Rejected(
                    "bad_value",
                    f"invalid value for {tag} (VR {vr}): {exc}".split(" Please see")[0],
                    status=STATUS_DATASET_MISMATCH,
                ) from exc


def _decode_all(ds: Dataset) -> None:
    """Decode every element, nested ones included: an unknown VR (pydicom raises
    NotImplementedError) or an undecodable value is refused here, not deep in a later step."""
    try:
        for _ in ds.iterall():
            pass
    except NotImplementedError as exc:
        raise Rejected("unknown_vr", f"{exc}"[:300], status=STATUS_DATASET_MISMATCH) from exc
    except Exception as exc:  # pydicom raises many kinds on broken values
        raise Rejected(
            "bad_value",
            f"undecodable value ({type(exc).__name__}: {exc})"[:300],
            status=STATUS_DATASET_MISMATCH,
        ) from exc


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def check_study_size(*, session: Session, info: service.InstanceInfo, max_study_bytes: int) -> None:
    """Refuse an instance that would take its study past the configured limit."""
    current = session.execute(
        select(Study.size_bytes).where(Study.study_uid == info.study_uid)
    ).scalar_one_or_none()
    if (current or 0) + info.size_bytes > max_study_bytes:
        raise Rejected(
            "study_too_large",
            f"study {info.study_uid} would exceed the limit of {max_study_bytes} bytes",
            status=STATUS_OUT_OF_RESOURCES,
        )


def study_owner(session: Session, study_uid: str) -> tuple[bool, uuid.UUID | None]:
    """(whether the study is indexed, the institution that owns it)."""
    row = session.execute(
        select(Study.source_institution_id).where(Study.study_uid == study_uid)
    ).first()
    return (row is not None, row[0] if row is not None else None)


def check_owner(*, session: Session, study_uid: str, institution_id: uuid.UUID | None) -> None:
    """One owner per study: refuse an instance whose study another institution sent.

    The single rule used by every ingest path (gateway, forwarder, STOW-RS, push,
    C-MOVE of priors through the gateway, the Orthanc change feed).
    """
    exists, owner = study_owner(session, study_uid)
    refuse_if_foreign(
        study_uid=study_uid, exists=exists, owner=owner, institution_id=institution_id
    )


def refuse_if_foreign(
    *, study_uid: str, exists: bool, owner: uuid.UUID | None, institution_id: uuid.UUID | None
) -> None:
    """Raise `Rejected` (0x0124, `foreign_study`) when the study exists under another owner."""
    if exists and owner != institution_id:
        raise Rejected(
            "foreign_study",
            f"study {study_uid} belongs to another institution; "
            "only its sending institution may add instances to it",
            status=STATUS_NOT_AUTHORIZED,
        )


def ingest(
    *,
    session: Session,
    archive: Archive,
    data: bytes,
    institution_id: uuid.UUID | None,
    source_ae: str | None,
    source: str,
    now: datetime,
    max_study_bytes: int,
    patient_id: uuid.UUID | None = None,
    inspected: Inspected | None = None,
) -> StoredInstance:
    """Validate, store in the archive, then index. Raises Rejected or ArchiveUnavailable."""
    inspected = inspected or inspect_instance(data)
    data = inspected.data
    info = inspected.info
    check_owner(session=session, study_uid=info.study_uid, institution_id=institution_id)
    already = session.execute(
        select(Study.id).where(Study.study_uid == info.study_uid)
    ).first() is not None and _indexed(session, info.sop_uid)
    if not already:
        check_study_size(session=session, info=info, max_study_bytes=max_study_bytes)
    archive.store(data)
    path = archive.file_path(info.study_uid, info.series_uid, info.sop_uid)
    study, created = service.index_instance(
        session=session,
        info=info,
        institution_id=institution_id,
        source_ae=source_ae,
        source=source,
        now=now,
        path=path,
        patient_id=patient_id,
    )
    # A concurrent first instance from another institution may have created the study
    # between the check above and our insert: the index row decides (the caller rolls back).
    refuse_if_foreign(
        study_uid=info.study_uid,
        exists=True,
        owner=study.source_institution_id,
        institution_id=institution_id,
    )
    return StoredInstance(
        study_uid=info.study_uid,
        series_uid=info.series_uid,
        sop_uid=info.sop_uid,
        sop_class_uid=info.sop_class_uid,
        created=created,
    )


def _indexed(session: Session, sop_uid: str) -> bool:
    return (
        session.execute(select(Instance.id).where(Instance.sop_uid == sop_uid)).first() is not None
    )


# ---------------------------------------------------------------- receiving


class NotReceived(Exception):
    """The instance cannot be taken now (our index or spool failed); the sender retries."""

    status = STATUS_OUT_OF_RESOURCES


class SpoolWriter(Protocol):
    """The durable spool as `receive` writes it (`dicom.spool.Spool`)."""

    def put(self, data: bytes, meta: dict[str, Any], *, hold: bool = False) -> str: ...

    def release(self, name: str) -> None: ...

    def done(self, name: str) -> None: ...


@dataclass(frozen=True)
class Origin:
    """Who sent an instance and by which path (kept beside it in the spool)."""

    institution_id: uuid.UUID | None
    source: str  # cstore | stow
    source_ae: str | None = None
    patient_id: uuid.UUID | None = None

    def meta(self) -> dict[str, Any]:
        return {
            "institution_id": str(self.institution_id) if self.institution_id else None,
            "source_ae": self.source_ae,
            "source": self.source,
            "patient_id": str(self.patient_id) if self.patient_id else None,
        }


@dataclass(frozen=True)
class Receipt:
    """A received instance: its spool name and what inspection found (when it ran)."""

    name: str
    inspected: Inspected | None


# (study UID, bytes) -> None, or raise Rejected: a path's own admission rule
Admit = Callable[[str, int], None]


def receive(
    *,
    spool: SpoolWriter,
    data: bytes,
    origin: Origin,
    inspected: Inspected | None = None,
    study_uid: str | None = None,
    admit: Admit | None = None,
    hold: bool = False,
) -> Receipt:
    """Check one received instance and write it durably to the spool (before any answer).

    Inspects `data` unless the caller did (`inspected`) or names the study itself
    (`study_uid`, for benchmarks without validation). Raises `Rejected` for the data, the
    owner or the size, and `NotReceived` when our own resources fail.
    """
    if inspected is None and study_uid is None:
        try:
            inspected = inspect_instance(data)
        except Rejected:
            raise
        except Exception as exc:  # anything else pydicom trips over is unreadable data
            raise Rejected("unreadable", f"unreadable DICOM data ({type(exc).__name__})") from exc
    uid = inspected.info.study_uid if inspected is not None else study_uid
    if admit is not None and uid:
        try:
            admit(uid, len(data))
        except Rejected:
            raise
        except Exception as exc:  # the index is unreachable: a transient refusal
            raise NotReceived(f"study owner/size check failed: {exc}") from exc
    meta = origin.meta()
    if inspected is not None:  # the forwarder reads these instead of parsing again
        data = inspected.data
        meta["info"] = asdict(inspected.info)
    try:
        name = spool.put(data, meta, hold=hold)
    except OSError as exc:
        raise NotReceived(f"spool write failed: {exc}") from exc
    return Receipt(name=name, inspected=inspected)


_INFO_FIELDS = frozenset(f.name for f in fields(service.InstanceInfo))


def info_from_meta(meta: dict[str, Any], *, size: int) -> service.InstanceInfo | None:
    """The header facts `receive` wrote beside a spooled instance (None if it did not)."""
    raw = meta.get("info")
    if not isinstance(raw, dict) or not _INFO_FIELDS.issuperset(raw):
        return None
    try:
        return service.InstanceInfo(**{**raw, "size_bytes": size})
    except TypeError:  # a field missing: inspect the file instead
        return None


def store_received(
    *,
    session: Session,
    archive: Archive,
    spool: SpoolWriter,
    receipt: Receipt,
    data: bytes,
    origin: Origin,
    now: datetime,
    max_study_bytes: int,
) -> StoredInstance:
    """Store a held instance now, in a savepoint of the caller's transaction.

    The spool file is deleted once stored or refused, and handed to the forwarder when
    the archive is unavailable (the `ArchiveUnavailable` is raised again for the answer).
    """
    try:
        with session.begin_nested():
            stored = ingest(
                session=session,
                archive=archive,
                data=data,
                inspected=receipt.inspected,
                institution_id=origin.institution_id,
                source_ae=origin.source_ae,
                source=origin.source,
                now=now,
                max_study_bytes=max_study_bytes,
                patient_id=origin.patient_id,
            )
    except ArchiveUnavailable:
        spool.release(receipt.name)
        raise
    except BaseException:
        spool.done(receipt.name)
        raise
    spool.done(receipt.name)
    return stored
