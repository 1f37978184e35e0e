"""The example client of docs/fhir.md (`docs/examples/fhir_client_demo.py`, written from the
docs alone) run as a subprocess against the real server on a demo-seeded database: it must
book a cardiology slot and follow its referral's Task to completion."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.fhir.conftest import ROOT, FhirServer

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
