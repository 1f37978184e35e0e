"""Measurements and key images as DICOM SR, built and read back with highdicom.

A save is one TID 1500 Measurement Report (Comprehensive 3D SR) with a TID 1410 planar ROI
group per measurement, and, when images were flagged, one TID 2010 Key Object Selection.
Reading takes the study's newest of each and parses it the same way whoever wrote it; the
kind of a measurement is read from its shape (graphic type, number of points, the coded
measurement), not from anything only we would write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from dicom import sr
from dicom.reading_schemas import (
    ROI_KINDS,
    DocumentRef,
    KeyImageIn,
    KeyImageOut,
    MeasurementIn,
    MeasurementOut,
)

HU = Code("[hnsf'U]", "UCUM", "Hounsfield unit")
UCUM = {
    "mm": Code("mm", "UCUM", "millimeter"),
    "deg": Code("deg", "UCUM", "degree"),
    "HU": HU,
    "mm2": Code("mm2", "UCUM", "square millimeter"),
}
UNIT_OF_UCUM = {"mm": "mm", "deg": "deg", "[hnsf'U]": "HU", "mm2": "mm2"}
LENGTH, ANGLE = codes.SCT.Length, codes.SCT.Angle
MEAN, SD, AREA = codes.SCT.Mean, codes.SCT.StandardDeviation, codes.SCT.Area
GRAPHIC = {
    "length": "POLYLINE",
    "angle": "POLYLINE",
    "arrow": "POLYLINE",
    "ellipse_roi": "ELLIPSE",
    "rectangle_roi": "POLYLINE",  # closed: 2D SCOORD has no POLYGON (that is SCOORD3D)
}


def _multi_frame(ds: Dataset) -> bool:
    try:
        return int(ds.get("NumberOfFrames", 1) or 1) > 1
    except (TypeError, ValueError):
        return False


def _numbers(m: MeasurementIn) -> list[hd.sr.Measurement]:
    def one(name: Code, value: float | None, unit: str) -> list[hd.sr.Measurement]:
        if value is None:
            return []
        return [hd.sr.Measurement(name=name, value=float(value), unit=UCUM[unit])]

    if m.kind == "length":
        return one(LENGTH, m.value, "mm")
    if m.kind == "angle":
        return one(ANGLE, m.value, "deg")
    if m.kind in ROI_KINDS:
        unit = m.unit or "HU"
        return one(MEAN, m.mean, unit) + one(SD, m.sd, unit) + one(AREA, m.area_mm2, "mm2")
    return []


def _group(
    m: MeasurementIn, n: int, src: Dataset
) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations:
    points = [list(p) for p in m.points]
    if m.kind == "rectangle_roi":
        points.append(points[0])  # a closed POLYLINE: its last point is its first
    image = hd.sr.SourceImageForRegion(
        referenced_sop_class_uid=str(src.SOPClassUID),
        referenced_sop_instance_uid=str(src.SOPInstanceUID),
        referenced_frame_numbers=[m.frame] if _multi_frame(src) else None,
    )
    region = hd.sr.ImageRegion(
        graphic_type=GRAPHIC[m.kind],
        graphic_data=np.array(points, dtype=float),
        source_image=image,
    )
    return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=hd.UID(), identifier=m.label or f"{m.kind} {n}"
        ),
        referenced_region=region,
        measurements=_numbers(m) or None,
    )


def build_report(
    *,
    items: list[MeasurementIn],
    images: dict[str, Dataset],
    evidence: list[Dataset],
    observer: sr.Observer,
    study_uid: str,
    instance_number: int,
    previous: Dataset | None,
    at: datetime,
) -> Dataset:
    """The TID 1500 Measurement Report of one save (`images`: SOP UID → its header)."""
    groups = [_group(m, n, images[m.sop_instance_uid]) for n, m in enumerate(items, start=1)]
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_person_context=observer.context()),
        procedure_reported=codes.SCT.ImagingProcedure,
        imaging_measurements=groups,
    )
    doc = hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report[0],
        series_instance_uid=sr.series_uid(study_uid, "measurements"),
        series_number=sr.SERIES["measurements"],
        sop_instance_uid=hd.UID(),
        instance_number=instance_number,
        manufacturer=sr.MANUFACTURER,
        institution_name=observer.organization[:64] or None,
        is_complete=True,
        previous_versions=[previous] if previous is not None else None,
        specific_character_set="ISO_IR 192",
    )
    doc.SeriesDescription = sr.SERIES_DESCRIPTION["measurements"]
    sr.stamp(doc, at)
    return doc


def build_key_images(
    *,
    items: list[KeyImageIn],
    images: dict[str, Dataset],
    evidence: list[Dataset],
    observer: sr.Observer,
    study_uid: str,
    instance_number: int,
    at: datetime,
) -> Dataset:
    """The TID 2010 Key Object Selection of one save; notes in its description."""
    notes = "\n".join(f"{k.sop_instance_uid}: {k.note}" for k in items if k.note)
    content = hd.ko.KeyObjectSelection(
        document_title=codes.DCM.OfInterest,
        referenced_objects=[images[k.sop_instance_uid] for k in items],
        observer_person_context=observer.context(),
        description=notes or None,
    )
    doc = hd.ko.KeyObjectSelectionDocument(
        evidence=evidence,
        content=content,
        series_instance_uid=sr.series_uid(study_uid, "key_images"),
        series_number=sr.SERIES["key_images"],
        sop_instance_uid=hd.UID(),
        instance_number=instance_number,
        manufacturer=sr.MANUFACTURER,
        institution_name=observer.organization[:64] or None,
        specific_character_set="ISO_IR 192",
    )
    doc.SeriesDescription = sr.SERIES_DESCRIPTION["key_images"]
    sr.stamp(doc, at)
    return doc


# ---------------------------------------------------------------- reading back


def _series_of(doc: Dataset) -> dict[str, str]:
    """SOP Instance UID → Series Instance UID, from the document's evidence sequences."""
    out: dict[str, str] = {}
    for seq in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for study in doc.get(seq, []):
            for series in study.get("ReferencedSeriesSequence", []):
                for ref in series.get("ReferencedSOPSequence", []):
                    out[str(ref.ReferencedSOPInstanceUID)] = str(series.SeriesInstanceUID)
    return out


