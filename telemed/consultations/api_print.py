"""HTTP API of the printed documents of a consultation (PDF): the signed opinion and the
payment receipts, in `?lang=` or the patient's or caller's language (zh-CN, en, mn-Mong)."""

from __future__ import annotations

import uuid

from fastapi.responses import Response

from telemed.consultations import pdf, service, signing
from telemed.consultations.api_routes import Routes
from telemed.consultations.models import Opinion, Payment
from telemed.consultations.opinion_public import diagnoses
from telemed.core.deps import NowDep, SessionDep
from telemed.core.errors import NotFound
from telemed.core.printing import LangQuery, choose_language, pdf_response
from telemed.identity.deps import CurrentUser
from telemed.identity.models import Patient, User
from telemed.network.models import Institution

routes = Routes()


@routes.get("/{consultation_id}/opinion.pdf")
def opinion_pdf(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    version: int | None = None,
    lang: LangQuery = None,
) -> Response:
    """The signed opinion, printable, in `?lang=` or the patient's or caller's language."""
    op: Opinion = service.opinion_for(
        session=session, consultation_id=consultation_id, by=user, version=version
    )
    if op.signed_at is None or op.key_id is None:
        raise NotFound("no signed opinion")
    c = service.get_consultation(session=session, consultation_id=consultation_id)
    key = session.get(signing.SpecialistKey, op.key_id)
    patient = session.get(Patient, c.patient_id)
    requester = session.get(User, c.requesting_doctor_id)
    author = session.get(User, op.author_id)
    requesting = session.get(Institution, c.requesting_institution_id)
    receiving = (
        session.get(Institution, c.receiving_institution_id) if c.receiving_institution_id else None
    )
    assert key and patient and requester and author and requesting
    body = pdf.render_opinion(
        consultation=c,
        opinion=op,
        key=key,
        patient=patient,
        requester=requester,
        author=author,
        requesting=requesting,
        receiving=receiving,
        diagnoses=diagnoses(session, op.icd10 or []),
        author_institution=(
            session.get(Institution, author.institution_id) if author.institution_id else None
        ),
        consents=service.consents(session=session, consultation_id=c.id),
        lang=choose_language(lang, user=user, patient=patient),
    )
    return pdf_response(body, f"opinion-{c.id}-v{op.version}.pdf")


@routes.get("/{consultation_id}/payments/{payment_id}/receipt.pdf")
def payment_receipt(
    consultation_id: uuid.UUID,
    payment_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    lang: LangQuery = None,
) -> Response:
    """The receipt (缴费凭证) of a payment or refund of the consultation's fee."""
    c = service.read(session=session, user=user, consultation_id=consultation_id, what="receipt")
    payment = session.get(Payment, payment_id)
    if payment is None or payment.consultation_id != c.id:
        raise NotFound("no such payment")
    patient = session.get(Patient, c.patient_id)
    assert patient is not None
    body = pdf.render_receipt(
        consultation=c,
        payment=payment,
        patient=patient,
        lang=choose_language(lang, user=user, patient=patient),
    )
    return pdf_response(body, f"receipt-{payment.id}.pdf")
