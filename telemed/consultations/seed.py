"""Demo data of consultations: the fee schedule (yuan per service, by receiving tier)."""

from __future__ import annotations

from sqlmodel import Session

from telemed.consultations import payments
from telemed.consultations.service_classes import ServiceClass
from telemed.core import clock
from telemed.core.settings import Settings

# Illustrative demo prices in yuan; real ones come from the regional price bureau's list.
DEMO_FEES_YUAN: dict[ServiceClass, tuple[int, int, int]] = {  # regional, league, county
    ServiceClass.CONSULTATION: (300, 200, 100),
    ServiceClass.IMAGING_DIAGNOSIS: (150, 100, 50),
    ServiceClass.ECG_DIAGNOSIS: (50, 30, 20),
    ServiceClass.PATHOLOGY_DIAGNOSIS: (300, 200, 100),
    ServiceClass.OUTPATIENT: (100, 60, 30),
    ServiceClass.WARD_ROUND: (200, 150, 80),
    ServiceClass.MONITORING: (100, 80, 50),
    ServiceClass.CASE_DISCUSSION: (500, 300, 150),
    ServiceClass.EDUCATION: (0, 0, 0),
    ServiceClass.APPOINTMENT: (0, 0, 0),
    ServiceClass.REFERRAL: (0, 0, 0),
}


def seed_demo(session: Session, settings: Settings) -> None:
    """Load the demo fee schedule (idempotent)."""
    now = clock.now()
    for service_class, amounts in DEMO_FEES_YUAN.items():
        for tier, yuan in zip(("regional", "league", "county"), amounts, strict=True):
            if payments.fee_for(session=session, service_class=service_class, tier=tier) is None:
                payments.set_fee(
                    session=session,
                    service_class=service_class,
                    tier=tier,
                    amount_cents=yuan * 100,
                    currency="CNY",
                    by_id=None,
                    now=now,
                )
