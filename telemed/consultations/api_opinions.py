"""HTTP API of the specialist's opinion: draft, sign, correct, read, verify, print."""

from __future__ import annotations

import uuid
from typing import Any

from telemed.consultations import service
from telemed.consultations.api_routes import Routes
from telemed.consultations.opinion_public import opinion_public, opinions_public
from telemed.consultations.schemas import (
    AnnotationsWrite,
    OpinionCorrection,
    OpinionPublic,
    OpinionSign,
    OpinionWrite,
    SlideAnnotation,
    VerifyResult,
)
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.identity.deps import ClientIP, CurrentUser

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
    op = service.save_draft(
        session=session, consultation_id=consultation_id, by=user, data=body, now=now
    )
    return opinion_public(session, op)


@routes.post(
    "/{consultation_id}/opinion/sign",
    response_model=OpinionPublic,
    responses={
        403: {"description": "reauthentication_required or reauthentication_failed"},
        429: {"description": "login_throttled; see Retry-After"},
    },
)
def sign_opinion(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
    ip: ClientIP,
    body: OpinionSign | None = None,
) -> Any:
    """Sign the draft with one's password: Ed25519 over its canonical JSON; it can never
    change afterwards. A wrong password counts as a failed login (same throttle)."""
    op = service.sign(
        session=session,
        consultation_id=consultation_id,
        by=user,
        now=now,
        settings=settings,
        password=body.password if body else None,
        address=ip,
    )
    return opinion_public(session, op)


@routes.post(
    "/{consultation_id}/opinion/corrections",
    response_model=OpinionPublic,
    status_code=201,
    responses={
        403: {"description": "reauthentication_required or reauthentication_failed"},
        429: {"description": "login_throttled; see Retry-After"},
    },
)
def correct_opinion(
    consultation_id: uuid.UUID,
    body: OpinionCorrection,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
    ip: ClientIP,
) -> Any:
    """A correction: a new signed version, with the signer's password."""
    op = service.correct(
        session=session,
        consultation_id=consultation_id,
        by=user,
        data=body,
        now=now,
        settings=settings,
        address=ip,
    )
    return opinion_public(session, op)


@routes.get("/{consultation_id}/opinion", response_model=OpinionPublic)
def read_opinion(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    version: int | None = None,
) -> Any:
    """The latest signed opinion (or `version`), with its signer and named diagnoses."""
    op = service.opinion_for(
        session=session, consultation_id=consultation_id, by=user, version=version
    )
    return opinion_public(session, op)


@routes.get("/{consultation_id}/opinion/draft", response_model=OpinionPublic | None)
def read_draft(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    """The unsigned draft for its author (the assigned specialist), else null (200)."""
    op = service.draft_for(session=session, consultation_id=consultation_id, by=user)
    return opinion_public(session, op) if op is not None else None


@routes.get("/{consultation_id}/opinion/versions", response_model=list[OpinionPublic])
def opinion_versions(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    ops = service.opinion_versions(session=session, consultation_id=consultation_id, by=user)
    return opinions_public(session, ops)


@routes.get("/{consultation_id}/opinion/verify", response_model=VerifyResult)
def verify_opinion(
    consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser, version: int | None = None
) -> VerifyResult:
    """Check the signature against the published key and the stored content."""
    return service.verify(
        session=session, consultation_id=consultation_id, by=user, version=version
    )


# ------------------------------------------------------------ slide annotations


@routes.get("/{consultation_id}/opinion/annotations", response_model=list[SlideAnnotation])
def read_annotations(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    """The marks on the request's slides, of the opinion the caller may read (404: none)."""
    return service.annotations_of(session=session, consultation_id=consultation_id, by=user)


@routes.put("/{consultation_id}/opinion/annotations", response_model=list[SlideAnnotation])
def write_annotations(
    consultation_id: uuid.UUID,
    body: AnnotationsWrite,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> Any:
    """Replace the draft opinion's slide marks (assigned specialist; 409 once signed)."""
    return service.save_annotations(
        session=session, consultation_id=consultation_id, by=user, items=body.items, now=now
    )
