"""The study's DICOM demographics beside our patient's: which of name, sex, birth date
disagree (the reconciliation page, study summaries, a consultation's linked studies)."""

from __future__ import annotations

from dicom.index import parse_date
from dicom.models import Study
from dicom.schemas import DicomDemographics
from telemed.identity.models import Patient


def _name_forms(pn: str) -> set[str]:
    """A DICOM person name's component groups (alphabetic=ideographic=phonetic), normalized."""
    forms = set()
    for group in pn.split("="):
        norm = "".join(group.replace("^", " ").split()).casefold()
        if norm:
            forms.add(norm)
    return forms


_SEX = {"M": "male", "F": "female"}


def demographic_mismatches(study: Study, patient: Patient) -> list[str]:
    """Which of name, sex, birth date the DICOM header and our patient disagree on."""
    out = []
    if "".join(patient.name.split()).casefold() not in _name_forms(study.patient_name):
        out.append("name")
    if _SEX.get(study.patient_sex.strip().upper()) != patient.sex:
        out.append("sex")
    if parse_date(study.patient_birth_date) != patient.birth_date:
        out.append("birth_date")
    return out


def dicom_demographics(study: Study) -> DicomDemographics:
    """The patient as the study's DICOM header names them."""
    return DicomDemographics(
        patient_name=study.patient_name,
        patient_sex=study.patient_sex,
        patient_birth_date=study.patient_birth_date,
        dicom_patient_id=study.dicom_patient_id,
    )
