"""Consultations as FHIR: a ServiceRequest from a county HIS (consent contained), its Task
accepted by the specialist, the signed opinion as a DiagnosticReport."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.fhir.conftest import FhirServer
from tests.fhir.support import valid

SIGN = {"password": "telemed-demo"}  # signing re-authenticates the signer

SYS = "https://telemed.example/fhir/CodeSystem/"
OPINION = {
    "findings": "右肺上叶见一约8mm磨玻璃结节。",
    "impression": "右肺上叶磨玻璃结节",
    "icd10": ["R91"],
    "recommendations": "3个月后复查",
}


def consultation_body(patient: str, specialist: str, *, consent: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "category": [{"coding": [{"system": SYS + "request-kind", "code": "consultation"}]}],
        "code": {"coding": [{"system": SYS + "service-class", "code": "imaging_diagnosis"}]},
        "performerType": {"coding": [{"system": SYS + "specialty", "code": "radiology"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "performer": [{"reference": f"Practitioner/{specialist}"}],
        "reasonCode": [{"text": "请协助明确结节性质"}],
        "note": [{"text": "男，64岁，CT示右肺结节"}],
    }
    if consent:
        body["contained"] = [
            {
                "resourceType": "Consent",
                "id": "consent",
                "status": "active",
                "scope": {"text": "treatment"},
                "category": [{"text": "remote consultation"}],
                "dateTime": "2026-11-01T08:00:00+08:00",
                "performer": [{"display": "巴特尔"}],
            }
        ]
    return body


def test_a_consultation_request_its_task_and_its_signed_opinion(fhir_server: FhirServer) -> None:
    specialist = str(
        fhir_server.one("SELECT id FROM user_account WHERE username = 'specialist2'").id
    )
    with fhir_server.http("county-doctor") as cd, fhir_server.http("specialist2") as sp:
        patient = cd.get("/Patient", params={"_count": 1}).json()["entry"][0]["resource"]["id"]
        # without consent, submission is refused as in the REST API
        refused = cd.post(
            "/ServiceRequest", json=consultation_body(patient, specialist, consent=False)
        )
        assert refused.status_code == 409, refused.text
        assert (
            valid(refused.json())["issue"][0]["details"]["coding"][0]["code"] == "consent_required"
        )

        made = cd.post("/ServiceRequest", json=consultation_body(patient, specialist, consent=True))
        assert made.status_code == 201, made.text
        sr = valid(made.json())
        cid = sr["id"]
        assert sr["category"][0]["coding"][0]["code"] == "consultation"
        assert sr["status"] == "active"
        listed = cd.get(
            "/ServiceRequest", params={"category": "consultation", "patient": f"Patient/{patient}"}
        )
        assert cid in {e["resource"]["id"] for e in valid(listed.json())["entry"]}
        only_referrals = cd.get("/ServiceRequest", params={"category": "referral"})
        assert cid not in {
            e["resource"]["id"] for e in valid(only_referrals.json()).get("entry", [])
        }

        task = valid(sp.get(f"/Task/{cid}").json())
        assert task["status"] == "requested"
        # the specialist accepts through the Task
        accepted = sp.patch(
            f"/Task/{cid}", json=[{"op": "replace", "path": "/status", "value": "accepted"}]
        )
        assert accepted.status_code == 200, accepted.text
        assert valid(accepted.json())["businessStatus"]["text"] == "accepted"
        # completing before the opinion is signed is not a transition
        early = sp.put(f"/Task/{cid}", json={**task, "status": "completed"})
        assert early.status_code == 409
        assert (
            valid(early.json())["issue"][0]["details"]["coding"][0]["code"] == "invalid_transition"
        )
        assert sp.get(f"/DiagnosticReport/{cid}").status_code == 404

        api = f"{fhir_server.url}/api/v1/consultations/{cid}"
        headers = {"Authorization": sp.headers["Authorization"]}
        assert (
            httpx.put(f"{api}/opinion", json=OPINION, headers=headers, timeout=60).status_code
            == 200
        )
        assert (
            httpx.post(f"{api}/opinion/sign", json=SIGN, headers=headers, timeout=60).status_code
            == 200
        )

        report = valid(cd.get(f"/DiagnosticReport/{cid}").json())
        assert report["status"] == "final"
        assert report["conclusionCode"][0]["coding"][0] == {
            "system": "http://hl7.org/fhir/sid/icd-10",
            "code": "R91",
        }
        assert "右肺上叶磨玻璃结节" in report["conclusion"]
        pdf = report["presentedForm"][0]
        assert pdf["contentType"] == "application/pdf"
        got = httpx.get(
            pdf["url"], headers={"Authorization": cd.headers["Authorization"]}, timeout=60
        )
        assert got.status_code == 200 and got.content.startswith(b"%PDF")
        prov = valid(cd.get(f"/Provenance/{cid}").json())
        assert prov["target"] == [{"reference": f"DiagnosticReport/{cid}"}]
        sig = prov["signature"][0]
        assert sig["who"]["reference"] == f"Practitioner/{specialist}"
        canonical = base64.b64decode(prov["contained"][0]["data"])
        assert json.loads(canonical)["impression"] == OPINION["impression"]
        key_url, key_id = prov["policy"][0].split("#")
        key = next(k for k in httpx.get(key_url, timeout=60).json() if k["key_id"] == key_id)
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
        public.verify(base64.b64decode(sig["data"]), canonical)  # raises if it does not match
        with pytest.raises(InvalidSignature):
            public.verify(base64.b64decode(sig["data"]), canonical.replace(b"R91", b"R92"))
        found = cd.get("/DiagnosticReport", params={"based-on": f"ServiceRequest/{cid}"})
        assert [e["resource"]["id"] for e in valid(found.json())["entry"]] == [cid]
        # _revinclude=Provenance:target: the signature follows the report it targets
        signed = valid(
            cd.get(
                "/DiagnosticReport",
                params={"based-on": f"ServiceRequest/{cid}", "_revinclude": "Provenance:target"},
            ).json()
        )
        assert [(e["resource"]["resourceType"], e["search"]["mode"]) for e in signed["entry"]] == [
            ("DiagnosticReport", "match"),
            ("Provenance", "include"),
        ]
        assert signed["entry"][1]["resource"] == prov and signed["total"] == 1
        # the requester acknowledges: Task completed
        done = cd.put(
            f"/Task/{cid}",
            json={
                "resourceType": "Task",
                "status": "completed",
                "businessStatus": {"text": "closed"},
            },
        )
        assert done.status_code == 200, done.text
        assert valid(done.json())["businessStatus"]["text"] == "closed"

    # a doctor of another county takes part in nothing: 404 on every form of it
    outsider = fhir_server.one(
        "SELECT u.username FROM user_account u JOIN institution i ON i.id = u.institution_id "
        "WHERE u.role = 'county_doctor' AND i.id <> (SELECT institution_id FROM user_account "
        "WHERE username = 'county-doctor') ORDER BY u.username LIMIT 1"
    ).username
    with fhir_server.http(outsider) as other:
        for path in (
            f"/ServiceRequest/{cid}",
            f"/Task/{cid}",
            f"/DiagnosticReport/{cid}",
            f"/Provenance/{cid}",
        ):
            assert other.get(path).status_code == 404, path
        seen = other.get("/ServiceRequest", params={"_id": cid})
        assert valid(seen.json()).get("total") == 0
        bogus = other.get(f"/ServiceRequest/{uuid.uuid4()}")
        assert bogus.status_code == 404
