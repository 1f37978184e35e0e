"""The demo county PACS of `make run` (`dicom.demo_pacs`): what our PACS push sends is kept
on disk, and its study-level C-FIND answers by Patient ID over what it holds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest

from dicom import demo_pacs, outbound
from telemed.network.models import DicomAE
from tests.support.dicom_files import ct_series
from tests.support.ports import free_port


@pytest.fixture
def pacs(tmp_path: Path) -> Iterator[tuple[DicomAE, Path]]:
    port = free_port()
    server = demo_pacs.start(directory=tmp_path / "pacs", port=port)
    ae = DicomAE(
        institution_id=uuid.uuid4(), ae_title=demo_pacs.AE_TITLE, host="127.0.0.1", port=port
    )
    try:
        yield ae, tmp_path / "pacs"
    finally:
        server.shutdown()


def test_what_is_sent_is_kept_and_found_by_patient(pacs: tuple[DicomAE, Path]) -> None:
    ae, directory = pacs
    ours = ct_series(3, patient_id="P-DEMO-1", patient_name="BATE^ER")
    other = ct_series(2, patient_id="P-OTHER")
    sent = outbound.send_datasets(
        datasets=[*ours, *other], ae=ae, calling_ae="TELEMED", progress=lambda d, f: None
    )
    assert (sent["sent"], sent["failed"]) == (5, 0), sent
    study = str(ours[0].StudyInstanceUID)
    kept = sorted((directory / study).glob("*.dcm"))
    assert [p.stem for p in kept] == sorted(str(d.SOPInstanceUID) for d in ours)
    assert pydicom.dcmread(kept[0]).PatientID == "P-DEMO-1"

    found = outbound.find_studies(ae=ae, calling_ae="TELEMED", patient_id="P-DEMO-1")
    assert [f["study_uid"] for f in found] == [study]
    assert found[0]["patient_name"] == "BATE^ER" and found[0]["modalities"] == "CT"
    both = outbound.find_studies(ae=ae, calling_ae="TELEMED")
    assert sorted(f["study_uid"] for f in both) == sorted([study, str(other[0].StudyInstanceUID)])
    assert outbound.find_studies(ae=ae, calling_ae="TELEMED", patient_id="NOBODY") == []
