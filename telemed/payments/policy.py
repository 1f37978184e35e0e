"""Who may see and act on a payment order.

A patient: their own orders. Staff (doctors, coordinators): orders of their own
institution (the hospital that provides the service), and the orders of a patient they may
act for (`permissions.can_act_for_patient`: staff of the patient's hospital, the family
doctors of the patient's contract: they settle at the bedside). Admins: all. Anyone else
is told the order does not exist (404), and the refusal is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from telemed.core import audit
from telemed.core.errors import Forbidden
from telemed.identity import permissions
from telemed.identity.models import Patient, Role, User
from telemed.payments.models import PaymentOrder

__all__ = [
    "acts_for_patient",
    "can_see",
    "require_finance",
    "visible_filter",
    "visible_order",
]


def can_see(session: Session, user: User, order: PaymentOrder) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.PATIENT:
        return user.patient_id is not None and user.patient_id == order.patient_id
    if not permissions.is_staff(user):
        return False
    if user.institution_id is not None and user.institution_id == order.institution_id:
        return True
    patient = session.get(Patient, order.patient_id)
    return patient is not None and permissions.can_act_for_patient(session, user, patient)


def acts_for_patient(*, session: Session, user: User, patient_id: uuid.UUID) -> Patient:
    """The patient whose orders `user` lists (themself, or one they may act for), else 404
    (the refusal audited)."""
    patient = session.get(Patient, patient_id)
    allowed = patient is not None and (
        (user.role == Role.PATIENT and user.patient_id == patient.id)
        or permissions.can_act_for_patient(session, user, patient)
    )
    return audit.visible_or_404(
        session,
        user,
        patient,
        visible=allowed,
        object_type="patient",
        ident=patient_id,
        patient_id=patient_id,
        reason="may not act for the patient (payment orders)",
    )


def visible_filter(user: User) -> Any:
    """The WHERE clause of the orders `user` may see."""
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.PATIENT:
        return col(PaymentOrder.patient_id) == user.patient_id
    if not permissions.is_staff(user) or user.institution_id is None:
        return False
    return col(PaymentOrder.institution_id) == user.institution_id


def visible_order(
    *, session: Session, user: User, order_id: uuid.UUID, lock: bool = False
) -> PaymentOrder:
    """The order when `user` may see it (the read audited), else 404."""
    stmt = select(PaymentOrder).where(PaymentOrder.id == order_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    order = session.execute(stmt).scalar_one_or_none()
    order = audit.visible_or_404(
        session,
        user,
        order,
        visible=order is not None and can_see(session, user, order),
        object_type="payment_order",
        ident=order_id,
        reason="neither the order's patient nor staff of its institution or acting for the patient",
    )
    audit.read(
        session,
        user,
        object_type="payment_order",
        object_id=order.id,
        patient_ids=[order.patient_id],
    )
    return order


def require_finance(user: User) -> None:
    """Reconciliation is for coordinators and admins (there is no finance role yet)."""
    if user.role not in (Role.COORDINATOR, Role.ADMIN):
        raise Forbidden("reconciliation is for coordinators and admins", code="not_finance")
