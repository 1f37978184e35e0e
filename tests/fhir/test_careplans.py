"""CarePlan: a downward referral's care plan, as the family-doctor team receives it, read
and searched with fhirpy and fhirclient by whom the referral is shown to."""

from __future__ import annotations

import asyncio

import httpx
from fhirclient.models.careplan import CarePlan as FcCarePlan

from tests.fhir.conftest import FhirServer
from tests.fhir.support import valid
from tests.fhir.test_clients import _dict, fhirpy, smart
from tests.fhir.test_consents import _audited

PLAN = "每周2次康复训练，4周后复查X线"


def _down_referral_with_a_care_plan(server: FhirServer) -> tuple[str, str]:
    """(referral id, patient id): a contracted resident of the county doctor's hospital,
    referred down to their team by a FHIR ServiceRequest, received and accepted by it."""
    team = server.one(
        "SELECT t.id, t.institution_id FROM fd_team t JOIN user_account u "
        "ON u.id = t.lead_doctor_id WHERE u.username = 'family-doctor'"
    )
    patient = str(
        server.one(
            "SELECT p.id FROM patient p WHERE p.institution_id = (SELECT institution_id FROM "
            "user_account WHERE username = 'county-doctor') AND p.county_code = (SELECT "
            "county_code FROM institution WHERE id = :i) AND NOT EXISTS (SELECT 1 FROM "
            "fd_contract c WHERE c.patient_id = p.id) ORDER BY p.id DESC LIMIT 1",
            i=team.institution_id,
        ).id
    )
    fd = {"Authorization": f"Bearer {server.token('family-doctor')}"}
    api = f"{server.url}/api/v1"
    signed = httpx.post(
        f"{api}/family-doctors/contracts",
        json={"patient_id": patient, "team_id": str(team.id), "consent": {"method": "written"}},
        headers=fd,
        timeout=60,
    )
    assert signed.status_code == 201, signed.text
    with server.http("county-doctor") as cd:
        made = cd.post(
            "/ServiceRequest",
            json={
                "resourceType": "ServiceRequest",
                "status": "active",
                "intent": "order",
                "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
                "code": {
                    "coding": [
                        {
                            "system": "https://telemed.example/fhir/CodeSystem/referral-direction",
                            "code": "down",
                        }
                    ]
                },
                "subject": {"reference": f"Patient/{patient}"},
                "reasonCode": [
                    {
                        "coding": [
                            {
                                "system": "http://hl7.org/fhir/sid/icd-10",
                                "code": "S72.0",
                                "display": "股骨颈骨折",
                            }
                        ],
                        "text": "术后康复回社区",
                    }
                ],
                "patientInstruction": PLAN,
            },
        )
        assert made.status_code == 201, made.text
        rid = made.json()["id"]
    for action in ("receive", "accept"):
        r = httpx.post(f"{api}/referrals/{rid}/{action}", headers=fd, timeout=60)
        assert r.status_code == 200, r.text
    return rid, patient


def test_a_down_referrals_care_plan_is_a_careplan(fhir_server: FhirServer) -> None:
    rid, patient = _down_referral_with_a_care_plan(fhir_server)

    async def go() -> str:
        fd = fhirpy(fhir_server, "family-doctor")
        found = await fd.resources("CarePlan").search(based_on=f"ServiceRequest/{rid}").fetch_all()
        assert len(found) == 1
        plan = _dict(found[0])
        assert plan["description"] == PLAN and plan["status"] == "active"
        assert plan["subject"] == {"reference": f"Patient/{patient}"}
        assert plan["basedOn"] == [{"reference": f"ServiceRequest/{rid}"}]
        assert plan["category"][0]["coding"][0]["code"] == "down_referral"
        by_patient = await fd.resources("CarePlan").search(patient=f"Patient/{patient}").fetch()
        assert plan["id"] in {p.id for p in by_patient}
        done = (
            await fd.resources("CarePlan")
            .search(patient=f"Patient/{patient}", status="completed")
            .fetch()
        )
        assert done == []
        before = _audited(fhir_server, "family-doctor", "care_plan", plan["id"])
        assert _dict(await fd.reference("CarePlan", plan["id"]).to_resource()) == plan
        assert _audited(fhir_server, "family-doctor", "care_plan", plan["id"]) == before + 1
        # the referrer sees it (the referral is theirs)
        cd = fhirpy(fhir_server, "county-doctor")
        theirs = await cd.resources("CarePlan").search(based_on=f"ServiceRequest/{rid}").fetch()
        assert [p.id for p in theirs] == [plan["id"]]
        return str(plan["id"])

    plan_id = asyncio.run(go())
    # once the team marks it done it is completed
    headers = {"Authorization": f"Bearer {fhir_server.token('family-doctor')}"}
    r = httpx.post(
        f"{fhir_server.url}/api/v1/family-doctors/care-plans/{plan_id}/done",
        headers=headers,
        timeout=60,
    )
    assert r.status_code == 200, r.text

    async def completed() -> list[str]:
        fd = fhirpy(fhir_server, "family-doctor")
        after = (
            await fd.resources("CarePlan")
            .search(based_on=f"ServiceRequest/{rid}", status="completed")
            .fetch()
        )
        return [_dict(p)["status"] for p in after]

    assert asyncio.run(completed()) == ["completed"]
    fc = FcCarePlan.read(plan_id, smart(fhir_server, "county-doctor").server)
    assert fc.description == PLAN
    # a specialist of a league hospital takes no part in the referral
    stranger = fhir_server.one(
        "SELECT u.username FROM user_account u JOIN institution i ON i.id = u.institution_id "
        "WHERE i.tier = 'league' AND u.role = 'specialist' ORDER BY u.username LIMIT 1"
    ).username
    with fhir_server.http(stranger) as http:
        assert http.get(f"/CarePlan/{plan_id}").status_code == 404
        listed = valid(http.get("/CarePlan", params={"based-on": f"ServiceRequest/{rid}"}).json())
        assert listed.get("entry", []) == [] and listed["total"] == 0
