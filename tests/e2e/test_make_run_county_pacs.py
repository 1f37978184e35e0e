"""`make run` starts the demo county hospital's PACS beside the app (scripts/run.sh,
`dicom.demo_pacs`); the main demo story (`telemed demo`: a county CT read and signed by
specialist2) ends with the opinion's DICOM SR arriving there, and the viewer's priors ask
that PACS by C-FIND."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pydicom
import pytest

from tests.support.ports import free_port, wait_port
from tests.support.sqlite_runs import Built, cli, development_env

pytestmark = pytest.mark.e2e

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"


def _received_sr(pacs_dir: Path) -> list[pydicom.Dataset]:
    out = []
    for f in sorted(pacs_dir.glob("*/*.dcm")):
        ds = pydicom.dcmread(f)
        if str(ds.SOPClassUID) == COMPREHENSIVE_SR:
            out.append(ds)
    return out


@pytest.mark.timeout(900)  # the run's demo database is built first when this runs alone
def test_the_signed_demo_ct_opinion_arrives_at_the_county_pacs(
    sqlite_demo: Built, tmp_path: Path
) -> None:
    db = sqlite_demo.copy("demo", tmp_path / "telemed.db")
    pacs_port = free_port()
    with sqlite3.connect(db) as conn:  # the seeded registration, moved to this run's port
        rows = conn.execute(
            "UPDATE dicom_ae SET port = ? WHERE ae_title = 'DEMO_PACS' AND kind = 'pacs'",
            (pacs_port,),
        ).rowcount
    assert rows == 1, "the demo seed registers the county PACS"
    env = development_env(db)
    port = free_port()
    run_script = Path(__file__).resolve().parents[2] / "scripts" / "run.sh"
    proc = subprocess.Popen(
        ["bash", str(run_script)],
        env={
            **env,
            "PORT": str(port),
            "TELEMED_PYTHON": sys.executable,
            "TELEMED_DEMO_PACS_PORT": str(pacs_port),
        },
        cwd=tmp_path,
    )
    pacs_dir = tmp_path / "var" / "demo-pacs"
    try:
        wait_port(port, timeout=300)
        wait_port(pacs_port, timeout=60)
        assert _received_sr(pacs_dir) == []  # the month's opinions were sent nowhere
        base = f"http://127.0.0.1:{port}"
        story = cli("demo", "--server", base, "--no-video", env=env, cwd=tmp_path)
        assert story.returncode == 0, story.stdout[-3000:] + story.stderr[-3000:]
        deadline = time.monotonic() + 120
        received = _received_sr(pacs_dir)
        while not received and time.monotonic() < deadline:
            time.sleep(0.5)
            received = _received_sr(pacs_dir)
        assert len(received) == 1, story.stdout[-2000:]
        (sr,) = received
        signer = sr.VerifyingObserverSequence[0]
        assert str(signer.VerifyingObserverName).rstrip("^") == "刘主任"  # specialist2
        assert sr.CompletionFlag == "COMPLETE" and sr.VerificationFlag == "VERIFIED"
        evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
        assert evidence.StudyInstanceUID == sr.StudyInstanceUID
        study_uid = str(sr.StudyInstanceUID)
        assert any(p.name == study_uid for p in pacs_dir.iterdir())

        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "specialist2", "password": "telemed-demo"},
            timeout=60,
        ).json()["access_token"]
        priors = httpx.get(
            f"{base}/api/v1/studies/{study_uid}/priors",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        assert priors.status_code == 200, priors.text
        assert priors.json()["county_pacs"] == "ok", priors.json()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode is not None
