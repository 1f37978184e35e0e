"""Payment orders: making one for a subject (idempotent; one standing order per subject),
finding the caller's, and reading one (expired ones are closed on the way)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from telemed.core import audit, idempotency
from telemed.core.errors import Conflict, NotFound
from telemed.core.ids import uuid7
from telemed.core.settings import Settings
from telemed.identity.models import Patient, User
from telemed.payments import coverage, policy
from telemed.payments.expiry import expire_if_due
from telemed.payments.models import STANDING_STATES, PaymentOrder
from telemed.payments.notices import change
from telemed.payments.subjects import kind_of

__all__ = ["create_order", "list_orders", "read_order", "standing_order"]


def _order_no(order_id: uuid.UUID, now: datetime) -> str:
    """Our out_trade_no: TM + the day + 12 hex digits of the order's id (22 characters)."""
    return f"TM{now:%Y%m%d}{order_id.hex[-12:].upper()}"


def standing_order(
    session: Session, subject_type: str, subject_id: uuid.UUID
) -> PaymentOrder | None:
    """The subject's open or paid order, if it has one."""
    return session.execute(
        select(PaymentOrder).where(
            PaymentOrder.subject_type == subject_type,
            PaymentOrder.subject_id == subject_id,
            col(PaymentOrder.state).in_(STANDING_STATES),
        )
    ).scalar_one_or_none()


def create_order(
    *,
    session: Session,
    user: User,
    subject_type: str,
    subject_id: uuid.UUID,
    now: datetime,
    settings: Settings,
    idempotency_key: str | None = None,
) -> PaymentOrder:
    """The order for the subject: the standing one when it has one, else a new one priced
    from the fee schedule and split by the patient's insurance category."""
    payload = {"subject_type": subject_type, "subject_id": str(subject_id)}
    out = idempotency.once(
        session=session,
        scope="payments.order",
        user_id=user.id,
        key=idempotency_key,
        payload=payload,
        now=now,
        status_code=201,
        work=lambda: _create(session, user, subject_type, subject_id, now, settings),
        dump=lambda o: {"order_id": str(o.id)},
    )
    if isinstance(out, idempotency.Replay):
        order = session.get(PaymentOrder, uuid.UUID(out.response["order_id"]))
        if order is None:
            raise NotFound("the order of this Idempotency-Key is gone")
        return order
    return out


def _create(
    session: Session,
    user: User,
    subject_type: str,
    subject_id: uuid.UUID,
    now: datetime,
    settings: Settings,
) -> PaymentOrder:
    subject = kind_of(subject_type).load(session=session, user=user, subject_id=subject_id)
    existing = standing_order(session, subject_type, subject_id)
    if existing is not None:
        expire_if_due(session=session, order=existing, now=now)
        if existing.state in STANDING_STATES:
            return existing
    if subject.total_cents <= 0:
        raise Conflict("there is no fee for this service", code="nothing_to_pay")
    patient = session.get(Patient, subject.patient_id)
    assert patient is not None
    split = coverage.shares(
        session=session,
        service_class=subject.service_class,
        category=coverage.category_of(patient.insurance_category),
        total_cents=subject.total_cents,
    )
    order_id = uuid7()
    order = PaymentOrder(
        id=order_id,
        order_no=_order_no(order_id, now),
        patient_id=subject.patient_id,
        created_by_id=user.id,
        subject_type=subject.type,
        subject_id=subject.id,
        institution_id=subject.institution_id,
        service_class=subject.service_class,
        description=subject.description,
        currency=subject.currency,
        total_cents=subject.total_cents,
        insurance_category=split.category,
        insurance_cents=split.insurance_cents,
        own_cents=split.own_cents,
        coverage_rule_id=split.rule_id,
        state="created",
        expires_at=now + timedelta(minutes=settings.payments.order_ttl_minutes),
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:  # a concurrent request made the subject's order first
        found = standing_order(session, subject_type, subject_id)
        if found is None:
            raise
        return found
    audit.record(
        session=session,
        by=user,
        action="create",
        object_type="payment_order",
        object_id=order.id,
        patient_id=order.patient_id,
        detail={"subject_type": subject_type, "subject_id": str(subject_id)},
        at=now,
    )
    if order.own_cents == 0:  # insurance bears it all: nothing to pay through a provider
        change(session, order, "pay", now=now, actor_id=user.id, detail={"own_cents": 0})
        order.paid_at = now
    return order


def read_order(*, session: Session, user: User, order_id: uuid.UUID, now: datetime) -> PaymentOrder:
    """One order the user may see (else 404), closed first when it has expired."""
    order = policy.visible_order(session=session, user=user, order_id=order_id, lock=True)
    expire_if_due(session=session, order=order, now=now)
    return order


def list_orders(
    *,
    session: Session,
    user: User,
    now: datetime,
    mine: bool = False,
    state: str | None = None,
    subject_type: str | None = None,
    subject_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[PaymentOrder]:
    """The orders the user may see (`mine`: only those of the user as patient or maker;
    `patient_id`: all of that patient's, for one who may act for them, else 404), newest
    first; expired ones closed on the way; the read audited."""
    if patient_id is not None:
        policy.acts_for_patient(session=session, user=user, patient_id=patient_id)
        where: list[Any] = [col(PaymentOrder.patient_id) == patient_id]
    else:
        where = [policy.visible_filter(user)]
    if mine:
        own = col(PaymentOrder.created_by_id) == user.id
        if user.patient_id is not None:
            own = own | (col(PaymentOrder.patient_id) == user.patient_id)
        where.append(own)
    if state:
        where.append(col(PaymentOrder.state) == state)
    if subject_type:
        where.append(col(PaymentOrder.subject_type) == subject_type)
    if subject_id:
        where.append(col(PaymentOrder.subject_id) == subject_id)
    orders = list(
        session.execute(
            select(PaymentOrder)
            .where(*where)
            .order_by(col(PaymentOrder.created_at).desc(), col(PaymentOrder.id))
            .limit(limit)
            .offset(offset)
        ).scalars()
    )
    for order in orders:
        if order.state in ("created", "paying") and order.expires_at <= now:
            session.refresh(order, with_for_update=True)
            expire_if_due(session=session, order=order, now=now)
    audit.read(
        session,
        user,
        object_type="payment_order",
        patient_ids=[o.patient_id for o in orders],
        object_ids=[o.id for o in orders],
    )
    return orders
