"""Every referral transition and refusal; who/when/why recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from referrals import service
from referrals.family import contracts
from referrals.models import Referral
from referrals.schemas import OutcomeIn, ReferralCreate
from telemed.core.errors import Conflict, Forbidden, Invalid, InvalidTransition, NotFound
from telemed.core.settings import get_settings
from telemed.identity.models import User
from tests.referrals.conftest import (
    CONSENT,
    county_hospital,
    demo_team,
    league_hospital,
    new_patient,
    staff_of,
    up_referral,
    user_named,
)

Login = Callable[[str], dict[str, str]]


def _token(session: Session, user: User) -> dict[str, str]:
    from telemed.core import clock as core_clock
    from telemed.identity.service import issue_token

    token, _ = issue_token(
        session=session, user=user, now=core_clock.now(), settings=get_settings()
    )
    return {"Authorization": f"Bearer {token}"}


def _do(session: Session, r: Referral, action: str, by: User, clock, **kw: Any) -> Referral:  # type: ignore[no-untyped-def]
    return service.transition(
        session=session,
        referral_id=r.id,
        action=action,
        by=by,
        now=clock.at,
        settings=get_settings(),
        **kw,
    )


def test_every_transition_with_who_when_why(session: Session, clock) -> None:
    cd = user_named(session, "county-doctor")
    rx = staff_of(session, league_hospital(session))[0]
    r = up_referral(session, clock)
    with pytest.raises(NotFound):
        _do(session, r, "receive", rx, clock)  # a draft is not sent yet: hidden from the receiver
    with pytest.raises(Forbidden):
        _do(session, up_referral(session, clock), "submit", user_named(session, "admin"), clock)
    r = _do(session, r, "submit", cd, clock)
    assert r.status == "requested" and r.contact_by == clock.at + timedelta(days=14)
    with pytest.raises(Forbidden) as exc:
        _do(session, r, "receive", cd, clock)
    assert exc.value.code == "not_your_part"
    _do(session, r, "receive", rx, clock)
    with pytest.raises(Invalid) as inv:
        _do(session, r, "reject", rx, clock)
    assert inv.value.code == "reason_required"
    clock.advance(hours=5)
    _do(session, r, "accept", rx, clock)
    assert r.accepted_at == clock.at
    with pytest.raises(Invalid):
        _do(session, r, "book", rx, clock)  # neither slot nor time
    with pytest.raises(Invalid):
        _do(session, r, "book", rx, clock, appointment_at=clock.at - timedelta(hours=1))
    _do(session, r, "book", rx, clock, appointment_at=clock.at + timedelta(days=1))
    with pytest.raises(InvalidTransition):
        _do(session, r, "close", cd, clock)
    _do(session, r, "arrive", rx, clock)
    _do(session, r, "complete", rx, clock)  # completed, outcome not yet written
    with pytest.raises(Conflict) as c:
        _do(session, r, "close", cd, clock)
    assert c.value.code == "outcome_missing"
    with pytest.raises(Forbidden):
        service.send_outcome(
            session=session, referral_id=r.id, by=cd, now=clock.at, outcome=OutcomeIn(summary="x")
        )
    service.send_outcome(
        session=session,
        referral_id=r.id,
        by=rx,
        now=clock.at,
        outcome=OutcomeIn(kind="discharge_summary", summary="PCI done", recommendations="DAPT 12m"),
    )
    with pytest.raises(Forbidden):
        _do(session, r, "close", rx, clock)  # the referrer acknowledges, not the receiver
    _do(session, r, "close", cd, clock)
    assert r.status == "closed" and r.acknowledged_by_id == cd.id
    with pytest.raises(InvalidTransition):
        _do(session, r, "cancel", cd, clock, reason="too late")
    events = service.events_of(session=session, referral_id=r.id)
    assert [(e.from_status, e.to_status) for e in events if e.action != "outcome"] == [
        ("draft", "draft"),
        ("draft", "requested"),
        ("requested", "received"),
        ("received", "accepted"),
        ("accepted", "booked"),
        ("booked", "arrived"),
        ("arrived", "completed"),
        ("completed", "closed"),
    ]
    assert all(e.by_id is not None and e.at is not None for e in events)


def test_reject_return_and_cancel_need_reasons(session: Session, clock) -> None:
    cd = user_named(session, "county-doctor")
    rx = staff_of(session, league_hospital(session))[0]
    rejected = _do(session, up_referral(session, clock), "submit", cd, clock)
    _do(session, rejected, "receive", rx, clock)
    _do(session, rejected, "reject", rx, clock, reason="no cardiology bed this week")
    assert service.events_of(session=session, referral_id=rejected.id)[-1].reason.startswith("no")  # type: ignore[union-attr]

    returned = _do(session, up_referral(session, clock), "submit", cd, clock)
    _do(session, returned, "receive", rx, clock)
    _do(session, returned, "accept", rx, clock)
    _do(session, returned, "return_with_advice", rx, clock, reason="manage locally: add statin")
    assert returned.status == "returned_with_advice"

    cancelled = _do(session, up_referral(session, clock), "submit", cd, clock)
    with pytest.raises(Invalid):
        _do(session, cancelled, "cancel", cd, clock)
    _do(session, cancelled, "cancel", cd, clock, reason="patient recovered")
    assert cancelled.status == "cancelled"


def test_refusals_are_problem_json(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    pid = user_named(session, "patient").patient_id
    regional = staff_of(session, league_hospital(session))  # noqa: F841 (ensures seed)
    from sqlmodel import select

    from telemed.network.models import Institution

    regional_inst = session.execute(
        select(Institution).where(Institution.name_zh == "内蒙古自治区人民医院")
    ).scalar_one()
    body = {
        "patient_id": str(pid),
        "to_institution_id": str(regional_inst.id),
        "direction": "up",
        "reason": "想去大医院",
        "diagnosis_code": "I10",
    }
    r = client.post("/api/v1/referrals", json=body, headers=login("county-doctor"))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "tier_skip"
    assert r.json()["errors"][0]["field"] == "to_institution_id"
    # the same with urgency passes (reason recorded)
    r = client.post(
        "/api/v1/referrals", json={**body, "urgency": "urgent"}, headers=login("county-doctor")
    )
    assert r.status_code == 201, r.text
    # a bad ICD-10 code
    r = client.post(
        "/api/v1/referrals",
        json={**body, "diagnosis_code": "hypertension"},
        headers=login("county-doctor"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "diagnosis_code"
    # referring a patient the doctor may not act for: hidden, 404
    r = client.post(
        "/api/v1/referrals",
        json={**body, "to_institution_id": str(county_hospital(session).id)},
        headers=login("specialist"),
    )
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # patients do not refer
    r = client.post("/api/v1/referrals", json=body, headers=login("patient"))
    assert r.status_code == 403
    # closing without an outcome
    ref = up_referral(session, clock)
    cd, rx = user_named(session, "county-doctor"), staff_of(session, league_hospital(session))[0]
    for action, by, kw in (
        ("submit", cd, {}),
        ("receive", rx, {}),
        ("accept", rx, {}),
        ("book", rx, {"appointment_at": clock.at + timedelta(hours=2)}),
        ("arrive", rx, {}),
        ("complete", rx, {}),
    ):
        _do(session, ref, action, by, clock, **kw)
    session.commit()  # (a refused request rolls the shared test session back to here)
    r = client.post(f"/api/v1/referrals/{ref.id}/close", headers=login("county-doctor"))
    assert r.status_code == 409 and r.json()["code"] == "outcome_missing"
    # an action out of order names the current state
    r = client.post(f"/api/v1/referrals/{ref.id}/accept", headers=login("county-doctor"))
    assert r.status_code == 403 and r.json()["code"] == "not_your_part"
    rx_token = _token(session, rx)
    r = client.post(f"/api/v1/referrals/{ref.id}/accept", headers=rx_token)
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    assert r.json()["current_state"] == "completed"


def test_down_referral_goes_to_the_contracted_team_with_a_care_plan(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    cd = user_named(session, "county-doctor")
    fd = user_named(session, "family-doctor")
    team = demo_team(session)
    p = new_patient(session)
    p.institution_id = cd.institution_id
    session.flush()
    contracts.sign_contract(
        session=session, patient_id=p.id, team_id=team.id, package_codes=["rehabilitation"],
        by=fd, now=clock.at, settings=get_settings(), consent=CONSENT,
    )  # fmt: skip
    other_primary = staff_of(session, county_hospital(session))  # noqa: F841
    from sqlmodel import select

    from telemed.network.models import Institution

    second_township = session.execute(
        select(Institution).where(Institution.code == "P1501222")
    ).scalar_one()
    base = {
        "patient_id": p.id,
        "direction": "down",
        "reason": "术后康复回社区",
        "diagnosis_code": "S72.0",
    }
    with pytest.raises(Invalid) as exc:
        service.create_referral(
            session=session,
            data=ReferralCreate(**base, to_institution_id=second_township.id, care_plan="康复训练"),
            by=cd, now=clock.at, settings=get_settings(),
        )  # fmt: skip
    assert exc.value.code == "not_contracted_team"
    with pytest.raises(Invalid) as exc:
        service.create_referral(
            session=session,
            data=ReferralCreate(**base),
            by=cd,
            now=clock.at,
            settings=get_settings(),
        )
    assert exc.value.code == "care_plan_required"
    r = service.create_referral(
        session=session,
        data=ReferralCreate(**base, care_plan="每周2次康复训练，4周后复查X线"),
        by=cd, now=clock.at, settings=get_settings(),
    )  # fmt: skip
    assert r.to_team_id == team.id and r.to_institution_id == team.institution_id
    _do(session, r, "submit", cd, clock)
    headers = login("family-doctor")
    assert client.post(f"/api/v1/referrals/{r.id}/receive", headers=headers).status_code == 200
    assert client.post(f"/api/v1/referrals/{r.id}/accept", headers=headers).status_code == 200
    wl = client.get(f"/api/v1/family-doctors/teams/{team.id}/worklist", headers=headers).json()
    plans = [c for c in wl["care_plans"] if c["referral_id"] == str(r.id)]
    assert plans and plans[0]["source"] == "down_referral"
    r2 = client.post(f"/api/v1/family-doctors/care-plans/{plans[0]['id']}/done", headers=headers)
    assert r2.status_code == 200


def test_cross_league_referral_produces_a_filing_record(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    cd = user_named(session, "county-doctor")
    baotou = league_hospital(session, "150200")
    r = up_referral(session, clock, to_institution_id=baotou.id)
    _do(session, r, "submit", cd, clock)
    pending = client.get(f"/api/v1/referrals/{r.id}/filing", headers=login("county-doctor"))
    assert pending.status_code == 200 and pending.json()["status"] == "submitted"
    # no agency configured in the tests' settings: the job numbers it locally
    service.send_due_filings(session=session, now=clock.at, settings=get_settings())
    filing = client.get(f"/api/v1/referrals/{r.id}/filing", headers=login("county-doctor"))
    assert filing.status_code == 200, filing.text
    f = filing.json()
    assert f["scope"] == "cross_league" and f["status"] == "accepted"
    assert f["insured_league_code"] == "150100" and f["treatment_league_code"] == "150200"
    assert f["filing_number"].startswith("YDBA-150200-")
    # within the league: no filing needed
    local = up_referral(session, clock)
    _do(session, local, "submit", cd, clock)
    assert (
        client.get(
            f"/api/v1/referrals/{local.id}/filing", headers=login("county-doctor")
        ).status_code
        == 404
    )


def test_insurance_adapter_refusal_is_recorded(session: Session, clock) -> None:
    from referrals.insurance import FilingResult, LocalFilingAdapter

    class Refusing(LocalFilingAdapter):
        def file(self, request):  # type: ignore[no-untyped-def]
            return FilingResult("rejected", None, "参保地未开通直接结算", "-1")

    cd = user_named(session, "county-doctor")
    r = up_referral(session, clock, to_institution_id=league_hospital(session, "150200").id)
    _do(session, r, "submit", cd, clock)
    settings = get_settings()
    service.send_due_filings(session=session, now=clock.at, settings=settings, adapter=Refusing())
    f = service.filing_of(session=session, referral_id=r.id)
    assert f is not None and f.status == "rejected" and f.adapter_message == "参保地未开通直接结算"
    service.resubmit_filing(session=session, filing=f, now=clock.at)
    service.send_due_filings(session=session, now=clock.at, settings=settings)
    assert f.status == "accepted"


def test_create_is_idempotent_with_a_key(
    client: TestClient, session: Session, login: Login
) -> None:
    pid = user_named(session, "patient").patient_id
    body = {
        "patient_id": str(pid),
        "to_institution_id": str(league_hospital(session).id),
        "direction": "up",
        "reason": "复杂心律失常",
        "diagnosis_code": "I49.9",
    }
    h = {**login("county-doctor"), "Idempotency-Key": "ref-create-42"}
    first = client.post("/api/v1/referrals", json=body, headers=h)
    again = client.post("/api/v1/referrals", json=body, headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = client.post("/api/v1/referrals", json={**body, "reason": "x"}, headers=h)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
