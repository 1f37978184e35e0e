"""Independent check: the same files through our profile, dicognito and Orthanc's anonymizer.

Every attribute that dicognito or Orthanc (`/instances/{id}/anonymize`, Basic profile of
DICOM 2021b, the one Orthanc 1.10 follows) removes or replaces while our copy keeps its
original value must be explained by an entry of `dicom/data/deid_independent_allowlist.json`;
every entry must explain at least one such difference. Inputs: the DICOM files pydicom ships
(CT, MR, RT plan/structure set/dose, ECG waveform, SR, segmentation) and a generated instance
carrying every attribute of Table E.1-1. File meta (group 0002) is outside the comparison;
private attributes too (we remove all of them).
"""

from __future__ import annotations

import copy
import json
from io import BytesIO
from pathlib import Path
from typing import Any

import pydicom
import pytest
from dicognito.anonymizer import Anonymizer
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset

from dicom import deid
from dicom.deid_profile import DATA, Options, profile
from tests.support.deid_datasets import full_table_study
from tests.support.dicom_files import to_bytes

pytestmark = pytest.mark.orthanc

WORLD_FILES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "rtstruct.dcm",
    "rtdose.dcm",
    "waveform_ecg.dcm",
    "test-SR.dcm",
    "liver_1frame.dcm",
]
ORTHANC_PROFILE = "2021b"


def _leaves(ds: Dataset, prefix: str = "") -> dict[str, str]:
    """path -> value of every non-sequence standard attribute, at every level."""
    out: dict[str, str] = {}
    for e in ds:
        if e.tag.is_private:
            continue
        name = prefix + (e.keyword or f"{int(e.tag):08X}")
        if e.VR == "SQ":
            for i, item in enumerate(e.value):
                out.update(_leaves(item, f"{name}[{i}]."))
        else:
            out[name] = repr(e.value)
    return out


def _inputs() -> dict[str, bytes]:
    files = {n: Path(get_testdata_file(n)).read_bytes() for n in WORLD_FILES}
    files["full_table.dcm"] = to_bytes(full_table_study().datasets[0])
    return files


def _orthanc_copy(client: Any, data: bytes) -> Dataset:
    r = client.post("/instances", content=data)
    r.raise_for_status()
    a = client.post(
        f"/instances/{r.json()['ID']}/anonymize",
        json={"Force": True, "KeepPrivateTags": False, "DicomVersion": ORTHANC_PROFILE},
    )
    a.raise_for_status()
    return pydicom.dcmread(BytesIO(a.content))


def _explained(entry: dict[str, Any], tool: str, keyword: str, options: Options) -> bool:
    if tool not in entry["tools"]:
        return False
    if "attribute" in entry and entry["attribute"] != keyword:
        return False
    tag = tag_for_keyword(keyword)
    if "vr" in entry and (tag is None or dictionary_VR(tag) not in entry["vr"]):
        return False
    if "option" in entry:
        row = profile().row(tag) if tag is not None else None
        deciding = {c for c in (row.options if row else {}) if c in options.table_columns()}
        if entry["option"] not in deciding:
            return False
    return True


def test_every_difference_from_dicognito_and_orthanc_is_explained(orthanc_server) -> None:  # type: ignore[no-untyped-def]
    allow = json.loads((DATA / "deid_independent_allowlist.json").read_text())["entries"]
    assert all(e["reason"].strip() for e in allow)
    options = Options()
    used: set[int] = set()
    unexplained: list[str] = []
    compared = 0
    with orthanc_server.client() as client:
        version = client.get("/system").json()["Version"]
        assert tuple(int(x) for x in version.split(".")[:2]) >= (1, 9)  # 2021b profile: 1.9.4+
        probe = client.post("/instances", content=_inputs()["CT_small.dcm"]).json()["ID"]
        bogus = client.post(f"/instances/{probe}/anonymize", json={"DicomVersion": "1999z"})
        assert bogus.status_code == 400  # Orthanc honours DicomVersion: 2021b is applied
        for name, data in _inputs().items():
            original = pydicom.dcmread(BytesIO(data), force=True)  # some lack a preamble
            ours = deid.deidentify(copy.deepcopy(original), deid.Pseudonymizer("check"), options)
            theirs = {"orthanc": _orthanc_copy(client, data)}
            dg = copy.deepcopy(original)
            Anonymizer(seed="independent-check").anonymize(dg)
            theirs["dicognito"] = dg
            before, after = _leaves(original), _leaves(ours)
            kept = {k for k, v in after.items() if before.get(k) == v and v not in ("''", "None")}
            for tool, copy_ in theirs.items():
                leaves = _leaves(copy_)
                changed = {k for k, v in before.items() if leaves.get(k) != v}
                for path in sorted(changed & kept):
                    compared += 1
                    keyword = path.rsplit(".", 1)[-1]
                    hits = [i for i, e in enumerate(allow) if _explained(e, tool, keyword, options)]
                    used.update(hits)
                    if not hits:
                        unexplained.append(
                            f"{name}: {tool} changed {path} ({before[path][:40]}), we keep it"
                        )
    assert not unexplained, "\n".join(unexplained)
    assert compared > 0  # the tools do differ from us; each difference was checked
    unused = [allow[i]["reason"][:60] for i in range(len(allow)) if i not in used]
    assert not unused, f"allow-list entries no longer needed: {unused}"


def test_the_check_catches_a_leak(orthanc_server) -> None:  # type: ignore[no-untyped-def]
    """If we kept an attribute both tools remove (Other Patient IDs), the check reports it."""
    original = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    original.OtherPatientIDs = "150102196203140017"
    ours = deid.deidentify(copy.deepcopy(original), deid.Pseudonymizer("check"))
    ours.OtherPatientIDs = original.OtherPatientIDs  # a deliberately leaky copy
    with orthanc_server.client() as client:
        theirs = _orthanc_copy(client, to_bytes(original))
    before, after, leaves = _leaves(original), _leaves(ours), _leaves(theirs)
    kept = {k for k, v in after.items() if before.get(k) == v}
    changed = {k for k, v in before.items() if leaves.get(k) != v}
    leak = changed & kept
    assert "OtherPatientIDs" in leak
    allow = json.loads((DATA / "deid_independent_allowlist.json").read_text())["entries"]
    assert not any(_explained(e, "orthanc", "OtherPatientIDs", Options()) for e in allow)
