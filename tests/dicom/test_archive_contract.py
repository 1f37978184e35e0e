"""One contract, two archives: the embedded LocalArchive and a real Orthanc."""

from __future__ import annotations

from io import BytesIO

import pydicom
import pytest
from PIL import Image

from dicom.archive import Archive, ArchiveError, LocalArchive, NotInArchive, OrthancArchive
from tests.support.dicom_files import ct_series, to_bytes


@pytest.fixture(params=["local", "orthanc"])
def archive(request, tmp_path) -> Archive:  # type: ignore[no-untyped-def]
    if request.param == "local":
        return LocalArchive(tmp_path / "archive")
    server = request.getfixturevalue("orthanc_server")
    return OrthancArchive(server.url, server.username, server.password)


@pytest.fixture
def stored(archive):  # type: ignore[no-untyped-def]
    datasets = ct_series(3, size=16, patient_id="CONTRACT1", patient_name="CONTRACT^ONE")
    for ds in datasets:
        assert not archive.store(to_bytes(ds)).already_stored
    yield datasets
    archive.delete_study(str(datasets[0].StudyInstanceUID))


def _uid(item: dict, tag: str) -> str:  # type: ignore[type-arg]
    return str(item[tag]["Value"][0])


def test_store_is_idempotent(archive, stored) -> None:  # type: ignore[no-untyped-def]
    again = archive.store(to_bytes(stored[0]))
    assert again.already_stored
    assert again.sop_uid == stored[0].SOPInstanceUID
    assert archive.has_instance(str(stored[0].SOPInstanceUID))
    assert not archive.has_instance("1.2.3.4.5.6.7.8.9")


def test_qido_at_every_level(archive, stored) -> None:  # type: ignore[no-untyped-def]
    study_uid = str(stored[0].StudyInstanceUID)
    series_uid = str(stored[0].SeriesInstanceUID)
    studies = archive.search("studies", {"PatientID": "CONTRACT1"})
    assert [_uid(s, "0020000D") for s in studies] == [study_uid]
    assert archive.search("studies", {"StudyInstanceUID": study_uid})
    assert archive.search("studies", {"PatientID": "NOBODY"}) == []
    series = archive.search("series", study_uid=study_uid)
    assert [_uid(s, "0020000E") for s in series] == [series_uid]
    assert _uid(series[0], "00080060") == "CT"
    instances = archive.search("instances", study_uid=study_uid, series_uid=series_uid)
    assert {_uid(i, "00080018") for i in instances} == {str(d.SOPInstanceUID) for d in stored}
    assert archive.search("series", study_uid="1.2.3.999") == []


def test_metadata_has_every_instance_without_pixels(archive, stored) -> None:  # type: ignore[no-untyped-def]
    meta = archive.metadata(str(stored[0].StudyInstanceUID))
    assert {_uid(m, "00080018") for m in meta} == {str(d.SOPInstanceUID) for d in stored}
    assert all("Value" not in m.get("7FE00010", {}) for m in meta)
    assert all(_uid(m, "00100020") == "CONTRACT1" for m in meta)
    with pytest.raises(NotInArchive):
        archive.metadata("1.2.3.999")


def test_a_studys_series_count_their_instances_and_one_instance_has_its_own_metadata(
    archive, stored
) -> None:  # type: ignore[no-untyped-def]
    # the viewer's first two requests: the study's series (counted without reading every
    # instance) and, here, one instance's metadata (not its whole series')
    study_uid, series_uid = str(stored[0].StudyInstanceUID), str(stored[0].SeriesInstanceUID)
    [series] = archive.search("series", study_uid=study_uid)
    assert _uid(series, "0020000E") == series_uid
    assert int(series["00201209"]["Value"][0]) == 3
    assert _uid(series, "00080060") == "CT"
    sop = str(stored[2].SOPInstanceUID)
    [one] = archive.metadata(study_uid, series_uid, sop)
    assert _uid(one, "00080018") == sop
    with pytest.raises(NotInArchive):
        archive.metadata(study_uid, series_uid, "1.2.3.999")


def test_instance_frames_and_rendered(archive, stored) -> None:  # type: ignore[no-untyped-def]
    ds = stored[1]
    key = (str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID))
    back = pydicom.dcmread(BytesIO(archive.instance(*key)))
    assert back.SOPInstanceUID == ds.SOPInstanceUID
    assert archive.frames(*key, [1]) == [bytes(ds.PixelData)]
    png = archive.rendered(*key)
    img = Image.open(BytesIO(png))
    assert img.size == (16, 16)
    narrow = archive.rendered(*key, window=(-1000.0, 10.0))
    assert Image.open(BytesIO(narrow)).tobytes() != img.tobytes()
    with pytest.raises(NotInArchive):
        archive.frames(*key, [2])
    with pytest.raises(NotInArchive):
        archive.instance(key[0], key[1], "1.2.3.4.5")


def test_whole_study_and_delete(archive, stored) -> None:  # type: ignore[no-untyped-def]
    study_uid = str(stored[0].StudyInstanceUID)
    sops = {pydicom.dcmread(BytesIO(b)).SOPInstanceUID for b in archive.study_instances(study_uid)}
    assert sops == {d.SOPInstanceUID for d in stored}
    archive.delete_study(study_uid)
    assert archive.search("studies", {"StudyInstanceUID": study_uid}) == []


def test_non_dicom_is_refused(archive) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ArchiveError):
        archive.store(b"this is not DICOM at all" * 10)
    archive.ping()


def test_readiness_probe_follows_orthanc(orthanc_server) -> None:  # type: ignore[no-untyped-def]
    from dicom.archive import set_archive
    from dicom.runtime import register_readiness
    from telemed.core.health import readiness, readiness_probes
    from telemed.core.settings import Settings

    settings = Settings(
        env="test",
        secret_key="x" * 32,
        orthanc_url=orthanc_server.url,
        orthanc_username=orthanc_server.username,
        orthanc_password=orthanc_server.password,
    )
    set_archive(None)
    register_readiness(settings)
    try:
        assert readiness()["archive"] == "ok"
        bogus = Settings(env="test", secret_key="x" * 32, orthanc_url="http://127.0.0.1:9")
        register_readiness(bogus)
        assert readiness()["archive"] != "ok"
    finally:
        readiness_probes.pop("archive", None)


def test_frames_of_a_compressed_instance_are_decoded(archive) -> None:  # type: ignore[no-untyped-def]
    """WADO-RS frames are served as Explicit VR Little Endian, so compressed instances
    (here RLE Lossless, shipped inside pydicom) must come back decoded."""
    from pydicom.data import get_testdata_file

    rle = pydicom.dcmread(get_testdata_file("MR_small_RLE.dcm"))
    plain = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    archive.store(to_bytes(rle))
    key = (str(rle.StudyInstanceUID), str(rle.SeriesInstanceUID), str(rle.SOPInstanceUID))
    try:
        assert archive.frames(*key, [1]) == [plain.pixel_array.astype("<i2").tobytes()]
    finally:
        archive.delete_study(key[0])
