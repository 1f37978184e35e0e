"""SMART Scheduling Links: the `$bulk-publish` manifest and its NDJSON files (public),
publishing only the capacity an anonymous booking app could book."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from tests.fhir.conftest import FhirServer
from tests.fhir.support import valid


def _ndjson(url: str) -> list[dict]:
    r = httpx.get(url, timeout=120)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+ndjson")
    return [valid(json.loads(line)) for line in r.text.splitlines() if line]


def test_manifest_and_files_publish_only_public_capacity(fhir_server: FhirServer) -> None:
    manifest = httpx.get(f"{fhir_server.base}/$bulk-publish", timeout=60)
    assert manifest.status_code == 200
    body = manifest.json()
    assert {o["type"] for o in body["output"]} == {"Location", "Schedule", "Slot"}
    assert datetime.fromisoformat(body["transactionTime"]) <= datetime.now(UTC)
    files = {o["type"]: _ndjson(o["url"]) for o in body["output"]}
    slots, schedules, locations = files["Slot"], files["Schedule"], files["Location"]
    assert slots and schedules and locations
    schedule_ids = {s["id"] for s in schedules}
    location_ids = {loc["id"] for loc in locations}
    for s in slots:
        assert s["schedule"]["reference"].removeprefix("Schedule/") in schedule_ids
        assert s["status"] == "free"
    for sch in schedules:
        assert sch["actor"][0]["reference"].removeprefix("Location/") in location_ids
    # Every published slot has places an anonymous viewer may take, and its capacity
    # extension says how many: never the reserved share before its release.
    now = datetime.now(UTC)
    published = {s["id"]: s["extension"][0]["valueInteger"] for s in slots}
    for slot_id, places in list(published.items())[:200]:
        row = fhir_server.one(
            "SELECT capacity, reserved, booked, reserved_booked, release_at "
            "FROM scheduling_slot WHERE id = :i",
            i=slot_id,
        )
        released = row.release_at is not None and row.release_at <= now
        public = (
            row.capacity - row.booked
            if released
            else row.capacity - row.reserved - (row.booked - row.reserved_booked)
        )
        assert places == public > 0, (slot_id, places, public)
    # A slot whose free places are all reserved (and not yet released) is not published.
    reserved_only = fhir_server.one(
        "SELECT id FROM scheduling_slot WHERE status = 'active' AND start_at > :now "
        "AND (release_at IS NULL OR release_at > :now) AND reserved > reserved_booked "
        "AND capacity - reserved - (booked - reserved_booked) <= 0 LIMIT 1",
        now=now,
    )
    if reserved_only is None:  # make one: fill the public share of a slot with reserved places
        row = fhir_server.one(
            "SELECT id FROM scheduling_slot WHERE status = 'active' AND start_at > :now "
            "AND reserved > 0 AND booked = 0 AND (release_at IS NULL OR release_at > :now) "
            "ORDER BY start_at LIMIT 1",
            now=now,
        )
        assert row is not None, "the demo schedules reserve a family-doctor share"
        with fhir_server.db.begin() as conn:
            from sqlalchemy import text

            conn.execute(
                text("UPDATE scheduling_slot SET booked = capacity - reserved WHERE id = :i"),
                {"i": row.id},
            )
        reserved_only = row
    again = {s["id"] for s in _ndjson(f"{fhir_server.base}/$bulk-publish/slot.ndjson")}
    assert str(reserved_only.id) not in again
