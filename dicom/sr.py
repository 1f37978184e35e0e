"""What every SR document we write shares: UIDs, the observer, the evidence, the way in.

The documents themselves are built and parsed with highdicom (`dicom.measurements`,
`dicom.opinion_sr`); this module gives them the study's images as evidence (their headers,
from the archive), our UIDs, the person observer, and stores the finished instance through
the one ingest way (`dicom.ingest.receive`, spool first) under the study's sending
institution, so the "one owner per study" rule keeps holding for what readers add.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pydicom
from pydicom.dataset import Dataset
from sqlmodel import Session, col, select

from dicom.archive import Archive, ArchiveError, ArchiveUnavailable, get_archive
from dicom.ingest import Origin, Rejected, inspect_instance, receive, store_received
from dicom.models import Instance, Study
from dicom.schemas import StoredInstance
from dicom.spool import Spool
from telemed.core.errors import NotFound, Unavailable
from telemed.core.settings import Settings

if TYPE_CHECKING:
    import highdicom as hd

SHANGHAI = ZoneInfo("Asia/Shanghai")
MANUFACTURER = "telemed"
# Our own series per study, one per kind of document (numbers shown in the viewer).
SERIES = {"measurements": 9901, "key_images": 9902, "opinion": 9903}
SERIES_DESCRIPTION = {
    "measurements": "Measurements",
    "key_images": "Key images",
    "opinion": "Opinion",
}
LOCAL_SCHEME = "99TELEMED"  # private coding scheme (PS3.16 8.2: 99 prefix) for our titles

COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"
SR_CLASSES = frozenset(
    {COMPREHENSIVE_3D_SR, COMPREHENSIVE_SR, KEY_OBJECT_SELECTION, "1.2.840.10008.5.1.4.1.1.88.22"}
)


def uid_from(value: uuid.UUID) -> str:
    """A DICOM UID from a UUID (PS3.5 B.2: `2.25.` + its integer)."""
    return f"2.25.{value.int}"


def series_uid(study_uid: str, kind: str) -> str:
    """The study's series of one kind of our documents (the same on every save)."""
    return uid_from(uuid.uuid5(uuid.NAMESPACE_OID, f"telemed:{kind}:{study_uid}"))


def next_instance_number(session: Session, study_uid: str, kind: str) -> int:
    count = session.execute(
        select(Instance.id).where(
            Instance.study_uid == study_uid, Instance.series_uid == series_uid(study_uid, kind)
        )
    ).all()
    return len(count) + 1


@dataclass(frozen=True)
class Observer:
    """The person an SR names: who measured, selected or signed."""

    name: str
    organization: str
    title: str | None = None  # a telemed.identity Title value
    title_meaning: str | None = None

    def person_name(self) -> str:
        """As a DICOM PN: a Chinese name is one family+given string (a component split we
        do not know), so it is one component with the trailing `^` PS3.5 6.2.1 allows."""
        name = self.name.replace("^", " ").strip()[:63] or "UNKNOWN"
        return name + "^"  # one component on purpose: the whole name as the family name

    def context(self) -> hd.sr.ObserverContext:
        # highdicom and pydicom's concept dictionary cost about a second of CPU to import:
        # loaded when an SR is built, not by every module that needs this one's UIDs.
        import highdicom as hd
        from pydicom.sr.codedict import codes
        from pydicom.sr.coding import Code

        role = None
        if self.title:
            role = Code(self.title[:16], LOCAL_SCHEME, self.title_meaning or self.title)
        return hd.sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                name=self.person_name(),
                organization_name=self.organization[:64] or None,
                role_in_organization=role,
            ),
        )


def evidence(archive: Archive, study_uid: str) -> list[Dataset]:
    """The study's image headers (DICOM JSON from the archive, without bulk data)."""
    try:
        items = archive.metadata(study_uid)
    except ArchiveUnavailable as exc:
        raise Unavailable(f"the image archive is unavailable: {exc}") from exc
    except ArchiveError as exc:
        raise NotFound(f"study {study_uid} is not in the archive yet") from exc
    out = []
    for item in items:
        ds = Dataset.from_json(item)
        if str(ds.get("SOPClassUID", "")) in SR_CLASSES:
            continue
        out.append(ds)
    if not out:
        raise NotFound(f"study {study_uid} has no images in the archive")
    return out


def stamp(doc: Dataset, at: datetime) -> None:
    """Content and instance creation time: `at`, in Beijing time with its offset."""
    local = at.astimezone(SHANGHAI)
    doc.ContentDate = doc.InstanceCreationDate = local.strftime("%Y%m%d")
    doc.ContentTime = doc.InstanceCreationTime = local.strftime("%H%M%S")
    doc.TimezoneOffsetFromUTC = "+0800"
    for item in doc.get("VerifyingObserverSequence", []):
        item.VerificationDateTime = local.strftime("%Y%m%d%H%M%S") + "+0800"


def content_datetime(ds: Dataset) -> datetime | None:
    """Content Date/Time (with the offset when given) as UTC."""
    date, time = str(ds.get("ContentDate", "")), str(ds.get("ContentTime", ""))
    if len(date) != 8:
        return None
    raw = (time.split(".")[0] + "000000")[:6]
    offset = str(ds.get("TimezoneOffsetFromUTC", "")) or "+0000"
    try:
        return datetime.strptime(date + raw + offset, "%Y%m%d%H%M%S%z").astimezone(UTC)
    except ValueError:
        return None


def part10(doc: Dataset) -> bytes:
    buf = BytesIO()
    doc.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


class SpooledOnly(Exception):
    """The archive is unavailable: the document is in the spool, stored later."""


def store_in_study(
    *, session: Session, study: Study, data: bytes, settings: Settings, now: datetime
) -> StoredInstance:
    """Store one document into its study the way STOW does (receive → spool → archive →
    index), under the study's sending institution. Raises `SpooledOnly` when the archive is
    unavailable (the forwarder stores it), `Rejected` for bad data."""
    spool = Spool(settings.dicom.spool_dir)
    origin = Origin(
        institution_id=study.source_institution_id, source="stow", patient_id=study.patient_id
    )
    inspected = inspect_instance(data)
    receipt = receive(spool=spool, data=data, origin=origin, inspected=inspected, hold=True)
    try:
        return store_received(
            session=session,
            archive=get_archive(settings),
            spool=spool,
            receipt=receipt,
            data=data,
            origin=origin,
            now=now,
            max_study_bytes=settings.dicom.max_study_bytes,
        )
    except ArchiveUnavailable as exc:
        raise SpooledOnly(str(exc)) from exc


def newest_documents(session: Session, study_uid: str, sop_class_uid: str) -> list[Instance]:
    """The study's instances of one SR class, newest first (from the index)."""
    return list(
        session.execute(
            select(Instance)
            .where(Instance.study_uid == study_uid, Instance.sop_class_uid == sop_class_uid)
            .order_by(col(Instance.created_at).desc(), col(Instance.instance_number).desc())
        ).scalars()
    )


def read_document(archive: Archive, row: Instance) -> Dataset:
    try:
        data = archive.instance(row.study_uid, row.series_uid, row.sop_uid)
    except ArchiveUnavailable as exc:
        raise Unavailable(f"the image archive is unavailable: {exc}") from exc
    return pydicom.dcmread(BytesIO(data))


__all__ = [
    "Observer",
    "Rejected",
    "SpooledOnly",
    "content_datetime",
    "evidence",
    "newest_documents",
    "next_instance_number",
    "part10",
    "read_document",
    "series_uid",
    "stamp",
    "store_in_study",
    "uid_from",
]
