"""A CT instance carrying every attribute of PS3.15 Table E.1-1, with traceable values.

Each attribute gets a value generated from its VR (pydicom's dictionary) that is unique to
it (`marker`), so a test can look for it in the output bytes. Every sequence gets one item
with identifying content of its own (a name, a reference to the study's other instance, a
date, a private element), and private blocks sit at the top level and inside sequences.
Text attributes that the profile *cleans* (C) carry a clean word plus the patient's family
name, which the cleaning must strip.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicom.deid_profile import Options, profile
from tests.support.dicom_files import ct_series

FAMILY = "WANGXM"  # the patient's family name: must vanish from every cleaned descriptor
CLEAN_WORD = "CHEST"
TEXT = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"}


@dataclass
class Generated:
    datasets: list  # [the full instance, a second instance of the same study]
    markers: dict[int, str] = field(default_factory=dict)  # tag -> marker text (top level)
    nested: list[str] = field(default_factory=list)  # markers placed inside sequence items
    private: list[str] = field(default_factory=list)  # markers in private elements


def _vr(tag: int) -> str:
    return dictionary_VR(tag).split(" or ")[0]


def _value(vr: str, i: int, tag: int, cleaned: bool) -> tuple[object, str | None]:
    """(value, marker searched in the bytes or None for binary numbers)."""
    hexed = f"{tag:08X}"
    if vr in TEXT:
        if cleaned:
            return f"{CLEAN_WORD} {FAMILY}", None
        if vr == "PN":
            m = f"FAM{hexed}"
            return f"{m}^GIV", m
        if vr == "UR":
            m = f"http://h{hexed}.example/"
            return m, m
        return f"V{hexed}", f"V{hexed}"
    if vr == "DA":
        d = (dt.date(1950, 1, 1) + dt.timedelta(days=37 * i)).strftime("%Y%m%d")
        return d, d
    if vr == "DT":
        d = (dt.date(1951, 1, 1) + dt.timedelta(days=37 * i)).strftime("%Y%m%d")
        return d + "101010", d
    if vr == "TM":
        return f"{i % 24:02d}{i % 60:02d}00", None
    if vr == "UI":
        m = f"1.2.826.0.1.3680043.10.999.{i}.{tag}"
        return m, m
    if vr == "AS":
        return "045Y", None
    if vr in ("IS", "DS"):
        return str(100000 + i), str(100000 + i)
    if vr in ("US", "SS", "UL", "SL", "UV", "SV"):
        return 7, None
    if vr in ("FL", "FD"):
        return 7.5, None
    if vr == "AT":
        return 0x00100010, None
    m = f"BIN{hexed}"
    return m.encode() + (b"\x00" if len(m) % 2 else b""), m


def full_table_study(options: Options | None = None) -> Generated:
    """Two CT instances of one study; the first carries every attribute of the table."""
    options = options or Options()
    prof = profile()
    first, second = ct_series(2, patient_name=f"{FAMILY}^XIAOMING", patient_id="MRN-778899")
    gen = Generated(datasets=[first, second])
    first.SpecificCharacterSet = "ISO_IR 192"
    skip = {
        "PatientName",
        "PatientID",
        "SOPInstanceUID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "FrameOfReferenceUID",
    }
    for i, row in enumerate(prof.rows):
        if not row.keyword or row.keyword in skip or row.tag[:4] in ("0000", "0002"):
            continue
        tag = int(row.tag, 16)
        vr = _vr(tag)
        action = prof.resolve(row, options)
        if vr == "SQ":
            first.add_new(tag, "SQ", Sequence([_item(gen, i, second)]))
            continue
        value, marker = _value(vr, i, tag, cleaned=action == "C" and vr in TEXT)
        first.add_new(tag, vr, value)
        if marker:
            gen.markers[tag] = marker
    first.add_new(0x00091010, "LO", "TELEMED_TEST")  # private creator
    first.add_new(0x00091001 | 0x1000, "LO", "PRIVTOP-WANG")
    gen.private.append("PRIVTOP-WANG")
    # Instance UIDs of the host instances are U rows too: markers of their own.
    for ds in gen.datasets:
        gen.markers.setdefault(0x00080018, ds.SOPInstanceUID)
    return gen


def _item(gen: Generated, i: int, other: Dataset) -> Dataset:
    item = Dataset()
    name, date = f"NEST{i:04d}", (dt.date(1960, 1, 1) + dt.timedelta(days=i)).strftime("%Y%m%d")
    item.OperatorsName = f"{name}^OP"
    item.ReferencedSOPClassUID = other.SOPClassUID
    item.ReferencedSOPInstanceUID = other.SOPInstanceUID
    item.ContentDate = date
    item.add_new(0x00111010, "LO", "TELEMED_TEST")
    item.add_new(0x00111001 | 0x1000, "LO", f"PRIVNEST{i:04d}")
    gen.nested += [name, date]
    gen.private.append(f"PRIVNEST{i:04d}")
    return item
