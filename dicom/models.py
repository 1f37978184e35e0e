"""Tables of imaging: study and instance index, study links, spool state, outbound jobs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from telemed.core.db import id_field, utc_field


class Study(SQLModel, table=True):
    """One DICOM study known to the relay (index; pixels live in the archive)."""

    __tablename__ = "dicom_study"

    id: uuid.UUID = id_field()
    study_uid: str = Field(unique=True, max_length=64)
    patient_name: str = Field(default="", max_length=200)
    dicom_patient_id: str = Field(default="", max_length=64)
    patient_birth_date: str = Field(default="", max_length=8)
    patient_sex: str = Field(default="", max_length=16)
    # Our patient, where the study was matched to one (visibility for that patient).
    patient_id: uuid.UUID | None = Field(default=None, foreign_key="patient.id", index=True)
    modality: str = Field(default="", max_length=64)
    study_date: date | None = None
    description: str = Field(default="", max_length=200)
    accession_number: str = Field(default="", max_length=64)
    series_count: int = 0
    instance_count: int = 0
    size_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    source_institution_id: uuid.UUID | None = Field(
        default=None, foreign_key="institution.id", index=True
    )
    source_ae: str | None = Field(default=None, max_length=16)
    source: str = Field(default="stow", max_length=16)  # cstore | stow | push | deid
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class Instance(SQLModel, table=True):
    """One SOP instance; the unique SOP Instance UID makes every ingest idempotent."""

    __tablename__ = "dicom_instance"

    id: uuid.UUID = id_field()
    sop_uid: str = Field(unique=True, max_length=64)
    study_id: uuid.UUID = Field(foreign_key="dicom_study.id", index=True)
    study_uid: str = Field(max_length=64, index=True)
    series_uid: str = Field(max_length=64, index=True)
    sop_class_uid: str = Field(max_length=64)
    transfer_syntax_uid: str = Field(max_length=64)
    modality: str = Field(default="", max_length=16)
    series_number: int | None = None
    instance_number: int | None = None
    size_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    # Path under the LocalArchive root (None when the archive is Orthanc).
    path: str | None = Field(default=None, max_length=255)
    created_at: datetime = utc_field()


class LinkTarget(StrEnum):
    CONSULTATION = "consultation"
    REFERRAL = "referral"


class StudyLink(SQLModel, table=True):
    """A study attached to a consultation or referral by its Study Instance UID."""

    __tablename__ = "dicom_study_link"
    __table_args__ = (UniqueConstraint("study_uid", "target_type", "target_id"),)

    id: uuid.UUID = id_field()
    study_id: uuid.UUID = Field(foreign_key="dicom_study.id", index=True)
    study_uid: str = Field(max_length=64, index=True)
    target_type: str = Field(max_length=16)
    target_id: uuid.UUID = Field(index=True)
    linked_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    created_at: datetime = utc_field()


class SpoolState(StrEnum):
    PENDING = "pending"
    FORWARDED = "forwarded"
    REJECTED = "rejected"


class SpoolEntry(SQLModel, table=True):
    """Forwarding state of one spooled instance (the file on disk is the durable copy)."""

    __tablename__ = "dicom_spool_entry"

    id: uuid.UUID = id_field()
    spool_name: str = Field(unique=True, max_length=200)
    sop_uid: str = Field(default="", max_length=64, index=True)
    source_ae: str | None = Field(default=None, max_length=16)
    source_institution_id: uuid.UUID | None = Field(default=None, foreign_key="institution.id")
    state: str = Field(default=SpoolState.PENDING, max_length=16, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    received_at: datetime = utc_field()
    forwarded_at: datetime | None = utc_field(nullable=True)


class JobKind(StrEnum):
    SEND = "send"  # C-STORE a study to a registered PACS
    RETRIEVE = "retrieve"  # C-MOVE priors from a county PACS
    DEIDENTIFY = "deidentify"
    OPINION_SR = "opinion_sr"  # the signed opinion as SR: into the study, to the county PACS
    CONVERT_SLIDE = "convert_slide"  # a vendor slide file to VL Whole Slide Microscopy


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class OutboundJob(SQLModel, table=True):
    """An asynchronous imaging job with its status."""

    __tablename__ = "dicom_outbound_job"

    id: uuid.UUID = id_field()
    kind: str = Field(max_length=16, index=True)
    study_uid: str = Field(default="", max_length=64, index=True)
    ae_id: uuid.UUID | None = Field(default=None, foreign_key="dicom_ae.id")
    status: str = Field(default=JobStatus.QUEUED, max_length=16, index=True)
    requested_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    total: int = 0
    completed: int = 0
    failed: int = 0
    error: str | None = Field(default=None, max_length=500)
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # What the job needs besides its kind, study and AE (see dicom.jobs.work_for).
    params: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = utc_field()
    started_at: datetime | None = utc_field(nullable=True)
    finished_at: datetime | None = utc_field(nullable=True)


class OrderStatus(StrEnum):
    SCHEDULED = "scheduled"  # on the worklist, no study yet
    COMPLETED = "completed"  # a study with its accession number arrived
    CANCELLED = "cancelled"  # the request was withdrawn: off the worklist


class WorklistItem(SQLModel, table=True):
    """A scheduled procedure step of a remote imaging request (DICOM Modality Worklist).

    Published by the requesting domain (consultations) for the requesting hospital; its
    modalities query it by C-FIND and studies arriving with its accession number are
    matched to the patient and attached to the request.
    """

    __tablename__ = "dicom_worklist_item"

    id: uuid.UUID = id_field()
    accession_number: str = Field(unique=True, max_length=16)  # SH
    study_uid: str = Field(max_length=64)  # suggested Study Instance UID for the modality
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    # The patient in the requesting hospital's namespace (IssuerOfPatientID), never our id.
    dicom_patient_id: str = Field(max_length=64)
    issuer_of_patient_id: str = Field(max_length=64)
    target_type: str = Field(max_length=16)  # consultation | referral
    target_id: uuid.UUID = Field(index=True)
    modality: str = Field(max_length=16)
    procedure: str = Field(default="", max_length=64)
    scheduled_at: datetime = utc_field()
    requested_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    referring_physician: str = Field(default="", max_length=64)
    status: str = Field(default=OrderStatus.SCHEDULED, max_length=16, index=True)
    matched_study_uid: str | None = Field(default=None, max_length=64)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
