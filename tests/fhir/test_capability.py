"""The CapabilityStatement states exactly what is implemented; every declared search
parameter is exercised by a test generated from it; errors are OperationOutcome."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fhirclient import client as fhirclient

from telemed.fhir.capability import capability_statement
from tests.fhir.conftest import FhirServer
from tests.fhir.support import valid

# The statement as the server builds it (the same function /metadata calls).
STATEMENT = capability_statement(base="http://x/fhir/R4", date="2026-12-03")
DECLARED = [
    (res["type"], p["name"], p["type"])
    for res in STATEMENT["rest"][0]["resource"]
    for p in res.get("searchParam", [])
]
# A value of each parameter type that matches nothing in the demo network.
NOTHING = {
    "reference": lambda kind: f"{kind}/{uuid.uuid4()}",
    "token": lambda kind: "no-such-code",
    "date": lambda kind: "ge2099-01-01",
    "string": lambda kind: "不存在的名字zz",
}
REFERENCE_KIND = {
    "patient": "Patient",
    "subject": "Patient",
    "schedule": "Schedule",
    "actor": "Practitioner",
    "requester": "Organization",
    "performer": "Organization",
    "owner": "Organization",
    "organization": "Organization",
    "partof": "Organization",
    "focus": "ServiceRequest",
    "based-on": "ServiceRequest",
    "location": "Location",
}


def test_metadata_needs_no_token_and_is_a_valid_capability_statement(
    fhir_server: FhirServer,
) -> None:
    r = httpx.get(f"{fhir_server.base}/metadata", timeout=60)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    body = valid(r.json())
    assert body["resourceType"] == "CapabilityStatement" and body["fhirVersion"] == "4.0.1"
    declared = {res["type"] for res in body["rest"][0]["resource"]}
    assert {
        "Patient",
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "Schedule",
        "Slot",
        "Appointment",
        "ServiceRequest",
        "Task",
        "DiagnosticReport",
        "ImagingStudy",
        "Location",
        "HealthcareService",
    } <= declared


def test_fhirclient_reads_the_capability_statement(fhir_server: FhirServer) -> None:
    smart = fhirclient.FHIRClient(settings={"app_id": "test", "api_base": fhir_server.base + "/"})
    smart.server.get_capability()
    statement = smart.server.capabilityStatement
    assert statement.fhirVersion == "4.0.1"
    assert "ServiceRequest" in {r.type for r in statement.rest[0].resource}


def test_declared_interactions_answer_and_undeclared_ones_do_not(fhir_server: FhirServer) -> None:
    with fhir_server.http("admin") as http:
        for res in STATEMENT["rest"][0]["resource"]:
            codes = {i["code"] for i in res["interaction"]}
            kind = res["type"]
            search = http.get(f"/{kind}", params=_minimal(kind))
            assert (search.status_code == 200) == ("search-type" in codes), (kind, search.text)
            read = http.get(f"/{kind}/{uuid.uuid4()}")
            # read of an unknown id: 404 OperationOutcome either way, but `not_found`
            # (the handler answered) only where read is declared.
            assert read.status_code == 404
            code = read.json()["issue"][0]["details"]["coding"][0]["code"]
            assert (code != "not_supported") == ("read" in codes), (kind, code)
            if "create" not in codes:
                post = http.post(f"/{kind}", json={"resourceType": kind})
                assert post.status_code in (404, 405), (kind, post.status_code)


def _minimal(kind: str) -> dict[str, str]:
    """Parameters a search of `kind` cannot do without."""
    return {"based-on": f"ServiceRequest/{uuid.uuid4()}"} if kind == "ImagingStudy" else {}


@pytest.mark.parametrize(
    ("kind", "name", "ptype"), DECLARED, ids=[f"{k}.{n}" for k, n, _ in DECLARED]
)
def test_declared_search_parameter_filters(
    fhir_server: FhirServer, kind: str, name: str, ptype: str
) -> None:
    """Generated from the statement: the parameter is accepted, the Bundle validates, and
    a value that matches nothing returns nothing (the filter is applied, not ignored)."""
    value = NOTHING[ptype](REFERENCE_KIND.get(name, kind))
    if kind == "ImagingStudy":
        # the one required parameter: an unknown request -> empty
        value = f"ServiceRequest/{uuid.uuid4()}"
    with fhir_server.http("admin") as http:
        r = http.get(f"/{kind}", params={**_minimal(kind), name: value})
    assert r.status_code == 200, r.text
    bundle = valid(r.json())
    assert bundle["type"] == "searchset"
    assert bundle.get("entry", []) == []
    assert bundle.get("total", 0) == 0


def test_an_undeclared_parameter_is_refused(fhir_server: FhirServer) -> None:
    with fhir_server.http("admin") as http:
        r = http.get("/ServiceRequest", params={"colour": "blue"})
    assert r.status_code == 400
    outcome: dict[str, Any] = valid(r.json())
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "unknown_search_parameter"


def test_errors_are_operation_outcomes_with_our_codes(fhir_server: FhirServer) -> None:
    anonymous = httpx.get(f"{fhir_server.base}/Patient", timeout=60)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    with fhir_server.http("county-doctor") as http:
        missing = http.get(f"/ServiceRequest/{uuid.uuid4()}")
        bad = http.get("/Slot", params={"_count": "201"})
        bad_date = http.get("/Appointment", params={"date": "yesterday"})
        forbidden = http.get("/Practitioner", params={"organization": _some_org(http)})
    cases = [
        (anonymous, 401, "unauthorized"),
        (missing, 404, "not_found"),
        (bad, 422, "invalid"),
        (bad_date, 422, "invalid"),
        (forbidden, 403, "forbidden"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/fhir+json")
        outcome = valid(response.json())
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["details"]["coding"][0]["code"] == code
        assert outcome["issue"][0]["diagnostics"]


def _some_org(http: httpx.Client) -> str:
    """An institution that is not the caller's (the regional hospitals)."""
    me = http.get("/Practitioner").json()["entry"][0]["resource"]["id"]
    mine = http.get(f"/PractitionerRole/{me}").json()["organization"]["reference"]
    orgs = http.get("/Organization", params={"type": "regional", "_count": 5}).json()
    return next(
        f"Organization/{e['resource']['id']}"
        for e in orgs["entry"]
        if f"Organization/{e['resource']['id']}" != mine
    )
