"""De-identification for teaching and remote training (远程培训), DICOM PS3.15 Annex E.

Basic Application Level Confidentiality Profile with the *Retain Longitudinal Temporal
Information with Modified Dates* option:
- UIDs are replaced consistently across the study (file meta and references included),
- dates and date-times are shifted by one offset per patient,
- identifying attributes are removed, emptied or replaced by dummies; private tags removed,
- Patient Identity Removed = YES with the method codes (113100, 113107).
Studies with burned-in annotation, and ultrasound / secondary capture (which often carry
burned-in text) without a clean-pixel step, are refused with a reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.uid import UID

DEID_UID_PREFIX = "2.25."
CODES = [
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
]
METHOD = "PS3.15 Annex E Basic Profile; Modified Dates"  # LO: at most 64 chars

# Action D: replace with a dummy value of the same VR.
DUMMY = {"PatientName": "ANONYMOUS", "PatientID": None}  # PatientID: per-patient pseudonym
# Action Z: keep the attribute, empty its value (type 2 attributes).
ZERO = (
    "PatientBirthDate",
    "PatientSex",
    "ReferringPhysicianName",
    "AccessionNumber",
    "StudyID",
    "ContentCreatorName",
    "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest",
    "VerifyingObserverName",
    "PersonName",
)
# Action X: remove.
REMOVE = (
    "PatientAge",
    "PatientBirthTime",
    "PatientBirthName",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientMotherBirthName",
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "IssuerOfPatientID",
    "PatientComments",
    "PatientWeight",
    "PatientSize",
    "MilitaryRank",
    "BranchOfService",
    "EthnicGroup",
    "Occupation",
    "MedicalRecordLocator",
    "MedicalAlerts",
    "Allergies",
    "AdditionalPatientHistory",
    "PregnancyStatus",
    "PatientState",
    "PatientInsurancePlanCodeSequence",
    "PatientReligiousPreference",
    "ResponsiblePerson",
    "ResponsibleOrganization",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionCodeSequence",
    "InstitutionalDepartmentName",
    "StationName",
    "DeviceSerialNumber",
    "PerformingPhysicianName",
    "PerformingPhysicianIdentificationSequence",
    "OperatorsName",
    "OperatorIdentificationSequence",
    "PhysiciansOfRecord",
    "PhysiciansOfRecordIdentificationSequence",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansReadingStudyIdentificationSequence",
    "RequestingPhysician",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "ReferringPhysicianIdentificationSequence",
    "ScheduledPerformingPhysicianName",
    "AdmittingDiagnosesDescription",
    "AdmittingDiagnosesCodeSequence",
    "AdmissionID",
    "StudyDescription",
    "SeriesDescription",
    "ImageComments",
    "RequestAttributesSequence",
    "ReferencedPatientSequence",
    "ReferencedStudySequence",
    "PerformedProcedureStepID",
    "PerformedProcedureStepDescription",
    "ScheduledProcedureStepID",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
    "ProtocolName",
    "DerivationDescription",
    "AcquisitionComments",
    "CurrentPatientLocation",
    "PatientTransportArrangements",
    "ProtocolName",
    "TextString",
    "TextComments",
    "IdentifyingComments",
    "FrameComments",
    "InterpretationText",
    "ReasonForStudy",
    "RequestedContrastAgent",
    "StudyComments",
    "PersonAddress",
    "PersonTelephoneNumbers",
    "ContentSequence",
    "OriginalAttributesSequence",
    "ModifiedAttributesSequence",
    "DigitalSignaturesSequence",
)
# UIDs that name classes or syntaxes, never instances: kept.
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
}
REFUSED_SOP_PREFIXES = {
    "1.2.840.10008.5.1.4.1.1.7": "secondary capture",
    "1.2.840.10008.5.1.4.1.1.6.1": "ultrasound",
    "1.2.840.10008.5.1.4.1.1.6.2": "enhanced ultrasound volume",
    "1.2.840.10008.5.1.4.1.1.3.1": "ultrasound multi-frame",
}


class NotDeidentifiable(Exception):
    """The study may carry identifying text in its pixels; refused with a reason."""


def refusal_reason(ds: Dataset) -> str | None:
    """Why `ds` cannot be de-identified by this profile without a clean-pixel step."""
    if str(getattr(ds, "BurnedInAnnotation", "")).upper() == "YES":
        return "burned-in annotation (BurnedInAnnotation = YES): pixels carry identifying text"
    if str(getattr(ds, "RecognizableVisualFeatures", "")).upper() == "YES":
        return "recognizable visual features (RecognizableVisualFeatures = YES)"
    sop = str(getattr(ds, "SOPClassUID", ""))
    for prefix, kind in REFUSED_SOP_PREFIXES.items():
        if sop == prefix or sop.startswith(prefix + "."):
            return f"{kind} images need a clean-pixel step, which is not available"
    if str(getattr(ds, "Modality", "")).upper() == "US":
        return "ultrasound images need a clean-pixel step, which is not available"
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
    if v is None or v == "":
        return []
    if isinstance(v, str | bytes):
        return [v.decode() if isinstance(v, bytes) else v]
    return [str(x) for x in v]


def _set(elem: DataElement, values: Iterable[str]) -> None:
    vals = list(values)
    elem.value = vals[0] if len(vals) == 1 else (vals or "")


def deidentify(ds: Dataset, p: Pseudonymizer) -> Dataset:
    """De-identify one instance in place and return it (raise NotDeidentifiable)."""
    reason = refusal_reason(ds)
    if reason:
        raise NotDeidentifiable(reason)
    original_pid = str(getattr(ds, "PatientID", "") or "")
    offset = p.date_offset(original_pid)
    ds.remove_private_tags()

    def visit(dataset: Dataset, elem: DataElement) -> None:
        kw = elem.keyword
        if elem.tag.is_private:
            return
        if kw in REMOVE or elem.tag.group in (0x0032, 0x4008) and kw not in ("",):
            del dataset[elem.tag]
            return
        if elem.tag.group == 0x6000 or (
            0x6000 <= elem.tag.group <= 0x601E and elem.tag.group % 2 == 0
        ):
            del dataset[elem.tag]  # overlays may carry burned-in text
            return
        if kw in ZERO:
            elem.value = ""
            return
        if elem.VR == "UI" and kw not in KEEP_UIDS:
            vals = _values(elem)
            # Well-known UIDs (in the DICOM dictionary) name things, not instances: keep them.
            if vals and not any(UID(v).name != v for v in vals):
                _set(elem, [p.uid(v) for v in vals])
            return
        if elem.VR == "DA":
            _set(elem, [_shift_da(v, offset) for v in _values(elem)])
        elif elem.VR == "DT":
            _set(elem, [_shift_dt(v, offset) for v in _values(elem)])

    ds.walk(visit)
    ds.PatientName = DUMMY["PatientName"]
    ds.PatientID = p.patient_id(original_pid)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    items = []
    for value, meaning in CODES:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = items
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    if hasattr(ds, "file_meta"):
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds
