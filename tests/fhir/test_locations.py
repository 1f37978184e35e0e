"""Location (institutions at their seat coordinates) and HealthcareService (institution x
specialty x service class), named by Schedules and by the bulk-publish Location file."""

from __future__ import annotations

import asyncio
import json

import httpx

from telemed.network.routing import seat_of
from tests.fhir.conftest import FhirServer
from tests.fhir.support import valid
from tests.fhir.test_clients import _dict, fhirpy


def test_a_schedule_names_its_location_and_healthcare_service_and_both_read(
    fhir_server: FhirServer,
) -> None:
    async def go() -> None:
        c = fhirpy(fhir_server, "county-doctor")
        schedule = await c.resources("Schedule").search(specialty="cardiology").first()
        body = _dict(schedule)
        refs = [a["reference"] for a in body["actor"] if "reference" in a]
        loc_ref = next(r for r in refs if r.startswith("Location/"))
        svc_ref = next(r for r in refs if r.startswith("HealthcareService/"))
        location = _dict(await c.reference(reference=loc_ref).to_resource())
        service = _dict(await c.reference(reference=svc_ref).to_resource())
        assert service["providedBy"]["reference"] == f"Organization/{location['id']}"
        assert service["location"] == [{"reference": loc_ref}]
        assert service["specialty"][0]["coding"][0]["code"] == "cardiology"
        assert (
            service["type"][0]["coding"][0]["code"] == body["serviceType"][0]["coding"][0]["code"]
        )
        # the institution's seat: the county's when shipped, else the league's
        inst = fhir_server.one(
            "SELECT county_code, league_code, name_zh FROM institution WHERE id = :i",
            i=location["id"],
        )
        seat = seat_of(county_code=inst.county_code, league_code=inst.league_code)
        assert seat is not None
        assert (location["position"]["latitude"], location["position"]["longitude"]) == seat
        assert location["name"] == inst.name_zh
        # searches find them by what they are about
        by_org = (
            await c.resources("Location")
            .search(organization=f"Organization/{location['id']}")
            .fetch()
        )
        assert [x.id for x in by_org] == [location["id"]]
        offered = (
            await c.resources("HealthcareService")
            .search(location=loc_ref, specialty="cardiology")
            .fetch_all()
        )
        assert service["id"] in {s.id for s in offered}
        assert all(
            _dict(s)["providedBy"]["reference"] == f"Organization/{location['id']}" for s in offered
        )
        other = await c.resources("HealthcareService").search(specialty="no-such").fetch()
        assert other == []

    asyncio.run(go())


def test_location_search_pages_the_institutions_with_a_total(fhir_server: FhirServer) -> None:
    with fhir_server.http("county-doctor") as http:
        first = valid(http.get("/Location", params={"_count": 5}).json())
        everything = fhir_server.one("SELECT count(*) AS n FROM institution").n
        assert first["total"] == everything and len(first["entry"]) == 5
        named = valid(http.get("/Location", params={"name": "包头"}).json())
        assert named["total"] >= 1
        assert all("包头" in e["resource"]["name"] for e in named["entry"])
        missing = http.get("/Location/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404


def test_bulk_publish_locations_are_the_location_resources(fhir_server: FhirServer) -> None:
    """The same builder serves `$bulk-publish/location.ndjson` and `GET /Location/<id>`."""
    lines = httpx.get(f"{fhir_server.base}/$bulk-publish/location.ndjson", timeout=60).text
    published = [json.loads(x) for x in lines.splitlines()]
    assert published
    with fhir_server.http("county-doctor") as http:
        for loc in published[:5]:
            assert http.get(f"/Location/{loc['id']}").json() == valid(loc)
