"""The coverage table: which share of a service's total the patient's basic medical
insurance bears, by service class and insurance category.

The rows are configuration, not law: the migration seeds clearly marked example values
(`is_example`), and an admin sets the ones the network's insurance office publishes. A
service class without a row for the category is not covered (the patient pays it all).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from telemed.core.errors import Invalid
from telemed.payments.models import CoverageRule

__all__ = ["CATEGORIES", "SELF_PAY", "Shares", "category_of", "list_rules", "set_rule", "shares"]

SELF_PAY = "self_pay"
# The basic medical insurance categories a patient may be registered under.
CATEGORIES = {
    "urban_employee": "城镇职工基本医疗保险",
    "urban_rural_resident": "城乡居民基本医疗保险",
    SELF_PAY: "自费",
}


@dataclass(frozen=True)
class Shares:
    """A total split into what insurance bears and what the patient pays."""

    category: str
    insurance_cents: int
    own_cents: int
    rule_id: uuid.UUID | None


def category_of(stored: str | None) -> str:
    """The category a patient's stored value counts as (unset: self-pay)."""
    return stored if stored in CATEGORIES else SELF_PAY


def shares(*, session: Session, service_class: str, category: str, total_cents: int) -> Shares:
    """Split `total_cents` by the coverage rule of (service class, category): the insurance
    share is the total times the rate, rounded down to the fen, at most the cap."""
    rule = None
    if category != SELF_PAY:
        rule = session.execute(
            select(CoverageRule).where(
                CoverageRule.service_class == service_class,
                CoverageRule.insurance_category == category,
            )
        ).scalar_one_or_none()
    insurance = 0
    if rule is not None:
        insurance = total_cents * rule.rate_bp // 10000
        if rule.cap_cents is not None:
            insurance = min(insurance, rule.cap_cents)
    return Shares(
        category=category,
        insurance_cents=insurance,
        own_cents=total_cents - insurance,
        rule_id=rule.id if rule else None,
    )


def list_rules(*, session: Session) -> list[CoverageRule]:
    """Every row of the coverage table."""
    return list(
        session.execute(
            select(CoverageRule).order_by(
                col(CoverageRule.service_class), col(CoverageRule.insurance_category)
            )
        ).scalars()
    )


def set_rule(
    *,
    session: Session,
    service_class: str,
    category: str,
    rate_bp: int,
    cap_cents: int | None,
    note: str,
    by_id: uuid.UUID,
    now: datetime,
) -> CoverageRule:
    """Create or replace the rule of (service class, category); an admin's value is no
    longer an example."""
    if category not in CATEGORIES or category == SELF_PAY:
        raise Invalid(
            f"unknown insurance category {category!r}",
            field="insurance_category",
            code="unknown_insurance_category",
        )
    rule = session.execute(
        select(CoverageRule).where(
            CoverageRule.service_class == service_class,
            CoverageRule.insurance_category == category,
        )
    ).scalar_one_or_none()
    if rule is None:
        rule = CoverageRule(
            service_class=service_class, insurance_category=category, rate_bp=0, updated_at=now
        )
        session.add(rule)
    rule.rate_bp, rule.cap_cents, rule.note = rate_bp, cap_cents, note
    rule.is_example, rule.updated_at, rule.updated_by_id = False, now, by_id
    session.flush()
    return rule
