"""Modality Worklist C-FIND SCP handler (Modality Worklist Information Model – FIND).

Runs on the storage gateway's association: only registered calling AEs get that far, and
each sees the scheduled orders of its own institution only (`dicom.worklist`). Matching
follows PS3.4 K.6.1 / C.2.2.2 for the keys modalities use: single value, wildcard (`*`,
`?`), date range, universal (empty), and the SPS keys inside
ScheduledProcedureStepSequence. Responses carry only the requested attributes.
"""

from __future__ import annotations

import fnmatch
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from sqlalchemy.engine import Engine
from sqlmodel import Session

from dicom import worklist
from dicom.models import WorklistItem
from telemed.identity.models import Patient

log = logging.getLogger("telemed.dicom.mwl")

SHANGHAI = ZoneInfo("Asia/Shanghai")
STATUS_PENDING = 0xFF00
STATUS_UNABLE_TO_PROCESS = 0xC001
_SEX = {"male": "M", "female": "F"}


def order_dataset(item: WorklistItem, patient: Patient, station_aes: list[str]) -> Dataset:
    """Every attribute the worklist returns for one order (DA/TM in Asia/Shanghai)."""
    local = item.scheduled_at.astimezone(SHANGHAI)
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.AccessionNumber = item.accession_number
    ds.ReferringPhysicianName = item.referring_physician
    ds.PatientName = patient.name
    ds.PatientID = item.dicom_patient_id
    ds.IssuerOfPatientID = item.issuer_of_patient_id
    ds.PatientBirthDate = patient.birth_date.strftime("%Y%m%d")
    ds.PatientSex = _SEX.get(patient.sex, "O")
    ds.StudyInstanceUID = item.study_uid
    ds.RequestedProcedureID = item.accession_number
    ds.RequestedProcedureDescription = item.procedure
    ds.TimezoneOffsetFromUTC = "+0800"
    sps = Dataset()
    sps.Modality = item.modality
    sps.ScheduledStationAETitle = station_aes if len(station_aes) != 1 else station_aes[0]
    sps.ScheduledProcedureStepStartDate = local.strftime("%Y%m%d")
    sps.ScheduledProcedureStepStartTime = local.strftime("%H%M%S")
    sps.ScheduledPerformingPhysicianName = ""
    sps.ScheduledProcedureStepDescription = item.procedure
    sps.ScheduledProcedureStepID = item.accession_number
    sps.ScheduledProcedureStepStatus = "SCHEDULED"
    ds.ScheduledProcedureStepSequence = Sequence([sps])
    return ds


def _values(elem_value: Any) -> list[str]:
    if elem_value is None:
        return []
    if isinstance(elem_value, list | tuple) or type(elem_value).__name__ == "MultiValue":
        return [str(v) for v in elem_value]
    return [str(elem_value)]


def _matches_value(keyword: str, wanted: Any, have: Any) -> bool:
    """One key: universal, single value, wildcard or (dates) range matching."""
    want = str(wanted or "").strip()
    if not want or want == "*":
        return True
    haves = _values(have)
    if keyword.endswith("Date") and "-" in want:
        lo, _, hi = want.partition("-")
        return any((not lo or h >= lo) and (not hi or h <= hi) for h in haves)
    if keyword.endswith("Time") and "-" in want:
        lo, _, hi = want.partition("-")
        return any((not lo or h[: len(lo)] >= lo) and (not hi or h[: len(hi)] <= hi) for h in haves)
    if keyword == "PatientName":
        pattern = want.replace("^", " ").casefold()
        return any(
            fnmatch.fnmatchcase(group.replace("^", " ").strip().casefold(), pattern)
            for h in haves
            for group in h.split("=")
        )
    if "*" in want or "?" in want:
        return any(fnmatch.fnmatchcase(h, want) for h in haves)
    return want in haves


def matches(query: Dataset, full: Dataset) -> bool:
    """Whether an order matches every matching key of the query (SPS keys included)."""
    for elem in query:
        kw = elem.keyword
        if not kw or kw == "SpecificCharacterSet":
            continue
        if elem.VR == "SQ":
            if kw != "ScheduledProcedureStepSequence" or not elem.value:
                continue
            inner = full.get(kw)
            if not inner:
                return False
            for item in elem.value:
                if not any(matches(item, have) for have in inner):
                    return False
            continue
        if kw not in full:
            continue  # a key we do not hold: no constraint (returned empty)
        if not _matches_value(kw, elem.value, full[kw].value):
            return False
    return True


def project(query: Dataset, full: Dataset) -> Dataset:
    """The response identifier: the requested attributes, with our values where we have them."""
    out = Dataset()
    if "SpecificCharacterSet" in full:
        out.SpecificCharacterSet = full.SpecificCharacterSet
    for elem in query:
        kw = elem.keyword
        if not kw or kw == "SpecificCharacterSet":
            continue
        if elem.VR == "SQ":
            have = full.get(kw)
            template = elem.value[0] if elem.value else Dataset()
            if have:
                setattr(out, kw, Sequence([project(template, item) for item in have]))
            else:
                setattr(out, kw, Sequence([]))
            continue
        if kw in full:
            out[elem.tag] = full[elem.tag]
        else:
            out.add_new(elem.tag, elem.VR, None)
    return out


def worklist_for(
    *, session: Session, institution_id: uuid.UUID
) -> Iterator[tuple[WorklistItem, Dataset]]:
    """The full datasets of a hospital's scheduled orders."""
    aes = worklist.modality_aes(session=session, institution_id=institution_id)
    for item in worklist.scheduled_orders(session=session, institution_id=institution_id):
        patient = session.get(Patient, item.patient_id)
        if patient is not None:
            yield item, order_dataset(item, patient, aes)


def find_handler(engine: Engine) -> Callable[[Any], Iterator[tuple[int, Dataset | None]]]:
    """The EVT_C_FIND handler: the calling institution's orders matching the identifier."""

    def on_find(event: Any) -> Iterator[tuple[int, Dataset | None]]:
        assoc = event.assoc
        institution_id = getattr(assoc, "telemed_institution_id", None)
        try:
            query = event.identifier
        except Exception:  # an undecodable identifier
            log.warning("unreadable MWL query from %s", getattr(assoc, "telemed_calling_ae", "?"))
            yield STATUS_UNABLE_TO_PROCESS, None
            return
        if institution_id is None:
            yield STATUS_UNABLE_TO_PROCESS, None
            return
        with Session(engine) as session:
            found = [
                project(query, full)
                for _, full in worklist_for(session=session, institution_id=institution_id)
                if matches(query, full)
            ]
        log.info(
            "MWL query from %s: %d entr%s",
            assoc.telemed_calling_ae,
            len(found),
            "y" if len(found) == 1 else "ies",
        )
        for ds in found:
            if event.is_cancelled:
                yield 0xFE00, None
                return
            yield STATUS_PENDING, ds

    return on_find
