"""The family doctor's patient search (`GET /patients?q=`): part of a Chinese name, the
resident ID's last four characters or a phone number find the residents the doctor may see
(their own institution's, those contracted to their team, those of referrals they take part
in) and no one else; every result is an audited read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from referrals.family import contracts
from telemed.core.audit import AuditEvent, AuditEventPatient
from telemed.core.settings import get_settings
from telemed.identity.models import Patient
from tests.referrals.conftest import CONSENT, demo_team, new_patient, user_named

Login = Callable[[str], dict[str, str]]


def _resident(session: Session, name: str, phone: str) -> Patient:
    p = new_patient(session)
    p.name, p.phone = name, phone
    session.flush()
    return p


def _contract(session: Session, p: Patient, clock: Any) -> None:
    contracts.sign_contract(
        session=session,
        patient_id=p.id,
        team_id=demo_team(session).id,
        package_codes=[],
        by=user_named(session, "family-doctor"),
        now=clock.at,
        settings=get_settings(),
        consent=CONSENT,
    )


def _found(client: TestClient, headers: dict[str, str], q: str) -> list[str]:
    r = client.get("/api/v1/patients", params={"q": q}, headers=headers)
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()]


def test_family_doctor_finds_a_contracted_resident_by_part_of_the_name_id_tail_or_phone(
    client: TestClient, session: Session, login: Login, clock: Any
) -> None:
    mine = _resident(session, "其其格玛检索", "13900461234")
    _contract(session, mine, clock)
    stranger = _resident(session, "其其格检索外人", "13900469876")  # same county, no contract
    fd = login("family-doctor")
    tail = mine.resident_id_masked[-4:]
    for q in ("格玛检", "其其格", tail, "13900461234", "0461234"):
        found = _found(client, fd, q)
        assert str(mine.id) in found, q
        assert str(stranger.id) not in found, q
    assert _found(client, fd, "检索外人") == []
    # a doctor of another institution who takes no part in her care finds neither
    other = login("specialist")
    for q in ("其其格", tail, "13900461234"):
        assert str(mine.id) not in _found(client, other, q), q
    # what was shown was read: one audited read naming the resident per search that found her
    reads = session.execute(
        select(AuditEvent)
        .join(AuditEventPatient, col(AuditEventPatient.event_id) == AuditEvent.id)
        .where(
            AuditEvent.action == "read",
            AuditEvent.object_type == "patient",
            AuditEventPatient.patient_id == mine.id,
        )
    ).all()
    assert len(reads) == 5


def test_a_wildcard_in_the_term_is_a_character_not_a_pattern(
    client: TestClient, session: Session, login: Login, clock: Any
) -> None:
    mine = _resident(session, "阿拉坦检索", "13900460000")
    _contract(session, mine, clock)
    fd = login("family-doctor")
    assert str(mine.id) in _found(client, fd, "阿拉坦")
    assert _found(client, fd, "%") == [] and _found(client, fd, "阿_坦") == []


def test_a_patient_may_not_search(client: TestClient, login: Login) -> None:
    r = client.get("/api/v1/patients", params={"q": "其其格"}, headers=login("patient"))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
