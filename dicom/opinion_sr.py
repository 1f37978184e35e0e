"""The signed opinion as a DICOM SR document, added to the study and sent to the county PACS.

Consultations calls `opinion_signed` when an opinion is signed (in the signing transaction):
one imaging job per linked study (`kind="opinion_sr"`), started after the commit and re-run
by `dicom.recover_jobs` like every job. The job builds a Comprehensive SR with highdicom
(signer, time, findings, impression, ICD-10 codes as coded entries, the study's instances
as evidence, Verification Flag VERIFIED), stores it into the study (like the de-identified
copy, straight through `ingest`: the job is re-run whole, and the SOP Instance UID comes
from the opinion, so a re-run stores it once) and C-STOREs it to the requesting hospital's
registered PACS.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from io import BytesIO
from typing import Any

import highdicom as hd
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dicom import outbound, sr
from dicom.archive import get_archive
from dicom.ingest import ingest
from dicom.links import links_for
from dicom.models import JobKind, OutboundJob, Study
from telemed.core import clock
from telemed.core.errors import NotFound
from telemed.core.settings import Settings
from telemed.identity.models import TITLE_NAMES, Title, User
from telemed.network.models import DicomAE, Institution
from telemed.reference import service as reference_service

REPORT_TITLE = Code("18748-4", "LN", "Diagnostic imaging report")
DIAGNOSIS = Code("439401001", "SCT", "Diagnosis")
ICD10 = "I10"  # PS3.16 coding scheme designator of ICD-10


@dataclass(frozen=True)
class SignedOpinion:
    """What consultations hands over about a signed opinion (no consultations types)."""

    opinion_id: uuid.UUID
    consultation_id: uuid.UUID
    version: int
    signer_name: str
    signer_title: str | None
    signer_title_meaning: str | None
    signer_organization: str
    signed_at: datetime
    findings: str
    impression: str
    recommendations: str
    icd10: list[tuple[str, str]]  # (code, meaning)
    requesting_institution_id: uuid.UUID
    supersedes_id: uuid.UUID | None = None  # the opinion version this one corrects

    def params(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("opinion_id", "consultation_id", "requesting_institution_id", "supersedes_id"):
            out[k] = str(out[k]) if out[k] is not None else None
        out["signed_at"] = self.signed_at.isoformat()
        out["icd10"] = [list(c) for c in self.icd10]
        return out

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> SignedOpinion:
        return cls(
            **{
                **p,
                "opinion_id": uuid.UUID(p["opinion_id"]),
                "consultation_id": uuid.UUID(p["consultation_id"]),
                "requesting_institution_id": uuid.UUID(p["requesting_institution_id"]),
                "signed_at": datetime.fromisoformat(p["signed_at"]),
                "icd10": [tuple(c) for c in p["icd10"]],
                "supersedes_id": uuid.UUID(p["supersedes_id"]) if p.get("supersedes_id") else None,
            }
        )

    def observer(self) -> sr.Observer:
        return sr.Observer(
            name=self.signer_name,
            organization=self.signer_organization,
            title=self.signer_title,
            title_meaning=self.signer_title_meaning,
        )


def sop_uid_of(opinion_id: uuid.UUID, study_uid: str) -> str:
    """The SR of one opinion version in one study (the same on every run)."""
    return sr.uid_from(uuid.uuid5(opinion_id, study_uid))


def _predecessor(opinion: SignedOpinion, study_uid: str) -> list[Dataset] | None:
    """The SR of the version a correction supersedes (PS3.3 C.17.2.3)."""
    if opinion.supersedes_id is None:
        return None
    ds = Dataset()
    ds.SOPClassUID = sr.COMPREHENSIVE_SR
    ds.SOPInstanceUID = sop_uid_of(opinion.supersedes_id, study_uid)
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = sr.series_uid(study_uid, "opinion")
    return [ds]


def build(opinion: SignedOpinion, evidence: list[Dataset], study_uid: str) -> Dataset:
    """The opinion report (Comprehensive SR), verified by its signer."""
    contains = hd.sr.RelationshipTypeValues.CONTAINS
    items = hd.sr.ContentSequence()
    items.extend(opinion.observer().context())
    if opinion.findings:
        items.append(
            hd.sr.TextContentItem(
                name=codes.DCM.Finding, value=opinion.findings, relationship_type=contains
            )
        )
    items.append(
        hd.sr.TextContentItem(
            name=codes.DCM.Impression, value=opinion.impression, relationship_type=contains
        )
    )
    for code, meaning in opinion.icd10:
        items.append(
            hd.sr.CodeContentItem(
                name=DIAGNOSIS,
                value=Code(code, ICD10, meaning[:64] or code),
                relationship_type=contains,
            )
        )
    if opinion.recommendations:
        items.append(
            hd.sr.TextContentItem(
                name=codes.DCM.Recommendation,
                value=opinion.recommendations,
                relationship_type=contains,
            )
        )
    root = hd.sr.ContainerContentItem(name=REPORT_TITLE)
    root.ContentSequence = items
    observer = opinion.observer()
    doc = hd.sr.ComprehensiveSR(
        evidence=evidence,
        content=root,
        series_instance_uid=sr.series_uid(study_uid, "opinion"),
        series_number=sr.SERIES["opinion"],
        sop_instance_uid=sop_uid_of(opinion.opinion_id, study_uid),
        instance_number=opinion.version,
        manufacturer=sr.MANUFACTURER,
        institution_name=opinion.signer_organization[:64] or None,
        is_complete=True,
        is_final=True,
        is_verified=True,
        verifying_observer_name=observer.person_name(),
        verifying_organization=opinion.signer_organization[:64] or "unknown",
        previous_versions=_predecessor(opinion, study_uid),
        specific_character_set="ISO_IR 192",
    )
    doc.SeriesDescription = sr.SERIES_DESCRIPTION["opinion"]
    sr.stamp(doc, opinion.signed_at)
    return doc


def requesting_pacs(session: Session, institution_id: uuid.UUID) -> DicomAE | None:
    """The requesting hospital's registered PACS (the first with a host)."""
    for ae in session.exec(
        select(DicomAE).where(DicomAE.institution_id == institution_id, DicomAE.kind == "pacs")
    ):
        if ae.host:
            return ae
    return None


