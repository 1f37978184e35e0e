"""Authorization matrix of a referral: referrer, receiver, other institution, the patient,
the patient's family doctor. Hidden is 404; visible but not your part is 403."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from referrals import service
from referrals.family import contracts
from referrals.schemas import ReferralCreate
from telemed.core import clock as core_clock
from telemed.core.settings import get_settings
from telemed.identity.models import User
from telemed.identity.service import issue_token
from tests.referrals.conftest import CONSENT, demo_team, league_hospital, staff_of, user_named

Login = Callable[[str], dict[str, str]]


def _headers(session: Session, user: User) -> dict[str, str]:
    token, _ = issue_token(
        session=session, user=user, now=core_clock.now(), settings=get_settings()
    )
    return {"Authorization": f"Bearer {token}"}


def test_authorization_matrix(client: TestClient, session: Session, login: Login, clock) -> None:
    settings = get_settings()
    pid = user_named(session, "patient").patient_id
    assert pid is not None
    fd, cd = user_named(session, "family-doctor"), user_named(session, "county-doctor")
    contracts.sign_contract(
        session=session, patient_id=pid, team_id=demo_team(session).id, package_codes=[],
        by=fd, now=clock.at, settings=settings, consent=CONSENT,
    )  # fmt: skip
    receiver = staff_of(session, league_hospital(session))[0]
    r = service.create_referral(
        session=session,
        data=ReferralCreate(
            patient_id=pid,
            to_institution_id=league_hospital(session).id,
            direction="up",
            reason="冠脉造影",
            diagnosis_code="I25.1",
        ),
        by=cd,
        now=clock.at,
        settings=settings,
    )
    session.commit()
    who = {
        "referrer": login("county-doctor"),
        "receiver": _headers(session, receiver),
        "other institution": login("specialist"),
        "patient": login("patient"),
        "family doctor": login("family-doctor"),
    }
    session.commit()

    def read() -> dict[str, int]:
        return {
            k: client.get(f"/api/v1/referrals/{r.id}", headers=h).status_code
            for k, h in who.items()
        }

    # a draft is the referrer's own (the patient and their family doctor see it too)
    assert read() == {
        "referrer": 200,
        "receiver": 404,
        "other institution": 404,
        "patient": 200,
        "family doctor": 200,
    }
    for k in ("receiver", "other institution", "patient", "family doctor"):
        assert client.post(f"/api/v1/referrals/{r.id}/submit", headers=who[k]).status_code in (
            403,
            404,
        ), k
    assert (
        client.post(f"/api/v1/referrals/{r.id}/submit", headers=who["referrer"]).status_code == 200
    )
    assert read() == {
        "referrer": 200,
        "receiver": 200,
        "other institution": 404,
        "patient": 200,
        "family doctor": 200,
    }
    # only the receiver receives/accepts
    expect = {"referrer": 403, "other institution": 404, "patient": 403, "family doctor": 403}
    got = {
        k: client.post(f"/api/v1/referrals/{r.id}/receive", headers=who[k]).status_code
        for k in expect
    }
    assert got == expect
    assert (
        client.post(f"/api/v1/referrals/{r.id}/receive", headers=who["receiver"]).status_code == 200
    )
    # the patient may cancel their own referral; the family doctor may not
    assert (
        client.post(
            f"/api/v1/referrals/{r.id}/cancel", json={"reason": "x"}, headers=who["family doctor"]
        ).status_code
        == 403
    )
    # the patient's record: the receiver now takes part; another institution does not
    assert client.get(f"/api/v1/patients/{pid}", headers=who["receiver"]).status_code == 200
    assert (
        client.get(f"/api/v1/patients/{pid}", headers=who["other institution"]).status_code == 404
    )
    assert client.get(f"/api/v1/patients/{pid}", headers=who["family doctor"]).status_code == 200
    # FHIR views follow the same rules
    for k, code in (("receiver", 200), ("other institution", 404), ("patient", 200)):
        assert client.get(f"/fhir/R4/ServiceRequest/{r.id}", headers=who[k]).status_code == code
    bundle = client.get(
        "/fhir/R4/Task", params={"patient": f"Patient/{pid}"}, headers=who["other institution"]
    )
    assert bundle.status_code == 200 and bundle.json().get("total") == 0
    # lists: the other institution sees nothing of it
    items = client.get("/api/v1/referrals", headers=who["other institution"]).json()["items"]
    assert str(r.id) not in {i["id"] for i in items}
    items = client.get("/api/v1/referrals", headers=who["family doctor"]).json()["items"]
    assert str(r.id) in {i["id"] for i in items}
    # every read was audited with the patient id
    from sqlmodel import select

    from telemed.core.audit import AuditEvent

    audited = (
        session.execute(
            select(AuditEvent).where(
                AuditEvent.object_type == "referral", AuditEvent.object_id == str(r.id)
            )
        )
        .scalars()
        .all()
    )
    assert audited and all(a.patient_id == pid for a in audited)


def test_contract_visibility(client: TestClient, session: Session, login: Login, clock) -> None:
    pid = user_named(session, "patient").patient_id
    assert pid is not None
    c = contracts.sign_contract(
        session=session,
        patient_id=pid,
        team_id=demo_team(session).id,
        package_codes=[],
        by=user_named(session, "family-doctor"),
        now=clock.at,
        settings=get_settings(),
        consent=CONSENT,
    )
    session.commit()
    for name, code in (
        ("patient", 200),
        ("family-doctor", 200),
        ("specialist", 404),
        ("admin", 200),
    ):
        got = client.get(f"/api/v1/family-doctors/contracts/{c.id}", headers=login(name))
        assert got.status_code == code, name
