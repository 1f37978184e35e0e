"""The demo activity's ECG recordings: a synthetic 12-lead ECG (`dicom.ecg_synth`) stored in
the archive, indexed as the requesting hospital's study of the patient and linked to the
consultation, so a demo ECG reading opens in the reader with a real waveform.

UIDs are derived from `uid_seed` (the replay is deterministic, so a second replay writes
the same files again instead of new ones). An archive that is down leaves the request
without its recording (logged); the demo goes on.
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from datetime import datetime
from io import BytesIO
from typing import Any

from sqlmodel import Session

from dicom.archive import ArchiveError, get_archive
from dicom.ecg_synth import EcgSpec, ecg_dataset, expected_axis
from dicom.index import InstanceInfo, index_instance
from dicom.links import link_study
from telemed.core.settings import Settings
from telemed.identity.models import User

log = logging.getLogger("telemed.dicom.ecg_demo")


def _uid(seed: str, part: str) -> str:
    return "2.25." + str(int(hashlib.sha256(f"{seed}/{part}".encode()).hexdigest()[:30], 16))


def attach_synthetic_ecg(
    *,
    session: Session,
    settings: Settings,
    spec: EcgSpec,
    consultation_id: uuid.UUID,
    by: User,
    patient_id: uuid.UUID,
    patient_name: str,
    uid_seed: str,
    now: datetime,
) -> str | None:
    """Store, index and link one synthetic ECG; its Study Instance UID (None: archive down)."""
    study_uid = _uid(uid_seed, "study")
    ds = ecg_dataset(
        spec,
        study_uid=study_uid,
        uids=(_uid(uid_seed, "series"), _uid(uid_seed, "sop")),
        patient_id=f"ECG{uid_seed[-8:]}",
        patient_name=patient_name,
        when=now.replace(tzinfo=None),
    )
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    archive = get_archive(settings)
    try:
        archive.store(data)
    except ArchiveError as exc:
        log.warning("demo ECG for consultation %s not stored: %s", consultation_id, exc)
        return None
    info = InstanceInfo(
        study_uid=study_uid,
        series_uid=str(ds.SeriesInstanceUID),
        sop_uid=str(ds.SOPInstanceUID),
        sop_class_uid=str(ds.SOPClassUID),
        transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
        size_bytes=len(data),
        modality="ECG",
        patient_name=patient_name,
        dicom_patient_id=str(ds.PatientID),
        study_date=str(ds.StudyDate),
        description="12-lead ECG",
        series_number=1,
        instance_number=1,
    )
    index_instance(
        session=session,
        info=info,
        institution_id=by.institution_id,
        source_ae=None,
        source="stow",
        now=now,
        path=archive.file_path(info.study_uid, info.series_uid, info.sop_uid),
        patient_id=patient_id,
    )
    link_study(
        session=session,
        study_uid=study_uid,
        target_type="consultation",
        target_id=consultation_id,
        by=by,
        now=now,
    )
    return study_uid


def reader_values(spec: EcgSpec, study_uid: str | None) -> dict[str, Any]:
    """The values a reader signs for this recording (what it was built with)."""
    rr = 60000.0 / spec.heart_rate
    return {
        "study_uid": study_uid,
        "heart_rate_bpm": round(spec.heart_rate),
        "rr_ms": round(rr),
        "pr_ms": None if spec.p_uv == 0 else round(spec.pr_ms),
        "qrs_ms": round(spec.qrs_ms),
        "qt_ms": round(spec.qt_ms),
        "qtc_bazett_ms": round(spec.qt_ms / math.sqrt(rr / 1000.0)),
        "qtc_fridericia_ms": round(spec.qt_ms / (rr / 1000.0) ** (1 / 3)),
        "axis_deg": round(expected_axis(spec)),
    }
