"""API shapes of the reading workstation: measurements, key images, priors, viewer context."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from dicom.schemas import UID_PATTERN, StudySummary

Kind = Literal["length", "angle", "ellipse_roi", "rectangle_roi", "arrow"]
POINTS = {"length": 2, "angle": 3, "ellipse_roi": 4, "rectangle_roi": 4, "arrow": 2}
UNITS = {"length": ("mm",), "angle": ("deg",), "ellipse_roi": ("HU",), "rectangle_roi": ("HU",)}
ROI_KINDS = ("ellipse_roi", "rectangle_roi")

UID = Field(pattern=UID_PATTERN)


class MeasurementIn(BaseModel):
    """One measurement drawn on an image (see docs/imaging.md, Reading workstation)."""

    kind: Kind
    series_uid: str = UID
    sop_instance_uid: str = UID
    frame: int = Field(default=1, ge=1, le=2147483647)
    points: list[tuple[float, float]] = Field(min_length=2, max_length=4)
    value: float | None = None
    unit: str | None = None
    mean: float | None = None
    sd: float | None = Field(default=None, ge=0)
    area_mm2: float | None = Field(default=None, ge=0)
    label: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _shape(self) -> MeasurementIn:
        want = POINTS[self.kind]
        if len(self.points) != want:
            raise ValueError(f"a {self.kind} has {want} points, not {len(self.points)}")
        units = UNITS.get(self.kind)
        if units is None:  # arrow
            if self.value is not None or self.mean is not None or self.unit is not None:
                raise ValueError("an arrow has no value or unit")
            return self
        self.unit = self.unit or units[0]
        if self.unit not in units:
            raise ValueError(f"the unit of a {self.kind} is {' or '.join(units)}")
        if self.kind in ROI_KINDS:
            if self.mean is None:
                self.mean = self.value
            self.value = self.mean
        else:
            if self.value is None:
                raise ValueError(f"a {self.kind} needs its value")
            if self.mean is not None or self.sd is not None or self.area_mm2 is not None:
                raise ValueError("mean, sd and area_mm2 belong to ROIs")
        return self


class KeyImageIn(BaseModel):
    series_uid: str = UID
    sop_instance_uid: str = UID
    note: str | None = Field(default=None, max_length=200)


class MeasurementsIn(BaseModel):
    measurements: list[MeasurementIn] = Field(default_factory=list, max_length=500)
    key_images: list[KeyImageIn] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _some(self) -> MeasurementsIn:
        if not self.measurements and not self.key_images:
            raise ValueError("nothing to save: no measurements and no key images")
        return self


class MeasurementOut(BaseModel):
    kind: str
    series_uid: str
    sop_instance_uid: str
    frame: int
    points: list[tuple[float, float]]
    value: float | None
    unit: str | None
    mean: float | None
    sd: float | None
    area_mm2: float | None
    label: str | None


class KeyImageOut(BaseModel):
    series_uid: str
    sop_instance_uid: str
    note: str | None


class DocumentRef(BaseModel):
    """One stored SR document: where it is, who wrote it, when."""

    sop_instance_uid: str
    series_uid: str
    instance_number: int | None
    observer: str | None
    content_datetime: datetime | None


class MeasurementsOut(BaseModel):
    study_uid: str
    measurements: list[MeasurementOut]
    key_images: list[KeyImageOut]
    report: DocumentRef | None
    key_object_selection: DocumentRef | None


class Prior(BaseModel):
    study_uid: str
    study_date: date | None
    modalities: str
    body_part: str
    description: str
    patient_id: str
    patient_name: str
    in_archive: bool
    at_county_pacs: bool
    retrieved: bool
    instance_count: int | None


class Priors(BaseModel):
    items: list[Prior]
    county_pacs: Literal["ok", "none", "unavailable"]


class LinkedConsultation(BaseModel):
    id: uuid.UUID
    question: str
    state: str
    service_class: str
    patient_id: uuid.UUID | None
    link: str


class ViewerContext(BaseModel):
    study: StudySummary
    consultations: list[LinkedConsultation]
