"""Tables of remote consultations (远程会诊)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from telemed.core.db import id_field, utc_field


class Consultation(SQLModel, table=True):
    """A request from a doctor for a remote service, and its progress."""

    __tablename__ = "consultation"

    id: uuid.UUID = id_field()
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    requesting_doctor_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    requesting_institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    service_class: str = Field(max_length=32, index=True)
    urgency: str = Field(max_length=16)
    live_session: bool = False
    summary: str = Field(sa_column=Column(Text, nullable=False))
    question: str = Field(sa_column=Column(Text, nullable=False))
    wanted_specialty: str = Field(max_length=40)
    wanted_title: str | None = Field(default=None, max_length=32)
    chosen_institution_id: uuid.UUID | None = Field(default=None, foreign_key="institution.id")
    chosen_specialist_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    proposed_specialist_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", index=True
    )
    assigned_specialist_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", index=True
    )
    receiving_institution_id: uuid.UUID | None = Field(
        default=None, foreign_key="institution.id", index=True
    )
    # routing override: the requester chose a hospital other than the first proposed one
    override_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    first_proposed_institution_id: uuid.UUID | None = Field(
        default=None, foreign_key="institution.id"
    )
    state: str = Field(default="draft", max_length=16, index=True)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    submitted_at: datetime | None = utc_field(nullable=True, index=True)
    accepted_at: datetime | None = utc_field(nullable=True)
    reported_at: datetime | None = utc_field(nullable=True)
    closed_at: datetime | None = utc_field(nullable=True)
    accept_due_at: datetime | None = utc_field(nullable=True, index=True)
    report_due_at: datetime | None = utc_field(nullable=True, index=True)
    expires_at: datetime | None = utc_field(nullable=True)
    # the live session: a scheduling booking, or an immediate session for emergencies
    booking_id: uuid.UUID | None = None
    session_start_at: datetime | None = utc_field(nullable=True)
    session_end_at: datetime | None = utc_field(nullable=True)
    fee_cents: int = 0
    currency: str = Field(default="CNY", max_length=3)
    payment_state: str = Field(default="unpaid", max_length=16)


class ConsultationConsent(SQLModel, table=True):
    """The patient's informed consent (知情同意): who gave it, when, how."""

    __tablename__ = "consultation_consent"

    id: uuid.UUID = id_field()
    consultation_id: uuid.UUID = Field(foreign_key="consultation.id", index=True)
    given_by: str = Field(max_length=64)  # the patient or their representative
    relationship: str = Field(default="self", max_length=32)
    method: str = Field(max_length=16)  # signed_form | verbal | written | on_screen
    given_at: datetime = utc_field()
    recorded_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    recorded_at: datetime = utc_field()
    document_id: uuid.UUID | None = Field(default=None, foreign_key="consultation_document.id")
    note: str = Field(default="", max_length=500)
    witness: str = Field(default="", max_length=64)  # written: who witnessed the signing
    # on_screen: the signature drawn on the screen, a checked PNG (consent_signature.py)
    signature_png: bytes | None = Field(default=None, sa_column=Column(LargeBinary))

    @property
    def has_signature(self) -> bool:
        return self.signature_png is not None


class ConsultationTransition(SQLModel, table=True):
    """One state change: who, when, why, from, to."""

    __tablename__ = "consultation_transition"

    id: uuid.UUID = id_field()
    consultation_id: uuid.UUID = Field(foreign_key="consultation.id", index=True)
    action: str = Field(max_length=32)
    from_state: str = Field(max_length=16)
    to_state: str = Field(max_length=16)
    by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")  # None: system
    at: datetime = utc_field()
    reason: str = Field(default="", max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ConsultationDocument(SQLModel, table=True):
    """A document attached to a request (ECG PDF, lab result ...), bytes kept in the database."""

    __tablename__ = "consultation_document"

    id: uuid.UUID = id_field()
    consultation_id: uuid.UUID = Field(foreign_key="consultation.id", index=True)
    kind: str = Field(max_length=32)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=128)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    uploaded_at: datetime = utc_field()


