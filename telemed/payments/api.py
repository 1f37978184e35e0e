"""Routes of payments: the patient's orders, paying, the providers' notifications, the
coverage table and reconciliation (docs/payments.md). The sandbox's page is in
`api_sandbox`, on this router."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlmodel import Session, col, select

from telemed.core import audit
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import DomainError
from telemed.core.pagination import OffsetQuery
from telemed.core.printing import LangQuery, choose_language, pdf_response
from telemed.identity.deps import AdminUser, ClientIP, CurrentUser
from telemed.network.models import Institution
from telemed.payments import policy, providers
from telemed.payments import service as payments
from telemed.payments.models import PaymentOrder, PaymentRefund, ReconciliationRun
from telemed.payments.provider import NotificationRejected
from telemed.payments.receipt import render_receipt
from telemed.payments.schemas import (
    CoverageRulePublic,
    CoverageRuleSet,
    OrderCreate,
    OrderPublic,
    PayRequest,
    PayStartPublic,
    ProvidersPublic,
    ReconciliationPublic,
    RefundPublic,
)
from telemed.payments.states import ORDER

router = APIRouter(prefix="/api/v1", tags=["payments"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


_ORDER_FIELDS = [n for n in OrderPublic.model_fields if n in PaymentOrder.model_fields]


def public(session: Session, order: PaymentOrder) -> OrderPublic:
    """The order as the API shows it: its hospital's name, allowed actions and refunds."""
    institution = session.get(Institution, order.institution_id)
    refunds = session.execute(
        select(PaymentRefund)
        .where(PaymentRefund.order_id == order.id)
        .order_by(col(PaymentRefund.requested_at))
    ).scalars()
    return OrderPublic.model_validate(
        {
            **{name: getattr(order, name) for name in _ORDER_FIELDS},
            "institution_name": institution.name_zh if institution else None,
            "allowed_actions": ORDER.allowed(order.state),
            "refunds": [RefundPublic.model_validate(r) for r in refunds],
        }
    )


@router.get("/payments/providers", response_model=ProvidersPublic)
def offered_providers(user: CurrentUser, settings: SettingsDep) -> ProvidersPublic:
    """The providers a payer may choose, with the channels each takes."""
    out = []
    for name in providers.names(settings):
        try:
            out.append({"name": name, "channels": sorted(providers.get(name, settings).channels)})
        except DomainError:  # a configured adapter that cannot be built is not offered
            continue
    return ProvidersPublic(providers=out)


