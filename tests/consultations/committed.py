"""Requests committed for real (concurrency tests), and their clean-up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from telemed.consultations import service
from telemed.consultations.schemas import ConsentCreate, ConsultationCreate
from telemed.core import clock
from telemed.core.settings import get_settings
from telemed.identity.models import Patient, User


def committed_request(engine: Engine, *, urgency: str = "urgent") -> uuid.UUID:
    """A submitted imaging request for specialist2, committed."""
    with Session(engine, expire_on_commit=False) as s:
        doctor = s.execute(select(User).where(User.username == "county-doctor")).scalar_one()
        spec = s.execute(select(User).where(User.username == "specialist2")).scalar_one()
        patient = s.execute(select(Patient).where(Patient.name == "巴特尔")).scalars().first()
        assert patient is not None
        now = clock.now()
        c = service.create(
            session=s,
            by=doctor,
            now=now,
            data=ConsultationCreate(
                patient_id=patient.id,
                service_class="imaging_diagnosis",  # type: ignore[arg-type]
                urgency=urgency,  # type: ignore[arg-type]
                summary="s",
                question="q",
                wanted_specialty="radiology",
                chosen_specialist_id=spec.id,
                override_reason="指定专家（测试）",  # a named specialist: docs/routing.md
                consent=ConsentCreate(
                    given_by="巴特尔", method="verbal", given_at=datetime(2026, 11, 1, tzinfo=UTC)
                ),
            ),
        )
        service.submit(session=s, consultation_id=c.id, by=doctor, now=now, settings=get_settings())
        s.commit()
        return c.id


def purge(engine: Engine, consultation_id: uuid.UUID) -> None:
    """Remove a committed request (the append-only guards are lifted inside this transaction)."""
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE consultation_transition DISABLE TRIGGER USER"))
        conn.execute(text("ALTER TABLE consultation_opinion DISABLE TRIGGER USER"))
        for table in (
            "consultation_transition",
            "consultation_consent",
            "consultation_opinion",
            "consultation_sla_breach",
            "consultation_payment",
            "consultation_document",
            "consultation_session_event",
        ):
            stmt = f"DELETE FROM {table} WHERE consultation_id = :id"  # noqa: S608
            conn.execute(text(stmt), {"id": consultation_id})
        conn.execute(
            text("DELETE FROM dicom_study_link WHERE target_id = :id"), {"id": consultation_id}
        )
        conn.execute(text("DELETE FROM consultation WHERE id = :id"), {"id": consultation_id})
        # what the request wrote elsewhere: its audit rows and notifications
        conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        conn.execute(text("ALTER TABLE audit_event_patient DISABLE TRIGGER USER"))
        conn.execute(
            text("DELETE FROM audit_event WHERE object_id = :id"), {"id": str(consultation_id)}
        )
        conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
        conn.execute(text("ALTER TABLE audit_event_patient ENABLE TRIGGER USER"))
        conn.execute(
            text("DELETE FROM notification WHERE data->>'consultation_id' = :id"),
            {"id": str(consultation_id)},
        )
        conn.execute(text("ALTER TABLE consultation_transition ENABLE TRIGGER USER"))
        conn.execute(text("ALTER TABLE consultation_opinion ENABLE TRIGGER USER"))
