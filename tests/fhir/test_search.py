"""Search features: `total` on every searchset, `_summary=count` (fhirpy's `.count()`),
`_include`/`_revinclude` as the CapabilityStatement declares them, waitlist requests among
the Appointments."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fhir.conftest import FhirServer
from tests.fhir.support import league_hospital_of, referral_body, unreferred_patient, valid
from tests.fhir.test_capability import STATEMENT
from tests.fhir.test_clients import fhirpy

SEARCHABLE = [
    r["type"]
    for r in STATEMENT["rest"][0]["resource"]
    if "search-type" in {i["code"] for i in r["interaction"]}
]
INCLUDES = [
    (r["type"], key, value)
    for r in STATEMENT["rest"][0]["resource"]
    for key, field in (("_include", "searchInclude"), ("_revinclude", "searchRevInclude"))
    for value in r.get(field, [])
]
# The declared includes each have a story below that exercises them on real data; one
# declared without a story fails here.
TESTED_INCLUDES = {
    ("ServiceRequest", "_include", "ServiceRequest:patient"): "test_include_service_request",
    ("Appointment", "_include", "Appointment:patient"): "test_include_and_waitlist",
    ("Slot", "_include", "Slot:schedule"): "test_include_slot_schedule",
    ("DiagnosticReport", "_revinclude", "Provenance:target"): (
        "tests/fhir/test_consultations.py: the signed opinion's story"
    ),
}


def _minimal(kind: str) -> dict[str, str]:
    return {"based-on": f"ServiceRequest/{uuid.uuid4()}"} if kind == "ImagingStudy" else {}


def test_every_declared_include_is_exercised() -> None:
    assert set(INCLUDES) == set(TESTED_INCLUDES)


@pytest.mark.parametrize("kind", SEARCHABLE)
def test_every_searchset_has_a_total_and_summary_count_gives_it_alone(
    fhir_server: FhirServer, kind: str
) -> None:
    with fhir_server.http("admin") as http:
        page = valid(http.get(f"/{kind}", params={**_minimal(kind), "_count": 2}).json())
        assert "total" in page, kind
        assert len(page.get("entry", [])) == min(2, page["total"])
        assert any(link["relation"] == "next" for link in page["link"]) == (page["total"] > 2)
        counted = valid(http.get(f"/{kind}", params={**_minimal(kind), "_summary": "count"}).json())
        assert counted["total"] == page["total"] and "entry" not in counted
        zero = valid(http.get(f"/{kind}", params={**_minimal(kind), "_count": 0}).json())
        assert zero["total"] == page["total"] and "entry" not in zero


def test_total_is_the_number_of_matches_across_pages(fhir_server: FhirServer) -> None:
    """The count query agrees with what the pages hold (Slot and Patient count too now)."""
    schedule = fhir_server.one(
        "SELECT rule_id FROM scheduling_slot WHERE status = 'active' AND rule_id IS NOT NULL "
        "AND start_at > now() GROUP BY rule_id ORDER BY count(*) LIMIT 1"
    ).rule_id

    async def go() -> None:
        c = fhirpy(fhir_server, "county-doctor")
        for search in (
            c.resources("Slot").search(schedule=f"Schedule/{schedule}").limit(7),
            c.resources("Patient").limit(50),
            c.resources("Organization").search(type="county").limit(50),
        ):
            everything = await search.fetch_all()
            assert everything
            assert await search.count() == len(everything)
            first = await search.fetch_raw()
            assert first["total"] == len(everything)

    asyncio.run(go())


def test_summary_count_records_no_read(fhir_server: FhirServer) -> None:
    def reads() -> int:
        return int(
            fhir_server.one(
                "SELECT count(*) AS n FROM audit_event e JOIN user_account u ON u.id = "
                "e.actor_id WHERE u.username = 'county-doctor' AND e.action = 'read' "
                "AND e.object_type = 'patient'"
            ).n
        )

    with fhir_server.http("county-doctor") as http:
        before = reads()
        counted = valid(http.get("/Patient", params={"_summary": "count"}).json())
        assert counted["total"] > 0
        assert reads() == before
        http.get("/Patient", params={"_count": 1})
        assert reads() == before + 1


def test_include_service_request(fhir_server: FhirServer) -> None:
    league_org, _ = league_hospital_of(fhir_server, "county-doctor")
    with fhir_server.http("county-doctor") as http:
        patient = unreferred_patient(fhir_server, http, league_org)
        made = http.post("/ServiceRequest", json=referral_body(patient, league_org))
        assert made.status_code == 201, made.text
        rid = made.json()["id"]
        found = valid(
            http.get(
                "/ServiceRequest",
                params={"_id": rid, "_include": "ServiceRequest:patient"},
            ).json()
        )
        kinds = [(e["resource"]["resourceType"], e["search"]["mode"]) for e in found["entry"]]
        assert kinds == [("ServiceRequest", "match"), ("Patient", "include")]
        assert found["entry"][1]["resource"] == http.get(f"/Patient/{patient}").json()
        assert found["total"] == 1  # the total counts matches only
        nxt = valid(
            http.get(
                "/ServiceRequest",
                params={
                    "patient": f"Patient/{patient}",
                    "_include": "ServiceRequest:patient",
                    "_count": 1,
                },
            ).json()
        )
        if nxt["total"] > 1:
            link = next(x["url"] for x in nxt["link"] if x["relation"] == "next")
            assert "_include=ServiceRequest%3Apatient" in link
        refused = http.get("/ServiceRequest", params={"_include": "ServiceRequest:requester"})
        assert refused.status_code == 400
        code = refused.json()["issue"][0]["details"]["coding"][0]["code"]
        assert code == "unknown_search_parameter"


def test_include_slot_schedule(fhir_server: FhirServer) -> None:
    async def go() -> None:
        c = fhirpy(fhir_server, "county-doctor")
        raw = (
            await (c.resources("Slot").search(specialty="cardiology").include("Slot", "schedule"))
            .limit(5)
            .fetch_raw()
        )
        bundle = valid(json.loads(json.dumps(raw)))
        matches = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
        included = {
            e["resource"]["id"]: e["resource"]
            for e in bundle["entry"]
            if e["search"]["mode"] == "include"
        }
        assert matches
        wanted = {s["schedule"]["reference"].removeprefix("Schedule/") for s in matches}
        assert set(included) == wanted
        assert all(r["resourceType"] == "Schedule" for r in included.values())

    asyncio.run(go())


def test_include_and_waitlist(fhir_server: FhirServer) -> None:
    """A booking and a waitlist request of one patient: both are Appointments of the
    caller's search (the request as status `waitlist`), each with its patient included."""
    cd = {"Authorization": f"Bearer {fhir_server.token('county-doctor')}"}
    api = f"{fhir_server.url}/api/v1"
    with fhir_server.http("county-doctor") as http:
        entries = http.get("/Patient", params={"_count": 3}).json()["entry"]
        patient = entries[-1]["resource"]["id"]
        now = datetime.now(UTC)
        entry = httpx.post(
            f"{api}/waitlist",
            json={
                "specialty_code": "cardiology",
                "patient_id": patient,
                "start_at": (now + timedelta(days=1)).isoformat(),
                "end_at": (now + timedelta(days=20)).isoformat(),
            },
            headers=cd,
            timeout=60,
        )
        assert entry.status_code == 201, entry.text
        entry_id = entry.json()["id"]
        slot = fhir_server.one(
            "SELECT id FROM scheduling_slot WHERE status = 'active' AND booked = 0 AND "
            "reserved = 0 AND start_at > :t ORDER BY start_at DESC LIMIT 1",
            t=now + timedelta(days=1),
        ).id
        made = http.post(
            "/Appointment",
            json={
                "resourceType": "Appointment",
                "status": "booked",
                "slot": [{"reference": f"Slot/{slot}"}],
                "participant": [
                    {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}
                ],
            },
        )
        assert made.status_code == 201, made.text
        booking_id = made.json()["id"]

        found = valid(
            http.get(
                "/Appointment",
                params={"patient": f"Patient/{patient}", "_include": "Appointment:patient"},
            ).json()
        )
        match = {
            e["resource"]["id"]: e["resource"]
            for e in found["entry"]
            if e["search"]["mode"] == "match"
        }
        assert match[booking_id]["status"] == "booked"
        assert match[entry_id]["status"] == "waitlist"
        assert match[entry_id] == http.get(f"/Appointment/{entry_id}").json()
        assert found["total"] == len(match)
        included = [e["resource"] for e in found["entry"] if e["search"]["mode"] == "include"]
        assert [(p["resourceType"], p["id"]) for p in included] == [("Patient", patient)]

        waiting = valid(
            http.get(
                "/Appointment", params={"patient": f"Patient/{patient}", "status": "waitlist"}
            ).json()
        )
        assert [e["resource"]["id"] for e in waiting["entry"]] == [entry_id]
        booked = valid(
            http.get(
                "/Appointment", params={"patient": f"Patient/{patient}", "status": "booked"}
            ).json()
        )
        assert entry_id not in {e["resource"]["id"] for e in booked["entry"]}
        # paging runs from the bookings into the waitlist without losing or repeating one
        pages: list[Any] = []
        url: str | None = "/Appointment"
        params: dict[str, Any] | None = {"patient": f"Patient/{patient}", "_count": 1}
        while url:
            page = valid(http.get(url, params=params).json())
            pages += [e["resource"]["id"] for e in page.get("entry", [])]
            url = next((x["url"] for x in page["link"] if x["relation"] == "next"), None)
            params = None
        assert sorted(pages) == sorted(match)
        # another county's doctor does not see the request
        outsider = fhir_server.one(
            "SELECT u.username FROM user_account u JOIN institution i ON i.id = "
            "u.institution_id WHERE u.role = 'county_doctor' AND i.id <> (SELECT "
            "institution_id FROM user_account WHERE username = 'county-doctor') "
            "ORDER BY u.username LIMIT 1"
        ).username
    with fhir_server.http(outsider) as other:
        assert other.get(f"/Appointment/{entry_id}").status_code == 404
        theirs = valid(other.get("/Appointment", params={"status": "waitlist"}).json())
        assert entry_id not in {e["resource"]["id"] for e in theirs.get("entry", [])}
