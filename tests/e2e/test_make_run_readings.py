"""`make run`'s embedded default (SQLite, local archive) carries a remote ECG and a remote
pathology request from the county to a reader the routing proposes and back: the county
doctor sends the recording and the slide, the reader reads them (the ECG's automatic
measurements, the slide's tiles), signs with measurements and marks, and the county sees
the signed opinion."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from dicom import ecg_synth
from tests.support.dicom_files import stow
from tests.support.ports import free_port, wait_port
from tests.support.sqlite_runs import Built, development_env
from tests.support.wsi import slide_pyramid, stow_slide

SIGN = {"password": "telemed-demo"}  # signing re-authenticates the signer

pytestmark = pytest.mark.e2e

API = "/api/v1"
CONSENT = {
    "given_by": "巴特尔",
    "relationship": "self",
    "method": "verbal",
    "given_at": "2026-11-01T08:00:00+00:00",
    "note": "explained",
}


def _login(base: str, username: str) -> httpx.Client:
    token = httpx.post(
        f"{base}{API}/auth/token",
        data={"username": username, "password": "telemed-demo"},
        timeout=60,  # a server just started on a loaded machine (not a speed test)
    )
    assert token.status_code == 200, token.text
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.Client(base_url=base + API, headers=auth, timeout=120)


def _request(county: httpx.Client, patient_id: str, service_class: str, specialty: str) -> Any:
    """A request routed by the proposal (no specialist named), submitted."""
    c = county.post(
        "/consultations",
        json={
            "patient_id": patient_id,
            "service_class": service_class,
            "urgency": "urgent",
            "summary": "男，64岁，阵发性心悸伴胃部不适",
            "question": "请判读并出具意见",
            "wanted_specialty": specialty,
            "consent": CONSENT,
        },
    )
    assert c.status_code == 201, c.text
    r = county.post(f"/consultations/{c.json()['id']}/submit")
    assert r.status_code == 200, r.text
    assert r.json()["proposed_specialist_id"], r.json()
    return r.json()


def _reader(db: Path, user_id: str) -> tuple[str, str]:
    """The proposed reader's username and specialty, read from the served database."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, username, specialty_code FROM user_account").fetchall()
    want = uuid.UUID(user_id)
    return next((name, spec) for uid, name, spec in rows if uuid.UUID(str(uid)) == want)


def _sign(reader: httpx.Client, cid: str, opinion: dict[str, Any]) -> None:
    r = reader.put(f"/consultations/{cid}/opinion", json=opinion)
    assert r.status_code == 200, r.text
    r = reader.post(f"/consultations/{cid}/opinion/sign", json=SIGN)
    assert r.status_code == 200, r.text


def _read_ecg(base: str, db: Path, county: httpx.Client, patient_id: str) -> str:
    c = _request(county, patient_id, "ecg_diagnosis", "electrophysiology")
    ds = ecg_synth.ecg_dataset(patient_name="MAKE^RUN", patient_id="MR-ECG-1")
    token = county.headers["Authorization"].removeprefix("Bearer ")
    assert stow(base, token, [ds], patient_id=patient_id).status_code == 200
    body = {"study_uid": str(ds.StudyInstanceUID)}
    linked = county.post(f"/consultations/{c['id']}/studies", json=body)
    assert linked.status_code == 201, linked.text
    name, specialty = _reader(db, c["proposed_specialist_id"])
    assert specialty == "electrophysiology", (name, specialty)
    reader = _login(base, name)
    assert reader.post(f"/consultations/{c['id']}/accept").status_code == 200
    leads = reader.get(f"/studies/{ds.StudyInstanceUID}/ecg")
    assert leads.status_code == 200, leads.text
    assert len(leads.json()["leads"]) == 12
    auto = reader.get(f"/studies/{ds.StudyInstanceUID}/ecg/measurements")
    assert auto.status_code == 200, auto.text
    values = auto.json()
    assert values["heart_rate_bpm"] == pytest.approx(75, abs=2)
    ecg = {
        "study_uid": str(ds.StudyInstanceUID),
        "sop_uid": str(ds.SOPInstanceUID),
        **{k: values[k] for k in ("heart_rate_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms")},
        "qtc_bazett_ms": values["qtc_bazett_ms"],
        "qtc_fridericia_ms": values["qtc_fridericia_ms"],
        "axis_deg": values["axis_deg"],
        "edited": [],
    }
    _sign(
        reader,
        c["id"],
        {
            "findings": "窦性心律，心率75次/分。",
            "impression": "窦性心律，正常心电图",
            "icd10": ["R00.2"],
            "recommendations": "随访",
            "ecg_measurements": ecg,
        },
    )
    return str(c["id"])


