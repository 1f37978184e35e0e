"""De-identification for teaching and remote training (远程培训), DICOM PS3.15 Annex E.

Every attribute at every nesting level gets the action of PS3.15 Table E.1-1
(`dicom.deid_profile`, generated from the standard) under the options of the run:
Basic Profile + Retain Longitudinal Temporal Information with Modified Dates + Clean
Descriptors, Retain Patient Characteristics (configurable, on by default), Retain Device
Identity and Retain Safe Private (off by default), Clean Pixel Data when the clean-pixel
step (`dicom.deid_pixels`) ran on the instance. UIDs are replaced consistently across a run
(references included), dates shifted by one offset per patient, private attributes removed
unless on the safe list. The copy says what was done: Patient Identity Removed = YES,
De-identification Method and its code sequence listing exactly the options applied.
Instances whose pixels may carry identifying text are refused with a reason unless the
clean-pixel step cleaned them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import replace
from functools import cache
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import UID

from dicom.deid_profile import DATA, OPTION_CODES, Options, profile

__all__ = [
    "NotDeidentifiable",
    "Options",
    "Pseudonymizer",
    "copy_options",
    "deidentify",
    "method_codes",
    "profile_name",
    "refusal_reason",
]

DEID_UID_PREFIX = "2.25."
DUMMY_PN = "ANONYMOUS"
DUMMY_TEXT = "ANONYMIZED"
TEXT_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"}
# UIDs that name classes or syntaxes, never instances: kept where the table lists nothing.
KEEP_UIDS = {
    "SOPClassUID",
    "ReferencedSOPClassUID",
    "MediaStorageSOPClassUID",
    "TransferSyntaxUID",
    "ImplementationClassUID",
    "ReferencedSOPClassUIDInFile",
    "AffectedSOPClassUID",
    "CodingSchemeUID",
    "ContextGroupExtensionCreatorUID",
    "RelatedGeneralSOPClassUID",
    "OriginalSpecializedSOPClassUID",
    "ReferencedTransferSyntaxUIDInFile",
}
REFUSED_SOP_PREFIXES = {
    "1.2.840.10008.5.1.4.1.1.7": "secondary capture",
    "1.2.840.10008.5.1.4.1.1.6.1": "ultrasound",
    "1.2.840.10008.5.1.4.1.1.6.2": "enhanced ultrasound volume",
    "1.2.840.10008.5.1.4.1.1.3.1": "ultrasound multi-frame",
}


class NotDeidentifiable(Exception):
    """The instance may carry identifying text in its pixels; refused with a reason."""


def refusal_reason(ds: Dataset, *, pixels_cleaned: bool = False) -> str | None:
    """Why `ds` cannot be de-identified (None: it can). A clean-pixel step lifts text risks."""
    if str(getattr(ds, "RecognizableVisualFeatures", "")).upper() == "YES":
        return "recognizable visual features (RecognizableVisualFeatures = YES)"
    if pixels_cleaned:
        return None
    if str(getattr(ds, "BurnedInAnnotation", "")).upper() == "YES":
        return "burned-in annotation (BurnedInAnnotation = YES): pixels carry identifying text"
    sop = str(getattr(ds, "SOPClassUID", ""))
    for prefix, kind in REFUSED_SOP_PREFIXES.items():
        if sop == prefix or sop.startswith(prefix + "."):
            return f"{kind} images need the clean-pixel step (no region rule matched)"
    if str(getattr(ds, "Modality", "")).upper() == "US":
        return "ultrasound images need the clean-pixel step (no region rule matched)"
    return None


class Pseudonymizer:
    """Consistent replacements within one de-identification run (one study or more)."""

    def __init__(self, secret: str, *, max_shift_days: int = 3650) -> None:
        self.secret = secret.encode()
        self.max_shift_days = max_shift_days
        self.uids: dict[str, str] = {}

    def _digest(self, *parts: str) -> bytes:
        return hmac.new(self.secret, "|".join(parts).encode(), hashlib.sha256).digest()

    def uid(self, original: str) -> str:
        """The replacement of an instance UID (same input, same output)."""
        if original not in self.uids:
            # 2.25.<128-bit integer> (PS3.5 B.2), derived with the secret: stable per run.
            n = int.from_bytes(self._digest("uid", original)[:16], "big")
            self.uids[original] = f"{DEID_UID_PREFIX}{n}"
        return self.uids[original]

    def patient_id(self, original: str) -> str:
        return "DEID-" + self._digest("pid", original).hex()[:12].upper()

    def date_offset(self, patient_id: str) -> dt.timedelta:
        """One offset per patient, between 1 and max_shift_days days into the past."""
        n = int.from_bytes(self._digest("date", patient_id)[:4], "big")
        return dt.timedelta(days=-(1 + n % self.max_shift_days))


def _shift_da(value: str, offset: dt.timedelta) -> str:
    try:
        d = dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except (ValueError, IndexError):
        return ""
    return (d + offset).strftime("%Y%m%d")


def _shift_dt(value: str, offset: dt.timedelta) -> str:
    head = _shift_da(value[:8], offset)
    return head + value[8:] if head else ""


def _values(elem: DataElement) -> list[str]:
    v = elem.value
    if v is None or v == "" or v == b"":
        return []
    if isinstance(v, bytes):
        return [v.decode(errors="replace")]
    if isinstance(v, MultiValue | list | tuple):
        return [str(x) for x in v]
    return [str(v)]  # str, PersonName, numbers


def _set(elem: DataElement, values: Iterable[str]) -> None:
    vals = list(values)
    elem.value = vals[0] if len(vals) == 1 else (vals or None)


@cache
def _safe_private() -> frozenset[tuple[str, int, int, str]]:
    doc = json.loads((DATA / "deid_safe_private.json").read_text())
    return frozenset(
        (a["creator"].strip().upper(), int(a["group"], 16), int(a["element"], 16), a["vr"])
        for a in doc["attributes"]
    )


_NUMBER = re.compile(r"^\s*[-+]?\d+(\.\d+)?([eE][-+]?\d+)?(\s*:\s*\d+(\.\d+)?)?\s*$")


def method_codes(options: Options) -> list[Dataset]:
    """CID 7050 items of the options applied."""
    items = []
    for name in options.applied():
        code = OPTION_CODES[name]
        item = Dataset()
        item.CodeValue = code.value
        item.CodingSchemeDesignator = code.scheme_designator
        item.CodeMeaning = code.meaning
        items.append(item)
    return items


def copy_options(ds: Dataset) -> list[str] | None:
    """CID 7050 code values a de-identified copy declares; None when it is not one of ours.

    The check a later "publish" (teaching library) makes before accepting an instance.
    """
    if str(getattr(ds, "PatientIdentityRemoved", "")).upper() != "YES":
        return None
    seq = getattr(ds, "DeidentificationMethodCodeSequence", None) or []
    found = [str(i.CodeValue) for i in seq if getattr(i, "CodingSchemeDesignator", "") == "DCM"]
    return found if OPTION_CODES["basic"].value in found else None


class _Run:
    """One instance's walk: the table's action for every element at every level."""

    def __init__(self, ds: Dataset, p: Pseudonymizer, options: Options) -> None:
        self.p = p
        self.options = options
        self.profile = profile()
        self.offset = p.date_offset(str(getattr(ds, "PatientID", "") or ""))
        found = self._identifying_strings(ds)
        # One alternation, longest first, so a full name goes before its parts.
        self.identifying = (
            re.compile("|".join(re.escape(f) for f in found), re.IGNORECASE) if found else None
        )

    def _identifying_strings(self, ds: Dataset) -> list[str]:
        """Values the profile removes or replaces: cleaned out of kept descriptors."""
        found: set[str] = set()
        for elem in ds.iterall():
            if elem.VR not in TEXT_VRS | {"DA", "DT"} or elem.VR == "CS":
                continue  # CS: defined terms, not identifying (and they would eat descriptors)
            action = self.profile.action(elem.tag, self.options)
            dated = elem.VR in ("DA", "DT") and action != "K"  # original dates, even if shifted
            if action in (None, "K", "C") and not elem.tag.is_private and not dated:
                continue
            for v in _values(elem):
                parts = [v, *re.split(r"[\^=\\]", v)] if elem.VR == "PN" else [v]
                if elem.VR == "DT":
                    parts.append(v[:8])
                found.update(s.strip() for s in parts if len(s.strip()) >= 3)
        return sorted(found, key=len, reverse=True)

    def clean_text(self, value: str) -> str:
        if self.identifying is not None:
            value = self.identifying.sub("", value)
        return " ".join(value.split())

    def dataset(self, ds: Dataset) -> None:
        overlay_groups: set[int] = set()
        for elem in list(ds):
            tag = elem.tag
            if tag.is_private:
                continue  # handled per block below, with their creators
            action = self.profile.action(tag, self.options)
            if tag.group >> 8 == 0x60 and tag.group % 2 == 0 and action == "X":
                overlay_groups.add(tag.group)  # an overlay without its data goes whole
            self.element(ds, elem, action)
        for elem in list(ds):
            if elem.tag.group in overlay_groups:
                del ds[elem.tag]
        self.private(ds)

    def element(self, ds: Dataset, elem: DataElement, action: str | None) -> None:
        vr = elem.VR
        if action == "X":
            del ds[elem.tag]
        elif action == "Z":
            elem.value = Sequence([]) if vr == "SQ" else None
        elif action == "D":
            self.dummy(elem)
        elif action == "U" or (action is None and vr == "UI"):
            if vr == "SQ":
                self.items(elem)
            elif vr == "UI" and elem.keyword not in KEEP_UIDS:
                vals = _values(elem)
                # Well-known UIDs (in the DICOM dictionary) name things, not instances.
                if vals and all(UID(v).name == v for v in vals):
                    _set(elem, [self.p.uid(v) for v in vals])
        elif action == "C":
            self.clean(elem)
        elif vr == "SQ":  # K or not listed: keep, and apply the table inside
            self.items(elem)

    def items(self, elem: DataElement) -> None:
        for item in elem.value or []:
            self.dataset(item)

    def dummy(self, elem: DataElement) -> None:
        vr = elem.VR
        if vr == "SQ":
            items = list(elem.value or [])
            dummy = Dataset()
            if items and "CodeValue" in items[0]:  # a code sequence: one dummy code
                dummy.CodeValue = "ANON"
                dummy.CodingSchemeDesignator = "99TELEMED"
                dummy.CodeMeaning = "de-identified"
            elem.value = Sequence([dummy])
        elif vr == "UI":
            _set(elem, [self.p.uid(v) for v in _values(elem)] or [self.p.uid("dummy")])
        elif vr == "PN":
            elem.value = DUMMY_PN
        elif vr in TEXT_VRS:
            elem.value = DUMMY_TEXT
        elif vr == "DA":
            elem.value = "19000101"
        elif vr == "TM":
            elem.value = "000000"
        elif vr == "DT":
            elem.value = "19000101000000"
        elif vr == "AS":
            elem.value = "000Y"
        elif vr in ("IS", "DS"):
            elem.value = "0"
        elif vr in ("US", "SS", "UL", "SL", "UV", "SV", "FL", "FD"):
            elem.value = 0
        else:  # OB, OW, UN and the other binary VRs
            elem.value = b"\x00\x00"

    def clean(self, elem: DataElement) -> None:
        vr = elem.VR
        if vr == "DA":
            _set(elem, [_shift_da(v, self.offset) for v in _values(elem)])
        elif vr == "DT":
            _set(elem, [_shift_dt(v, self.offset) for v in _values(elem)])
        elif vr == "SQ":
            self.items(elem)
        elif vr in TEXT_VRS:
            kept = [c for c in (self.clean_text(v) for v in _values(elem)) if c]
            _set(elem, kept)
        elif vr in ("OB", "OW", "UN"):
            elem.value = b""  # free text in binary form cannot be cleaned: emptied
        # TM and numbers: times are kept under Modified Dates; numbers carry no text

    def private(self, ds: Dataset) -> None:
        """Remove private attributes except those on the safe list (Retain Safe Private)."""
        keep_safe = self.profile.action(0x00090010, self.options) == "C"
        safe = _safe_private() if keep_safe else frozenset()
        kept_blocks: set[tuple[int, int]] = set()
        for elem in list(ds):
            tag = elem.tag
            if not tag.is_private or tag.element < 0x1000:
                continue
            block = tag.element >> 8
            creator = ds.get((tag.group << 16) | block)
            name = str(creator.value).strip().upper() if creator is not None else ""
            key = (name, tag.group, tag.element & 0xFF, elem.VR)
            if key in safe and all(_NUMBER.match(v) for v in _values(elem)):
                kept_blocks.add((tag.group, block))
            else:
                del ds[tag]
        for elem in list(ds):  # creators (gggg,0010-00FF) of blocks with nothing kept
            tag = elem.tag
            if (
                tag.is_private
                and tag.element < 0x1000
                and (tag.group, tag.element) not in kept_blocks
            ):
                del ds[tag]


def deidentify(
    ds: Dataset, p: Pseudonymizer, options: Options | None = None, *, pixels_cleaned: bool = False
) -> Dataset:
    """De-identify one instance in place and return it (raise NotDeidentifiable).

    `pixels_cleaned`: the clean-pixel step already blanked this instance's text regions.
    """
    options = options or Options()
    options = replace(options, clean_pixel_data=pixels_cleaned)
    reason = refusal_reason(ds, pixels_cleaned=pixels_cleaned)
    if reason:
        raise NotDeidentifiable(reason)
    original_pid = str(getattr(ds, "PatientID", "") or "")
    run = _Run(ds, p, options)
    run.dataset(ds)
    # Z and Z/D allow a dummy: a name a viewer shows, and a stable per-patient pseudonym.
    ds.PatientName = DUMMY_PN
    ds.PatientID = p.patient_id(original_pid)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = _method_text(options)
    ds.DeidentificationMethodCodeSequence = method_codes(options)
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    if pixels_cleaned:
        ds.BurnedInAnnotation = "NO"
    if hasattr(ds, "file_meta") and "SOPInstanceUID" in ds:
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def _method_text(options: Options) -> list[str]:
    """De-identification Method (LO, one value per item, each at most 64 characters)."""
    head = f"{profile().standard} E.1-1 Basic Profile"
    rest = [str(OPTION_CODES[n].meaning) for n in options.applied()[1:]]
    return [v[:64] for v in [head, *rest]]


def profile_name() -> str:
    """The standard edition and table this code applies, e.g. 'DICOM PS3.15 2024b Table E.1-1'."""
    return f"{profile().standard} Table E.1-1"


def as_params(options: Options) -> dict[str, Any]:
    """The options as a job's JSON parameters."""
    return {
        "retain_patient_characteristics": options.retain_patient_characteristics,
        "retain_device_identity": options.retain_device_identity,
        "retain_safe_private": options.retain_safe_private,
        "clean_pixel_data": options.clean_pixel_data,
    }
