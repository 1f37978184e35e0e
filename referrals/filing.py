"""Cross-region treatment filing (异地就医备案) of a submitted referral, through the
insurance adapter."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, select

from referrals.family.contract_queries import today
from referrals.insurance import InsuranceAdapter, default_adapter
from referrals.models import CrossRegionFiling, Referral
from telemed.core.settings import Settings
from telemed.identity.models import Patient
from telemed.network.models import County, Institution


def file_if_needed(
    session: Session,
    r: Referral,
    now: datetime,
    settings: Settings,
    insurance: InsuranceAdapter | None,
) -> None:
    """File the referral when its treatment leaves the patient's insured league."""
    src = session.get(Institution, r.from_institution_id)
    dst = session.get(Institution, r.to_institution_id)
    assert src is not None and dst is not None
    patient = session.get(Patient, r.patient_id)
    insured = src.league_code
    if patient is not None and patient.county_code:
        county = session.get(County, patient.county_code)
        insured = county.league_code if county else insured
    # Filing is needed when treatment leaves the insured league (or the region).
    if insured != dst.league_code:
        filing = CrossRegionFiling(
            referral_id=r.id,
            patient_id=r.patient_id,
            scope="out_of_region" if insured[:2] != dst.league_code[:2] else "cross_league",
            insured_league_code=insured,
            treatment_league_code=dst.league_code,
            treatment_institution_id=dst.id,
            diagnosis_code=r.diagnosis_code,
            valid_from=today(now),
            valid_to=today(now) + timedelta(days=settings.referrals.cross_region_filing_days),
            created_at=now,
        )
        session.add(filing)
        session.flush()
        file_record(session=session, filing=filing, now=now, adapter=insurance or default_adapter())


def filing_of(*, session: Session, referral_id: uuid.UUID) -> CrossRegionFiling | None:
    """The filing of the referral, when it needed one."""
    return session.execute(
        select(CrossRegionFiling).where(CrossRegionFiling.referral_id == referral_id)
    ).scalar_one_or_none()


def file_record(
    *, session: Session, filing: CrossRegionFiling, now: datetime, adapter: InsuranceAdapter
) -> CrossRegionFiling:
    """Send the filing to the insurance agency through the adapter (retry after refusal)."""
    if filing.status == "filed":
        return filing
    result = adapter.file(filing)
    filing.status = "filed" if result.accepted else "refused"
    filing.filing_number = result.reference
    filing.adapter_message = result.message
    filing.filed_at = now if result.accepted else None
    session.flush()
    return filing
