"""The SR documents as files, without the server: multi-frame references, and dcmtk's SR
reader (`dsrdump`, an implementation other than highdicom) reads each document and finds
its structure valid."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pydicom.dataset import Dataset

from dicom import measurements, opinion_sr, sr
from dicom.reading_schemas import KeyImageIn, MeasurementIn
from tests.dicom.helpers import dcmtk
from tests.support.dicom_files import ct_series

AT = datetime(2026, 12, 3, 8, 15, tzinfo=UTC)
OBSERVER = sr.Observer(
    name="王医生",
    organization="内蒙古医科大学附属医院",
    title="chief_physician",
    title_meaning="主任医师",
)


def _multi_frame(ds: Dataset) -> Dataset:
    ds.NumberOfFrames = 3
    return ds


def _dsrdump(tmp_path: Path, doc: Dataset) -> str:
    path = tmp_path / f"{doc.SOPInstanceUID}.dcm"
    path.write_bytes(sr.part10(doc))
    run = subprocess.run(
        [dcmtk("dsrdump"), "-Ee", str(path)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "error" not in (run.stdout + run.stderr).lower(), run.stdout + run.stderr
    return run.stdout


def test_measurement_report_and_key_images_are_valid_sr(tmp_path: Path) -> None:
    evidence = ct_series(2)
    evidence[1] = _multi_frame(evidence[1])
    images = {str(d.SOPInstanceUID): d for d in evidence}
    study_uid = str(evidence[0].StudyInstanceUID)
    ref = {
        "series_uid": str(evidence[1].SeriesInstanceUID),
        "sop_instance_uid": str(evidence[1].SOPInstanceUID),
    }
    items = [
        MeasurementIn(kind="length", frame=2, points=[(1.5, 1.5), (7.5, 1.5)], value=6.0, **ref),
        MeasurementIn(
            kind="rectangle_roi", points=[(1, 1), (5, 1), (5, 4), (1, 4)], mean=12.0, **ref
        ),
    ]
    doc = measurements.build_report(
        items=items,
        images=images,
        evidence=evidence,
        observer=OBSERVER,
        study_uid=study_uid,
        instance_number=1,
        previous=None,
        at=AT,
    )
    parsed = measurements.parse_report(doc)
    assert [(m.kind, m.frame) for m in parsed] == [("length", 2), ("rectangle_roi", 1)]
    assert parsed[1].points == [(1, 1), (5, 1), (5, 4), (1, 4)]
    assert doc.ContentDate == "20261203" and doc.ContentTime == "161500"  # Beijing time
    assert measurements.document_ref(doc).content_datetime == AT
    out = _dsrdump(tmp_path, doc)
    assert "Imaging Measurement Report" in out and "SCOORD" in out
    kos = measurements.build_key_images(
        items=[KeyImageIn(note="最佳层面", **ref)],
        images=images,
        evidence=evidence,
        observer=OBSERVER,
        study_uid=study_uid,
        instance_number=1,
        at=AT,
    )
    assert [k.note for k in measurements.parse_key_images(kos)] == ["最佳层面"]
    assert "Of Interest" in _dsrdump(tmp_path, kos)


def test_opinion_report_is_valid_sr_and_a_correction_names_its_predecessor(tmp_path: Path) -> None:
    evidence = ct_series(2)
    study_uid = str(evidence[0].StudyInstanceUID)
    first = opinion_sr.SignedOpinion(
        opinion_id=uuid.uuid4(),
        consultation_id=uuid.uuid4(),
        version=1,
        signer_name="王医生",
        signer_title="chief_physician",
        signer_title_meaning="主任医师",
        signer_organization="内蒙古医科大学附属医院",
        signed_at=AT,
        findings="右肺上叶结节",
        impression="磨玻璃结节",
        recommendations="3个月后复查",
        icd10=[("R91", "肺诊断性影像异常")],
        requesting_institution_id=uuid.uuid4(),
    )
    doc = opinion_sr.build(first, evidence, study_uid)
    out = _dsrdump(tmp_path, doc)
    assert "VERIFIED" in out and "R91" in out
    again = opinion_sr.build(first, evidence, study_uid)
    assert again.SOPInstanceUID == doc.SOPInstanceUID  # a re-run is the same instance
    from dataclasses import replace

    second = replace(first, opinion_id=uuid.uuid4(), version=2, supersedes_id=first.opinion_id)
    corrected = opinion_sr.build(second, evidence, study_uid)
    assert corrected.SOPInstanceUID != doc.SOPInstanceUID and corrected.InstanceNumber == 2
    pred = corrected.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0]
    assert pred.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == doc.SOPInstanceUID
    _dsrdump(tmp_path, corrected)
