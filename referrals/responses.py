"""Response shapes of referrals as the caller sees them (the actions open to them, the
patient's label loaded once for a whole page)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from referrals import policy
from referrals.family.responses import Labels, fields_of, labelled, labels_of
from referrals.models import CrossRegionFiling, Referral
from referrals.schemas import FilingPublic, FilingSummary, ReferralPublic
from referrals.states import FILING, REFERRAL, WAITING
from telemed.identity.models import User

_EXTRA = {
    "allowed_actions",
    "contact_by_breached",
    "filing",
    "patient_name",
    "patient_resident_id_masked",
}


def referrals_public(
    session: Session, rows: list[Referral], user: User, now: datetime
) -> list[ReferralPublic]:
    """The referrals as `user` sees them, with the patient's name and masked resident ID
    (whoever sees the referral may read its patient; reads are audited by the routes)."""
    labels = labels_of(session, (r.patient_id for r in rows))
    filings = _filings_of(session, [r.id for r in rows])
    return [_public(r, user, now, labels, filings.get(r.id)) for r in rows]


def referral_public(session: Session, r: Referral, user: User, now: datetime) -> ReferralPublic:
    """One referral (see `referrals_public`)."""
    return referrals_public(session, [r], user, now)[0]


def _filings_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, FilingSummary]:
    """The filings of a page of referrals, in one query."""
    if not ids:
        return {}
    rows = session.execute(
        select(CrossRegionFiling).where(col(CrossRegionFiling.referral_id).in_(ids))
    ).scalars()
    return {f.referral_id: FilingSummary.model_validate(f, from_attributes=True) for f in rows}


def _public(
    r: Referral, user: User, now: datetime, labels: Labels, filing: FilingSummary | None
) -> ReferralPublic:
    parties = policy.parties_of(user, r)
    actions = [a for a in REFERRAL.allowed(r.status) if parties & set(policy.PARTIES.get(a, ()))]
    if filing is not None and "referrer" in parties:
        filing = filing.model_copy(update={"allowed_actions": _filing_actions(filing.status)})
    return ReferralPublic(
        **labelled(
            {k: v for k, v in fields_of(r, ReferralPublic).items() if k not in _EXTRA},
            r.patient_id,
            labels,
        ),
        allowed_actions=actions,
        filing=filing,
        contact_by_breached=bool(r.contact_by and r.contact_by < now and r.status in WAITING),
    )


def filing_public(filing: CrossRegionFiling, user: User, r: Referral) -> FilingPublic:
    """A filing as `user` sees it: the referrer also sees what they may do with it."""
    mine = "referrer" in policy.parties_of(user, r)
    actions = _filing_actions(filing.status) if mine else []
    return FilingPublic.model_validate({**filing.model_dump(), "allowed_actions": actions})


def _filing_actions(status: str) -> list[str]:
    """The filing's moves a person makes (the others are the agency's and the job's)."""
    return [a for a in FILING.allowed(status) if a in ("resubmit", "revoke")]


def waiting(r: Referral, now: datetime) -> dict[str, Any]:
    """A referral on a receiver's (or a team's) worklist."""
    return {
        "referral_id": str(r.id),
        "patient_id": str(r.patient_id),
        "status": r.status,
        "urgency": r.urgency,
        "direction": r.direction,
        "contact_by": r.contact_by.isoformat() if r.contact_by else None,
        "breached": bool(r.contact_by and r.contact_by < now),
        "escalation_level": r.escalation_level,
    }
