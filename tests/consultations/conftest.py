"""Helpers for consultation tests: demo users and a request factory over the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.identity.models import Patient, User
from tests.dicom.conftest import demo_user, indexed_study  # noqa: F401 (fixtures)


@pytest.fixture
def users(session: Session) -> Callable[[str], User]:
    def _user(username: str) -> User:
        return session.execute(select(User).where(User.username == username)).scalar_one()

    return _user


@pytest.fixture
def demo_patient(session: Session) -> Patient:
    return session.execute(select(Patient).where(Patient.name == "巴特尔")).scalars().first()  # type: ignore[return-value]


CONSENT = {
    "given_by": "巴特尔",
    "relationship": "self",
    "method": "verbal",
    "given_at": datetime(2026, 11, 1, 8, 0, tzinfo=UTC).isoformat(),
    "note": "explained risks and data sharing; patient agreed",
}


@pytest.fixture
def make_request(
    client: TestClient,
    login: Callable[[str], dict[str, str]],
    users: Callable[[str], User],
    demo_patient: Patient,
) -> Callable[..., dict[str, Any]]:
    """Create (and by default submit) a request as the county doctor."""

    def _make(
        *,
        service_class: str = "imaging_diagnosis",
        urgency: str = "urgent",
        specialty: str = "radiology",
        specialist: str | None = "specialist2",
        consent: bool = True,
        submit: bool = True,
        doctor: str = "county-doctor",
        **extra: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "patient_id": str(demo_patient.id),
            "service_class": service_class,
            "urgency": urgency,
            "summary": "男，64岁，胸痛3小时，CT示右肺结节",
            "question": "请协助明确结节性质",
            "wanted_specialty": specialty,
            **extra,
        }
        if specialist:
            body["chosen_specialist_id"] = str(users(specialist).id)
            # a named specialist may lie outside the proposal order (docs/routing.md)
            body.setdefault("override_reason", "指定专家（测试）")
        if consent:
            body["consent"] = CONSENT
        r = client.post("/api/v1/consultations", json=body, headers=login(doctor))
        assert r.status_code == 201, r.text
        c = r.json()
        if submit:
            r = client.post(f"/api/v1/consultations/{c['id']}/submit", headers=login(doctor))
            assert r.status_code == 200, r.text
            c = r.json()
        return c

    return _make
