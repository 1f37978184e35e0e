"""The ECG values of an opinion: saved with the draft, covered by the signature, checked."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from telemed.consultations.models import Opinion

SIGN = {"password": "telemed-demo"}  # signing re-authenticates the signer

API = "/api/v1/consultations"


def _pdf_text(pdf: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return " ".join(out.split())


ECG = {
    "study_uid": "1.2.3.4",
    "sop_uid": "1.2.3.4.5",
    "heart_rate_bpm": 75.0,
    "rr_ms": 800,
    "pr_ms": 164,
    "qrs_ms": 92,
    "qt_ms": 384,
    "qtc_bazett_ms": 429,
    "qtc_fridericia_ms": 414,
    "axis_deg": 56,
    "edited": ["pr_ms"],
}
OPINION = {"findings": "窦性心律，心率75次/分。", "impression": "窦性心律", "ecg_measurements": ECG}


def test_ecg_values_are_signed_and_a_change_is_detected(
    client: TestClient, login: Any, make_request: Any, session: Session
) -> None:
    c = make_request()
    spec = login("specialist2")
    client.post(f"{API}/{c['id']}/accept", headers=spec)
    bad = client.put(
        f"{API}/{c['id']}/opinion",
        json={**OPINION, "ecg_measurements": {**ECG, "qrs_ms": -5}},
        headers=spec,
    )
    assert bad.status_code == 422
    unknown = {**OPINION, "ecg_measurements": {**ECG, "edited": ["st_mv"]}}
    assert client.put(f"{API}/{c['id']}/opinion", json=unknown, headers=spec).status_code == 422
    r = client.put(f"{API}/{c['id']}/opinion", json=OPINION, headers=spec)
    assert r.status_code == 200, r.text
    assert r.json()["ecg_measurements"]["pr_ms"] == 164
    r = client.post(f"{API}/{c['id']}/opinion/sign", json=SIGN, headers=spec)
    assert r.status_code == 200, r.text
    signed = r.json()
    assert json.loads(signed["canonical"])["ecg_measurements"]["edited"] == ["pr_ms"]
    county = login("county-doctor")
    seen = client.get(f"{API}/{c['id']}/opinion", headers=county).json()
    assert seen["ecg_measurements"]["qt_ms"] == 384
    assert client.get(f"{API}/{c['id']}/opinion/verify", headers=county).json()["valid"] is True

    printed = client.get(f"{API}/{c['id']}/opinion.pdf?lang=en", headers=county)
    assert printed.status_code == 200
    words = _pdf_text(printed.content)
    assert "HR 75 bpm" in words and "PR 164 ms" in words and "axis 56" in words
    assert "changed the automatic values of: pr_ms" in words

    session.execute(
        text("ALTER TABLE consultation_opinion DISABLE TRIGGER consultation_opinion_no_change")
    )
    changed = json.dumps({**ECG, "qt_ms": 440})
    session.execute(
        text("UPDATE consultation_opinion SET ecg_measurements = CAST(:v AS json) WHERE id = :id"),
        {"v": changed, "id": signed["id"]},
    )
    session.expire_all()
    v = client.get(f"{API}/{c['id']}/opinion/verify", headers=county).json()
    assert v["valid"] is False and "differs" in v["reason"]


def test_an_opinion_without_ecg_values_signs_as_before(
    client: TestClient, login: Any, make_request: Any, session: Session
) -> None:
    c = make_request()
    spec = login("specialist2")
    client.post(f"{API}/{c['id']}/accept", headers=spec)
    body = {"findings": "未见异常", "impression": "正常"}
    assert client.put(f"{API}/{c['id']}/opinion", json=body, headers=spec).status_code == 200
    signed = client.post(f"{API}/{c['id']}/opinion/sign", json=SIGN, headers=spec).json()
    assert "ecg_measurements" not in json.loads(signed["canonical"])
    op = session.get(Opinion, signed["id"])
    assert op is not None and op.ecg_measurements is None
