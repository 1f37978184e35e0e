"""Signing re-authenticates the signer: the right password signs, none or a wrong one is
refused with a stable code and leaves the draft unsigned, and wrong ones are throttled like
logins."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from telemed.consultations.models import Opinion
from telemed.core.audit import AuditEvent
from tests.conftest import FixedClock

API = "/api/v1/consultations"
OPINION = {"findings": "右肺上叶见一约8mm磨玻璃结节。", "impression": "右肺上叶磨玻璃结节"}


@pytest.fixture
def drafted(client: TestClient, login: Any, make_request: Any) -> str:
    c = make_request()
    spec = login("specialist2")
    assert client.post(f"{API}/{c['id']}/accept", headers=spec).status_code == 200
    assert client.put(f"{API}/{c['id']}/opinion", json=OPINION, headers=spec).status_code == 200
    return str(c["id"])


def _sign(client: TestClient, login: Any, cid: str, body: Any) -> Any:
    return client.post(f"{API}/{cid}/opinion/sign", json=body, headers=login("specialist2"))


def _unsigned(client: TestClient, login: Any, session: Session, cid: str) -> None:
    c = client.get(f"{API}/{cid}", headers=login("specialist2")).json()
    assert c["state"] == "accepted"
    rows = session.execute(select(Opinion).where(col(Opinion.consultation_id) == cid)).scalars()
    assert [(o.signed_at, o.signature) for o in rows] == [(None, None)]


def test_the_right_password_signs(
    client: TestClient, login: Any, session: Session, drafted: str
) -> None:
    r = _sign(client, login, drafted, {"password": "telemed-demo"})
    assert r.status_code == 200, r.text
    assert r.json()["signed_at"] and r.json()["signature"]
    c = client.get(f"{API}/{drafted}", headers=login("county-doctor")).json()
    assert c["state"] == "reported"


@pytest.mark.parametrize("body", [None, {}, {"password": ""}])
def test_no_password_is_refused_and_nothing_is_signed(
    client: TestClient, login: Any, session: Session, drafted: str, body: Any
) -> None:
    r = _sign(client, login, drafted, body)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "reauthentication_required"
    _unsigned(client, login, session, drafted)


def test_a_wrong_password_is_refused_audited_and_nothing_is_signed(
    client: TestClient, login: Any, session: Session, drafted: str
) -> None:
    r = _sign(client, login, drafted, {"password": "not-my-password"})
    assert r.status_code == 403
    assert r.json()["code"] == "reauthentication_failed"
    assert r.json()["errors"][0]["field"] == "password"
    _unsigned(client, login, session, drafted)
    refused = session.execute(
        select(AuditEvent).where(
            col(AuditEvent.action) == "refused", col(AuditEvent.object_id) == drafted
        )
    ).scalars()
    assert any("reauthentication_failed" in e.detail["reason"] for e in refused)


def test_wrong_passwords_are_throttled_like_logins(
    client: TestClient, login: Any, session: Session, drafted: str, clock: FixedClock
) -> None:
    login("specialist2")  # the token first: the login itself must not be what is throttled
    for _ in range(6):  # account_free_failures, then the failure that starts the block
        r = _sign(client, login, drafted, {"password": "wrong"})
        assert r.status_code == 403 and r.json()["code"] == "reauthentication_failed"
    blocked = _sign(client, login, drafted, {"password": "telemed-demo"})
    assert blocked.status_code == 429, blocked.text
    assert blocked.json()["code"] == "login_throttled"
    assert int(blocked.headers["Retry-After"]) >= 1
    _unsigned(client, login, session, drafted)
    clock.advance(seconds=int(blocked.headers["Retry-After"]) + 1)
    r = _sign(client, login, drafted, {"password": "telemed-demo"})
    assert r.status_code == 200, r.text


def test_another_specialist_is_refused_before_any_password_check(
    client: TestClient, login: Any, session: Session, drafted: str
) -> None:
    r = client.post(
        f"{API}/{drafted}/opinion/sign",
        json={"password": "telemed-demo"},
        headers=login("specialist"),
    )
    assert r.status_code in (403, 404)
    assert r.json()["code"] not in ("reauthentication_required", "reauthentication_failed")
    _unsigned(client, login, session, drafted)


def test_no_draft_yet_is_null_not_an_error(
    client: TestClient, login: Any, make_request: Any
) -> None:
    c = make_request()
    spec = login("specialist2")
    assert client.post(f"{API}/{c['id']}/accept", headers=spec).status_code == 200
    url = f"{API}/{c['id']}/opinion/draft"
    r = client.get(url, headers=spec)
    assert r.status_code == 200 and r.json() is None
    assert client.put(f"{API}/{c['id']}/opinion", json=OPINION, headers=spec).status_code == 200
    mine = client.get(url, headers=spec).json()
    assert mine["findings"] == OPINION["findings"] and mine["signed_at"] is None
    # the requester may read the request, never the specialist's draft
    assert client.get(url, headers=login("county-doctor")).json() is None
    assert client.get(url, headers=login("specialist")).status_code == 404  # takes no part
