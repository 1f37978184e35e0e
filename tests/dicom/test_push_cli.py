"""`telemed dicom push`: recursion, non-DICOM report, resume, links, refused token."""

from __future__ import annotations

import uuid

import pydicom
from typer.testing import CliRunner

from telemed.cli import app
from tests.support.dicom_files import ct_series, write_series


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].split(" ", 1)[1]


def test_push_recurses_skips_non_dicom_and_resumes(
    any_archive, live_server, login, tmp_path, client, link_participants, demo_user
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "exam"
    files = write_series(ct_series(4), folder / "series1")
    (folder / "notes.txt").write_text("not an image")
    (folder / "series1" / "DICOMDIR.bak").write_bytes(b"\x00" * 50)
    study_uid = str(pydicom.dcmread(files[0]).StudyInstanceUID)
    token = _token(login("county-doctor"))
    runner = CliRunner()

    # First run sends only two files (the others are not there yet): a partial upload.
    partial = tmp_path / "partial"
    partial.mkdir()
    for f in files[:2]:
        (partial / f.name).write_bytes(f.read_bytes())
    r = runner.invoke(
        app, ["dicom", "push", str(partial), "--server", live_server, "--token", token]
    )
    assert r.exit_code == 0, r.output
    assert "sent 2" in r.output

    consultation = uuid.uuid4()
    link_participants[consultation] = {demo_user("county-doctor").id}
    r = runner.invoke(
        app,
        [
            "dicom",
            "push",
            str(folder),
            "--server",
            live_server,
            "--token",
            token,
            "--consultation",
            str(consultation),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "sent 2, already on the server 2" in r.output
    assert "skipped 2 non-DICOM" in r.output and "notes.txt" in r.output
    summary = client.get(f"/api/v1/studies/{study_uid}", headers=login("county-doctor")).json()
    assert summary["instance_count"] == 4
    links = client.get(f"/api/v1/studies/{study_uid}/links", headers=login("county-doctor")).json()
    assert [lk["target_id"] for lk in links] == [str(consultation)]


def test_push_with_a_refused_token_stops_cleanly(any_archive, live_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = write_series(ct_series(1), tmp_path / "s")
    r = CliRunner().invoke(
        app, ["dicom", "push", str(files[0]), "--server", live_server, "--token", "expired"]
    )
    assert r.exit_code == 3
    assert "re-run with a fresh token" in r.output
