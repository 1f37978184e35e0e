"""Every attribute of PS3.15 Table E.1-1, at the top level and nested: nothing identifying
survives anywhere in the output bytes, and each attribute got the action the table gives."""

from __future__ import annotations

import copy
import datetime as dt
from io import BytesIO

import pydicom
import pytest
from pydicom.datadict import dictionary_VR

from dicom import deid
from dicom.deid_profile import Options, profile
from tests.support.deid_datasets import CLEAN_WORD, FAMILY, TEXT, full_table_study
from tests.support.dicom_files import to_bytes


def _run(options: Options) -> tuple[object, list[pydicom.Dataset], bytes, list[bytes]]:
    gen = full_table_study(options)
    originals = [pydicom.dcmread(BytesIO(to_bytes(d))) for d in gen.datasets]
    p = deid.Pseudonymizer("full-table")
    out = [deid.deidentify(pydicom.dcmread(BytesIO(to_bytes(d))), p, options) for d in originals]
    blobs = [to_bytes(d) for d in out]
    return gen, out, b"".join(blobs), [to_bytes(d) for d in originals]


@pytest.mark.parametrize(
    "options",
    [Options(), Options(retain_patient_characteristics=False, retain_device_identity=True)],
    ids=["defaults", "no-patient-characteristics+device-identity"],
)
def test_no_identifying_value_of_the_table_survives_anywhere(options: Options) -> None:
    gen, out, blob, originals = _run(options)
    prof = profile()
    first = out[0]
    offset = None
    checked = 0
    for tag, marker in gen.markers.items():
        row = prof.row(tag)
        assert row is not None
        action = prof.resolve(row, options)
        present = marker.encode() in blob
        if action in ("X", "Z", "D", "U"):
            assert not present, f"{row.name} {row.tag} ({action}): {marker} left in the output"
            checked += 1
        elif action == "K":
            assert first[tag].value == gen.datasets[0][tag].value, row.name
        elif action == "C" and dictionary_VR(tag) in ("DA", "DT"):
            assert not present, f"{row.name}: original date kept"
            new = dt.datetime.strptime(str(first[tag].value)[:8], "%Y%m%d")
            old = dt.datetime.strptime(marker, "%Y%m%d")
            offset = offset or new - old
            assert new - old == offset and offset.days < 0, row.name  # one shift for all
            checked += 1
    assert checked > 300  # the table has ~600 rows; most are removed or replaced
    # Cleaned descriptors keep their clean words, never the patient's name.
    assert FAMILY.encode() not in blob
    cleaned = [
        r
        for r in prof.rows
        if r.keyword and prof.resolve(r, options) == "C" and dictionary_VR(int(r.tag, 16)) in TEXT
    ]
    assert cleaned
    for r in cleaned:
        tag = int(r.tag, 16)
        if tag in first:
            assert first[tag].value == CLEAN_WORD, r.name
    # Nested content and private elements at every level are gone.
    for marker in gen.nested + gen.private:
        assert marker.encode() not in blob, marker
    assert not any(e.tag.is_private for d in out for e in d.iterall())
    # The originals did carry them (the test would catch a leak).
    assert all(m.encode() in b"".join(originals) for m in gen.nested + gen.private)


def test_options_on_the_copy_are_exactly_those_applied() -> None:
    assert deid.copy_options(full_table_study().datasets[0]) is None  # not a copy: not publishable
    for options, expected in [
        (Options(), {"113100", "113105", "113107", "113108"}),
        (Options(retain_patient_characteristics=False), {"113100", "113105", "113107"}),
        (
            Options(retain_device_identity=True, retain_safe_private=True),
            {"113100", "113105", "113107", "113108", "113109", "113111"},
        ),
    ]:
        _, out, _, _ = _run(options)
        for ds in out:
            assert set(deid.copy_options(ds) or []) == expected
            assert len(ds.DeidentificationMethod) == len(expected)
            assert all(len(v) <= 64 for v in ds.DeidentificationMethod)
            assert ds.DeidentificationMethod[0].startswith(profile().standard)


def test_uids_remapped_consistently_across_the_study_including_references() -> None:
    gen, out, blob, _ = _run(Options())
    a, b = out
    o1, o2 = gen.datasets
    assert a.StudyInstanceUID == b.StudyInstanceUID != o1.StudyInstanceUID
    assert a.FrameOfReferenceUID == b.FrameOfReferenceUID != o1.FrameOfReferenceUID
    # Every nested ReferencedSOPInstanceUID pointed at the second instance: it still does.
    refs = [
        item.ReferencedSOPInstanceUID
        for seq in a
        if seq.VR == "SQ"
        for item in seq.value
        if "ReferencedSOPInstanceUID" in item
    ]
    assert len(refs) >= 5 and set(refs) == {b.SOPInstanceUID}
    for ds, orig in zip(out, gen.datasets, strict=True):
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.SOPClassUID == orig.SOPClassUID
    for uid in (o1.SOPInstanceUID, o2.SOPInstanceUID, o1.StudyInstanceUID, o1.SeriesInstanceUID):
        assert uid.encode() not in blob


def test_safe_private_list_keeps_only_listed_numeric_elements() -> None:
    ds = full_table_study().datasets[0]
    ds.add_new(0x00190010, "LO", "GEMS_ACQU_01")
    ds.add_new(0x00191023, "DS", "39.375")  # Table Speed: listed
    ds.add_new(0x00191030, "LO", "WANG private text")  # same creator, not listed
    ds.add_new(0x00430010, "LO", "GEMS_PARM_01")
    ds.add_new(0x00431027, "SH", "WANG XM")  # listed tag, but not a number: removed
    off = deid.deidentify(copy.deepcopy(ds), deid.Pseudonymizer("s"))
    assert not any(e.tag.is_private for e in off.iterall())
    on = deid.deidentify(ds, deid.Pseudonymizer("s"), Options(retain_safe_private=True))
    kept = {int(e.tag): e.value for e in on if e.tag.is_private}
    assert kept == {0x00190010: "GEMS_ACQU_01", 0x00191023: "39.375"}


def test_the_shipped_table_is_the_standard_s_and_names_its_edition() -> None:
    from pydicom.datadict import dictionary_keyword

    prof = profile()
    assert prof.standard == "DICOM PS3.15 2024b"
    assert prof.source["repository"] == "innolitics/dicom-standard"
    assert len(prof.rows) == 621
    for r in prof.rows:
        if r.keyword:  # names in the table agree with pydicom's dictionary (PS3.6)
            assert dictionary_keyword(int(r.tag, 16)) == r.keyword
    by_kw = {r.keyword: r for r in prof.rows}
    assert by_kw["PatientName"].basic == "Z" and by_kw["PatientID"].basic == "Z/D"
    assert by_kw["ReferencedSOPInstanceUID"].basic == "U"
    assert by_kw["StudyDescription"].options == {"clean_descriptors": "C"}
    assert _action(0x60003000) == "X" and _action(0x60204000) == "X"
    assert _action(0x50001234) == "X" and _action(0x00291010) == "X"
    assert _action(0x00280010) is None  # Rows: not listed, kept


def _action(tag: int) -> str | None:
    return profile().action(tag, Options())
