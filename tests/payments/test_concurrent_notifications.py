"""Two notifications of one payment arriving at once, on separate connections against
PostgreSQL: the order's row lock lets one apply it; the other sees it applied."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduling import service as scheduling_service
from scheduling.models import Booking, ScheduleRule, Slot
from scheduling.schemas import RuleCreate
from telemed.core.notifications import Notification
from telemed.core.settings import get_settings
from telemed.identity.models import Patient, User
from telemed.payments import providers
from telemed.payments import service as payments
from telemed.payments.models import AppliedNotice, PaymentOrder
from telemed.payments.provider import Notice
from telemed.payments.sandbox import SandboxProvider, sandbox_key
from tests.payments.conftest import fresh_doctor


def test_two_concurrent_notifications_apply_once(committed_engine: Engine) -> None:
    now = datetime.now(UTC)
    sandbox = SandboxProvider(key=sandbox_key("k"), base_url="")
    providers.set_provider("sandbox", sandbox)
    made: dict[str, uuid.UUID] = {}
    try:
        with Session(committed_engine, expire_on_commit=False) as s:
            coord = s.execute(select(User).where(User.username == "coordinator")).scalar_one()
            person = Patient(
                name="并发患者",
                sex="male",
                birth_date=date(1970, 1, 1),
                resident_id_hash=uuid.uuid4().hex,
                resident_id_masked="1501**********0001",
                institution_id=coord.institution_id,
                created_at=now,
            )
            s.add(person)
            doctor = fresh_doctor(s, coord.institution_id, now)
            rule = scheduling_service.create_rule(
                session=s,
                data=RuleCreate(
                    specialist_id=doctor.id,
                    weekdays=[0, 1, 2, 3, 4, 5, 6],
                    start_time=time(1, 0),
                    end_time=time(1, 30),
                    slot_minutes=30,
                    capacity=1,
                    service_class="outpatient",
                ),
                by=coord,
                now=now,
            )
            slot = (
                s.execute(
                    select(Slot)
                    .where(Slot.rule_id == rule.id, col(Slot.start_at) > now + timedelta(days=20))
                    .order_by(col(Slot.start_at))
                )
                .scalars()
                .first()
            )
            assert slot is not None
            booking = scheduling_service.book(
                session=s, slot_id=slot.id, by=coord, patient_id=person.id, now=now
            )
            order = payments.create_order(
                session=s,
                user=coord,
                subject_type="booking",
                subject_id=booking.id,
                now=now,
                settings=get_settings(),
            )
            payments.pay(
                session=s,
                order=order,
                user=coord,
                provider_name="sandbox",
                channel="h5",
                return_path=None,
                payer_ref=None,
                client_ip=None,
                now=now,
                settings=get_settings(),
            )
            s.commit()
            made = {
                "patient": person.id,
                "doctor": doctor.id,
                "rule": rule.id,
                "order": order.id,
                "booking": booking.id,
            }
            notice = Notice(
                order_no=order.order_no,
                kind="paid",
                amount_cents=order.own_cents,
                at=now,
                provider_txn="sbx_tx_concurrent",
                notice_id="n-1",
            )

        barrier = threading.Barrier(2)
        outcomes: list[str] = []
        lock = threading.Lock()

        def deliver() -> None:
            with Session(committed_engine, expire_on_commit=False) as s:
                barrier.wait(timeout=30)
                out = payments.apply_notice(
                    session=s, provider="sandbox", notice=notice, source="notification", now=now
                )
                s.commit()
                with lock:
                    outcomes.append(out)

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes) == ["applied", "duplicate"]
        with Session(committed_engine) as s:
            order = s.get(PaymentOrder, made["order"])
            assert order is not None and order.state == "paid"
            applied = (
                s.execute(select(AppliedNotice).where(AppliedNotice.order_id == made["order"]))
                .scalars()
                .all()
            )
            assert len(applied) == 1
    finally:
        providers.set_provider("sandbox", None)
        if made:
            with Session(committed_engine) as s:
                s.execute(delete(AppliedNotice).where(col(AppliedNotice.order_id) == made["order"]))
                s.execute(delete(PaymentOrder).where(col(PaymentOrder.id) == made["order"]))
                s.execute(
                    delete(Notification).where(col(Notification.patient_id) == made["patient"])
                )
                s.execute(delete(Booking).where(col(Booking.id) == made["booking"]))
                s.execute(delete(Slot).where(col(Slot.rule_id) == made["rule"]))
                s.execute(delete(ScheduleRule).where(col(ScheduleRule.id) == made["rule"]))
                s.execute(delete(User).where(col(User.id) == made["doctor"]))
                s.execute(delete(Patient).where(col(Patient.id) == made["patient"]))
                s.commit()
