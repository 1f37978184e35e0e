"""STOW-RS goes spool first: the upload is held durably while it is stored, and handed to
the forwarder when the archive cannot be reached (warning 0xB000), never lost."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid

from dicom.archive import OrthancArchive, set_archive
from dicom.spool import Spool
from telemed.core.settings import get_settings
from tests.support.dicom_files import ct_dataset, to_bytes
from tests.support.ports import free_port


def _stow(client: TestClient, headers: dict[str, str], data: bytes):  # type: ignore[no-untyped-def]
    body = b"--b\r\nContent-Type: application/dicom\r\n\r\n" + data + b"\r\n--b--\r\n"
    ctype = 'multipart/related; type="application/dicom"; boundary=b'
    return client.post(
        "/dicom-web/studies", content=body, headers={**headers, "Content-Type": ctype}
    )


def _instance() -> bytes:
    return to_bytes(ct_dataset(study_uid=generate_uid(), series_uid=generate_uid(), index=1))


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Spool:
    monkeypatch.setattr(get_settings().dicom, "spool_dir", tmp_path / "spool")
    return Spool(tmp_path / "spool")


def test_stow_while_the_archive_is_down_leaves_the_instance_to_the_forwarder(
    client: TestClient, login: Callable[[str], dict[str, str]], spool: Spool
) -> None:
    set_archive(OrthancArchive(f"http://127.0.0.1:{free_port()}", timeout=5))
    try:
        r = _stow(client, login("county-doctor"), _instance())
    finally:
        set_archive(None)
    assert r.status_code == 200, r.text
    (ref,) = r.json()["00081199"]["Value"]
    assert ref["00081196"]["Value"] == [0xB000]
    assert len(spool.pending()) == 1
    assert not list(spool.root.glob("*.held"))


def test_stow_stores_at_once_and_leaves_nothing_in_the_spool(
    client: TestClient, login: Callable[[str], dict[str, str]], spool: Spool, any_archive
) -> None:  # type: ignore[no-untyped-def]
    r = _stow(client, login("county-doctor"), _instance())
    assert r.status_code == 200, r.text
    assert "00081196" not in r.json()["00081199"]["Value"][0]
    assert spool.pending() == []
    assert not list(spool.root.glob("*.held"))


def test_a_held_file_whose_request_died_is_released_to_the_forwarder(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", durable=False)
    fresh = spool.put(b"fresh", {}, hold=True)
    stale = spool.put(b"stale", {}, hold=True)
    old = time.time() - 3600
    os.utime(spool.root / f"{stale}.held", (old, old))
    spool.release_stale(older_than=600)
    assert spool.pending() == [stale]
    assert spool.read(stale) == ({}, b"stale")
    spool.done(fresh)
    assert not list(spool.root.glob("*.held"))
