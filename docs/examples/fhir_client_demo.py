"""A FHIR client of the demo network, written from docs/fhir.md alone.

    python docs/examples/fhir_client_demo.py http://127.0.0.1:8000

Signs in as the referring county doctor and as the receiving hospital's specialist (demo
accounts, password `telemed-demo`), reads the CapabilityStatement, lists the Organizations
and the alliances they belong to, finds a free cardiology Slot at the receiving hospital,
books it for a demo patient, creates the referral ServiceRequest and moves its Task through
received, accepted, ready, in-progress to completed as the receiving hospital, while the
referrer reads it after every step. Exits non-zero on the first unexpected answer.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from fhirpy import AsyncFHIRClient

SPECIALTY = "cardiology"
RECEIVING_HOSPITAL = "内蒙古自治区人民医院"
SHANGHAI = timezone(timedelta(hours=8))


async def login(base: str, username: str, password: str) -> AsyncFHIRClient:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{base}/api/v1/auth/token", data={"username": username, "password": password}
        )
    answer.raise_for_status()
    token = answer.json()["access_token"]
    return AsyncFHIRClient(f"{base}/fhir/R4", authorization=f"Bearer {token}")


def ref_id(reference: dict[str, Any] | None, kind: str) -> str | None:
    value = (reference or {}).get("reference", "")
    return value.split("/", 1)[1] if value.startswith(f"{kind}/") else None


async def capability(base: str) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{base}/fhir/R4/metadata")  # no token needed
    answer.raise_for_status()
    statement = answer.json()
    types = [r["type"] for r in statement["rest"][0]["resource"]]
    print(f"CapabilityStatement: FHIR {statement['fhirVersion']}, {', '.join(types)}")
    for needed in ("Organization", "Slot", "Appointment", "ServiceRequest", "Task"):
        if needed not in types:
            raise SystemExit(f"server lacks {needed}")


async def organizations(fhir: AsyncFHIRClient) -> dict[str, Any]:
    alliances = {
        a.id: a for a in await fhir.resources("Organization").search(type="alliance").fetch_all()
    }
    total = await fhir.resources("Organization").count()
    print(f"Organizations: {total} institutions, {len(alliances)} alliances")
    hospital = await fhir.resources("Organization").search(name=RECEIVING_HOSPITAL).first()
    if hospital is None:
        raise SystemExit(f"no Organization named {RECEIVING_HOSPITAL}")
    part_of = [ref_id(p, "Organization") for p in _as_list(hospital.get("partOf"))]
    names = [alliances[i]["name"] for i in part_of if i in alliances]
    print(f"Receiving hospital {hospital['name']} ({hospital.id}) is part of: {names}")
    if part_of:
        members = fhir.resources("Organization").search(partof=f"Organization/{part_of[0]}")
        print(f"  {names[0] if names else part_of[0]} has {await members.count()} members")
    return hospital


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


async def free_cardiology_slot(fhir: AsyncFHIRClient, hospital_id: str) -> Any:
    schedules = await (
        fhir.resources("Schedule")
        .search(actor=f"Organization/{hospital_id}", specialty=SPECIALTY)
        .fetch_all()
    )
    tomorrow = (datetime.now(SHANGHAI) + timedelta(days=1)).date().isoformat()
    for schedule in schedules:
        slots = await (
            fhir.resources("Slot")
            .search(schedule=f"Schedule/{schedule.id}", specialty=SPECIALTY, start__ge=tomorrow)
            .fetch()
        )
        for slot in slots:
            if slot["status"] == "free":
                return slot
    raise SystemExit(f"no free {SPECIALTY} slot at {hospital_id}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="server base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--password", default="telemed-demo")
    parser.add_argument("--referrer", default="county-doctor")
    parser.add_argument("--receiver", default="specialist")
    parser.add_argument("--patient-name", default="巴特尔")
    args = parser.parse_args()
    base = args.base.rstrip("/")

    await capability(base)
    county = await login(base, args.referrer, args.password)
    hospital_staff = await login(base, args.receiver, args.password)

    hospital = await organizations(county)

    patient = await county.resources("Patient").search(name=args.patient_name).first()
    if patient is None:
        raise SystemExit(f"no Patient named {args.patient_name}")
    print(f"Patient {patient['name'][0].get('text', '')} ({patient.id})")

    slot = await free_cardiology_slot(county, hospital.id)
    print(f"Free {SPECIALTY} slot {slot.id} at {slot['start']}")

    appointment = county.resource(
        "Appointment",
        status="booked",
        slot=[{"reference": f"Slot/{slot.id}"}],
        participant=[{"actor": patient.to_reference(), "status": "accepted"}],
    )
    await appointment.save()
    print(f"Booked Appointment {appointment.id} status={appointment['status']} {slot['start']}")

    referral = county.resource(
        "ServiceRequest",
        status="active",
        intent="order",
        priority="urgent",
        category=[{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
        code={
            "coding": [
                {
                    "system": "https://telemed.example/fhir/CodeSystem/referral-direction",
                    "code": "up",
                }
            ]
        },
        subject=patient.to_reference(),
        performer=[hospital.to_reference()],
        reasonCode=[
            {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/sid/icd-10",
                        "code": "I20.0",
                        "display": "不稳定型心绞痛",
                    }
                ],
                "text": "胸痛反复发作",
            }
        ],
        note=[{"text": "心电图示ST段压低, 建议上级医院心内科进一步诊治"}],
    )
    await referral.create(identifier=f"urn:county-his|{uuid.uuid4()}")
    print(f"Referral ServiceRequest {referral.id} status={referral['status']}")

    async def follow() -> Any:
        task = await county.resources("Task").search(focus=f"ServiceRequest/{referral.id}").first()
        if task is None:
            raise SystemExit(f"no Task for ServiceRequest/{referral.id}")
        print(
            f"  referrer sees Task {task.id}: {task['status']} ({task['businessStatus']['text']})"
        )
        return task

    await follow()
    task = (
        await hospital_staff.resources("Task").search(focus=f"ServiceRequest/{referral.id}").first()
    )
    if task is None:
        raise SystemExit("the receiving hospital does not see the Task")

    task["status"] = "received"
    await task.save()
    await follow()
    await task.patch(status="accepted")
    await follow()
    task = await hospital_staff.resources("Task").search(_id=task.id).first()
    task["status"] = "ready"
    task["executionPeriod"] = {"start": slot["start"]}
    await task.save()
    await follow()
    await task.patch(status="in-progress")
    await follow()
    await task.patch(status="completed")
    final = await follow()
    if final["status"] != "completed":
        raise SystemExit(f"Task ended {final['status']}, not completed")
    print(f"Completed Task {final.id} status={final['status']}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