class Opinion(SQLModel, table=True):
    """One version of the specialist's structured opinion; immutable once signed."""

    __tablename__ = "consultation_opinion"
    __table_args__ = (UniqueConstraint("consultation_id", "version"),)

    id: uuid.UUID = id_field()
    consultation_id: uuid.UUID = Field(foreign_key="consultation.id", index=True)
    version: int
    author_id: uuid.UUID = Field(foreign_key="user_account.id")
    findings: str = Field(sa_column=Column(Text, nullable=False))
    impression: str = Field(sa_column=Column(Text, nullable=False))
    icd10: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    recommendations: str = Field(default="", sa_column=Column(Text, nullable=False))
    referral_advice: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    ecg_measurements: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    supersedes_id: uuid.UUID | None = Field(default=None, foreign_key="consultation_opinion.id")
    correction_reason: str = Field(default="", max_length=1000)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    signed_at: datetime | None = utc_field(nullable=True)
    key_id: str | None = Field(default=None, max_length=64)
    canonical: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    signature: str | None = Field(default=None, max_length=128)  # base64 Ed25519
    # marks on whole-slide images (points, rectangles with text), frozen and signed with it
    annotations: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )


class SpecialistKey(SQLModel, table=True):
    """A specialist's Ed25519 signing key; the private half encrypted at rest."""

    __tablename__ = "specialist_key"
    __table_args__ = (
        Index(
            "uq_specialist_key_active_user",
            "user_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
            sqlite_where=text("revoked_at IS NULL"),
        ),
    )

    id: str = Field(primary_key=True, max_length=64)  # key id: first 32 hex of SHA-256(pub)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    public_key: str = Field(max_length=64)  # base64 raw 32 bytes
    private_key_encrypted: str = Field(max_length=255)  # base64 nonce + AES-GCM ciphertext
    fingerprint: str = Field(max_length=64)  # full SHA-256 hex of the raw public key
    created_at: datetime = utc_field()
    revoked_at: datetime | None = utc_field(nullable=True)


class SlaBreach(SQLModel, table=True):
    """A missed service level (time to accept or to report); one per request and kind."""

    __tablename__ = "consultation_sla_breach"
    __table_args__ = (UniqueConstraint("consultation_id", "kind"),)

    id: uuid.UUID = id_field()
    consultation_id: uuid.UUID = Field(foreign_key="consultation.id", index=True)
    kind: str = Field(max_length=16)  # accept | report
    due_at: datetime = utc_field()
    detected_at: datetime = utc_field()
    escalated_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class FeeSchedule(SQLModel, table=True):
    """The fee of a service class at a receiving hospital tier (admin-maintained)."""

    __tablename__ = "consultation_fee"
    __table_args__ = (UniqueConstraint("service_class", "tier"),)

    id: uuid.UUID = id_field()
    service_class: str = Field(max_length=32)
    tier: str = Field(max_length=16)
    amount_cents: int
    currency: str = Field(default="CNY", max_length=3)
    updated_at: datetime = utc_field()
    updated_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class Payment(SQLModel, table=True):
    """A charge or refund through a payment provider."""

    __tablename__ = "consultation_payment"

    id: uuid.UUID = id_field()
    consultation_id: uuid.UUID = Field(foreign_key="consultation.id", index=True)
    kind: str = Field(max_length=16)  # charge | refund
    provider: str = Field(max_length=32)
    provider_ref: str = Field(max_length=128)
    amount_cents: int
    currency: str = Field(default="CNY", max_length=3)
    status: str = Field(max_length=16)  # succeeded | failed
    by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = utc_field()


class SessionEvent(SQLModel, table=True):
    """Something that happened in the live session (join, leave, consent, recording, chat)."""

    __tablename__ = "consultation_session_event"

    id: uuid.UUID = id_field()
    consultation_id: uuid.UUID = Field(foreign_key="consultation.id", index=True)
    kind: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = utc_field()
