"""De-identification per PS3.15 Annex E (basic profile, modified dates), attribute by attribute."""

from __future__ import annotations

import datetime as dt
import uuid
from io import BytesIO

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicom import deid
from dicom.archive import LocalArchive, set_archive
from tests.support.dicom_files import ct_series, to_bytes


def _identifying_series() -> list[Dataset]:
    series = ct_series(2, patient_name="WANG^XIAOMING", patient_id="MRN-778899")
    first, second = series
    for ds in series:
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.PatientAddress = "呼和浩特市 新城区 1号"
        ds.PatientTelephoneNumbers = "13800000000"
        ds.OtherPatientIDs = "150102196203140017"
        ds.PatientAge = "064Y"
        ds.OperatorsName = "TECH^ONE"
        ds.PerformingPhysicianName = "DOC^TWO"
        ds.StationName = "CT-ROOM-2"
        ds.DeviceSerialNumber = "SN12345"
        ds.InstitutionAddress = "County road 1"
        ds.RequestingPhysician = "REQ^DOC"
        ds.AcquisitionDateTime = "20261120101700.000000"
        ds.SeriesDescription = "Head WANG^XIAOMING MRN-778899 CT-ROOM-2"
        ds.add_new(0x00091001, "LO", "vendor note WANG")
        ds.add_new(0x60003000, "OW", b"\x00" * 8)  # overlay data
    ref = Dataset()
    ref.ReferencedSOPClassUID = first.SOPClassUID
    ref.ReferencedSOPInstanceUID = first.SOPInstanceUID
    second.ReferencedImageSequence = Sequence([ref])
    return series


def test_every_attribute_is_handled_per_the_profile() -> None:
    originals = _identifying_series()
    copies = [pydicom.dcmread(BytesIO(to_bytes(d))) for d in originals]
    p = deid.Pseudonymizer("teaching-secret")
    options = deid.Options(retain_patient_characteristics=False)
    out = [deid.deidentify(ds, p, options) for ds in copies]
    a, b = out
    o1, o2 = originals
    for ds, orig in zip(out, originals, strict=True):
        # Dummies and emptied type-2 attributes.
        assert ds.PatientName == "ANONYMOUS"
        assert ds.PatientID.startswith("DEID-") and ds.PatientID != orig.PatientID
        for kw in (
            "PatientBirthDate",
            "PatientSex",
            "AccessionNumber",
            "ReferringPhysicianName",
            "StudyID",
        ):
            assert kw in ds and ds.data_element(kw).value in ("", None), kw
        # Removed.
        for kw in (
            "PatientAddress",
            "PatientTelephoneNumbers",
            "OtherPatientIDs",
            "PatientAge",
            "PerformingPhysicianName",
            "InstitutionAddress",
            "RequestingPhysician",
        ):
            assert kw not in ds, kw
        # Clean Descriptors: what identifies goes, the description stays.
        assert ds.SeriesDescription == "Head"
        assert ds.StudyDescription == orig.StudyDescription
        # X/Z/D: a dummy (conformant whatever the attribute's type in the IOD).
        assert ds.OperatorsName == "ANONYMOUS"
        for kw in ("StationName", "DeviceSerialNumber", "InstitutionName"):
            assert ds.data_element(kw).value == "ANONYMIZED", kw
        assert not any(e.tag.is_private for e in ds.iterall())
        assert 0x60003000 not in ds
        # UIDs remapped (instances), classes and syntaxes kept.
        for kw in (
            "StudyInstanceUID",
            "SeriesInstanceUID",
            "SOPInstanceUID",
            "FrameOfReferenceUID",
        ):
            assert ds.data_element(kw).value != orig.data_element(kw).value, kw
        assert ds.SOPClassUID == orig.SOPClassUID
        assert ds.file_meta.TransferSyntaxUID == orig.file_meta.TransferSyntaxUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPClassUID == orig.SOPClassUID
        # Dates shifted by one per-patient offset, times kept.
        shift = dt.datetime.strptime(ds.StudyDate, "%Y%m%d") - dt.datetime.strptime(
            orig.StudyDate, "%Y%m%d"
        )
        assert shift.days < 0
        for kw in ("SeriesDate", "ContentDate"):
            d = dt.datetime.strptime(ds.data_element(kw).value, "%Y%m%d")
            assert d - dt.datetime.strptime(orig.data_element(kw).value, "%Y%m%d") == shift
        assert ds.AcquisitionDateTime[8:] == orig.AcquisitionDateTime[8:]
        assert ds.StudyTime == orig.StudyTime
        # Marked as de-identified, with the method codes.
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
        codes = {
            (c.CodeValue, c.CodingSchemeDesignator) for c in ds.DeidentificationMethodCodeSequence
        }
        assert codes == {("113100", "DCM"), ("113105", "DCM"), ("113107", "DCM")}
        assert ds.DeidentificationMethod[0].startswith("DICOM PS3.15 2024b")
        # Pixels untouched (CT: no burned-in annotation).
        assert ds.PixelData == orig.PixelData
    # Consistent across the study: same study/series UID, same pseudonym and shift.
    assert a.StudyInstanceUID == b.StudyInstanceUID and a.SeriesInstanceUID == b.SeriesInstanceUID
    assert a.PatientID == b.PatientID and a.StudyDate == b.StudyDate
    assert a.SOPInstanceUID != b.SOPInstanceUID
    # References follow the remapping.
    ref = b.ReferencedImageSequence[0]
    assert ref.ReferencedSOPInstanceUID == a.SOPInstanceUID
    assert ref.ReferencedSOPClassUID == o1.SOPClassUID
    assert o2.SOPInstanceUID not in {str(e.value) for e in b.iterall() if e.VR == "UI"}
    # The output is valid Part 10.
    back = pydicom.dcmread(BytesIO(to_bytes(a)))
    assert back.PatientIdentityRemoved == "YES"


