"""Contract lifecycle with the injectable clock: signing, capacity, expiry, renewal, switching."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from referrals.family import contract_queries, contracts, follow_ups, teams
from referrals.models import Contract, FollowUp
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.notifications import Notification
from telemed.core.settings import get_settings
from telemed.identity.models import User
from tests.referrals.conftest import CONSENT, demo_team, new_patient, new_team, user_named

Login = Callable[[str], dict[str, str]]


def _sign(session: Session, patient_id, team, by, clock, **kw) -> Contract:  # type: ignore[no-untyped-def]
    return contracts.sign_contract(
        session=session,
        patient_id=patient_id,
        team_id=team.id,
        package_codes=kw.pop("package_codes", ["hypertension"]),
        by=by,
        now=clock.at,
        settings=kw.pop("settings", get_settings()),
        consent=kw.pop("consent", CONSENT),
        **kw,
    )


def test_doctor_signing_needs_recorded_consent_and_activates(session: Session, clock) -> None:
    team, fd = demo_team(session), user_named(session, "family-doctor")
    p = new_patient(session)
    with pytest.raises(Invalid) as exc:
        _sign(session, p.id, team, fd, clock, consent=None)
    assert exc.value.code == "consent_required"
    c = _sign(session, p.id, team, fd, clock)
    assert c.status == "active" and c.consent["method"] == "written"
    assert c.consent["recorded_by"] == str(fd.id)
    assert c.term_end == date(2027, 12, 1)  # one year from 2026-12-01 (Shanghai)
    # the chronic package generates its follow-ups: every 90 days within the term
    dues = [f.due_on for f in follow_ups.follow_ups_of(session=session, contract_id=c.id)]
    assert dues == [date(2026, 12, 1) + timedelta(days=90 * k) for k in (1, 2, 3, 4)]


def test_resident_signs_in_the_app_pending_until_the_team_confirms(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    team = demo_team(session)
    pid = user_named(session, "patient").patient_id
    r = client.post(
        "/api/v1/family-doctors/contracts",
        json={"patient_id": str(pid), "team_id": str(team.id), "package_codes": ["diabetes_t2"]},
        headers=login("patient"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending" and r.json()["signing_channel"] == "app"
    cid = r.json()["id"]
    # another resident's id: hidden
    other = new_patient(session)
    r2 = client.post(
        "/api/v1/family-doctors/contracts",
        json={"patient_id": str(other.id), "team_id": str(team.id)},
        headers=login("patient"),
    )
    assert r2.status_code == 404
    r = client.post(
        f"/api/v1/family-doctors/contracts/{cid}/confirm", headers=login("family-doctor")
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"


def test_package_eligibility_is_checked(session: Session, clock) -> None:
    team, fd = demo_team(session), user_named(session, "family-doctor")
    young = new_patient(session, born=date(1990, 1, 1))
    with pytest.raises(Invalid) as exc:
        _sign(session, young.id, team, fd, clock, package_codes=["elderly"])
    assert exc.value.code == "package_not_eligible"
    with pytest.raises(Invalid):
        _sign(session, young.id, team, fd, clock, package_codes=["maternal"])  # male
    with pytest.raises(Invalid):
        _sign(session, young.id, team, fd, clock, package_codes=["no-such"])


def test_second_contract_and_switching_teams(session: Session, clock) -> None:
    team, fd = demo_team(session), user_named(session, "family-doctor")
    other_team, other_lead = new_team(session)
    p = new_patient(session)
    first = _sign(session, p.id, team, fd, clock)
    with pytest.raises(Conflict) as exc:
        _sign(session, p.id, team, fd, clock)
    assert exc.value.code == "already_contracted"
    with pytest.raises(Conflict) as exc:
        _sign(session, p.id, other_team, other_lead, clock)
    assert exc.value.code == "switch_only_at_renewal"
    # a resident who moves may switch at once: the old contract ends with the reason
    moved = _sign(session, p.id, other_team, other_lead, clock, moving=True)
    assert moved.status == "active"
    session.refresh(first)
    assert first.status == "terminated" and first.end_reason == "resident moved"


def test_database_refuses_a_second_active_contract(session: Session, clock) -> None:
    """Even bypassing the service, the partial unique index holds."""
    from sqlalchemy.exc import IntegrityError

    team, fd = demo_team(session), user_named(session, "family-doctor")
    p = new_patient(session)
    c = _sign(session, p.id, team, fd, clock)
    twin = Contract(
        patient_id=p.id,
        team_id=team.id,
        status="active",
        term_start=c.term_start,
        term_end=c.term_end,
        signing_channel="doctor",
        signed_by_id=fd.id,
        signed_at=clock.at,
        created_at=clock.at,
    )
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(twin)
        session.flush()


def test_team_over_capacity_refuses(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    team, lead = new_team(session, capacity=1)
    _sign(session, new_patient(session).id, team, lead, clock)
    with pytest.raises(Conflict) as exc:
        _sign(session, new_patient(session).id, team, lead, clock)
    assert exc.value.code == "team_over_capacity"
    assert exc.value.extra == {"capacity": 1, "contracted": 1}


def test_default_capacity_is_2000_per_family_doctor(session: Session) -> None:
    team, _ = new_team(session)
    settings = get_settings()
    assert teams.capacity_of(session=session, team=team, settings=settings) == 2000
    fd = user_named(session, "family-doctor")
    teams.add_member(session=session, team=team, user_id=fd.id, role="family_doctor")
    teams.add_member(
        session=session, team=team, user_id=user_named(session, "county-doctor").id, role="nurse"
    )
    assert teams.capacity_of(session=session, team=team, settings=settings) == 4000


def test_expiry_reminder_renewal_and_switch_at_renewal(session: Session, clock) -> None:
    team, fd = demo_team(session), user_named(session, "family-doctor")
    other_team, other_lead = new_team(session)
    p = new_patient(session, with_user=True)
    c = _sign(session, p.id, team, fd, clock)
    settings = get_settings()

    # 20 days before the end: one reminder to the resident and the lead
    clock.at = clock.at + timedelta(days=345)
    out = contracts.run_contract_jobs(session=session, now=clock.at, settings=settings)
    assert out["reminded"] >= 1
    sent = (
        session.execute(select(Notification).where(Notification.kind == "contract.expiring"))
        .scalars()
        .all()
    )
    assert {n.data["contract_id"] for n in sent} >= {str(c.id)}
    mine = [n for n in sent if n.data["contract_id"] == str(c.id)]
    resident = session.execute(select(User.id).where(User.patient_id == p.id)).scalar_one()
    # in the app to the resident's account and the lead; one SMS, to the resident
    assert sorted((str(n.user_id), str(n.patient_id), n.channel) for n in mine) == sorted(
        [
            (str(resident), "None", "in_app"),
            (str(fd.id), "None", "in_app"),
            ("None", str(p.id), "sms"),
        ]
    )
    assert (
        contracts.run_contract_jobs(session=session, now=clock.at, settings=settings)["reminded"]
        == 0
    )  # not twice

    # renew with another team: allowed at renewal, pending until the term ends
    nxt = contracts.renew(
        session=session,
        contract=c,
        by=other_lead,
        now=clock.at,
        settings=settings,
        consent=CONSENT,
        team_id=other_team.id,
    )
    assert nxt.status == "pending" and nxt.term_start == c.term_end
    with pytest.raises(Conflict):
        contracts.renew(
            session=session, contract=c, by=fd, now=clock.at, settings=settings, consent=CONSENT
        )

    # the term ends: expired, and the next term becomes active
    clock.at = clock.at + timedelta(days=21)
    out = contracts.run_contract_jobs(session=session, now=clock.at, settings=settings)
    assert out["expired"] >= 1 and out["activated"] >= 1
    session.refresh(c)
    session.refresh(nxt)
    assert c.status == "expired" and nxt.status == "active"
    assert contract_queries.active_contract_for(session=session, patient_id=p.id).id == nxt.id  # type: ignore[union-attr]
    # follow-ups of the new term belong to the new team
    fus = session.execute(select(FollowUp).where(FollowUp.contract_id == nxt.id)).scalars().all()
    assert fus and all(f.team_id == other_team.id for f in fus)


def test_terminate_and_who_may_sign(session: Session, clock) -> None:
    team, fd = demo_team(session), user_named(session, "family-doctor")
    p = new_patient(session)
    with pytest.raises(Forbidden):  # not a member of the team
        _sign(session, p.id, team, user_named(session, "county-doctor"), clock)
    far = new_patient(session, county="150202")  # another county, not readable
    with pytest.raises(NotFound):
        _sign(session, far.id, team, fd, clock)
    c = _sign(session, p.id, team, fd, clock)
    with pytest.raises(Invalid):
        contracts.terminate(session=session, contract=c, by=fd, now=clock.at, reason=" ")
    contracts.terminate(session=session, contract=c, by=fd, now=clock.at, reason="resident's wish")
    assert c.status == "terminated"
    assert contract_queries.active_contract_for(session=session, patient_id=p.id) is None
    # a new contract is possible after termination
    assert _sign(session, p.id, team, fd, clock).status == "active"


def test_overdue_follow_ups_show_on_the_team_worklist(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    team, fd = demo_team(session), user_named(session, "family-doctor")
    p = new_patient(session)
    c = _sign(session, p.id, team, fd, clock, package_codes=["diabetes_t2"])
    headers = login("family-doctor")
    wl = client.get(f"/api/v1/family-doctors/teams/{team.id}/worklist", headers=headers).json()
    assert not [f for f in wl["overdue_follow_ups"] if f["contract_id"] == str(c.id)]
    clock.at = clock.at + timedelta(days=92)
    headers = login("family-doctor")  # (cached token; the API reads the fixed clock)
    from telemed.identity.service import issue_token

    token, _ = issue_token(session=session, user=fd, now=clock.at, settings=get_settings())
    headers = {"Authorization": f"Bearer {token}"}
    wl = client.get(f"/api/v1/family-doctors/teams/{team.id}/worklist", headers=headers).json()
    overdue = [f for f in wl["overdue_follow_ups"] if f["contract_id"] == str(c.id)]
    assert len(overdue) == 1
    assert overdue[0]["patient_name"] == p.name  # the worklist names the resident
    assert overdue[0]["patient_resident_id_masked"] == p.resident_id_masked
    r = client.post(
        f"/api/v1/family-doctors/follow-ups/{overdue[0]['id']}/done",
        json={"notes": "FPG 7.8", "measurements": {"fpg_mmol_l": 7.8}},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    wl = client.get(f"/api/v1/family-doctors/teams/{team.id}/worklist", headers=headers).json()
    assert not [f for f in wl["overdue_follow_ups"] if f["contract_id"] == str(c.id)]
    # someone outside the team does not see the worklist
    r = client.get(f"/api/v1/family-doctors/teams/{team.id}/worklist", headers=login("specialist"))
    assert r.status_code in (401, 404)


def test_contract_endpoints_renew_terminate_and_team_members(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    team = demo_team(session)
    pid = user_named(session, "patient").patient_id
    fd, me = login("family-doctor"), login("patient")
    c = client.post(
        "/api/v1/family-doctors/contracts",
        json={
            "patient_id": str(pid),
            "team_id": str(team.id),
            "consent": {"method": "fingerprint"},
        },
        headers=fd,
    ).json()
    # the resident renews in the app: pending and unconfirmed until the team confirms
    nxt = client.post(f"/api/v1/family-doctors/contracts/{c['id']}/renew", json={}, headers=me)
    assert nxt.status_code == 201, nxt.text
    assert nxt.json()["status"] == "pending" and nxt.json()["confirmed_at"] is None
    assert nxt.json()["previous_contract_id"] == c["id"]
    listed = client.get(
        "/api/v1/family-doctors/contracts", params={"patient_id": str(pid)}, headers=me
    ).json()
    assert {x["id"] for x in listed} == {c["id"], nxt.json()["id"]}
    hidden = client.get(
        "/api/v1/family-doctors/contracts",
        params={"patient_id": str(pid)},
        headers=login("specialist"),
    )
    assert hidden.json() == []
    # only the resident or the team ends a contract; a reason is required
    r = client.post(
        f"/api/v1/family-doctors/contracts/{c['id']}/terminate", json={"reason": ""}, headers=me
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/family-doctors/contracts/{c['id']}/terminate",
        json={"reason": "搬家到外地"},
        headers=me,
    )
    assert r.status_code == 200 and r.json()["status"] == "terminated"
    # team members are added by the lead
    nurse = user_named(session, "coordinator")
    r = client.post(
        f"/api/v1/family-doctors/teams/{team.id}/members",
        json={"user_id": str(nurse.id), "role": "nurse"},
        headers=login("county-doctor"),
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/family-doctors/teams/{team.id}/members",
        json={"user_id": str(nurse.id), "role": "nurse"},
        headers=fd,
    )
    assert (
        r.status_code == 200 and {"user_id": str(nurse.id), "role": "nurse"} in r.json()["members"]
    )
    assert r.json()["capacity"] == 2000  # nurses do not add capacity
    pk = client.get("/api/v1/family-doctors/packages", headers=me).json()
    assert {p["code"] for p in pk} == {
        "basic",
        "hypertension",
        "diabetes_t2",
        "elderly",
        "maternal",
        "child",
        "severe_mental",
        "rehabilitation",
    }
    assert next(p for p in pk if p["code"] == "hypertension")["fee_yuan"] == 60.0
