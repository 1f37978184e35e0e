"""Helpers of the FHIR tests: validation by fhir.resources (R4B), demo objects."""

from __future__ import annotations

from typing import Any

import httpx
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import text

from tests.fhir.conftest import FhirServer


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, after fhir.resources (R4B) validated it (raises otherwise)."""
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(resource)
    if resource["resourceType"] == "Bundle":
        for e in resource.get("entry", []):
            valid(e["resource"])
    return resource


def league_hospital_of(server: FhirServer, username: str) -> tuple[str, str]:
    """(institution id, a specialist's username) of the league hospital above `username`'s."""
    row = server.one(
        "SELECT l.id, l.code FROM user_account u JOIN institution c ON c.id = u.institution_id "
        "JOIN institution l ON l.league_code = c.league_code AND l.tier = 'league' "
        "WHERE u.username = :u ORDER BY l.code LIMIT 1",
        u=username,
    )
    staff = server.one(
        "SELECT username FROM user_account WHERE institution_id = :i AND role = 'specialist' "
        "ORDER BY username LIMIT 1",
        i=row.id,
    )
    return str(row.id), staff.username


def other_league_doctor(server: FhirServer, institution_id: str) -> str:
    """A specialist at a league hospital other than `institution_id`."""
    row = server.one(
        "SELECT u.username FROM user_account u JOIN institution i ON i.id = u.institution_id "
        "WHERE i.tier = 'league' AND i.id <> :i AND u.role = 'specialist' "
        "ORDER BY u.username LIMIT 1",
        i=institution_id,
    )
    return str(row.username)


def unreferred_patient(server: FhirServer, http: httpx.Client, to_org: str) -> str:
    """A patient the caller sees, with no standing referral to `to_org` (a second one there
    is refused `duplicate_referral`, and the tests of a worker share one server, whose
    county doctor sees one patient): the caller cancels what an earlier test left standing,
    through the REST API, as the referrer may."""
    patient = str(http.get("/Patient", params={"_count": 1}).json()["entry"][0]["resource"]["id"])
    with server.db.connect() as conn:
        standing = conn.execute(
            text(
                "SELECT id FROM referral WHERE patient_id = :p AND to_institution_id = :o "
                "AND status IN ('draft', 'requested', 'received', 'accepted', 'booked', "
                "'arrived')"
            ),
            {"p": patient, "o": to_org},
        ).all()
    for (rid,) in standing:
        done = httpx.post(
            f"{server.url}/api/v1/referrals/{rid}/cancel",
            json={"reason": "测试：清理上一测试留下的转诊"},
            headers={"Authorization": http.headers["Authorization"]},
            timeout=60,
        )
        assert done.status_code == 200, done.text
    return patient


def referral_body(patient_id: str, to_org: str, **over: Any) -> dict[str, Any]:
    """An upward referral as a county HIS would send it."""
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
        "priority": "urgent",
        "code": {
            "coding": [
                {
                    "system": "https://telemed.example/fhir/CodeSystem/referral-direction",
                    "code": "up",
                }
            ]
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "performer": [{"reference": f"Organization/{to_org}"}],
        "reasonCode": [
            {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/sid/icd-10",
                        "code": "I20.0",
                        "display": "不稳定型心绞痛",
                    }
                ],
                "text": "胸痛反复发作，需上级医院评估",
            }
        ],
        "note": [{"text": "TnI 0.8 ng/ml"}],
    }
    body.update(over)
    return body
