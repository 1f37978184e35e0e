"""Real third-party FHIR clients (fhirpy async, fhirclient) against the served app:
searching, paging, reading, creating a ServiceRequest, moving its Task, booking a Slot."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fhirclient import client as fhirclient
from fhirclient.models.servicerequest import ServiceRequest as FcServiceRequest
from fhirclient.models.task import Task as FcTask
from fhirpy import AsyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from tests.fhir.conftest import FhirServer
from tests.fhir.support import (
    league_hospital_of,
    other_league_doctor,
    referral_body,
    unreferred_patient,
    valid,
)


def fhirpy(server: FhirServer, username: str) -> AsyncFHIRClient:
    return AsyncFHIRClient(server.base, authorization=f"Bearer {server.token(username)}")


def smart(server: FhirServer, username: str) -> fhirclient.FHIRClient:
    c = fhirclient.FHIRClient(settings={"app_id": "test", "api_base": server.base + "/"})
    c.server.session.headers["Authorization"] = f"Bearer {server.token(username)}"
    return c


def _dict(resource: Any) -> dict[str, Any]:
    return valid(resource.serialize())


def test_fhirpy_pages_organizations_through_next_links(fhir_server: FhirServer) -> None:
    async def go() -> None:
        c = fhirpy(fhir_server, "county-doctor")
        search = c.resources("Organization").search(type="county").limit(7)
        first = json.loads(json.dumps(await search.fetch_raw()))
        valid(first)
        total = first["total"]
        assert total > 7 and len(first["entry"]) == 7
        assert any(link["relation"] == "next" for link in first["link"])
        everything = await search.fetch_all()  # follows Bundle.link next to the end
        ids = [o.id for o in everything]
        assert len(ids) == total == len(set(ids))
        for o in everything:
            body = _dict(o)
            assert body["type"][0]["coding"][0]["code"] == "county"
        # alliances: partOf points at an alliance Organization whose members include it
        member = next(o for o in everything if o.get("partOf"))
        alliance = await c.reference(reference=member["partOf"]["reference"]).to_resource()
        assert _dict(alliance)["type"][0]["coding"][0]["code"] == "alliance"
        members = (
            await c.resources("Organization")
            .search(partof=f"Organization/{alliance.id}")
            .fetch_all()
        )
        assert member.id in {m.id for m in members}

    asyncio.run(go())


def test_fhirpy_finds_cardiology_slots_from_a_date(fhir_server: FhirServer) -> None:
    async def go() -> None:
        c = fhirpy(fhir_server, "county-doctor")
        since = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        slots = (
            await c.resources("Slot")
            .search(specialty="cardiology", start__ge=since)
            .limit(5)
            .fetch()
        )
        assert slots
        for s in slots:
            body = _dict(s)
            assert body["specialty"][0]["coding"][0]["code"] == "cardiology"
            assert body["start"][:10] >= since and body["status"] == "free"
        schedule = await c.reference(reference=slots[0]["schedule"]["reference"]).to_resource()
        _dict(schedule)
        same = (
            await c.resources("Slot").search(schedule=f"Schedule/{schedule.id}").limit(20).fetch()
        )
        assert same and all(s["schedule"]["reference"] == f"Schedule/{schedule.id}" for s in same)

    asyncio.run(go())


def test_a_referral_from_a_county_his_to_completion(fhir_server: FhirServer) -> None:
    """Create (conditional on an identifier), read, find, receive, accept, book, arrive,
    complete — with the Task moved by fhirpy and fhirclient; another hospital sees none."""
    league_org, receiver = league_hospital_of(fhir_server, "county-doctor")
    outsider = other_league_doctor(fhir_server, league_org)
    with fhir_server.http("county-doctor") as http:
        patient = unreferred_patient(fhir_server, http, league_org)

    async def go() -> str:
        c = fhirpy(fhir_server, "county-doctor")
        assert _dict(await c.reference("Patient", patient).to_resource())["id"] == patient
        body = referral_body(patient, league_org)
        ident = f"his-{uuid.uuid4().hex[:8]}"
        sr = c.resource("ServiceRequest", **body)
        await sr.create(identifier=f"urn:county-his|{ident}")
        created = _dict(sr)
        assert (
            created["status"] == "active"
            and created["subject"]["reference"] == f"Patient/{patient}"
        )
        again = c.resource("ServiceRequest", **body)
        await again.create(identifier=f"urn:county-his|{ident}")
        assert again.id == sr.id  # the retry created nothing new
        found = (
            await c.resources("ServiceRequest")
            .search(patient=f"Patient/{patient}", status="active")
            .fetch_all()
        )
        assert sr.id in {f.id for f in found}
        task = await c.resources("Task").search(focus=f"ServiceRequest/{sr.id}").first()
        assert _dict(task)["status"] == "requested"

        rx = fhirpy(fhir_server, receiver)
        inbox = (
            await rx.resources("ServiceRequest")
            .search(performer=f"Organization/{league_org}")
            .fetch_all()
        )
        assert sr.id in {i.id for i in inbox}
        t = await rx.resources("Task").search(_id=sr.id).first()
        t["status"] = "received"
        await t.save()  # PUT
        assert _dict(t)["status"] == "received"
        await t.patch(status="accepted")  # PATCH
        assert (await rx.resources("Task").get(id=sr.id))["status"] == "accepted"
        with pytest.raises(OperationOutcome) as illegal:
            t2 = await rx.resources("Task").get(id=sr.id)
            t2["status"] = "completed"  # accepted -> completed skips booking and arrival
            await t2.save()
        assert "invalid_transition" in str(illegal.value)

        other = fhirpy(fhir_server, outsider)
        theirs = (
            await other.resources("ServiceRequest").search(patient=f"Patient/{patient}").fetch_all()
        )
        assert sr.id not in {x.id for x in theirs}
        with pytest.raises(ResourceNotFound):
            await other.resources("ServiceRequest").get(id=sr.id)
        with pytest.raises(ResourceNotFound):
            await other.resources("Task").get(id=sr.id)
        return str(sr.id)

    rid = asyncio.run(go())

    # fhirclient (sync, its own R4 models) reads the request and moves the Task on
    fc = smart(fhir_server, receiver)
    read = FcServiceRequest.read(rid, fc.server)
    assert read.subject.reference.startswith("Patient/")
    task = FcTask.read(rid, fc.server)
    task.status = "ready"
    task.executionPeriod = None
    body = task.as_json()
    body["executionPeriod"] = {"start": (datetime.now(UTC) + timedelta(days=2)).isoformat()}
    valid(fc.server.put_json(f"Task/{rid}", body).json())
    for status in ("in-progress", "completed"):
        task = FcTask.read(rid, fc.server)
        task.status = status
        task.update(fc.server)
    final = FcTask.read(rid, fc.server)
    assert final.status == "completed"
    assert final.businessStatus.coding[0].code == "completed"
    found = FcTask.where(struct={"owner": f"Organization/{league_org}", "status": "completed"})
    assert rid in {t.id for t in found.perform_resources(fc.server)}


def test_idempotency_key_and_validation_on_create(fhir_server: FhirServer) -> None:
    league_org, _ = league_hospital_of(fhir_server, "county-doctor")
    with fhir_server.http("county-doctor") as http:
        patient = unreferred_patient(fhir_server, http, league_org)
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = http.post("/ServiceRequest", json=referral_body(patient, league_org), headers=key)
        second = http.post("/ServiceRequest", json=referral_body(patient, league_org), headers=key)
        assert first.status_code == 201 and second.status_code == 200
        assert first.json()["id"] == second.json()["id"]
        assert first.headers["location"].endswith(f"/ServiceRequest/{first.json()['id']}")
        bad = referral_body(patient, league_org)
        bad["reasonCode"][0]["coding"][0]["code"] = "not-icd"
        invalid = http.post("/ServiceRequest", json=bad)
        assert invalid.status_code == 422
        assert valid(invalid.json())["issue"][0]["diagnostics"].startswith("diagnosis_code")
        skipping = referral_body(patient, league_org, priority="routine")
        skipping["performer"] = [{"reference": f"Organization/{_regional(http)}"}]
        refused = http.post("/ServiceRequest", json=skipping)  # two tiers up, routine
        assert refused.status_code == 422, refused.text
        assert valid(refused.json())["issue"][0]["details"]["coding"][0]["code"] == "tier_skip"


def _regional(http: httpx.Client) -> str:
    return str(
        http.get("/Organization", params={"type": "regional", "_count": 1}).json()["entry"][0][
            "resource"
        ]["id"]
    )


def test_booking_an_appointment_against_a_slot_never_overbooks(fhir_server: FhirServer) -> None:
    with fhir_server.http("county-doctor") as http:
        patient = http.get("/Patient", params={"_count": 1}).json()["entry"][0]["resource"]["id"]
        row = fhir_server.one(
            "SELECT id FROM scheduling_slot WHERE specialty_code = 'cardiology' AND status = "
            "'active' AND capacity = 1 AND reserved = 0 AND booked = 0 AND start_at > :t "
            "ORDER BY start_at LIMIT 1",
            t=datetime.now(UTC) + timedelta(days=1),
        )
        slot = valid(http.get(f"/Slot/{row.id}").json())
        assert slot["status"] == "free"
        appt = {
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": f"Slot/{slot['id']}"}],
            "participant": [{"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}],
        }
        made = http.post("/Appointment", json=appt)
        assert made.status_code == 201, made.text
        booked = valid(made.json())
        assert booked["slot"][0]["reference"] == f"Slot/{slot['id']}"
        assert booked["status"] == "booked"
        mine = http.get(
            "/Appointment", params={"patient": f"Patient/{patient}", "status": "booked"}
        )
        assert booked["id"] in {e["resource"]["id"] for e in valid(mine.json())["entry"]}
        # the slot is full now: a second booking is refused, the slot shows busy
        again = http.post("/Appointment", json=appt)
        assert again.status_code == 409, again.text
        assert valid(again.json())["issue"][0]["details"]["coding"][0]["code"] == "slot_full"
        assert http.get(f"/Slot/{slot['id']}").json()["status"] == "busy"
