"""HTTP API of the specialist's opinion: draft, sign, correct, read, verify, print."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import Response

from telemed.consultations import pdf, service, signing
from telemed.consultations.api_routes import Routes
from telemed.consultations.models import Opinion
from telemed.consultations.schemas import (
    OpinionCorrection,
    OpinionPublic,
    OpinionWrite,
    VerifyResult,
)
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import NotFound
from telemed.core.printing import LangQuery, choose_language, pdf_response
from telemed.identity.deps import CurrentUser
from telemed.identity.models import Patient, User
from telemed.network.models import Institution

routes = Routes()


# ------------------------------------------------------------ opinion


@routes.put("/{consultation_id}/opinion", response_model=OpinionPublic)
def write_opinion(
    consultation_id: uuid.UUID,
    body: OpinionWrite,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> Any:
    """Write the draft opinion (assigned specialist)."""
    return service.save_draft(
        session=session, consultation_id=consultation_id, by=user, data=body, now=now
    )


@routes.post("/{consultation_id}/opinion/sign", response_model=OpinionPublic)
def sign_opinion(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
) -> Any:
    """Sign the draft: Ed25519 over its canonical JSON; it can never change afterwards."""
    return service.sign(
        session=session, consultation_id=consultation_id, by=user, now=now, settings=settings
    )


@routes.post(
    "/{consultation_id}/opinion/corrections", response_model=OpinionPublic, status_code=201
)
def correct_opinion(
    consultation_id: uuid.UUID,
    body: OpinionCorrection,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
) -> Any:
    """A correction: a new signed version."""
    return service.correct(
        session=session,
        consultation_id=consultation_id,
        by=user,
        data=body,
        now=now,
        settings=settings,
    )


@routes.get("/{consultation_id}/opinion", response_model=OpinionPublic)
def read_opinion(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    version: int | None = None,
) -> Any:
    return service.opinion_for(
        session=session, consultation_id=consultation_id, by=user, version=version
    )


@routes.get("/{consultation_id}/opinion/versions", response_model=list[OpinionPublic])
def opinion_versions(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    return service.opinion_versions(session=session, consultation_id=consultation_id, by=user)


@routes.get("/{consultation_id}/opinion/verify", response_model=VerifyResult)
def verify_opinion(
    consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser, version: int | None = None
) -> VerifyResult:
    """Check the signature against the published key and the stored content."""
    return service.verify(
        session=session, consultation_id=consultation_id, by=user, version=version
    )


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
        lang=choose_language(lang, user=user, patient=patient),
    )
    return pdf_response(body, f"opinion-{c.id}-v{op.version}.pdf")
