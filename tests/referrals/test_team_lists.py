"""Team-wide lists of a family-doctor team: the queue of app signings waiting to be confirmed,
the team's home sick beds; and the patient's name on referrals. Team lists are for the team's
members (and admins): another team, a patient or a doctor of another institution gets 403.
Every row read is audited with its patient."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from referrals.family import contracts
from telemed.core import clock as core_clock
from telemed.core.audit import AuditEvent, AuditEventPatient
from telemed.core.settings import get_settings
from telemed.identity.models import User
from telemed.identity.service import issue_token
from tests.referrals.conftest import (
    CONSENT,
    demo_team,
    new_patient,
    new_team,
    up_referral,
    user_named,
)

Login = Callable[[str], dict[str, str]]


def _headers(session: Session, user: User) -> dict[str, str]:
    token, _ = issue_token(
        session=session, user=user, now=core_clock.now(), settings=get_settings()
    )
    return {"Authorization": f"Bearer {token}"}


def _resident_user(session: Session, patient_id: object) -> User:
    return session.execute(select(User).where(User.patient_id == patient_id)).scalar_one()


def _audited(session: Session, kind: str, object_id: object) -> list[set[uuid.UUID]]:
    """The patients named by each audit row about the object (a read of it or of a list
    that returned it)."""
    rows = session.execute(select(AuditEvent).where(AuditEvent.object_type == kind)).scalars()
    out = []
    for e in rows:
        if e.object_id == str(object_id) or str(object_id) in e.detail.get("object_ids", []):
            named = session.execute(
                select(AuditEventPatient.patient_id).where(AuditEventPatient.event_id == e.id)
            ).scalars()
            out.append(set(named))
    return out


def test_team_sees_pending_app_signings_and_confirms_them(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    team = demo_team(session)
    other_team, other_lead = new_team(session)
    p = new_patient(session, with_user=True)
    resident = _headers(session, _resident_user(session, p.id))
    other = _headers(session, other_lead)
    session.commit()
    fd = login("family-doctor")

    signed = client.post(
        "/api/v1/family-doctors/contracts",
        json={"patient_id": str(p.id), "team_id": str(team.id), "package_codes": ["hypertension"]},
        headers=resident,
    )
    assert signed.status_code == 201, signed.text
    assert signed.json()["status"] == "pending"
    cid = signed.json()["id"]

    url = "/api/v1/family-doctors/contracts"
    pending = client.get(url, params={"team_id": str(team.id), "status": "pending"}, headers=fd)
    assert pending.status_code == 200, pending.text
    row = next(c for c in pending.json() if c["id"] == cid)
    assert row["patient_name"] == p.name
    assert row["patient_resident_id_masked"] == p.resident_id_masked
    assert row["signing_channel"] == "app"
    assert all(c["status"] == "pending" for c in pending.json())
    named = _audited(session, "contract", cid)
    assert named and all(p.id in n for n in named)

    # another team (its own lead), the resident, a doctor of another institution: 403
    q = {"team_id": str(team.id), "status": "pending"}
    for headers in (other, resident, login("county-doctor")):
        r = client.get(url, params=q, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "not_team_member", r.text
    # the other team's own queue does not hold the resident's signing
    mine = client.get(url, params={"team_id": str(other_team.id)}, headers=other)
    assert mine.status_code == 200 and cid not in {c["id"] for c in mine.json()}
    assert client.get(url, params=q, headers=login("admin")).status_code == 200
    # neither a resident nor a team: 422 naming the field
    bad = client.get(url, headers=fd)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "patient_id"

    # the other team may not confirm; the resident's team does, and the queue empties
    r = client.post(f"{url}/{cid}/confirm", headers=other)
    assert r.status_code in (403, 404)
    r = client.post(f"{url}/{cid}/confirm", headers=fd)
    assert r.status_code == 200 and r.json()["status"] == "active", r.text
    pending = client.get(url, params=q, headers=fd).json()
    assert cid not in {c["id"] for c in pending}
    active = client.get(url, params={"team_id": str(team.id), "status": "active"}, headers=fd)
    assert cid in {c["id"] for c in active.json()}
    # the resident's own list still works and carries the name
    own = client.get(url, params={"patient_id": str(p.id)}, headers=resident).json()
    assert [c["patient_name"] for c in own] == [p.name]


def test_team_lists_its_home_beds_and_a_visit_completes_the_scheduled_home_visit(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    team = demo_team(session)
    _, other_lead = new_team(session)
    p = new_patient(session, born=date(1942, 6, 1))
    contracts.sign_contract(
        session=session,
        patient_id=p.id,
        team_id=team.id,
        package_codes=["elderly"],
        by=user_named(session, "family-doctor"),
        now=clock.at,
        settings=get_settings(),
        consent=CONSENT,
    )
    other = _headers(session, other_lead)
    session.commit()
    fd = login("family-doctor")

    bed = client.post(
        "/api/v1/family-doctors/home-beds",
        json={
            "patient_id": str(p.id),
            "diagnosis_code": "I69.3",
            "reason": "脑梗后遗症",
            "visit_interval_days": 3,
            "planned_services": ["康复指导"],
        },
        headers=fd,
    )
    assert bed.status_code == 201, bed.text
    b = bed.json()
    assert b["patient_name"] == p.name
    assert b["next_visit_due"] is not None and b["home_visits"] == []

    url = "/api/v1/family-doctors/home-beds"
    listed = client.get(url, params={"team_id": str(team.id), "status": "admitted"}, headers=fd)
    assert listed.status_code == 200, listed.text
    row = next(x for x in listed.json() if x["id"] == b["id"])
    assert row["patient_name"] == p.name and row["patient_resident_id_masked"]
    named = _audited(session, "home_bed", b["id"])
    assert named and all(p.id in n for n in named)
    r = client.get(url, params={"team_id": str(team.id)}, headers=other)
    assert r.status_code == 403 and r.json()["code"] == "not_team_member"
    assert (
        client.get(url, params={"team_id": str(team.id)}, headers=login("patient")).status_code
        == 403
    )

    # the team schedules a home visit and records the bed visit that carried it out
    hv = client.post(
        "/api/v1/family-doctors/home-visits",
        json={"patient_id": str(p.id), "reason": "家庭病床查床"},
        headers=fd,
    ).json()
    when = (clock.at + timedelta(hours=4)).isoformat()  # today, 13:00 Beijing time
    r = client.post(
        f"/api/v1/family-doctors/home-visits/{hv['id']}/schedule",
        json={"scheduled_at": when},
        headers=fd,
    )
    assert r.status_code == 200 and r.json()["status"] == "scheduled"
    shown = client.get(f"{url}/{b['id']}", headers=fd).json()
    assert [v["status"] for v in shown["home_visits"]] == ["scheduled"]

    stranger = new_patient(session)
    session.commit()
    wrong = client.post(
        f"{url}/{b['id']}/visits",
        json={"notes": "x", "home_visit_id": str(stranger.id)},
        headers=fd,
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "home_visit_id"

    clock.advance(hours=2)
    done = client.post(
        f"{url}/{b['id']}/visits",
        json={"notes": "肌力改善", "vitals": {"bp": "138/86"}, "home_visit_id": hv["id"]},
        headers=fd,
    )
    assert done.status_code == 200, done.text
    d = done.json()
    assert len(d["visits"]) == 1 and d["home_visits"][0]["status"] == "done"
    again = client.post(f"{url}/{b['id']}/visits", json={"home_visit_id": hv["id"]}, headers=fd)
    assert again.status_code == 409 and again.json()["code"] == "not_scheduled"

    out = client.post(f"{url}/{b['id']}/discharge", json={"summary": "康复出院"}, headers=fd)
    assert out.status_code == 200 and out.json()["next_visit_due"] is None
    admitted = client.get(url, params={"team_id": str(team.id), "status": "admitted"}, headers=fd)
    assert b["id"] not in {x["id"] for x in admitted.json()}
    gone = client.get(url, params={"team_id": str(team.id), "status": "discharged"}, headers=fd)
    assert b["id"] in {x["id"] for x in gone.json()}


def test_referrals_carry_the_patient_name_for_those_who_see_them(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    r = up_referral(session, clock)
    pid = r.patient_id
    session.commit()
    cd = login("county-doctor")
    patient = client.get(f"/api/v1/patients/{pid}", headers=cd).json()

    items = client.get("/api/v1/referrals", headers=cd).json()["items"]
    row = next(i for i in items if i["id"] == str(r.id))
    assert row["patient_name"] == patient["name"]
    assert row["patient_resident_id_masked"] == patient["resident_id_masked"]
    one = client.get(f"/api/v1/referrals/{r.id}", headers=cd).json()
    assert one["patient_name"] == patient["name"]
    audited = _audited(session, "referral", r.id)
    assert len(audited) >= 2 and all(pid in n for n in audited)
    # someone who does not see the referral learns nothing, not even the name
    hidden = client.get(f"/api/v1/referrals/{r.id}", headers=login("specialist"))
    assert hidden.status_code == 404 and patient["name"] not in hidden.text