@router.post("/payment-orders", response_model=OrderPublic, status_code=201)
def create_order(
    body: OrderCreate,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> OrderPublic:
    """The order for a subject the caller may pay for: its standing one, or a new one."""
    order = payments.create_order(
        session=session,
        user=user,
        subject_type=body.subject_type,
        subject_id=body.subject_id,
        now=now,
        settings=settings,
        idempotency_key=idempotency_key,
    )
    return public(session, order)


@router.get("/payment-orders", response_model=list[OrderPublic])
def list_orders(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    mine: bool = False,
    state: str | None = None,
    subject_type: str | None = None,
    subject_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: OffsetQuery = 0,
) -> list[OrderPublic]:
    """Orders the caller may see (a patient: their own; staff: their institution's;
    `patient_id`: that patient's, for staff who may act for them; otherwise 404)."""
    orders = payments.list_orders(
        session=session,
        user=user,
        now=now,
        mine=mine,
        state=state,
        subject_type=subject_type,
        subject_id=subject_id,
        patient_id=patient_id,
        limit=limit,
        offset=offset,
    )
    return [public(session, o) for o in orders]


@router.get("/payment-orders/{order_id}", response_model=OrderPublic)
def get_order(order_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep) -> Any:
    return public(
        session, payments.read_order(session=session, user=user, order_id=order_id, now=now)
    )


@router.post("/payment-orders/{order_id}/pay", response_model=PayStartPublic)
def pay_order(
    order_id: uuid.UUID,
    body: PayRequest,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
    ip: ClientIP,
) -> PayStartPublic:
    """Open the payment at a provider; the device continues as the answer says."""
    order = payments.read_order(session=session, user=user, order_id=order_id, now=now)
    start = payments.pay(
        session=session,
        order=order,
        user=user,
        provider_name=body.provider,
        channel=body.channel,
        return_path=body.return_path,
        payer_ref=body.payer_ref,
        client_ip=ip,
        now=now,
        settings=settings,
    )
    return PayStartPublic(
        kind=start.kind,
        url=start.url,
        params=dict(start.params),
        provider_ref=start.provider_ref,
        order=public(session, order),
    )


@router.get("/payment-orders/{order_id}/receipt.pdf")
def receipt(
    order_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep, lang: LangQuery = None
) -> Response:
    """The receipt of a paid order (PDF; 409 `not_paid` before it is paid); the read audited."""
    order = payments.read_order(session=session, user=user, order_id=order_id, now=now)
    body = render_receipt(session=session, order=order, lang=choose_language(lang, user=user))
    audit.read(session, user, object_type="payment_order", object_id=order.id,
               patient_ids=[order.patient_id], what="receipt")  # fmt: skip
    return pdf_response(body, f"receipt-{order.order_no}.pdf")


@router.post("/payment-orders/{order_id}/refresh", response_model=OrderPublic)
def refresh_order(order_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep) -> Any:
    """Ask the provider about the order now (the payer came back before the notification)."""
    order = payments.read_order(session=session, user=user, order_id=order_id, now=now)
    return public(session, payments.refresh(session=session, order=order, now=now))


@router.post("/payments/notify/{provider}", include_in_schema=True)
def notify(
    provider: str, request: Request, body: RawBody, session: SessionDep, now: NowDep
) -> Response:
    """A provider's asynchronous notification: verified by the provider's adapter, applied
    once; answered in the provider's own format. Refusals are audited (never the body)."""
    adapter = providers.get(provider)

    def reply(accepted: bool) -> Response:
        status, content_type, out = adapter.notification_reply(accepted)
        return Response(content=out, status_code=status, media_type=content_type)

    try:
        notice = adapter.parse_notification(dict(request.headers), body)
    except NotificationRejected as exc:
        audit.refused(
            session,
            None,
            object_type="payment_notification",
            object_id=provider,
            reason=f"notification_rejected: {exc.code}",
        )
        return reply(False)
    try:
        with session.begin_nested():
            payments.apply_notice(
                session=session, provider=provider, notice=notice, source="notification", now=now
            )
    except DomainError as exc:  # amount mismatch, unknown order, a transition not allowed
        found = session.execute(
            select(PaymentOrder.id, PaymentOrder.patient_id).where(
                PaymentOrder.order_no == notice.order_no
            )
        ).first()
        audit.refused(
            session,
            None,
            object_type="payment_order",
            object_id=str(found[0]) if found else notice.order_no[:128],
            patient_id=found[1] if found else None,
            reason=f"notice_refused: {exc.code}",
        )
        return reply(False)
    return reply(True)


@router.get("/payments/coverage", response_model=list[CoverageRulePublic])
def coverage_table(session: SessionDep, user: CurrentUser) -> Any:
    """The coverage table (example rows are marked `is_example`)."""
    return payments.list_rules(session=session)


@router.put("/payments/coverage", response_model=CoverageRulePublic)
def set_coverage(body: CoverageRuleSet, session: SessionDep, user: AdminUser, now: NowDep) -> Any:
    """Create or replace one rule of the coverage table (admins)."""
    return payments.set_rule(
        session=session,
        service_class=body.service_class,
        category=body.insurance_category,
        rate_bp=body.rate_bp,
        cap_cents=body.cap_cents,
        note=body.note,
        by_id=user.id,
        now=now,
    )


@router.get("/payments/reconciliation", response_model=list[ReconciliationPublic])
def reconciliation(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
    day: Annotated[date, Query()],
) -> list[ReconciliationRun]:
    """The day's reconciliation per provider (stored; run now when not yet run)."""
    policy.require_finance(user)
    return payments.stored_runs(
        session=session, day=day, now=now, provider_names=providers.names(settings)
    )


@router.post("/payments/reconciliation", response_model=ReconciliationPublic)
def rerun_reconciliation(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    day: Annotated[date, Query()],
    provider: Annotated[str, Query(max_length=16)],
) -> ReconciliationRun:
    """Run the day's reconciliation with `provider` again (replaces the stored run)."""
    policy.require_finance(user)
    try:
        return payments.reconcile(session=session, day=day, provider=provider, now=now)
    except payments.ProviderError as exc:
        raise payments.provider_failure(exc) from exc
