"""Signed opinions: round trip, published keys, tamper detection, immutability, corrections."""

from __future__ import annotations

import base64
import subprocess
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from telemed.consultations.models import Opinion, SpecialistKey
from telemed.identity.models import User
from telemed.network.models import Institution
from telemed.reference.models import Icd10Code
from tests.support.pdf_pages import assert_vertical_mongolian, embedded_fonts

SIGN = {"password": "telemed-demo"}  # signing re-authenticates the signer

API = "/api/v1/consultations"
OPINION = {
    "findings": "右肺上叶见一约8mm磨玻璃结节。",
    "impression": "右肺上叶磨玻璃结节",
    "icd10": ["r91", "J18.9"],
    "recommendations": "3个月后复查",
    "referral_advice": {"refer": True, "specialty": "respiratory", "note": "呼吸科门诊随访"},
}


@pytest.fixture
def signed(client: TestClient, login: Any, make_request: Any) -> dict[str, Any]:
    c = make_request()
    client.post(f"{API}/{c['id']}/accept", headers=login("specialist2"))
    r = client.put(f"{API}/{c['id']}/opinion", json=OPINION, headers=login("specialist2"))
    assert r.status_code == 200, r.text
    assert r.json()["icd10"] == ["R91", "J18.9"]
    r = client.post(f"{API}/{c['id']}/opinion/sign", json=SIGN, headers=login("specialist2"))
    assert r.status_code == 200, r.text
    return {"consultation": c, "opinion": r.json()}


def test_signature_round_trip_with_the_published_key(
    client: TestClient, login: Any, signed: dict[str, Any], session: Session
) -> None:
    cid = signed["consultation"]["id"]
    v = client.get(f"{API}/{cid}/opinion/verify", headers=login("county-doctor")).json()
    assert v["valid"] is True and v["algorithm"] == "Ed25519"
    keys = client.get(f"{API}/keys/{v['signer_id']}").json()
    assert [k["key_id"] for k in keys] == [v["key_id"]]
    # an outside verifier needs only the published key and the canonical form
    op = session.get(Opinion, signed["opinion"]["id"])
    assert op is not None and op.canonical is not None
    pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(keys[0]["public_key"]))
    pub.verify(base64.b64decode(signed["opinion"]["signature"]), op.canonical.encode())
    assert keys[0]["fingerprint"] == v["fingerprint"]
    # the private key is not stored in the clear
    key = session.get(SpecialistKey, v["key_id"])
    assert key is not None and "PRIVATE" not in key.private_key_encrypted


def test_tampering_is_detected(
    client: TestClient, login: Any, signed: dict[str, Any], session: Session
) -> None:
    cid = signed["consultation"]["id"]
    # only someone able to switch the database's guard off could change a signed row
    session.execute(
        text("ALTER TABLE consultation_opinion DISABLE TRIGGER consultation_opinion_no_change")
    )
    session.execute(
        text("UPDATE consultation_opinion SET impression = '未见异常' WHERE id = :id"),
        {"id": signed["opinion"]["id"]},
    )
    session.expire_all()
    v = client.get(f"{API}/{cid}/opinion/verify", headers=login("county-doctor")).json()
    assert v["valid"] is False
    assert "differs" in v["reason"]


def test_a_forged_canonical_form_fails_the_signature(
    client: TestClient, login: Any, signed: dict[str, Any], session: Session
) -> None:
    cid = signed["consultation"]["id"]
    session.execute(
        text("ALTER TABLE consultation_opinion DISABLE TRIGGER consultation_opinion_no_change")
    )
    session.execute(
        text(
            "UPDATE consultation_opinion SET impression = '未见异常', "
            "canonical = replace(canonical, '右肺上叶磨玻璃结节\"', '未见异常\"') WHERE id = :id"
        ),
        {"id": signed["opinion"]["id"]},
    )
    session.expire_all()
    v = client.get(f"{API}/{cid}/opinion/verify", headers=login("county-doctor")).json()
    assert (v["valid"], v["reason"]) == (False, "signature does not match")


