"""The reading workstation's measurements and key images: save as SR into the study, read
back the newest (see docs/imaging.md, "Reading workstation")."""

from __future__ import annotations

from datetime import datetime

from pydicom.dataset import Dataset
from sqlmodel import Session, col, select

from dicom import measurements, sr
from dicom.archive import Archive
from dicom.models import Instance, Study
from dicom.reading_schemas import DocumentRef, MeasurementsIn, MeasurementsOut
from dicom.visibility import get_visible_study, record_access
from telemed.core.errors import Forbidden, Invalid
from telemed.core.settings import Settings
from telemed.identity.models import DOCTOR_ROLES, TITLE_NAMES, Title, User
from telemed.network.models import Institution

NEWEST_TRIED = 10  # SR instances of a class looked at for the newest report


def observer_of(session: Session, user: User) -> sr.Observer:
    inst = session.get(Institution, user.institution_id) if user.institution_id else None
    title = user.title
    meaning = TITLE_NAMES.get(Title(title)) if title in {t.value for t in Title} else None
    return sr.Observer(
        name=user.full_name,
        organization=inst.name_zh if inst else "",
        title=title,
        title_meaning=meaning,
    )


def _referenced(session: Session, study: Study, body: MeasurementsIn) -> None:
    """Every referenced image is an instance of this study, in the series named."""
    wanted = {m.sop_instance_uid for m in body.measurements} | {
        k.sop_instance_uid for k in body.key_images
    }
    rows = session.execute(
        select(Instance.sop_uid, Instance.series_uid).where(
            Instance.study_id == study.id, col(Instance.sop_uid).in_(wanted)
        )
    ).all()
    series_of = dict(rows)
    items = [("measurements", i, m) for i, m in enumerate(body.measurements)] + [
        ("key_images", i, k) for i, k in enumerate(body.key_images)
    ]
    for where, i, item in items:
        if series_of.get(item.sop_instance_uid) != item.series_uid:
            raise Invalid(
                f"{item.sop_instance_uid} is not an instance of series {item.series_uid} "
                f"of study {study.study_uid}",
                field=f"{where}[{i}].sop_instance_uid",
            )


def _previous(session: Session, study_uid: str) -> Dataset | None:
    rows = sr.newest_documents(session, study_uid, sr.COMPREHENSIVE_3D_SR)
    ours = [r for r in rows if r.series_uid == sr.series_uid(study_uid, "measurements")]
    if not ours:
        return None
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = ours[0].sop_class_uid, ours[0].sop_uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, ours[0].series_uid
    return ds


def save(
    *,
    session: Session,
    user: User,
    study_uid: str,
    body: MeasurementsIn,
    archive: Archive,
    settings: Settings,
    now: datetime,
    ip: str | None = None,
) -> tuple[MeasurementsOut, bool]:
    """Store the measurements (TID 1500) and key images (KOS) into the study.

    Returns what was stored, read back from the built documents, and whether it is in the
    archive already (False: spooled while the archive is unavailable)."""
    study = get_visible_study(session=session, user=user, study_uid=study_uid)
    if user.role not in DOCTOR_ROLES:
        raise Forbidden("only doctors save measurements")
    _referenced(session, study, body)
    evidence = sr.evidence(archive, study_uid)
    images = {str(ds.SOPInstanceUID): ds for ds in evidence}
    for i, m in enumerate(body.measurements):
        if m.sop_instance_uid not in images:
            raise Invalid(
                f"{m.sop_instance_uid} is not an image in the archive",
                field=f"measurements[{i}].sop_instance_uid",
            )
    observer = observer_of(session, user)
    docs: list[Dataset] = []
    report = kos = None
    if body.measurements:
        report = measurements.build_report(
            items=body.measurements,
            images=images,
            evidence=evidence,
            observer=observer,
            study_uid=study_uid,
            instance_number=sr.next_instance_number(session, study_uid, "measurements"),
            previous=_previous(session, study_uid),
            at=now,
        )
        docs.append(report)
    if body.key_images:
        kos = measurements.build_key_images(
            items=body.key_images,
            images=images,
            evidence=evidence,
            observer=observer,
            study_uid=study_uid,
            instance_number=sr.next_instance_number(session, study_uid, "key_images"),
            at=now,
        )
        docs.append(kos)
    stored = True
    for doc in docs:
        try:
            sr.store_in_study(
                session=session, study=study, data=sr.part10(doc), settings=settings, now=now
            )
        except sr.SpooledOnly:
            stored = False
    record_access(
        session=session,
        user=user,
        study=study,
        what="measurements",
        now=now,
        ip=ip,
        action="create",
        detail={"sr": [str(d.SOPInstanceUID) for d in docs], "in_archive": stored},
    )
    return _answer(study_uid, report, kos), stored


def _answer(study_uid: str, report: Dataset | None, kos: Dataset | None) -> MeasurementsOut:
    return MeasurementsOut(
        study_uid=study_uid,
        measurements=measurements.parse_report(report) if report is not None else [],
        key_images=measurements.parse_key_images(kos) if kos is not None else [],
        report=measurements.document_ref(report) if report is not None else None,
        key_object_selection=measurements.document_ref(kos) if kos is not None else None,
    )


def newest_report(session: Session, archive: Archive, study_uid: str) -> Dataset | None:
    for row in sr.newest_documents(session, study_uid, sr.COMPREHENSIVE_3D_SR)[:NEWEST_TRIED]:
        doc = sr.read_document(archive, row)
        if measurements.is_measurement_report(doc):
            return doc
    return None


def read(
    *,
    session: Session,
    user: User,
    study_uid: str,
    archive: Archive,
    now: datetime,
    ip: str | None = None,
) -> MeasurementsOut:
    """The study's newest measurement report and key image selection, parsed back."""
    study = get_visible_study(session=session, user=user, study_uid=study_uid)
    record_access(session=session, user=user, study=study, what="measurements", now=now, ip=ip)
    report = newest_report(session, archive, study_uid)
    kos_rows = sr.newest_documents(session, study_uid, sr.KEY_OBJECT_SELECTION)
    kos = sr.read_document(archive, kos_rows[0]) if kos_rows else None
    return _answer(study_uid, report, kos)


__all__ = ["DocumentRef", "newest_report", "observer_of", "read", "save"]