def test_same_secret_same_mapping_other_patient_other_shift() -> None:
    p1, p2 = deid.Pseudonymizer("s"), deid.Pseudonymizer("s")
    assert p1.uid("1.2.3.4") == p2.uid("1.2.3.4") and p1.uid("1.2.3.4") != "1.2.3.4"
    offsets = {p1.date_offset(f"PID{i}") for i in range(20)}
    assert len(offsets) > 1
    assert p1.date_offset("PID1") == p2.date_offset("PID1")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"BurnedInAnnotation": "YES"}, "burned-in"),
        ({"Modality": "US"}, "ultrasound"),
        ({"RecognizableVisualFeatures": "YES"}, "recognizable"),
        ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7"}, "secondary capture"),
        ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.6.1"}, "ultrasound"),
    ],
)
def test_unsafe_pixels_are_refused_with_a_reason(change: dict[str, str], reason: str) -> None:
    ds = ct_series(1)[0]
    for k, v in change.items():
        setattr(ds, k, v)
    with pytest.raises(deid.NotDeidentifiable, match=reason):
        deid.deidentify(ds, deid.Pseudonymizer("s"))


def test_api_refuses_burned_in_and_copies_a_clean_study(
    client, login, stow, tmp_path, session, demo_user
) -> None:  # type: ignore[no-untyped-def]
    from dicom import service
    from dicom.jobs import deidentify_into_archive

    set_archive(LocalArchive(tmp_path / "archive"))
    try:
        county = login("county-doctor")
        burned = ct_series(1)
        burned[0].BurnedInAnnotation = "YES"
        assert stow([to_bytes(burned[0])], county).status_code == 200
        uid = str(burned[0].StudyInstanceUID)
        r = client.post(f"/api/v1/studies/{uid}/deidentify", headers=county)
        assert r.status_code == 422
        assert r.json()["code"] == "not_deidentifiable" and "burned-in" in r.json()["detail"]

        clean = ct_series(2)
        assert stow([to_bytes(d) for d in clean], county).status_code == 200
        result = deidentify_into_archive(
            session=session,
            study_uid=str(clean[0].StudyInstanceUID),
            secret="s",
            institution_id=demo_user("county-doctor").institution_id,
            max_study_bytes=10**9,
        )
        new_uid = result["deidentified_study_uid"]
        assert result["instances"] == 2 and new_uid != clean[0].StudyInstanceUID
        copy = service.get_visible_study(
            session=session, user=demo_user("county-doctor"), study_uid=new_uid
        )
        assert copy.patient_name == "ANONYMOUS" and copy.source == "deid"
        assert copy.patient_id is None
        # The copy and the job's result say it is a de-identified copy, and with which options.
        assert result["deidentified_copy"] is True
        assert result["profile"] == "DICOM PS3.15 2024b Table E.1-1"
        assert result["method_codes"] == {c: 2 for c in ("113100", "113105", "113107", "113108")}
        from dicom.archive import get_archive

        for data in get_archive().study_instances(new_uid):
            stored = pydicom.dcmread(BytesIO(data))
            assert deid.copy_options(stored) == ["113100", "113105", "113107", "113108"]
        # Through the API: the job row carries the options it will apply.
        r = client.post(
            f"/api/v1/studies/{clean[0].StudyInstanceUID}/deidentify",
            headers=county,
            json={"retain_patient_characteristics": False},
        )
        assert r.status_code == 202, r.text
        from dicom.models import OutboundJob

        job = session.get(OutboundJob, uuid.UUID(r.json()["id"]))
        assert job is not None and job.params["options"] == {
            "retain_patient_characteristics": False,
            "retain_device_identity": False,
            "retain_safe_private": False,
            "clean_pixel_data": False,
        }
    finally:
        set_archive(None)
