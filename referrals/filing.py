"""Cross-region treatment filing (异地就医备案) of a submitted referral: created `submitted`
when the treatment leaves the patient's insured league, sent to the insurance agency by the
job (`send_due_filings`), decided by the agency's answer, expired past its validity.

A transport failure changes nothing but the next attempt (backoff doubling up to the
setting's maximum): the filing is never lost and never decided without an answer.
The states are `referrals.states.FILING`; each decision tells the patient.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from referrals.agency import AgencyUnavailable, new_msgid
from referrals.events import authorize, lock_referral, record_event
from referrals.family.contract_queries import patient_user_ids, today
from referrals.insurance import FilingRequest, FilingResult, InsuranceAdapter, default_adapter
from referrals.models import CrossRegionFiling, Referral
from referrals.notices import notify
from referrals.states import FILING
from telemed.core.errors import Conflict, NotFound
from telemed.core.settings import Settings
from telemed.identity.models import Patient, User
from telemed.network.models import County, Institution

__all__ = [
    "act_on_filing",
    "expire_filings",
    "file_if_needed",
    "filing_of",
    "resubmit_filing",
    "revoke_filing",
    "send_due_filings",
    "send_filing",
]

# 险种类型 sent until the patient's own comes from the agency's person query (1101):
# 390 城乡居民基本医疗保险, the scheme of most patients referred from counties.
DEFAULT_INSUTYPE = "390"


def file_if_needed(session: Session, r: Referral, now: datetime, settings: Settings) -> None:
    """Create the filing (`submitted`, due now) when treatment leaves the insured league."""
    dst = session.get(Institution, r.to_institution_id)
    src = session.get(Institution, r.from_institution_id)
    assert src is not None and dst is not None
    patient = session.get(Patient, r.patient_id)
    insured = src.league_code
    if patient is not None and patient.county_code:
        county = session.get(County, patient.county_code)
        insured = county.league_code if county else insured
    if insured == dst.league_code or filing_of(session=session, referral_id=r.id) is not None:
        return
    session.add(
        CrossRegionFiling(
            referral_id=r.id,
            patient_id=r.patient_id,
            scope="out_of_region" if insured[:2] != dst.league_code[:2] else "cross_league",
            insured_league_code=insured,
            treatment_league_code=dst.league_code,
            treatment_institution_id=dst.id,
            diagnosis_code=r.diagnosis_code,
            valid_from=today(now),
            valid_to=today(now) + timedelta(days=settings.referrals.cross_region_filing_days),
            status="submitted",
            next_attempt_at=now,
            created_at=now,
        )
    )
    session.flush()


def filing_of(*, session: Session, referral_id: uuid.UUID) -> CrossRegionFiling | None:
    """The filing of the referral, when it needed one."""
    return session.execute(
        select(CrossRegionFiling).where(CrossRegionFiling.referral_id == referral_id)
    ).scalar_one_or_none()


def send_due_filings(
    *, session: Session, now: datetime, settings: Settings, adapter: InsuranceAdapter | None = None
) -> dict[str, int]:
    """Send every submitted filing whose attempt is due (rows claimed with SKIP LOCKED, so
    two workers never send one twice); counts by outcome."""
    rows = session.execute(
        select(CrossRegionFiling)
        .where(
            CrossRegionFiling.status == "submitted",
            col(CrossRegionFiling.next_attempt_at).is_not(None),
            col(CrossRegionFiling.next_attempt_at) <= now,
        )
        .order_by(col(CrossRegionFiling.next_attempt_at))
        .limit(50)
        .with_for_update(skip_locked=True)
    ).scalars()
    counts = {"accepted": 0, "rejected": 0, "retry": 0}
    for filing in list(rows):
        counts[
            send_filing(session=session, filing=filing, now=now, settings=settings, adapter=adapter)
        ] += 1
    return counts


def send_filing(
    *,
    session: Session,
    filing: CrossRegionFiling,
    now: datetime,
    settings: Settings,
    adapter: InsuranceAdapter | None = None,
) -> str:
    """One attempt: `accepted`, `rejected` (both told the patient) or `retry` (no answer)."""
    agency = settings.referrals.filing_agency
    if filing.msgid is None:  # kept across retries: the agency answers a repeat once
        filing.msgid = new_msgid(agency.fixmedins_code or "TELEMED", now)
    filing.attempts += 1
    try:
        result = (adapter or default_adapter(settings)).file(_request(session, filing, now))
    except AgencyUnavailable as exc:
        wait = min(agency.backoff_seconds * 2 ** (filing.attempts - 1), agency.max_backoff_seconds)
        filing.next_attempt_at = now + timedelta(seconds=wait)
        filing.last_error = str(exc)[:500]
        session.flush()
        return "retry"
    _decide(session, filing, result, now)
    return result.outcome


def _decide(
    session: Session, filing: CrossRegionFiling, result: FilingResult, now: datetime
) -> None:
    action = "accept" if result.outcome == "accepted" else "reject"
    filing.status = FILING.next(filing.status, action)
    filing.filing_number = result.reference
    filing.adapter_message = result.message
    filing.reason_code = result.code if action == "reject" else None
    filing.agency_msgid = result.agency_msgid
    filing.reply = result.reply or None
    filing.next_attempt_at = None
    filing.last_error = None
    filing.decided_at = now
    filing.filed_at = now if action == "accept" else None
    session.flush()
    _tell(session, filing, f"filing.{filing.status}", now)


def act_on_filing(
    *,
    session: Session,
    referral_id: uuid.UUID,
    action: str,
    by: User,
    now: datetime,
    settings: Settings,
    memo: str = "",
    adapter: InsuranceAdapter | None = None,
) -> CrossRegionFiling:
    """The referrer resubmits a rejected filing or revokes an accepted one (recorded as an
    event of the referral); 404 without a filing, 409 from the wrong state."""
    r = lock_referral(session, referral_id)
    authorize(session, by, r, "filing")
    filing = session.execute(
        select(CrossRegionFiling)
        .where(CrossRegionFiling.referral_id == referral_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if filing is None:
        raise NotFound("this referral needs no cross-region filing")
    before = filing.status
    if action == "resubmit":
        resubmit_filing(session=session, filing=filing, now=now)
    else:
        revoke_filing(
            session=session, filing=filing, now=now, settings=settings, memo=memo, adapter=adapter
        )
    data = {"filing_id": str(filing.id), "from": before, "to": filing.status}
    record_event(session, r, f"filing_{action}", r.status, r.status, by, now, memo or None, data)
    session.flush()
    return filing


def resubmit_filing(
    *, session: Session, filing: CrossRegionFiling, now: datetime
) -> CrossRegionFiling:
    """Send a rejected filing again (after the cause was mended): a new message id."""
    filing.status = FILING.next(filing.status, "resubmit")
    filing.msgid = None
    filing.attempts = 0
    filing.next_attempt_at = now
    session.flush()
    return filing


def revoke_filing(
    *,
    session: Session,
    filing: CrossRegionFiling,
    now: datetime,
    settings: Settings,
    memo: str,
    adapter: InsuranceAdapter | None = None,
) -> CrossRegionFiling:
    """Withdraw an accepted filing at the agency (2502); 409 unless accepted, 503-worthy
    AgencyUnavailable when it does not answer, a Conflict when it refuses."""
    FILING.next(filing.status, "revoke")  # refuse before calling anyone
    agency = settings.referrals.filing_agency
    request = dataclasses.replace(
        _request(session, filing, now, memo=memo),
        msgid=new_msgid(agency.fixmedins_code or "TELEMED", now),
    )
    result = (adapter or default_adapter(settings)).revoke(request)
    if result.outcome != "accepted":
        raise Conflict(
            f"the agency refused the revocation: {result.message}", code="filing_revoke_refused"
        )
    filing.status = FILING.next(filing.status, "revoke")
    filing.closed_at = now
    filing.reply = result.reply or filing.reply
    session.flush()
    return filing


def expire_filings(*, session: Session, now: datetime) -> int:
    """Accepted filings past their last valid day become `expired`; the patient is told."""
    rows = session.execute(
        select(CrossRegionFiling)
        .where(CrossRegionFiling.status == "accepted", col(CrossRegionFiling.valid_to) < today(now))
        .with_for_update(skip_locked=True)
    ).scalars()
    n = 0
    for filing in list(rows):
        filing.status = FILING.next(filing.status, "expire")
        filing.closed_at = now
        session.flush()
        _tell(session, filing, "filing.expired", now)
        n += 1
    return n


def _tell(session: Session, filing: CrossRegionFiling, kind: str, now: datetime) -> None:
    """The patient (in-app and SMS where consented) and the referring doctor hear of it."""
    r = session.get(Referral, filing.referral_id)
    assert r is not None
    number, valid_to = filing.filing_number or "", filing.valid_to.isoformat()
    reason, code = filing.adapter_message or "", filing.reason_code or ""
    patients = patient_user_ids(session=session, patient_id=r.patient_id)
    for user_ids, staff in ((patients, False), ([r.from_doctor_id], True)):
        notify(
            session,
            user_ids,
            r,
            kind,
            now,
            code=f"{kind}.staff" if staff else None,
            texted=not staff,
            reason=reason,
            number=number,
            valid_to=valid_to,
            code_of_agency=code,
        )


def _request(
    session: Session, filing: CrossRegionFiling, now: datetime, *, memo: str = ""
) -> FilingRequest:
    r = session.get(Referral, filing.referral_id)
    dst = session.get(Institution, filing.treatment_institution_id)
    assert r is not None and dst is not None
    doctor = session.get(User, r.from_doctor_id)
    return FilingRequest(
        msgid=filing.msgid or "",
        # No 人员编号 is held yet (the agency's person query 1101 is not wired): the
        # patient's record id stands in; a real agency refuses it (docs/referrals.md).
        psn_no=str(filing.patient_id),
        insutype=DEFAULT_INSUTYPE,
        insured_admdvs=filing.insured_league_code or "",
        treatment_admdvs=filing.treatment_league_code,
        diag_code=filing.diagnosis_code,
        diag_name=r.diagnosis_text or filing.diagnosis_code,
        condition=r.clinical_summary,
        reflin_medins_no=dst.code,
        reflin_medins_name=dst.name_zh,
        reason=r.reason,
        refl_date=today(now),
        begndate=filing.valid_from,
        enddate=filing.valid_to,
        opter=doctor.username if doctor else "telemed",
        opter_name=doctor.full_name if doctor else "telemed",
        now=now,
        filing_number=filing.filing_number,
        memo=memo,
    )