def opinion_signed(
    *, session: Session, opinion: SignedOpinion, by_id: uuid.UUID, settings: Settings, now: datetime
) -> list[OutboundJob]:
    """One `opinion_sr` job per study linked to the consultation; started after the commit."""
    links = links_for(
        session=session, target_type="consultation", target_id=opinion.consultation_id
    )
    if not links:
        return []
    pacs = requesting_pacs(session, opinion.requesting_institution_id)
    jobs = []
    for link in links:
        job = outbound.new_job(
            session=session,
            kind=JobKind.OPINION_SR,
            study_uid=link.study_uid,
            ae_id=pacs.id if pacs else None,
            by=by_id,
            now=now,
            params={"opinion": opinion.params()},
        )
        jobs.append(job)
    ids = [j.id for j in jobs]
    bind = session.get_bind()

    def start(_session: Session) -> None:
        if isinstance(bind, Engine):  # a test's outer transaction: the test runs it
            for job_id in ids:
                outbound.start_job(engine=bind, job_id=job_id, work=work_for(settings))

    event.listen(session, "after_commit", start, once=True)
    return jobs


def on_opinion_signed(
    *,
    session: Session,
    consultation: Any,
    opinion: Any,
    signer: User,
    settings: Settings,
    now: datetime,
) -> list[OutboundJob]:
    """The consultations hook (`register_on_signed`): its request and opinion as ours."""
    inst = session.get(Institution, signer.institution_id) if signer.institution_id else None
    title = signer.title if signer.title in {t.value for t in Title} else None
    icd = []
    for code in opinion.icd10:
        try:
            meaning = reference_service.get(session=session, code=code).name_zh
        except NotFound:
            meaning = code
        icd.append((code, meaning))
    signed = SignedOpinion(
        opinion_id=opinion.id,
        consultation_id=consultation.id,
        version=opinion.version,
        signer_name=signer.full_name,
        signer_title=title,
        signer_title_meaning=TITLE_NAMES[Title(title)] if title else None,
        signer_organization=inst.name_zh if inst else "",
        signed_at=opinion.signed_at or now,
        findings=opinion.findings,
        impression=opinion.impression,
        recommendations=opinion.recommendations,
        icd10=icd,
        requesting_institution_id=consultation.requesting_institution_id,
        supersedes_id=opinion.supersedes_id,
    )
    return opinion_signed(
        session=session, opinion=signed, by_id=signer.id, settings=settings, now=now
    )


def work_for(settings: Settings) -> outbound.Work:
    def work(session: Session, j: OutboundJob) -> dict[str, Any]:
        opinion = SignedOpinion.from_params(j.params["opinion"])
        archive = get_archive(settings)
        study = session.exec(select(Study).where(Study.study_uid == j.study_uid)).one()
        try:
            evidence = sr.evidence(archive, j.study_uid)
        except NotFound as exc:
            # a study known to the index without images in the archive (the demo month's
            # studies, a purged study): nothing for an SR to reference; the job ends saying so
            return {"stored": False, "sent": 0, "failed": 0, "reason": exc.detail}
        doc = build(opinion, evidence, j.study_uid)
        data = sr.part10(doc)
        ingest(
            session=session,
            archive=archive,
            data=data,
            institution_id=study.source_institution_id,
            source_ae=None,
            source="stow",
            now=clock.now(),
            max_study_bytes=settings.dicom.max_study_bytes,
        )
        session.commit()  # in the study, whatever the PACS says
        result: dict[str, Any] = {"sr_sop_instance_uid": str(doc.SOPInstanceUID), "stored": True}
        ae = session.get(DicomAE, j.ae_id) if j.ae_id else None
        if ae is None:
            return {**result, "sent": 0, "failed": 0, "reason": "no county PACS registered"}
        j.total = 1
        sent = outbound.send_datasets(
            datasets=[pydicom.dcmread(BytesIO(data))],
            ae=ae,
            calling_ae=settings.dicom.ae_title,
            progress=lambda done, failed: None,
        )
        j.completed, j.failed = sent["sent"], sent["failed"]
        return {**result, **sent, "ae": ae.ae_title}

    return work