def test_the_database_refuses_to_change_a_signed_opinion(
    signed: dict[str, Any], session: Session
) -> None:
    for stmt in (
        "UPDATE consultation_opinion SET impression = 'x' WHERE id = :id",
        "DELETE FROM consultation_opinion WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            with session.begin_nested():
                session.execute(text(stmt), {"id": signed["opinion"]["id"]})


def test_editing_or_resigning_a_signed_opinion_is_refused(
    client: TestClient, login: Any, signed: dict[str, Any]
) -> None:
    cid = signed["consultation"]["id"]
    r = client.put(f"{API}/{cid}/opinion", json=OPINION, headers=login("specialist2"))
    assert r.status_code == 409 and r.json()["current_state"] == "reported"
    r = client.post(f"{API}/{cid}/opinion/sign", json=SIGN, headers=login("specialist2"))
    assert r.status_code == 409


def test_corrections_are_new_signed_versions(
    client: TestClient, login: Any, signed: dict[str, Any]
) -> None:
    cid = signed["consultation"]["id"]
    r = client.post(
        f"{API}/{cid}/opinion/corrections",
        json={**OPINION, "impression": "右肺上叶磨玻璃结节，建议随访", "reason": "补充随访建议"},
        headers=login("specialist2"),
    )
    assert r.status_code == 403 and r.json()["code"] == "reauthentication_required"
    r = client.post(
        f"{API}/{cid}/opinion/corrections",
        json={**OPINION, "reason": "补充随访建议", "password": "wrong"},
        headers=login("specialist2"),
    )
    assert r.status_code == 403 and r.json()["code"] == "reauthentication_failed"
    r = client.post(
        f"{API}/{cid}/opinion/corrections",
        json={
            **OPINION,
            "impression": "右肺上叶磨玻璃结节，建议随访",
            "reason": "补充随访建议",
            **SIGN,
        },
        headers=login("specialist2"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["supersedes_id"] == signed["opinion"]["id"]
    versions = client.get(f"{API}/{cid}/opinion/versions", headers=login("county-doctor")).json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["impression"] == OPINION["impression"]  # v1 untouched
    for n in (1, 2):
        v = client.get(f"{API}/{cid}/opinion/verify?version={n}", headers=login("county-doctor"))
        assert v.json()["valid"] is True
    latest = client.get(f"{API}/{cid}/opinion", headers=login("county-doctor")).json()
    assert latest["version"] == 2
    # the requester acknowledges; corrections stay possible after closing
    assert (
        client.post(f"{API}/{cid}/acknowledge", headers=login("county-doctor")).json()["state"]
        == "closed"
    )
    r = client.post(
        f"{API}/{cid}/opinion/corrections",
        json={**OPINION, "reason": "更正笔误"},
        headers=login("county-doctor"),
    )
    assert r.status_code == 403  # only the assigned specialist corrects


def test_printable_pdf_of_the_signed_opinion(
    client: TestClient, login: Any, signed: dict[str, Any]
) -> None:
    cid = signed["consultation"]["id"]
    r = client.get(f"{API}/{cid}/opinion.pdf", headers=login("county-doctor"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and b"STSong-Light" in r.content
    assert b"/Subtype /Image" not in r.content  # a verbal consent: no drawn signature


def test_the_signed_opinion_prints_in_vertical_mongolian_and_english(
    client: TestClient, login: Any, signed: dict[str, Any]
) -> None:
    url = f"{API}/{signed['consultation']['id']}/opinion.pdf"
    r = client.get(f"{url}?lang=mn-Mong", headers=login("county-doctor"))
    assert r.status_code == 200
    assert_vertical_mongolian(r.content)
    english = client.get(f"{url}?lang=en", headers=login("county-doctor"))
    assert english.status_code == 200 and "NotoSansMongolian" not in embedded_fonts(english.content)
    assert client.get(f"{url}?lang=xx", headers=login("county-doctor")).status_code == 422


def test_bad_icd10_codes_are_refused(client: TestClient, login: Any, make_request: Any) -> None:
    c = make_request()
    client.post(f"{API}/{c['id']}/accept", headers=login("specialist2"))
    r = client.put(
        f"{API}/{c['id']}/opinion",
        json={**OPINION, "icd10": ["lung nodule"]},
        headers=login("specialist2"),
    )
    assert r.status_code == 422


def _pdf_text(pdf: bytes, tmp_path: Any) -> str:
    path = tmp_path / "opinion.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True)
    return "".join(out.stdout.decode().split())  # the layout may break lines anywhere


def test_the_signed_opinion_names_its_signer_and_diagnoses(
    client: TestClient, login: Any, signed: dict[str, Any], session: Session, tmp_path: Any
) -> None:
    spec = session.execute(select(User).where(User.username == "specialist2")).scalar_one()
    hospital = session.get(Institution, spec.institution_id)
    r91 = session.get(Icd10Code, "R91")
    assert hospital is not None and r91 is not None
    cid = signed["consultation"]["id"]
    seen = client.get(f"{API}/{cid}/opinion", headers=login("county-doctor")).json()
    assert seen["signer"] == {
        "id": str(spec.id),
        "full_name": spec.full_name,
        "title": spec.title,
        "institution_id": str(hospital.id),
        "institution_name": hospital.name_zh,
        "institution_name_en": hospital.name_en,
    }
    assert [d["code"] for d in seen["diagnoses"]] == ["R91", "J18.9"]
    assert seen["diagnoses"][0]["name_zh"] == r91.name_zh
    assert signed["opinion"]["signer"]["full_name"] == spec.full_name  # the sign answer too
    printed = client.get(f"{API}/{cid}/opinion.pdf", headers=login("county-doctor"))
    text = _pdf_text(printed.content, tmp_path)
    assert spec.full_name in text and hospital.name_zh in text
    assert "R91" in text and "".join(r91.name_zh.split()) in text
    english = client.get(f"{API}/{cid}/opinion.pdf?lang=en", headers=login("county-doctor"))
    assert "".join(r91.name_en.split()) in _pdf_text(english.content, tmp_path)
