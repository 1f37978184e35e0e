"""Password policy at creation and change; forced change; the change route."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from telemed.core.settings import SecuritySettings
from telemed.identity.deps import any_current_user, current_user
from telemed.identity.passwords import WeakPassword, check_password

SEC = SecuritySettings()
STRONG = "Steppe-horse-ride-42"


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short-1A!", "password_too_short"),
        ("x" * 129, "password_too_long"),
        ("password123", "password_too_weak"),
        ("1234567890", "password_too_weak"),
        ("qwertyuiop", "password_too_weak"),
        ("iloveyou12", "password_too_weak"),
        ("dr.wangfang", "password_personal"),
        ("wangfang2025", "password_personal"),
        ("Fang-Wang-1990", "password_personal"),
    ],
)
def test_weak_passwords_are_refused_with_a_stable_code(password: str, code: str) -> None:
    with pytest.raises(WeakPassword) as err:
        check_password(password, username="dr.wangfang", full_name="Wang Fang", sec=SEC)
    assert err.value.code == code
    assert err.value.extra["errors"][0]["field"] == "password"


@pytest.mark.parametrize("password", [STRONG, "telemed-demo", "correct horse battery staple"])
def test_strong_passwords_pass(password: str) -> None:
    check_password(password, username="dr.wangfang", full_name="王芳", sec=SEC)


def _new_user(client: TestClient, admin: dict[str, str], password: str, **extra: object):  # type: ignore[no-untyped-def]
    inst = client.get("/api/v1/network/institutions", params={"tier": "league", "limit": 1})
    body = {
        "username": "policy-doc",
        "password": password,
        "role": "specialist",
        "full_name": "策略医生",
        "institution_id": inst.json()["items"][0]["id"],
        **extra,
    }
    return client.post("/api/v1/users", json=body, headers=admin)


def _token(client: TestClient, username: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_creation_refuses_a_weak_password_as_problem_json(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    r = _new_user(client, login("admin"), "policy-doc1")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "password_personal"
    assert body["errors"] == [{"field": "password", "message": body["detail"]}]
    assert _new_user(client, login("admin"), "12345678").json()["code"] == "password_too_short"


def test_a_forced_change_allows_nothing_but_changing_the_password(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    created = _new_user(client, login("admin"), STRONG, must_change_password=True)
    assert created.status_code == 201 and created.json()["must_change_password"] is True
    token = client.post(
        "/api/v1/auth/token", data={"username": "policy-doc", "password": STRONG}
    ).json()
    assert token["must_change_password"] is True
    pending = {"Authorization": f"Bearer {token['access_token']}"}
    refused = client.get("/api/v1/consultations", headers=pending)
    assert refused.status_code == 403 and refused.json()["code"] == "password_change_required"
    assert client.get("/api/v1/auth/me", headers=pending).json()["must_change_password"] is True
    change = "/api/v1/auth/password"
    weak = client.post(
        change, json={"current_password": STRONG, "new_password": "password123"}, headers=pending
    )
    assert weak.status_code == 422 and weak.json()["code"] == "password_too_weak"
    assert weak.json()["errors"][0]["field"] == "new_password"
    same = client.post(
        change, json={"current_password": STRONG, "new_password": STRONG}, headers=pending
    )
    assert same.json()["code"] == "password_unchanged"
    wrong = client.post(
        change,
        json={"current_password": "not-it", "new_password": "Gobi-camel-trek-77"},
        headers=pending,
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_current_password"
    other = _token(client, "policy-doc", STRONG)  # a second session, revoked by the change
    ok = client.post(
        change,
        json={"current_password": STRONG, "new_password": "Gobi-camel-trek-77"},
        headers=pending,
    )
    assert ok.status_code == 204, ok.text
    assert client.get("/api/v1/consultations", headers=pending).status_code == 200
    assert client.get("/api/v1/auth/me", headers=other).status_code == 401
    fresh = client.post(
        "/api/v1/auth/token", data={"username": "policy-doc", "password": "Gobi-camel-trek-77"}
    )
    assert fresh.status_code == 200 and fresh.json()["must_change_password"] is False


def test_admins_force_a_change_and_only_admins(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    user = _new_user(client, login("admin"), STRONG).json()
    path = f"/api/v1/users/{user['id']}/require-password-change"
    assert client.post(path, headers=login("coordinator")).status_code == 403
    r = client.post(path, headers=login("admin"))
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    headers = _token(client, "policy-doc", STRONG)
    assert client.get("/api/v1/consultations", headers=headers).status_code == 403


# The only routes a login with a pending forced change may use.
PENDING_CHANGE_ALLOWED = {
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/password"),
    ("POST", "/api/v1/auth/logout"),
}


def _dependency_calls(dependant: Dependant) -> set[Callable[..., object]]:
    calls: set[Callable[..., object]] = set()
    for dep in dependant.dependencies:
        if dep.call is not None:
            calls.add(dep.call)
        calls |= _dependency_calls(dep)
    return calls


def _api_routes(
    routes: Sequence[BaseRoute], base: str = "", own: str = ""
) -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute with the path it answers at, including those of included routers
    (which FastAPI keeps in an `original_router`: their paths carry that router's own
    prefix, not the prefixes of the routers it was included into, which `base` adds)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield base + route.path, route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes, base + own, inner.prefix)


def test_a_pending_change_is_refused_on_every_route_that_takes_a_token(
    app: FastAPI, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    """Every API, DICOMweb and FHIR route that authenticates the caller goes through
    `CurrentUser` (except the three of the change itself), and answers 403
    password_change_required to such a login, whatever else the request holds."""
    assert _new_user(client, login("admin"), STRONG, must_change_password=True).status_code == 201
    pending = _token(client, "policy-doc", STRONG)
    authenticated: list[tuple[str, str]] = []
    for route_path, route in _api_routes(app.routes):
        calls = _dependency_calls(route.dependant)
        for method in sorted(route.methods - {"HEAD"}):
            if any_current_user not in calls:
                continue  # no token taken (login, health, metrics with its own token)
            authenticated.append((method, route_path))
            if (method, route_path) in PENDING_CHANGE_ALLOWED:
                continue
            assert current_user in calls, f"{method} {route_path} skips CurrentUser"
            path = re.sub(r"\{[^}]+\}", "1.2.3", route_path)
            r = client.request(method, path, headers=pending, json={})
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            body = r.json()
            if path.startswith("/fhir/"):  # an OperationOutcome carries our code as a coding
                codes = [c["code"] for i in body["issue"] for c in i["details"]["coding"]]
            else:
                codes = [body["code"]]
            assert codes == ["password_change_required"], (method, path, body)
    paths = {p for _, p in authenticated}
    assert any(p.startswith("/dicom-web/") for p in paths)
    assert any(p.startswith("/fhir/") for p in paths)
    assert len(authenticated) > 100
