"""HTTP API of requests and their workflow: worklists, create, read, edit, history, where a
request would go, and every workflow action (submit ... acknowledge, pay)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, Query

from telemed.consultations import payments, policy, service
from telemed.consultations.api_routes import Routes
from telemed.consultations.models import Consultation
from telemed.consultations.schemas import (
    AcceptBody,
    ConsultationCreate,
    ConsultationPublic,
    ConsultationUpdate,
    PaymentPublic,
    Proposal,
    ReasonBody,
    RedirectBody,
    ScheduleBody,
    TransitionPublic,
)
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.pagination import Page, PageDep
from telemed.identity.deps import ClientIP, CurrentUser, StaffUser
from telemed.identity.models import User

routes = Routes()


def _public(user: User, c: Consultation) -> ConsultationPublic:
    out = ConsultationPublic.model_validate(c)
    out.allowed_actions = service.allowed_actions(user, c)
    out.my_relations = sorted(policy.relations(user, c))
    return out


# ------------------------------------------------------------ requests


@routes.get("", response_model=Page[ConsultationPublic])
def worklist(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    role: Annotated[
        str | None, Query(description="requester | specialist | coordinator | patient")
    ] = None,
    state: str | None = None,
) -> Page[ConsultationPublic]:
    """The caller's worklist (default by their role)."""
    rows, total = service.worklist(
        session=session,
        user=user,
        role=role or service.default_role(user),
        state=state,
        limit=page.limit,
        offset=page.offset,
    )
    counts = service.attachment_counts(session=session, consultation_ids=[c.id for c in rows])
    items = [_public(user, c) for c in rows]
    for item in items:
        item.studies_count, item.documents_count = counts.get(item.id, (0, 0))
    return Page(
        items=items,
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@routes.post("", response_model=ConsultationPublic, status_code=201)
def create(
    body: ConsultationCreate,
    session: SessionDep,
    user: StaffUser,
    now: NowDep,
    ip: ClientIP,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ConsultationPublic:
    """Start a request (draft); an `Idempotency-Key` makes retries return the same request."""
    c = service.create(
        session=session, by=user, data=body, now=now, ip=ip, idempotency_key=idempotency_key
    )
    return _public(user, c)


@routes.get("/{consultation_id}", response_model=ConsultationPublic)
def get_one(
    consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser
) -> ConsultationPublic:
    c = service.read(session=session, user=user, consultation_id=consultation_id)
    return _public(user, c)


@routes.patch("/{consultation_id}", response_model=ConsultationPublic)
def update(
    consultation_id: uuid.UUID,
    body: ConsultationUpdate,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> ConsultationPublic:
    c = service.update_draft(
        session=session, consultation_id=consultation_id, by=user, data=body, now=now
    )
    return _public(user, c)


@routes.get("/{consultation_id}/history", response_model=list[TransitionPublic])
def history(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    """Every transition: who, when, why, from, to."""
    service.read(session=session, user=user, consultation_id=consultation_id, what="history")
    return service.history(session=session, consultation_id=consultation_id)


@routes.get("/{consultation_id}/proposals", response_model=list[Proposal])
def proposals_for(
    consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep
) -> Any:
    """Where this request would go (same rules as at submission)."""
    c = service.load_visible(session=session, user=user, consultation_id=consultation_id)
    return service.proposals_for(
        session=session, c=c, by=user, now=now, institution_id=c.chosen_institution_id
    )


# ------------------------------------------------------------ workflow


@routes.post("/{consultation_id}/submit", response_model=ConsultationPublic)
def submit(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
) -> ConsultationPublic:
    c = service.submit(
        session=session, consultation_id=consultation_id, by=user, now=now, settings=settings
    )
    return _public(user, c)


@routes.post("/{consultation_id}/accept", response_model=ConsultationPublic)
def accept(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
    body: AcceptBody | None = None,
) -> ConsultationPublic:
    c = service.accept(
        session=session,
        consultation_id=consultation_id,
        by=user,
        data=body or AcceptBody(),
        now=now,
        settings=settings,
    )
    return _public(user, c)


@routes.post("/{consultation_id}/redirect", response_model=ConsultationPublic)
def redirect(
    consultation_id: uuid.UUID,
    body: RedirectBody,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
) -> ConsultationPublic:
    c = service.redirect(
        session=session,
        consultation_id=consultation_id,
        by=user,
        reason=body.reason,
        institution_id=body.institution_id,
        specialist_id=body.specialist_id,
        now=now,
        settings=settings,
    )
    return _public(user, c)


@routes.post("/{consultation_id}/schedule", response_model=ConsultationPublic)
def schedule(
    consultation_id: uuid.UUID,
    body: ScheduleBody,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> ConsultationPublic:
    c = service.schedule(
        session=session, consultation_id=consultation_id, by=user, slot_id=body.slot_id, now=now
    )
    return _public(user, c)


def _action(path: str, act: Callable[..., Consultation], doc: str | None = None) -> None:
    """`POST /{id}/<path>`: a workflow action that needs nothing but the caller and now."""

    def endpoint(
        consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep
    ) -> ConsultationPublic:
        c = act(session=session, consultation_id=consultation_id, by=user, now=now)
        return _public(user, c)

    _mount(path, endpoint, doc)


def _reasoned_action(path: str, act: Callable[..., Consultation]) -> None:
    """`POST /{id}/<path>` with `{"reason": ...}`: a workflow action that gives its reason."""

    def endpoint(
        consultation_id: uuid.UUID,
        body: ReasonBody,
        session: SessionDep,
        user: CurrentUser,
        now: NowDep,
    ) -> ConsultationPublic:
        c = act(
            session=session, consultation_id=consultation_id, by=user, reason=body.reason, now=now
        )
        return _public(user, c)

    _mount(path, endpoint, None)


def _mount(path: str, endpoint: Callable[..., ConsultationPublic], doc: str | None) -> None:
    """Route `POST /{id}/<path>` to `endpoint`, named after the path as a handler of its own
    would be (OpenAPI operation ids and summaries stay those of the path)."""
    endpoint.__name__ = endpoint.__qualname__ = {"payments": "pay"}.get(path, path)
    endpoint.__doc__ = doc
    routes.post(f"/{{consultation_id}}/{path}", response_model=ConsultationPublic)(endpoint)


_reasoned_action("decline", service.decline)
_action("start", service.start_session)
_reasoned_action("cancel", service.cancel)
_action(
    "acknowledge",
    service.acknowledge,
    "The requesting doctor confirms receipt of the signed opinion; the request closes.",
)
_action("payments", service.pay, "Pay the fee through the payment provider (the sandbox today).")


@routes.get("/{consultation_id}/payments", response_model=list[PaymentPublic])
def list_payments(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    service.read(session=session, user=user, consultation_id=consultation_id, what="payments")
    return payments.payments_of(session=session, consultation_id=consultation_id)
