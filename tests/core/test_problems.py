from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient


def _is_problem(r, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"].endswith(code) and body["title"] and body["detail"]
    return body


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    _is_problem(client.get("/api/v1/nope"), 404, "not_found")


def test_unknown_institution_is_a_404_problem(client: TestClient) -> None:
    body = _is_problem(
        client.get("/api/v1/network/institutions/00000000-0000-7000-8000-000000000000"),
        404,
        "not_found",
    )
    assert "00000000-0000-7000-8000-000000000000" in body["detail"]


def test_malformed_body_names_the_field(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    r = client.post("/api/v1/patients", json={"resident_id": "x"}, headers=login("county-doctor"))
    body = _is_problem(r, 422, "invalid")
    assert any(e["field"] == "name" for e in body["errors"])


def test_missing_token_is_a_401_problem_with_challenge(client: TestClient) -> None:
    r = client.get("/api/v1/auth/me")
    _is_problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


def test_wrong_role_is_a_403_problem(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    r = client.get("/api/v1/audit", headers=login("county-doctor"))
    _is_problem(r, 403, "forbidden")


def test_request_id_is_echoed(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert r.headers["x-request-id"] == "abc123"


def test_readyz_reports_the_database(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["database"] == "ok"
