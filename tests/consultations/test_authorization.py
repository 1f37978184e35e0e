"""The authorization matrix: who may read and do what with one request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.identity.models import User
from telemed.network.models import Institution

SIGN = {"password": "telemed-demo"}  # signing re-authenticates the signer

API = "/api/v1/consultations"
OPINION = {"findings": "f", "impression": "i", "icd10": ["R91"]}


@pytest.fixture
def actors(session: Session, users: Callable[[str], User]) -> dict[str, str]:
    """Role in the matrix -> username."""
    requester = users("county-doctor")
    colleague = (
        session.execute(
            select(User).where(
                User.institution_id == requester.institution_id,
                User.id != requester.id,
                User.role == "county_doctor",
            )
        )
        .scalars()
        .first()
    )
    assert colleague is not None
    return {
        "requesting doctor": "county-doctor",
        "other doctor, same hospital": colleague.username,
        "assigned specialist": "specialist2",
        "other specialist": "specialist",  # cardiology, same regional hospital
        "coordinator": "coordinator",
        "patient": "patient",
    }


READ = {
    "requesting doctor": 200,
    "other doctor, same hospital": 200,
    "assigned specialist": 200,
    "other specialist": 404,
    "coordinator": 200,
    "patient": 200,
}


def test_who_may_read_a_request(
    client: TestClient, login: Any, actors: dict[str, str], make_request: Any
) -> None:
    c = make_request()
    client.post(f"{API}/{c['id']}/accept", headers=login("specialist2"))
    got = {
        role: client.get(f"{API}/{c['id']}", headers=login(name)).status_code
        for role, name in actors.items()
    }
    assert got == READ
    history = {
        role: client.get(f"{API}/{c['id']}/history", headers=login(name)).status_code
        for role, name in actors.items()
    }
    assert history == READ


def test_a_draft_is_visible_only_to_its_author(
    client: TestClient, login: Any, actors: dict[str, str], make_request: Any
) -> None:
    c = make_request(submit=False)
    got = {
        role: client.get(f"{API}/{c['id']}", headers=login(name)).status_code
        for role, name in actors.items()
    }
    assert got == {**{r: 404 for r in READ}, "requesting doctor": 200}


@pytest.mark.parametrize(
    "action, allowed",
    [
        ("accept", {"assigned specialist", "coordinator"}),  # specialist2 is the chosen one
        ("cancel", {"requesting doctor"}),
        ("redirect", {"coordinator"}),
        ("decline", {"assigned specialist", "coordinator"}),
    ],
)
def test_who_may_act_on_a_submitted_request(
    client: TestClient,
    login: Any,
    actors: dict[str, str],
    make_request: Any,
    session: Session,
    action: str,
    allowed: set[str],
) -> None:
    bodies = {
        "cancel": {"reason": "r"},
        "decline": {"reason": "r"},
        "redirect": {"reason": "r", "specialist_id": None},
    }
    for role, name in actors.items():
        c = make_request()
        body: Any = bodies.get(action)
        if action == "redirect":
            league = (
                session.execute(select(Institution).where(Institution.tier == "league"))
                .scalars()
                .first()
            )
            body = {"reason": "r", "institution_id": str(league.id)}  # type: ignore[union-attr]
        r = client.post(f"{API}/{c['id']}/{action}", json=body, headers=login(name))
        if role in allowed:
            assert r.status_code == 200, (role, r.text)
        else:
            expected = 404 if READ[role] == 404 else 403
            assert r.status_code == expected, (role, action, r.status_code, r.text)


def test_only_the_assigned_specialist_writes_signs_and_sees_the_draft(
    client: TestClient, login: Any, actors: dict[str, str], make_request: Any
) -> None:
    c = make_request()
    client.post(f"{API}/{c['id']}/accept", headers=login("specialist2"))
    for role, name in actors.items():
        r = client.put(f"{API}/{c['id']}/opinion", json=OPINION, headers=login(name))
        if role == "assigned specialist":
            assert r.status_code == 200
        else:
            assert r.status_code == (404 if READ[role] == 404 else 403), role
    draft = {
        role: client.get(f"{API}/{c['id']}/opinion", headers=login(name)).status_code
        for role, name in actors.items()
    }
    assert draft == {**{r: 404 for r in READ}, "assigned specialist": 200}
    for role, name in actors.items():
        if role != "assigned specialist":
            r = client.post(f"{API}/{c['id']}/opinion/sign", json=SIGN, headers=login(name))
            assert r.status_code in (403, 404), role
    assert (
        client.post(
            f"{API}/{c['id']}/opinion/sign", json=SIGN, headers=login("specialist2")
        ).status_code
        == 200
    )
    signed = {
        role: client.get(f"{API}/{c['id']}/opinion", headers=login(name)).status_code
        for role, name in actors.items()
    }
    assert signed == READ
    ack = {
        role: client.post(f"{API}/{c['id']}/acknowledge", headers=login(name)).status_code
        for role, name in actors.items()
        if role != "requesting doctor"
    }
    assert set(ack.values()) <= {403, 404}


def test_participants_may_read_the_patient(
    client: TestClient, login: Any, make_request: Any, demo_patient: Any
) -> None:
    path = f"/api/v1/patients/{demo_patient.id}"
    assert client.get(path, headers=login("specialist2")).status_code == 404
    make_request()  # specialist2 is the chosen specialist of a submitted request
    assert client.get(path, headers=login("specialist2")).status_code == 200
    assert client.get(path, headers=login("specialist")).status_code == 404
