"""Slide annotations: kept on the pathologist's draft opinion, signed and frozen with it."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from telemed.identity.models import User

SIGN = {"password": "telemed-demo"}  # signing re-authenticates the signer

API = "/api/v1/consultations"
OPINION = {
    "findings": "送检组织见腺体排列紊乱，核大深染，标注区域为浸润灶。",
    "impression": "(胃窦)中分化腺癌",
    "icd10": ["C16.3"],
}


def _marks(study_uid: str) -> list[dict[str, Any]]:
    return [
        {
            "id": "m1",
            "study_uid": study_uid,
            "kind": "point",
            "x": 1200.5,
            "y": 800,
            "text": "核分裂象",
        },
        {
            "id": "m2",
            "study_uid": study_uid,
            "kind": "rectangle",
            "x": 2048,
            "y": 1024,
            "width": 512,
            "height": 384,
            "text": "浸润灶",
        },
    ]


def test_annotations_are_saved_with_the_draft_signed_and_then_frozen(
    client: TestClient, login: Any, make_request: Any, indexed_study: Any, session: Any
) -> None:
    slide = indexed_study("county-doctor")
    c = make_request(
        service_class="pathology_diagnosis",
        urgency="routine",
        specialty="pathology",
        specialist=None,
        submit=False,
    )
    county = login("county-doctor")
    assert (
        client.post(
            f"{API}/{c['id']}/studies", json={"study_uid": slide}, headers=county
        ).status_code
        == 201
    )
    c = client.post(f"{API}/{c['id']}/submit", headers=county).json()
    reader = session.get(User, c["proposed_specialist_id"])
    assert reader is not None and reader.specialty_code == "pathology"
    pathologist = login(reader.username)
    url = f"{API}/{c['id']}/opinion/annotations"

    # before accepting: not yet the pathologist's request to write on
    assert client.put(url, json={"items": _marks(slide)}, headers=pathologist).status_code == 403
    assert client.post(f"{API}/{c['id']}/accept", headers=pathologist).status_code == 200
    # the requester cannot write them, and marks must be on a study of the request
    assert client.put(url, json={"items": _marks(slide)}, headers=county).status_code == 403
    other = indexed_study("county-doctor")
    r = client.put(url, json={"items": _marks(other)}, headers=pathologist)
    assert r.status_code == 422 and r.json()["code"] == "study_not_linked"
    bad = [{**_marks(slide)[1], "width": 0}]
    assert client.put(url, json={"items": bad}, headers=pathologist).status_code == 422
    dup = [_marks(slide)[0], {**_marks(slide)[1], "id": "m1"}]
    r = client.put(url, json={"items": dup}, headers=pathologist)
    assert r.status_code == 422 and r.json()["code"] == "duplicate_id"

    r = client.put(url, json={"items": _marks(slide)}, headers=pathologist)
    assert r.status_code == 200, r.text
    assert [m["id"] for m in r.json()] == ["m1", "m2"]
    # a draft begun by annotating is not signable until it is written
    r = client.post(f"{API}/{c['id']}/opinion/sign", json=SIGN, headers=pathologist)
    assert r.status_code == 409 and r.json()["code"] == "opinion_incomplete"
    assert (
        client.put(f"{API}/{c['id']}/opinion", json=OPINION, headers=pathologist).status_code == 200
    )
    assert client.get(url, headers=pathologist).json() == r_marks(slide)
    assert client.get(url, headers=county).status_code == 404  # the draft is the author's

    signed = client.post(f"{API}/{c['id']}/opinion/sign", json=SIGN, headers=pathologist)
    assert signed.status_code == 200, signed.text
    canonical = json.loads(signed.json()["canonical"])
    assert canonical["annotations"] == r_marks(slide)
    assert signed.json()["annotations"] == r_marks(slide)
    assert client.get(url, headers=county).json() == r_marks(slide)
    v = client.get(f"{API}/{c['id']}/opinion/verify", headers=county).json()
    assert v["valid"] is True
    r = client.put(url, json={"items": []}, headers=pathologist)
    assert r.status_code == 409  # signed: the marks cannot change
    assert client.get(url, headers=county).json() == r_marks(slide)


def r_marks(study_uid: str) -> list[dict[str, Any]]:
    """The marks as the server returns them (every field, numbers as floats)."""
    out = []
    for m in _marks(study_uid):
        full = {"width": 0, "height": 0, **m}
        out.append(
            {k: float(v) if k in ("x", "y", "width", "height") else v for k, v in full.items()}
        )
    return out
