"""API shapes of imaging."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, Field

# A DICOM UID (PS3.5 9.1): digits and dots, at most 64 characters. Every UID path parameter
# is checked against it before it reaches SQL or the archive's URLs (422 otherwise).
UID_PATTERN = r"^[0-9.]{1,64}$"
UIDPath = Annotated[
    str, Path(pattern=UID_PATTERN, description="a DICOM UID: digits and dots, 1 to 64")
]


class PatientDemographics(BaseModel):
    id: uuid.UUID
    name: str
    sex: str
    birth_date: date


class StudySummary(BaseModel):
    """A study as listed to a user: patient, modality, date, counts, size, origin."""

    study_uid: str
    patient_name: str
    dicom_patient_id: str
    patient_id: uuid.UUID | None
    modality: str
    study_date: date | None
    description: str
    accession_number: str
    series_count: int
    instance_count: int
    size_bytes: int
    source_institution_id: uuid.UUID | None
    source_institution_name: str | None = None
    source_ae: str | None
    source: str
    created_at: datetime
    # The DICOM header's patient (raw values) beside ours, and what disagrees.
    patient_sex: str = ""
    patient_birth_date: str = ""
    patient: PatientDemographics | None = None
    mismatches: list[str] = Field(default_factory=list)
    demographics_mismatch: bool = False


class StudyLinkCreate(BaseModel):
    target_type: str = Field(pattern="^(consultation|referral)$")
    target_id: uuid.UUID


class StudyLinkPublic(BaseModel):
    id: uuid.UUID
    study_uid: str
    target_type: str
    target_id: uuid.UUID
    linked_by_id: uuid.UUID
    created_at: datetime


class StoredInstance(BaseModel):
    """What the ingest pipeline learnt from one accepted instance."""

    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    created: bool


class EchoResult(BaseModel):
    ae_id: uuid.UUID
    ae_title: str
    ok: bool
    status: int | None
    detail: str
    elapsed_ms: float


class SendRequest(BaseModel):
    ae_id: uuid.UUID


class RetrieveRequest(BaseModel):
    ae_id: uuid.UUID
    patient_id: str | None = None
    study_uid: str | None = None


class DeidentifyRequest(BaseModel):
    """Options of a de-identified copy; unset ones take the TELEMED_DICOM__DEID_* defaults."""

    clean_pixel_data: bool = False
    retain_patient_characteristics: bool | None = None
    retain_device_identity: bool | None = None


class JobPublic(BaseModel):
    id: uuid.UUID
    kind: str
    study_uid: str
    ae_id: uuid.UUID | None
    status: str
    total: int
    completed: int
    failed: int
    error: str | None
    result: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class WorklistItemPublic(BaseModel):
    """One modality worklist entry (scheduled procedure step) of the caller's hospital."""

    id: uuid.UUID
    accession_number: str
    study_uid: str
    patient_id: uuid.UUID
    dicom_patient_id: str
    issuer_of_patient_id: str
    target_type: str
    target_id: uuid.UUID
    modality: str
    procedure: str
    scheduled_at: datetime
    scheduled_station_aes: list[str]
    status: str
    matched_study_uid: str | None
    created_at: datetime


class DicomDemographics(BaseModel):
    """The patient as the study's DICOM header names them."""

    patient_name: str
    patient_sex: str
    patient_birth_date: str
    dicom_patient_id: str


class StudyDemographics(BaseModel):
    """A study's DICOM demographics compared with one of our patients (a request's)."""

    dicom: DicomDemographics
    mismatches: list[str]
    demographics_mismatch: bool


class UnmatchedStudy(BaseModel):
    """A study of the caller's hospital that no order matched: waiting for reconciliation."""

    study: StudySummary
    dicom: DicomDemographics


class AssignmentCheck(BaseModel):
    """The DICOM demographics beside ours, and which of name/sex/birth_date disagree."""

    study_uid: str
    dicom: DicomDemographics
    patient: PatientDemographics
    mismatches: list[str]


class StudyAssign(BaseModel):
    patient_id: uuid.UUID
    consultation_id: uuid.UUID | None = None
    confirm_mismatch: bool = False


class StudyAssigned(BaseModel):
    study: StudySummary
    mismatches: list[str]
