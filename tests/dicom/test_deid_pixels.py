"""The clean-pixel step: configured regions blanked, recorded as Clean Pixel Data (113101),
and the refusal of text-prone images lifted only for the instances it cleaned."""

from __future__ import annotations

import copy
import json
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from dicom import deid, deid_pixels
from dicom.archive import LocalArchive, get_archive, set_archive
from tests.support.dicom_files import ct_series, to_bytes

US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"


def _world(name: str) -> pydicom.Dataset:
    return pydicom.dcmread(get_testdata_file(name))


@pytest.mark.parametrize(
    "name", ["SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_rle_16bit_2frame.dcm", "image_dfl.dcm"]
)
def test_secondary_capture_is_refused_then_cleaned_and_declared(name: str) -> None:
    ds = _world(name)
    with pytest.raises(deid.NotDeidentifiable, match="secondary capture"):
        deid.deidentify(copy.deepcopy(ds), deid.Pseudonymizer("s"))
    before = np.array(ds.pixel_array)
    assert deid_pixels.clean_pixels(ds)  # modality OT: header and footer bands
    after = ds.pixel_array
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    frames = before.reshape((-1, ds.Rows, ds.Columns, int(ds.SamplesPerPixel)))
    cleaned = after.reshape(frames.shape)
    band = int(0.1 * ds.Rows)
    low = frames.min()
    assert (cleaned[:, :band] == low).all() and (cleaned[:, -band:] == low).all()
    assert (frames[:, :band] != low).any()  # there was something to blank
    middle = slice(band + 1, ds.Rows - band - 1)
    if "jpeg" not in name:  # lossless sources: the rest of the image is untouched
        assert (cleaned[:, middle] == frames[:, middle]).all()
    out = deid.deidentify(ds, deid.Pseudonymizer("s"), pixels_cleaned=True)
    assert "113101" in (deid.copy_options(out) or [])
    assert out.BurnedInAnnotation == "NO"
    back = pydicom.dcmread(BytesIO(to_bytes(out)))
    assert (back.pixel_array == after).all()


def test_ultrasound_uses_its_rule_and_an_unmatched_modality_stays_refused(tmp_path: Path) -> None:
    us = _world("SC_rgb_rle.dcm")
    us.Modality, us.SOPClassUID = "US", US_IMAGE
    us.file_meta.MediaStorageSOPClassUID = US_IMAGE
    rule = deid_pixels.rule_for(us)
    assert rule is not None and rule["modality"] == "US"
    assert deid_pixels.clean_pixels(us)
    assert (us.pixel_array[: int(0.12 * us.Rows)] == us.pixel_array.min()).all()
    # A configuration without a US rule: nothing cleaned, still refused.
    config = tmp_path / "regions.json"
    config.write_text(json.dumps({"rules": [{"modality": "SC", "boxes": [[0, 0, 1, 0.1]]}]}))
    other = _world("SC_rgb_rle.dcm")
    other.Modality, other.SOPClassUID = "US", US_IMAGE
    assert not deid_pixels.clean_pixels(other, config)
    with pytest.raises(deid.NotDeidentifiable, match="ultrasound"):
        deid.deidentify(other, deid.Pseudonymizer("s"))
    config.write_text(json.dumps({"rules": [{"modality": "US", "boxes": [[0.5, 0, 0.2, 1]]}]}))
    deid_pixels._rules.cache_clear()
    with pytest.raises(ValueError, match="bad box"):
        deid_pixels.rule_for(other, config)


def test_burned_in_ct_without_a_rule_is_refused_even_when_cleaning_is_asked() -> None:
    ds = ct_series(1)[0]
    ds.BurnedInAnnotation = "YES"
    assert deid_pixels.rule_for(ds) is None
    assert not deid_pixels.clean_pixels(ds)
    with pytest.raises(deid.NotDeidentifiable, match="burned-in"):
        deid.deidentify(ds, deid.Pseudonymizer("s"))


def test_api_cleans_pixels_only_when_asked(
    client, login, stow, tmp_path, session, demo_user
) -> None:  # type: ignore[no-untyped-def]
    from dicom.jobs import deidentify_into_archive

    set_archive(LocalArchive(tmp_path / "archive"))
    try:
        county = login("county-doctor")
        sc = _world("SC_rgb_rle_16bit_2frame.dcm")
        assert stow([to_bytes(sc)], county).status_code == 200
        uid = str(sc.StudyInstanceUID)
        r = client.post(f"/api/v1/studies/{uid}/deidentify", headers=county)
        assert r.status_code == 422 and "clean-pixel" in r.json()["detail"]
        r = client.post(
            f"/api/v1/studies/{uid}/deidentify", headers=county, json={"clean_pixel_data": True}
        )
        assert r.status_code == 202, r.text
        result = deidentify_into_archive(
            session=session,
            study_uid=uid,
            secret="s",
            institution_id=demo_user("county-doctor").institution_id,
            max_study_bytes=10**9,
            options=deid.Options(clean_pixel_data=True),
        )
        assert result["method_codes"]["113101"] == 1
        (data,) = get_archive().study_instances(result["deidentified_study_uid"])
        stored = pydicom.dcmread(BytesIO(data))
        assert "113101" in (deid.copy_options(stored) or [])
        assert (stored.pixel_array[:, :10] == stored.pixel_array.min()).all()
    finally:
        set_archive(None)