def _observer_name(doc: Dataset) -> str | None:
    for item in doc.get("ContentSequence", []):
        concept = item.get("ConceptNameCodeSequence")
        if concept and concept[0].CodeValue == "121008" and "PersonName" in item:
            return str(item.PersonName).rstrip("^") or None
    return None


def document_ref(doc: Dataset) -> DocumentRef:
    return DocumentRef(
        sop_instance_uid=str(doc.SOPInstanceUID),
        series_uid=str(doc.SeriesInstanceUID),
        instance_number=int(doc.InstanceNumber) if "InstanceNumber" in doc else None,
        observer=_observer_name(doc),
        content_datetime=sr.content_datetime(doc),
    )


def _kind(graphic: str, points: list[tuple[float, float]], names: set[str]) -> str | None:
    if graphic == "ELLIPSE":
        return "ellipse_roi"
    if graphic != "POLYLINE":
        return None
    closed = len(points) > 3 and points[0] == points[-1]
    if closed and len(points) == 5 and LENGTH.value not in names and ANGLE.value not in names:
        return "rectangle_roi"
    n = len(points)
    if LENGTH.value in names and n == 2:
        return "length"
    if ANGLE.value in names and n in (3, 4):
        return "angle"
    if not names and n == 2:
        return "arrow"
    return None


def is_measurement_report(doc: Dataset) -> bool:
    title = doc.get("ConceptNameCodeSequence")
    return bool(title) and title[0].CodeValue == codes.DCM.ImagingMeasurementReport.value


def parse_report(doc: Dataset) -> list[MeasurementOut]:
    """The planar measurements of a TID 1500 report (others' too, when of our kinds)."""
    parsed = hd.sr.Comprehensive3DSR.from_dataset(doc)
    report = hd.sr.MeasurementReport.from_sequence(parsed.content)
    series = _series_of(doc)
    out = []
    for group in report.get_planar_roi_measurement_groups():
        roi = group.roi
        if roi is None:
            continue
        values = {m.name.value: m for m in group.get_measurements()}
        points = [(float(x), float(y)) for x, y in np.asarray(roi.value).reshape(-1, 2)]
        kind = _kind(roi.graphic_type.value, points, set(values))
        if kind is None:
            continue
        if kind == "rectangle_roi" and len(points) == 5 and points[0] == points[-1]:
            points = points[:4]
        ref = roi.ContentSequence[0].ReferencedSOPSequence[0]
        frames = ref.get("ReferencedFrameNumber")

        def value(code: Code, values: dict[str, Any] = values) -> float | None:
            m = values.get(code.value)
            return float(m.value) if m is not None else None

        unit_of = next(iter(values.values())).unit.value if values else None
        unit = UNIT_OF_UCUM.get(unit_of, unit_of) if unit_of else None
        mean = value(MEAN) if kind in ROI_KINDS else None
        out.append(
            MeasurementOut(
                kind=kind,
                series_uid=series.get(str(ref.ReferencedSOPInstanceUID), ""),
                sop_instance_uid=str(ref.ReferencedSOPInstanceUID),
                frame=int(frames[0] if isinstance(frames, list | tuple) else frames or 1),
                points=points,
                value=mean if kind in ROI_KINDS else value(LENGTH if kind == "length" else ANGLE),
                unit=unit,
                mean=mean,
                sd=value(SD) if kind in ROI_KINDS else None,
                area_mm2=value(AREA) if kind in ROI_KINDS else None,
                label=group.tracking_identifier,
            )
        )
    return out


def parse_key_images(doc: Dataset) -> list[KeyImageOut]:
    """The images a Key Object Selection references, with their notes."""
    kos = hd.ko.KeyObjectSelectionDocument.from_dataset(doc)
    notes: dict[str, str] = {}
    for item in doc.get("ContentSequence", []):
        if item.ValueType == "TEXT" and item.ConceptNameCodeSequence[0].CodeValue == "113012":
            for line in str(item.TextValue).splitlines():
                uid, sep, note = line.partition(": ")
                if sep:
                    notes[uid.strip()] = note
    series = _series_of(doc)
    out = []
    for ref in kos.content.get_references():
        sop = ref.referenced_sop_instance_uid
        out.append(
            KeyImageOut(series_uid=series.get(sop, ""), sop_instance_uid=sop, note=notes.get(sop))
        )
    return out
