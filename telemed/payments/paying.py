"""Paying an order: opening the payment at a provider (the payer's device continues with
the `PayStart`), and asking the provider when the payer comes back before its
notification (`refresh`, also run by the periodic job for orders left paying)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from telemed.core import audit
from telemed.core.errors import Conflict, DomainError, Invalid, Unavailable
from telemed.core.settings import Settings
from telemed.identity.models import User
from telemed.payments import providers
from telemed.payments.expiry import expire_if_due
from telemed.payments.models import PaymentOrder
from telemed.payments.notices import apply_notice, change
from telemed.payments.provider import OrderRequest, PayStart, ProviderError
from telemed.payments.states import ORDER

__all__ = ["notify_url", "pay", "refresh", "refresh_paying", "provider_failure"]
log = logging.getLogger(__name__)


def notify_url(settings: Settings, provider: str) -> str:
    return f"{settings.payments.public_base_url.rstrip('/')}/api/v1/payments/notify/{provider}"


def provider_failure(exc: ProviderError) -> Exception:
    """The problem a provider's refusal answers with: 503 when it could not be reached."""
    if exc.unavailable:
        return Unavailable(f"the payment provider is unavailable: {exc}", code=exc.code)
    return Conflict(f"the payment provider refused: {exc}", code=exc.code)


def pay(
    *,
    session: Session,
    order: PaymentOrder,
    user: User,
    provider_name: str,
    channel: str,
    return_path: str | None,
    payer_ref: str | None,
    client_ip: str | None,
    now: datetime,
    settings: Settings,
) -> PayStart:
    """Open the payment of `order` (locked) at `provider_name` through `channel`."""
    if expire_if_due(session=session, order=order, now=now):
        raise Conflict("the order has expired", code="order_expired")
    ORDER.next(order.state, "start")  # 409 before anything is asked of a provider
    provider = providers.get(provider_name, settings)
    if channel not in provider.channels:
        raise Invalid(
            f"{provider_name} does not take {channel!r} payments",
            field="channel",
            code="unsupported_channel",
        )
    if order.provider is not None and order.provider != provider_name:
        try:  # the payer switched providers: the first may not take it any more
            providers.get(order.provider, settings).close(order.order_no)
        except ProviderError as exc:
            raise provider_failure(exc) from exc
    base = settings.payments.public_base_url.rstrip("/")
    request = OrderRequest(
        order_no=order.order_no,
        amount_cents=order.own_cents,
        currency=order.currency,
        description=order.description,
        expires_at=order.expires_at,
        channel=channel,  # type: ignore[arg-type]
        notify_url=notify_url(settings, provider_name),
        return_url=f"{base}{return_path}" if return_path else None,
        payer_ref=payer_ref,
        client_ip=client_ip,
    )
    try:
        start = provider.start(request)
    except ProviderError as exc:
        raise provider_failure(exc) from exc
    change(
        session,
        order,
        "start",
        now=now,
        actor_id=user.id,
        detail={"provider": provider_name, "channel": channel},
    )
    order.provider, order.channel, order.provider_ref = provider_name, channel, start.provider_ref
    return start


def refresh(*, session: Session, order: PaymentOrder, now: datetime) -> PaymentOrder:
    """Ask the provider about an order (locked) still paying, apply its answer once; then
    close it if it has expired."""
    if order.state == "paying" and order.provider is not None:
        try:
            notice = providers.get(order.provider).query(order.order_no)
        except (ProviderError, DomainError) as exc:
            log.warning("query of %s at %s failed: %s", order.order_no, order.provider, exc.code)
            notice = None
        if notice is not None:
            try:
                with session.begin_nested():
                    apply_notice(
                        session=session,
                        provider=order.provider,
                        notice=notice,
                        source="query",
                        now=now,
                    )
            except Conflict as exc:
                audit.refused(
                    session,
                    None,
                    object_type="payment_order",
                    object_id=order.id,
                    patient_id=order.patient_id,
                    reason=f"{exc.code}: {exc.detail}"[:500],
                )
            session.refresh(order)
    expire_if_due(session=session, order=order, now=now)
    return order


def refresh_paying(*, session: Session, now: datetime, limit: int = 200) -> int:
    """The job: query every order left paying (oldest first); return how many were asked."""
    orders = (
        session.execute(
            select(PaymentOrder)
            .where(PaymentOrder.state == "paying")
            .order_by(col(PaymentOrder.updated_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for order in orders:
        refresh(session=session, order=order, now=now)
    return len(orders)
