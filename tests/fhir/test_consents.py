"""Consent: a consultation's informed consent and a family-doctor contract's signing
consent, read and searched with fhirpy and fhirclient, shown exactly to whom the REST API
shows the consultation or the contract, each read audited."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import httpx
from fhirclient.models.consent import Consent as FcConsent
from fhirpy.base.exceptions import ResourceNotFound

from telemed.identity import resident_id
from tests.fhir.conftest import FhirServer
from tests.fhir.support import valid
from tests.fhir.test_clients import _dict, fhirpy, smart
from tests.fhir.test_consultations import consultation_body

KIND = "https://telemed.example/fhir/CodeSystem/consent-kind"


def _audited(server: FhirServer, username: str, object_type: str, object_id: str) -> int:
    return int(
        server.one(
            "SELECT count(*) AS n FROM audit_event e JOIN user_account u ON u.id = e.actor_id "
            "WHERE u.username = :u AND e.object_type = :t AND e.object_id = :o "
            "AND e.action = 'read'",
            u=username,
            t=object_type,
            o=object_id,
        ).n
    )


def test_a_consultation_consent_is_read_and_searched_as_the_consultation_is(
    fhir_server: FhirServer,
) -> None:
    specialist = str(
        fhir_server.one("SELECT id FROM user_account WHERE username = 'specialist2'").id
    )
    with fhir_server.http("county-doctor") as cd:
        patient = cd.get("/Patient", params={"_count": 1}).json()["entry"][0]["resource"]["id"]
        made = cd.post("/ServiceRequest", json=consultation_body(patient, specialist, consent=True))
        assert made.status_code == 201, made.text
        cid = made.json()["id"]
    row = fhir_server.one(
        "SELECT id, given_by, method FROM consultation_consent WHERE consultation_id = :c",
        c=cid,
    )
    consent_id = str(row.id)

    async def go() -> None:
        c = fhirpy(fhir_server, "county-doctor")
        found = await c.resources("Consent").search(patient=f"Patient/{patient}").fetch_all()
        mine = next(x for x in found if x.id == consent_id)
        body = _dict(mine)
        assert body["status"] == "active"
        assert body["patient"] == {"reference": f"Patient/{patient}"}
        assert {"system": KIND, "code": "consultation"} in [
            cd for cat in body["category"] for cd in cat["coding"]
        ]
        assert body["provision"]["data"][0]["reference"] == {"reference": f"ServiceRequest/{cid}"}
        assert body["performer"][0]["display"].startswith(row.given_by)
        assert body["extension"][0]["valueCoding"]["code"] == row.method
        before = _audited(fhir_server, "county-doctor", "consultation", cid)
        read = await c.reference("Consent", consent_id).to_resource()
        assert _dict(read) == body
        assert _audited(fhir_server, "county-doctor", "consultation", cid) == before + 1
        # status filters: a consultation consent is never `proposed`
        proposed = (
            await c.resources("Consent")
            .search(patient=f"Patient/{patient}", status="proposed")
            .fetch_all()
        )
        assert consent_id not in {x.id for x in proposed}
        # a doctor of another county takes part in nothing: absent, and 404 on read
        outsider = fhir_server.one(
            "SELECT u.username FROM user_account u JOIN institution i ON i.id = u.institution_id "
            "WHERE i.tier = 'county' AND u.role = 'county_doctor' AND u.institution_id <> "
            "(SELECT institution_id FROM user_account WHERE username = 'county-doctor') "
            "ORDER BY u.username LIMIT 1"
        ).username
        o = fhirpy(fhir_server, outsider)
        theirs = await o.resources("Consent").search(patient=f"Patient/{patient}").fetch_all()
        assert consent_id not in {x.id for x in theirs}
        try:
            await o.reference("Consent", consent_id).to_resource()
        except ResourceNotFound:
            pass
        else:
            raise AssertionError("another county's doctor read the consent")

    asyncio.run(go())
    # fhirclient reads it too
    fc = smart(fhir_server, "county-doctor")
    consent = FcConsent.read(consent_id, fc.server)
    assert consent.status == "active" and consent.patient.reference == f"Patient/{patient}"


def new_patient(server: FhirServer, county: str) -> str:
    """A resident of `county`, registered by the county doctor (a fresh one: no contract)."""
    serial = int(uuid.uuid4().int % 900) + 100
    number = resident_id.make(county, date(1950, 1, 1) + timedelta(days=serial), serial)
    r = httpx.post(
        f"{server.url}/api/v1/patients",
        json={"name": f"签约居民{serial}", "resident_id": number, "county_code": county},
        headers={"Authorization": f"Bearer {server.token('county-doctor')}"},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_a_contract_consent_follows_the_contract(fhir_server: FhirServer) -> None:
    team = fhir_server.one(
        "SELECT t.id, t.institution_id FROM fd_team t JOIN user_account u "
        "ON u.id = t.lead_doctor_id WHERE u.username = 'family-doctor'"
    )
    county = fhir_server.one(
        "SELECT county_code FROM institution WHERE id = :i", i=team.institution_id
    ).county_code
    patient = new_patient(fhir_server, county)
    token = fhir_server.token("family-doctor")
    signed = httpx.post(
        f"{fhir_server.url}/api/v1/family-doctors/contracts",
        json={
            "patient_id": str(patient),
            "team_id": str(team.id),
            "consent": {"method": "written", "witness": "村委会"},
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert signed.status_code == 201, signed.text
    contract = signed.json()

    async def go() -> None:
        c = fhirpy(fhir_server, "family-doctor")
        found = await c.resources("Consent").search(patient=f"Patient/{patient}").fetch_all()
        assert [x.id for x in found] == [contract["id"]]
        body = _dict(found[0])
        expected = {"pending": "proposed", "active": "active"}[contract["status"]]
        assert body["status"] == expected
        assert {"system": KIND, "code": "contract"} in [
            cd for cat in body["category"] for cd in cat["coding"]
        ]
        assert body["provision"]["period"] == {
            "start": contract["term_start"],
            "end": contract["term_end"],
        }
        assert body["extension"][0]["valueCoding"]["code"] == "written"
        # without `patient`: the contracts of the caller's teams
        team_wide = await c.resources("Consent").search(status=expected).fetch_all()
        assert contract["id"] in {x.id for x in team_wide}
        before = _audited(fhir_server, "family-doctor", "contract", contract["id"])
        assert _dict(await c.reference("Consent", contract["id"]).to_resource()) == body
        assert _audited(fhir_server, "family-doctor", "contract", contract["id"]) == before + 1

    asyncio.run(go())
    # a doctor of a hospital in another league neither finds nor reads it
    stranger = fhir_server.one(
        "SELECT u.username FROM user_account u JOIN institution i ON i.id = u.institution_id "
        "WHERE i.tier = 'league' AND u.role = 'specialist' ORDER BY u.username LIMIT 1"
    ).username
    with fhir_server.http(stranger) as http:
        assert http.get(f"/Consent/{contract['id']}").status_code == 404
        listed = valid(http.get("/Consent", params={"patient": f"Patient/{patient}"}).json())
        assert listed.get("entry", []) == [] and listed["total"] == 0
        assert http.get(f"/Consent/{uuid.uuid4()}").status_code == 404
