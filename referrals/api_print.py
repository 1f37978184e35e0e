"""Routes of the printed documents of referrals and contracts (PDF), in `?lang=` or the
patient's or caller's language (zh-CN, en, mn-Mong)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial

from fastapi import APIRouter
from fastapi.responses import Response
from sqlmodel import Session

from referrals import printed
from referrals.deps import ReadReferral, VisibleContract
from telemed.core.deps import SessionDep
from telemed.core.printing import LangQuery, choose_language, pdf_response
from telemed.identity.deps import CurrentUser
from telemed.identity.models import Patient, User

router = APIRouter(tags=["printed documents"])


def _printed(
    draw: Callable[..., bytes],
    patient_id: uuid.UUID,
    user: User,
    session: Session,
    lang: str | None,
    filename: str,
) -> Response:
    patient = session.get(Patient, patient_id)
    assert patient is not None
    chosen = choose_language(lang, user=user, patient=patient)
    return pdf_response(draw(patient=patient, lang=chosen), filename)


@router.get("/referrals/{referral_id}/slip.pdf")
def referral_slip(
    r: ReadReferral, user: CurrentUser, session: SessionDep, lang: LangQuery = None
) -> Response:
    """The referral slip (转诊单) the patient carries to the receiving hospital."""
    draw = partial(printed.referral_slip, session=session, referral=r)
    return _printed(draw, r.patient_id, user, session, lang, f"referral-{r.id}.pdf")


@router.get("/family-doctors/contracts/{contract_id}/contract.pdf")
def contract_pdf(
    contract: VisibleContract, user: CurrentUser, session: SessionDep, lang: LangQuery = None
) -> Response:
    """The family-doctor contract (签约服务协议), printable."""
    draw = partial(printed.contract_document, session=session, contract=contract)
    filename = f"contract-{contract.id}.pdf"
    return _printed(draw, contract.patient_id, user, session, lang, filename)
