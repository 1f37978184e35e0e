"""The demo story over the API: sign, refer up into a reserved slot, complete, send the outcome
back, close the loop, count it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from scheduling import service as scheduling_service
from tests.referrals.conftest import county_hospital, demo_team, reserved_slot, user_named

Login = Callable[[str], dict[str, str]]


def test_family_doctor_signs_refers_up_and_the_loop_closes(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    fd, cd = login("family-doctor"), login("county-doctor")

    def fresh(username: str) -> dict[str, str]:
        t = client.post(
            "/api/v1/auth/token", data={"username": username, "password": "telemed-demo"}
        )
        return {"Authorization": f"Bearer {t.json()['access_token']}"}

    patient_id = str(user_named(session, "patient").patient_id)
    team = demo_team(session)
    county = county_hospital(session)

    teams = client.get(
        "/api/v1/family-doctors/teams", params={"county": "150122"}, headers=fd
    ).json()
    assert any(t["id"] == str(team.id) and t["capacity"] == 2000 for t in teams)

    # 1. family-doctor signs patient to the hypertension package, with recorded consent.
    r = client.post(
        "/api/v1/family-doctors/contracts",
        json={
            "patient_id": patient_id,
            "team_id": str(team.id),
            "package_codes": ["hypertension"],
            "consent": {"method": "written", "witness": "家属"},
        },
        headers=fd,
    )
    assert r.status_code == 201, r.text
    contract = r.json()
    assert contract["status"] == "active"
    assert contract["package_codes"] == ["basic", "hypertension"]
    assert contract["signing_channel"] == "doctor"
    fus = client.get(
        f"/api/v1/family-doctors/contracts/{contract['id']}/follow-ups", headers=login("patient")
    ).json()
    assert len(fus) == 4  # quarterly hypertension follow-ups over the year

    # 2. the county hospital is proposed first (same county medical community).
    props = client.get(
        "/api/v1/referrals/receivers",
        params={"patient_id": patient_id, "direction": "up"},
        headers=fd,
    ).json()
    assert props[0]["institution_id"] == str(county.id) and props[0]["in_alliance"]

    # 3. refer up.
    r = client.post(
        "/api/v1/referrals",
        json={
            "patient_id": patient_id,
            "to_institution_id": str(county.id),
            "direction": "up",
            "reason": "血压控制不佳，需调整用药",
            "diagnosis_code": "I10",
            "diagnosis_text": "原发性高血压",
            "clinical_summary": "BP 178/105 on two drugs",
        },
        headers=fd,
    )
    assert r.status_code == 201, r.text
    ref = r.json()
    rid = ref["id"]
    assert ref["status"] == "draft" and "submit" in ref["allowed_actions"]
    r = client.post(f"/api/v1/referrals/{rid}/submit", headers=fd)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "requested" and r.json()["contact_by"]

    # the receiver sees it on its worklist with the contact-by date
    wl = client.get("/api/v1/referrals/worklist", headers=cd).json()
    assert any(w["referral_id"] == rid and w["contact_by"] for w in wl)

    # 4. the county hospital receives and accepts; the family doctor books.
    clock.advance(hours=3)
    for action in ("receive", "accept"):
        r = client.post(f"/api/v1/referrals/{rid}/{action}", headers=cd)
        assert r.status_code == 200, r.text
    # the county hospital's slot keeps its place for family-doctor referrals (released 48 h
    # before the start); the resident's own family doctor may take it.
    slot = reserved_slot(session, county, clock.at + timedelta(days=3))
    session.commit()
    r = client.post(
        f"/api/v1/referrals/{rid}/book",
        json={"slot_id": str(slot.id)},
        headers={**fd, "Idempotency-Key": "demo-book-1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "booked" and r.json()["booking_id"]
    booking = scheduling_service.get_booking(
        session=session, booking_id=uuid.UUID(r.json()["booking_id"])
    )
    assert booking.uses_reserved and booking.reference_id == uuid.UUID(rid)

    # 5. arrival, completion with the outcome sent back (fresh tokens: they live 12 h).
    clock.advance(days=3)
    fd, cd = fresh("family-doctor"), fresh("county-doctor")
    assert client.post(f"/api/v1/referrals/{rid}/arrive", headers=cd).status_code == 200
    r = client.post(
        f"/api/v1/referrals/{rid}/complete",
        json={
            "outcome": {
                "kind": "visit_summary",
                "summary": "调整为氨氯地平+缬沙坦",
                "recommendations": "每2周社区测血压，4周后复诊",
            }
        },
        headers=cd,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed" and r.json()["outcome_sent_at"]

    # the recommendation lands on the family doctor's worklist
    wl = client.get(f"/api/v1/family-doctors/teams/{team.id}/worklist", headers=fd).json()
    assert any(p["referral_id"] == rid for p in wl["care_plans"])

    # 6. the referrer acknowledges: the loop closes.
    r = client.post(f"/api/v1/referrals/{rid}/close", headers=fd)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed" and r.json()["acknowledged_at"]

    events = client.get(f"/api/v1/referrals/{rid}/events", headers=fresh("patient")).json()
    assert [e["action"] for e in events] == [
        "create", "submit", "receive", "accept", "book", "arrive", "complete", "close",
    ]  # fmt: skip
    assert all(e["by_id"] for e in events)

    # 7. the reports count it.
    rep = client.get("/api/v1/referrals/reports", headers=fresh("coordinator")).json()
    assert rep["by_direction"]["up"] >= 1 and rep["by_status"]["closed"] >= 1
    assert rep["closure_rate"] == 1.0
    assert rep["acceptance_hours_mean"] == 3.0
    cmc = next(a for a in rep["by_alliance"] if a["key"] == "A-CMC-150122")
    assert cmc["up"] == 1
    assert any(lg["key"] == "150100" and lg["up"] == 1 for lg in rep["by_league"])

    # FHIR view of the closed referral
    sr = client.get(f"/fhir/R4/ServiceRequest/{rid}", headers=fd)
    assert sr.status_code == 200 and sr.headers["content-type"].startswith("application/fhir+json")
    assert sr.json()["status"] == "completed"
