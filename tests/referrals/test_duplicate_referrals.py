"""A second referral of the same patient to the same destination while the first stands is
refused with 409 `duplicate_referral` naming the open one, unless the doctor confirms it
(`confirm_duplicate: true`); another department, or after the first is cancelled, is not a
duplicate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.network.models import Department
from tests.referrals.conftest import league_hospital, new_patient, user_named

Login = Callable[[str], dict[str, str]]


def _body(pid: Any, to: Any, **kw: Any) -> dict[str, Any]:
    return {
        "patient_id": str(pid),
        "to_institution_id": str(to),
        "direction": "up",
        "urgency": "urgent",
        "reason": "胸痛待查",
        "diagnosis_code": "I20.9",
        **kw,
    }


def test_a_duplicate_urgent_referral_is_refused_until_confirmed(
    client: TestClient, session: Session, login: Login, clock: Any
) -> None:
    cd = login("county-doctor")
    patient = new_patient(session)
    patient.institution_id = user_named(session, "county-doctor").institution_id
    league = league_hospital(session)
    session.flush()
    first = client.post("/api/v1/referrals", json=_body(patient.id, league.id), headers=cd)
    assert first.status_code == 201, first.text
    sent = client.post(f"/api/v1/referrals/{first.json()['id']}/submit", headers=cd)
    assert sent.status_code == 200, sent.text

    again = client.post("/api/v1/referrals", json=_body(patient.id, league.id), headers=cd)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    problem = again.json()
    assert problem["code"] == "duplicate_referral"
    assert problem["open_referral_id"] == first.json()["id"]
    assert (problem["open_referral_status"], problem["open_referral_urgency"]) == (
        "requested",
        "urgent",
    )
    listed = client.get("/api/v1/referrals", params={"patient_id": str(patient.id)}, headers=cd)
    assert len(listed.json()["items"]) == 1  # nothing was created by the refusal

    confirmed = client.post(
        "/api/v1/referrals",
        json=_body(patient.id, league.id, confirm_duplicate=True),
        headers=cd,
    )
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["id"] != first.json()["id"]


def test_another_department_or_a_cancelled_one_is_no_duplicate(
    client: TestClient, session: Session, login: Login, clock: Any
) -> None:
    cd = login("county-doctor")
    patient = new_patient(session)
    patient.institution_id = user_named(session, "county-doctor").institution_id
    league = league_hospital(session)
    session.flush()
    depts = list(
        session.execute(
            select(Department).where(Department.institution_id == league.id).limit(2)
        ).scalars()
    )
    a, b = (str(d.id) for d in depts)
    first = client.post(
        "/api/v1/referrals", json=_body(patient.id, league.id, to_department_id=a), headers=cd
    )
    assert first.status_code == 201, first.text
    # a draft stands too: the same department again is a duplicate, another one is not
    same = client.post(
        "/api/v1/referrals", json=_body(patient.id, league.id, to_department_id=a), headers=cd
    )
    assert same.status_code == 409 and same.json()["open_referral_id"] == first.json()["id"]
    other = client.post(
        "/api/v1/referrals", json=_body(patient.id, league.id, to_department_id=b), headers=cd
    )
    assert other.status_code == 201, other.text
    # no department named: the same institution's standing referrals count
    anywhere = client.post("/api/v1/referrals", json=_body(patient.id, league.id), headers=cd)
    assert anywhere.status_code == 409
    for made in (first, other):
        rid = made.json()["id"]
        assert client.post(f"/api/v1/referrals/{rid}/submit", headers=cd).status_code == 200
        r = client.post(
            f"/api/v1/referrals/{rid}/cancel", json={"reason": "患者已好转"}, headers=cd
        )
        assert r.status_code == 200, r.text
    after = client.post("/api/v1/referrals", json=_body(patient.id, league.id), headers=cd)
    assert after.status_code == 201, after.text
