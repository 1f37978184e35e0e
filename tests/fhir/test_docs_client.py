"""The example client of docs/fhir.md (`docs/examples/fhir_client_demo.py`, written from the
docs alone) run as a subprocess against the real server on a demo-seeded database: it must
book a cardiology slot and follow its referral's Task to completion."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.fhir.conftest import ROOT, FhirServer
from tests.fhir.support import referral_body

SCRIPT = ROOT / "docs" / "examples" / "fhir_client_demo.py"


def test_docs_client_books_a_slot_and_completes_the_referral(fhir_server: FhirServer) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), fhir_server.url],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout

    booked = re.search(r"^Booked Appointment (\S+) status=booked ", out, re.M)
    assert booked, out
    row = fhir_server.one(
        "SELECT b.status, s.specialty_code FROM scheduling_booking b"
        " JOIN scheduling_slot s ON s.id = b.slot_id WHERE b.id = :id",
        id=booked.group(1),
    )
    assert row is not None and row.status == "booked" and row.specialty_code == "cardiology"

    referral = re.search(r"^Referral ServiceRequest (\S+) status=active$", out, re.M)
    completed = re.search(r"^Completed Task (\S+) status=completed$", out, re.M)
    assert referral and completed, out
    assert completed.group(1) == referral.group(1)  # one id for ServiceRequest and Task
    steps = re.findall(r"referrer sees Task \S+: (\S+) ", out)
    assert steps == ["requested", "received", "accepted", "ready", "in-progress", "completed"]
    state = fhir_server.one("SELECT status FROM referral WHERE id = :id", id=referral.group(1))
    assert state is not None and state.status == "completed"


def test_alliances_are_searched_by_name_and_have_no_members_of_their_own(
    fhir_server: FhirServer,
) -> None:
    with fhir_server.http("county-doctor") as http:
        every = http.get("/Organization", params={"type": "alliance", "_count": 0}).json()
        named = http.get("/Organization", params={"type": "alliance", "name": "心血管内科"}).json()
        assert 0 < named["total"] < every["total"]
        assert all("心血管内科" in e["resource"]["name"] for e in named["entry"])
        a_member = named["entry"][0]["resource"]["id"]
        nested = http.get(
            "/Organization", params={"type": "alliance", "partof": f"Organization/{a_member}"}
        ).json()
        assert nested["total"] == 0
        members = http.get("/Organization", params={"partof": f"Organization/{a_member}"}).json()
        assert members["total"] > 0  # the same alliance without type=alliance: its members


def test_an_appointment_for_a_referral_shows_it_and_leaves_its_task(
    fhir_server: FhirServer,
) -> None:
    with fhir_server.http("county-doctor") as http, fhir_server.http("specialist") as receiver:
        patient = http.get("/Patient", params={"name": "巴特尔"}).json()["entry"][0]["resource"]
        regional = http.get("/Organization", params={"name": "内蒙古自治区人民医院"}).json()
        hospital = regional["entry"][0]["resource"]["id"]
        made = http.post("/ServiceRequest", json=referral_body(patient["id"], hospital))
        assert made.status_code == 201, made.text
        referral = made.json()["id"]
        schedules = http.get(
            "/Schedule", params={"actor": f"Organization/{hospital}", "specialty": "cardiology"}
        ).json()["entry"]
        slot = next(
            e["resource"]
            for s in schedules
            for e in http.get("/Slot", params={"schedule": f"Schedule/{s['resource']['id']}"})
            .json()
            .get("entry", [])
        )
        appointment = {
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": f"Slot/{slot['id']}"}],
            "participant": [
                {"actor": {"reference": f"Patient/{patient['id']}"}, "status": "accepted"}
            ],
            "basedOn": [{"reference": f"ServiceRequest/{referral}"}],
        }
        too_early = http.post("/Appointment", json=appointment)  # the referral is requested
        assert too_early.status_code == 409, too_early.text
        assert too_early.json()["issue"][0]["details"]["coding"][0]["code"] == "reference_closed"
        for status in ("received", "accepted"):
            moved = receiver.patch(f"/Task/{referral}", json={"status": status})
            assert moved.status_code == 200, moved.text
        booked = http.post("/Appointment", json=appointment)
        assert booked.status_code == 201, booked.text
        assert booked.json()["basedOn"] == [{"reference": f"ServiceRequest/{referral}"}]
        again = http.get(f"/Appointment/{booked.json()['id']}").json()
        assert again["basedOn"] == [{"reference": f"ServiceRequest/{referral}"}]
        task = http.get(f"/Task/{referral}").json()
        assert task["status"] == "accepted"  # booking does not move the referral
