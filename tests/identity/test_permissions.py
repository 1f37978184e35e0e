from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.identity import permissions
from telemed.identity import resident_id as rid
from telemed.identity.models import Patient, User


def _user(session: Session, username: str) -> User:
    return session.execute(select(User).where(User.username == username)).scalar_one()


def test_patient_visibility_matrix(session: Session) -> None:
    patient = session.get(Patient, _user(session, "patient").patient_id)
    assert patient is not None
    can = {
        name: permissions.can_read_patient(session, _user(session, name), patient)
        for name in ("patient", "county-doctor", "specialist", "family-doctor", "admin")
    }
    assert can == {
        "patient": True,
        "county-doctor": True,  # same institution
        "specialist": False,  # other hospital, no shared consultation
        "family-doctor": False,  # no contract yet
        "admin": True,
    }


def test_participation_resolver_grants_access(session: Session) -> None:
    patient = session.get(Patient, _user(session, "patient").patient_id)
    assert patient is not None
    specialist = _user(session, "specialist")

    def resolver(s: Session, user: User, patient_id: object) -> bool:
        return user.id == specialist.id and patient_id == patient.id

    permissions.register_participation(resolver)
    try:
        assert permissions.can_read_patient(session, specialist, patient)
        assert not permissions.can_read_patient(session, _user(session, "specialist2"), patient)
    finally:
        permissions._resolvers.remove(resolver)


def test_hidden_patient_is_404_not_403(
    client: TestClient, session: Session, login: Callable[[str], dict[str, str]]
) -> None:
    pid = _user(session, "patient").patient_id
    r = client.get(f"/api/v1/patients/{pid}", headers=login("specialist"))
    assert r.status_code == 404
    assert client.get(f"/api/v1/patients/{pid}", headers=login("patient")).status_code == 200


def test_register_patient_validates_and_masks(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    number = rid.make("150122", date(1990, 7, 1), 42)
    r = client.post(
        "/api/v1/patients",
        json={"name": "其其格", "resident_id": number, "phone": "13900001234"},
        headers=login("county-doctor"),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["resident_id_masked"] == number[:3] + "*" * 11 + number[-4:]
    assert number not in r.text and "13900001234" not in r.text
    assert body["birth_date"] == "1990-07-01"
    bad = client.post(
        "/api/v1/patients",
        json={"name": "x", "resident_id": number[:-1] + ("0" if number[-1] != "0" else "1")},
        headers=login("county-doctor"),
    )
    assert bad.status_code == 422 and "check digit" in bad.json()["detail"]
    found = client.get(
        "/api/v1/patients", params={"resident_id": number}, headers=login("county-doctor")
    )
    assert [p["name"] for p in found.json()] == ["其其格"]
    other = client.get(
        "/api/v1/patients", params={"resident_id": number}, headers=login("specialist")
    )
    assert other.json() == []


def test_patient_exists_names_the_patient_only_to_those_entitled(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    number = rid.make("150122", date(1991, 3, 5), 46)
    first = client.post(
        "/api/v1/patients",
        json={"name": "乌云", "resident_id": number},
        headers=login("county-doctor"),
    )
    assert first.status_code == 201, first.text
    pid = first.json()["id"]
    again = {"name": "乌云", "resident_id": number}
    own = client.post("/api/v1/patients", json=again, headers=login("county-doctor"))
    assert own.status_code == 409 and own.json()["code"] == "patient_exists"
    assert own.json()["patient_id"] == pid
    for outsider in ("specialist", "specialist2", "family-doctor"):
        r = client.post("/api/v1/patients", json=again, headers=login(outsider))
        assert r.status_code == 409, (outsider, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "patient_exists" and "patient_id" not in r.json()
        assert pid not in r.text


def test_patients_cannot_register_patients(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    number = rid.make("150122", date(1990, 7, 1), 44)
    r = client.post(
        "/api/v1/patients", json={"name": "x", "resident_id": number}, headers=login("patient")
    )
    assert r.status_code == 403


def test_family_doctor_finds_county_residents_by_resident_id_only(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    """Residents of the family doctor's county are registered at the county hospital: the
    family doctor finds them to sign by the exact resident ID, never by a name prefix."""
    number = rid.make("150122", date(1962, 3, 14), 17)  # the demo patient
    fd = login("family-doctor")
    found = client.get("/api/v1/patients", params={"resident_id": number}, headers=fd)
    assert [p["name"] for p in found.json()] == ["巴特尔"]
    assert client.get("/api/v1/patients", params={"q": "巴特尔"}, headers=fd).json() == []
    other = client.get(
        "/api/v1/patients", params={"resident_id": number}, headers=login("specialist")
    )
    assert other.json() == []
