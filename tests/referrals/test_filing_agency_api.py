"""The filing through the referral routes, the job and the fake agency over real HTTP: who
sees it (per object, audited), what they may do with it, and the agency's answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from referrals import insurance
from referrals.fake_agency import FakeAgency
from telemed.core import clock as core_clock
from telemed.core.audit import AuditEvent
from telemed.core.settings import Settings, get_settings
from telemed.identity.models import User
from telemed.identity.service import issue_token
from telemed.jobs.tasks import Context, run_task
from tests.referrals.agency_fixtures import (
    adapter_for,
    agency_settings,
)
from tests.referrals.conftest import league_hospital, staff_of, user_named

Login = Callable[[str], dict[str, str]]


def _token(session: Session, user: User) -> dict[str, str]:
    token, _ = issue_token(
        session=session, user=user, now=core_clock.now(), settings=get_settings()
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def settings(agency: FakeAgency) -> Iterator[Settings]:
    """The agency's settings for the job; the routes reach the same fake (installed adapter)."""
    s = agency_settings(agency)
    insurance.set_adapter(adapter_for(s))
    yield s
    insurance.set_adapter(None)


def _referred(client: TestClient, session: Session, login: Login) -> str:
    """The demo patient referred by the county doctor to the Baotou league hospital, sent."""
    body = {
        "patient_id": str(user_named(session, "patient").patient_id),
        "to_institution_id": str(league_hospital(session, "150200").id),
        "direction": "up",
        "reason": "冠脉介入评估",
        "diagnosis_code": "I25.1",
        "confirm_duplicate": True,
    }
    created = client.post("/api/v1/referrals", json=body, headers=login("county-doctor"))
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    sent = client.post(f"/api/v1/referrals/{rid}/submit", headers=login("county-doctor"))
    assert sent.status_code == 200, sent.text
    return str(rid)


def test_a_referral_is_filed_at_the_agency_and_shown_to_its_parties_only(
    client: TestClient, session: Session, login: Login, clock, agency: FakeAgency, settings
) -> None:
    rid = _referred(client, session, login)
    url = f"/api/v1/referrals/{rid}/filing"
    pending = client.get(url, headers=login("county-doctor")).json()
    assert pending["status"] == "submitted" and pending["filing_number"] is None
    ctx = Context(bind=session.connection(), settings=settings, now=clock)
    assert run_task("referrals.filings", ctx)["accepted"] == 1
    assert [r["infno"] for r in agency.requests] == ["2501"]
    mine = client.get(url, headers=login("county-doctor")).json()
    assert mine["status"] == "accepted" and mine["filing_number"] in agency.filings
    assert mine["allowed_actions"] == ["revoke"]
    shown = client.get(f"/api/v1/referrals/{rid}", headers=login("patient")).json()["filing"]
    assert shown == {
        "status": "accepted",
        "filing_number": mine["filing_number"],
        "valid_to": mine["valid_to"],
        "adapter_message": "",
        "allowed_actions": [],
    }
    listed = client.get(f"/api/v1/referrals/{rid}", headers=login("county-doctor")).json()
    assert listed["filing"]["allowed_actions"] == ["revoke"]
    patient = client.get(url, headers=login("patient"))
    assert patient.status_code == 200 and patient.json()["filing_number"] == mine["filing_number"]
    assert patient.json()["allowed_actions"] == []
    receiver = _token(session, staff_of(session, league_hospital(session, "150200"))[0])
    assert client.get(url, headers=receiver).status_code == 200
    stranger = _token(session, staff_of(session, league_hospital(session, "150300"))[0])
    hidden = client.get(url, headers=stranger)
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    reads = session.execute(
        select(AuditEvent).where(
            AuditEvent.object_type == "referral_filing", AuditEvent.object_id == mine["id"]
        )
    ).scalars()
    assert len(list(reads)) >= 3  # the referrer's, the patient's and the receiver's reads
    refused = client.post(f"{url}/revoke", headers=receiver)
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_part"


def test_revocation_goes_to_the_agency_and_illegal_moves_are_409(
    client: TestClient, session: Session, login: Login, clock, agency: FakeAgency, settings
) -> None:
    rid = _referred(client, session, login)
    url = f"/api/v1/referrals/{rid}/filing"
    early = client.post(f"{url}/revoke", headers=login("county-doctor"))
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    ran = run_task(
        "referrals.filings", Context(bind=session.connection(), settings=settings, now=clock)
    )
    assert ran["accepted"] == 1, ran
    session.commit()  # the requests share this session: a refused one rolls back to here
    agency.down = True
    down = client.post(f"{url}/revoke", headers=login("county-doctor"), json={"memo": "患者放弃"})
    assert down.status_code == 503 and down.json()["code"] == "agency_unavailable"
    assert down.headers["Retry-After"]
    assert client.get(url, headers=login("county-doctor")).json()["status"] == "accepted"
    agency.down = False
    done = client.post(f"{url}/revoke", headers=login("county-doctor"), json={"memo": "患者放弃"})
    assert done.status_code == 200 and done.json()["status"] == "revoked"
    number = done.json()["filing_number"]
    assert agency.filings[number]["status"] == "revoked"
    assert agency.requests[-1]["infno"] == "2502"
    assert agency.requests[-1]["input"]["data"]["trt_dcla_detl_sn"] == number
    again = client.post(f"{url}/revoke", headers=login("county-doctor"))
    assert again.status_code == 409 and again.json()["current_state"] == "revoked"
    resubmit = client.post(f"{url}/resubmit", headers=login("county-doctor"))
    assert resubmit.status_code == 409
    events = client.get(f"/api/v1/referrals/{rid}/events", headers=login("county-doctor")).json()
    assert [e["action"] for e in events][-1] == "filing_revoke"


def test_a_referral_within_the_league_has_no_filing(
    client: TestClient, session: Session, login: Login, agency: FakeAgency, settings
) -> None:
    body = {
        "patient_id": str(user_named(session, "patient").patient_id),
        "to_institution_id": str(league_hospital(session).id),
        "direction": "up",
        "reason": "复查",
        "diagnosis_code": "I10",
        "confirm_duplicate": True,
    }
    rid = client.post("/api/v1/referrals", json=body, headers=login("county-doctor")).json()["id"]
    client.post(f"/api/v1/referrals/{rid}/submit", headers=login("county-doctor"))
    missing = client.get(f"/api/v1/referrals/{rid}/filing", headers=login("county-doctor"))
    assert missing.status_code == 404
    assert (
        client.post(
            f"/api/v1/referrals/{rid}/filing/resubmit", headers=login("county-doctor")
        ).status_code
        == 404
    )
    assert agency.requests == []
