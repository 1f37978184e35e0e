"""The demo network's ECG readers and pathologists: remote ECG and pathology route like the
other services (before them, pathology ended in 409 `no_specialist`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from scheduling.models import Slot
from telemed.identity.models import Role, User
from telemed.network.models import Institution

SIGN = {"password": "telemed-demo"}  # signing re-authenticates the signer

API = "/api/v1/consultations"
H = Callable[[str], dict[str, str]]


def _reader_of(session: Session, specialist_id: str) -> tuple[User, Institution]:
    user = session.get(User, specialist_id)
    assert user is not None
    inst = session.get(Institution, user.institution_id)
    assert inst is not None
    return user, inst


def test_every_regional_and_league_hospital_has_its_readers_with_reading_slots(
    session: Session,
) -> None:
    hospitals = session.exec(
        select(Institution).where(col(Institution.tier).in_(["regional", "league"]))
    ).all()
    readers = session.exec(
        select(User).where(
            col(User.role) == Role.SPECIALIST,
            col(User.specialty_code).in_(["pathology", "electrophysiology"]),
        )
    ).all()
    # 16 regional hospitals x 2 (less the two named readers) + 12 league pathologists
    assert sum(u.username.startswith("reader-") for u in readers) == 42
    assert {"pathologist", "ecg-reader"} <= {u.username for u in readers}
    staffed = {(u.institution_id, u.specialty_code) for u in readers}
    for inst in hospitals:
        assert (inst.id, "electrophysiology") in staffed, inst.name_zh
        assert (inst.id, "pathology") in staffed, inst.name_zh
    reading = set(
        session.exec(
            select(Slot.specialist_id).where(
                col(Slot.service_class) == "imaging_reading",
                col(Slot.specialist_id).in_([u.id for u in readers]),
            )
        ).all()
    )
    assert reading == {u.id for u in readers}


def test_a_pathology_request_goes_to_a_pathologist_who_signs_it(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]], session: Session
) -> None:
    c = make_request(
        service_class="pathology_diagnosis",
        urgency="routine",
        specialty="pathology",
        specialist=None,
        summary="胃镜活检，胃窦黏膜",
        question="请明确病理性质",
    )
    assert c["state"] == "submitted" and c["proposed_specialist_id"]
    reader, inst = _reader_of(session, c["proposed_specialist_id"])
    assert reader.specialty_code == "pathology" and inst.tier in ("regional", "league")
    assert c["receiving_institution_id"] == str(inst.id)
    me = login(reader.username)
    r = client.post(f"{API}/{c['id']}/accept", headers=me)
    assert r.status_code == 200, r.text
    opinion = {
        "findings": "胃窦黏膜慢性炎，轻度肠上皮化生，未见异型增生。",
        "impression": "慢性萎缩性胃炎伴轻度肠化",
        "icd10": ["K29.4"],
        "recommendations": "1年后复查胃镜",
    }
    r = client.put(f"{API}/{c['id']}/opinion", json=opinion, headers=me)
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/{c['id']}/opinion/sign", json=SIGN, headers=me)
    assert r.status_code == 200, r.text
    assert r.json()["signature"]
    seen = client.get(f"{API}/{c['id']}", headers=login("county-doctor")).json()
    assert seen["state"] == "reported"
    v = client.get(f"{API}/{c['id']}/opinion/verify", headers=login("county-doctor")).json()
    assert v["valid"] is True


def test_an_ecg_request_goes_to_an_ecg_reader_with_a_reading_slot(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]], session: Session
) -> None:
    c = make_request(
        service_class="ecg_diagnosis",
        urgency="urgent",
        specialty="electrophysiology",
        specialist=None,
        summary="心悸2天",
        question="12导联心电图请判读",
    )
    reader, inst = _reader_of(session, c["proposed_specialist_id"])
    assert reader.specialty_code == "electrophysiology" and inst.tier in ("regional", "league")
    proposals = client.post(
        f"{API}/proposals",
        json={
            "service_class": "ecg_diagnosis",
            "wanted_specialty": "electrophysiology",
            "patient_id": c["patient_id"],
            "urgency": "urgent",
        },
        headers=login("county-doctor"),
    ).json()
    assert proposals[0]["specialist_id"] == str(reader.id)
    assert all(p["earliest_slot_at"] for p in proposals)  # every reader has reading slots
    r = client.post(f"{API}/{c['id']}/accept", headers=login(reader.username))
    assert r.status_code == 200, r.text