def _read_slide(base: str, db: Path, county: httpx.Client, patient_id: str) -> str:
    c = _request(county, patient_id, "pathology_diagnosis", "pathology")
    slide = slide_pyramid(patient_name="MAKE^RUN", patient_id="MR-PATH-1", width=1024, height=768)
    token = county.headers["Authorization"].removeprefix("Bearer ")
    stow_slide(base, token, slide)
    study = str(slide[0].StudyInstanceUID)
    linked = county.post(f"/consultations/{c['id']}/studies", json={"study_uid": study})
    assert linked.status_code == 201, linked.text
    name, specialty = _reader(db, c["proposed_specialist_id"])
    assert specialty == "pathology", (name, specialty)
    reader = _login(base, name)
    assert reader.post(f"/consultations/{c['id']}/accept").status_code == 200
    low = slide[-1]
    tile = httpx.get(
        f"{base}/dicom-web/studies/{study}/series/{low.SeriesInstanceUID}"
        f"/instances/{low.SOPInstanceUID}/frames/1",
        headers={**reader.headers, "Accept": 'multipart/related; type="image/jpeg"'},
        timeout=60,
    )
    assert tile.status_code == 200, tile.text
    assert b"\xff\xd8" in tile.content  # a JPEG tile
    mark = {"id": "m1", "kind": "point", "study_uid": study, "x": 300, "y": 200, "text": "核分裂象"}
    r = reader.put(f"/consultations/{c['id']}/opinion/annotations", json={"items": [mark]})
    assert r.status_code == 200, r.text
    _sign(
        reader,
        c["id"],
        {
            "findings": "胃窦黏膜慢性炎，轻度肠上皮化生。",
            "impression": "慢性萎缩性胃炎伴轻度肠化",
            "icd10": ["K29.4"],
            "recommendations": "1年后复查胃镜",
        },
    )
    return str(c["id"])


def test_an_ecg_and_a_slide_are_read_and_signed_on_the_embedded_default(
    sqlite_demo: Built, tmp_path: Path
) -> None:
    db = sqlite_demo.copy("demo", tmp_path / "telemed.db")
    env = development_env(db)
    port = free_port()
    run_script = Path(__file__).resolve().parents[2] / "scripts" / "run.sh"
    proc = subprocess.Popen(
        ["bash", str(run_script)],
        env={**env, "PORT": str(port), "TELEMED_PYTHON": sys.executable},
        cwd=tmp_path,
    )
    try:
        wait_port(port, timeout=300)
        base = f"http://127.0.0.1:{port}"
        county = _login(base, "county-doctor")
        patient_id = county.get("/patients").json()[0]["id"]
        done = [_read_ecg(base, db, county, patient_id), _read_slide(base, db, county, patient_id)]
        for cid in done:
            seen = county.get(f"/consultations/{cid}")
            assert seen.json()["state"] == "reported", seen.text
            opinion = county.get(f"/consultations/{cid}/opinion")
            assert opinion.status_code == 200 and opinion.json()["signature"], opinion.text
            assert county.get(f"/consultations/{cid}/opinion/verify").json()["valid"] is True
        ecg_opinion = county.get(f"/consultations/{done[0]}/opinion").json()
        assert ecg_opinion["ecg_measurements"]["heart_rate_bpm"] == pytest.approx(75, abs=2)
        marks = county.get(f"/consultations/{done[1]}/opinion/annotations").json()
        assert [m["text"] for m in marks] == ["核分裂象"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
