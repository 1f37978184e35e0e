from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import FixedClock


def _token(client: TestClient, username: str, password: str = "telemed-demo"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_login_me_logout(client: TestClient) -> None:
    r = _token(client, "specialist")
    assert r.status_code == 200
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert me["username"] == "specialist" and me["role"] == "specialist"
    assert me["specialty_code"] == "cardiology" and me["title"] == "chief_physician"
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    after = client.get("/api/v1/auth/me", headers=headers)
    assert after.status_code == 401 and "revoked" in after.json()["detail"]


def test_wrong_password_is_401(client: TestClient) -> None:
    r = _token(client, "specialist", "nope")
    assert r.status_code == 401
    assert r.json()["detail"] == "wrong username or password"
    assert r.json()["code"] == "wrong_credentials"
    assert _token(client, "no-such-user").status_code == 401


def test_tokens_expire(client: TestClient, clock: FixedClock) -> None:
    token = _token(client, "coordinator").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    clock.advance(hours=13)
    r = client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_garbage_token_is_401(client: TestClient) -> None:
    r = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


def test_admin_creates_users_and_usernames_are_unique(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    inst = client.get("/api/v1/network/institutions", params={"tier": "league", "limit": 1})
    body = {
        "username": "new-doc",
        "password": "Steppe-horse-ride-42",
        "role": "specialist",
        "full_name": "新医生",
        "institution_id": inst.json()["items"][0]["id"],
        "title": "attending_physician",
    }
    r = client.post("/api/v1/users", json=body, headers=login("admin"))
    assert r.status_code == 201, r.text
    again = client.post("/api/v1/users", json=body, headers=login("admin"))
    assert again.status_code == 409 and again.json()["code"] == "username_taken"
    assert _token(client, "new-doc", "Steppe-horse-ride-42").status_code == 200


def test_staff_list_the_doctors_of_their_own_institution_only(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    coordinator = client.get("/api/v1/auth/me", headers=login("coordinator")).json()
    county = client.get("/api/v1/auth/me", headers=login("county-doctor")).json()
    own = client.get(
        "/api/v1/users",
        params={"institution_id": coordinator["institution_id"]},
        headers=login("coordinator"),
    )
    assert own.status_code == 200
    doctors = own.json()
    assert "specialist" in {d["username"] for d in doctors}
    assert all(d["institution_id"] == coordinator["institution_id"] for d in doctors)
    assert {d["role"] for d in doctors} <= {"specialist", "county_doctor", "family_doctor"}
    other = client.get(
        "/api/v1/users",
        params={"institution_id": county["institution_id"]},
        headers=login("coordinator"),
    )
    assert other.status_code == 403
    assert other.headers["content-type"].startswith("application/problem+json")
    assert (
        client.get(
            "/api/v1/users",
            params={"institution_id": county["institution_id"]},
            headers=login("patient"),
        ).status_code
        == 403
    )
    everyone = client.get(
        "/api/v1/users", params={"institution_id": county["institution_id"]}, headers=login("admin")
    )
    assert everyone.status_code == 200 and "county-doctor" in {
        d["username"] for d in everyone.json()
    }
