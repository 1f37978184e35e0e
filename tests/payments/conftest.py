"""Fixtures of the payment tests: the WeChat Pay provider against the fake WeChat Pay
over real HTTP with a merchant notify endpoint that hands what arrives to the provider; a
priced outpatient booking of the demo patient, a fresh sandbox provider per test, and
notices signed by it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from scheduling import service as scheduling_service
from scheduling.models import Booking, Slot
from scheduling.schemas import RuleCreate
from telemed.core import clock as core_clock
from telemed.identity.models import Patient, Role, User
from telemed.payments import providers
from telemed.payments.fake_wechat import FakeWechatPay, serve_fake
from telemed.payments.provider import Notice, NotificationRejected, OrderRequest, RefundStart
from telemed.payments.sandbox import SandboxProvider, sandbox_key
from telemed.payments.wechat import WechatPayProvider
from telemed.payments.wechat_devkeys import DevKeySet, create_dev_keyset, provider_settings


@pytest.fixture(scope="session")
def keyset(tmp_path_factory: pytest.TempPathFactory) -> DevKeySet:
    return create_dev_keyset(tmp_path_factory.mktemp("wechat-keys"))


@pytest.fixture
def fake(keyset: DevKeySet) -> Iterator[FakeWechatPay]:
    fake = FakeWechatPay(keyset)
    fake.retry_delays = (0.05, 0.05, 0.05)  # WeChat waits 15 s, 15 s, 30 s …
    with serve_fake(fake):
        yield fake


@dataclass
class NotifyEndpoint:
    """Our side of notifications: parse with the provider, answer its reply."""

    url: str = ""
    provider: WechatPayProvider | None = None
    refuse_first: int = 0  # answer this many accepted notifications with 500 first
    notices: list[Notice] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        assert self.provider is not None
        try:
            notice = self.provider.parse_notification(headers, body)
        except NotificationRejected as exc:
            with self.lock:
                self.rejected.append(exc.code)
            return self.provider.notification_reply(False)
        with self.lock:
            if self.refuse_first > 0:
                self.refuse_first -= 1
                return self.provider.notification_reply(False)
            self.notices.append(notice)
        return self.provider.notification_reply(True)


@pytest.fixture
def endpoint() -> Iterator[NotifyEndpoint]:
    receiver = NotifyEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, content_type, reply = receiver.handle(dict(self.headers.items()), body)
            receiver.answers.append(status)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/payments/notify/wechat"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def provider(
    keyset: DevKeySet, fake: FakeWechatPay, endpoint: NotifyEndpoint, tmp_path: Path
) -> WechatPayProvider:
    settings = provider_settings(keyset, base_url=fake.public_url, cert_dir=tmp_path / "certs")
    provider = WechatPayProvider(settings, notify_url=endpoint.url)
    endpoint.provider = provider
    return provider


def an_order(no: str, channel: str = "native", **extra: Any) -> OrderRequest:
    """An order of 18.50 yuan open for ten years unless `extra` says otherwise."""
    values: dict[str, Any] = {
        "order_no": no,
        "amount_cents": 1850,
        "currency": "CNY",
        "description": "心内科远程门诊",
        "expires_at": datetime(2036, 12, 4, 2, 0, tzinfo=UTC),
        "channel": channel,
        "notify_url": "http://127.0.0.1:9/notify",
        **extra,
    }
    return OrderRequest(**values)


def paid_order(
    provider: WechatPayProvider, fake: FakeWechatPay, no: str, notify_url: str, cents: int = 1850
) -> None:
    """Place a Native order, pay it at the fake and wait for its notification."""
    before = len(fake.deliveries)
    provider.start(an_order(no, notify_url=notify_url, amount_cents=cents))
    fake.pay(no)
    fake.wait_deliveries(before + 1)


def refund(
    provider: WechatPayProvider, no: str, refund_no: str, cents: int, total: int = 1850
) -> RefundStart:
    return provider.refund(
        order_no=no,
        refund_no=refund_no,
        amount_cents=cents,
        total_cents=total,
        reason="患者取消预约",
    )


def user_named(session: Session, username: str) -> User:
    return session.execute(select(User).where(User.username == username)).scalar_one()


def fresh_doctor(session: Session, institution_id: uuid.UUID | None, now: datetime) -> User:
    """A specialist with no rules yet, at `institution_id`."""
    doctor = User(
        username=f"t-{uuid.uuid4().hex[:10]}",
        password_hash="x",
        role=Role.SPECIALIST,
        full_name="测试医生",
        institution_id=institution_id,
        specialty_code="cardiology",
        title="chief_physician",
        created_at=now,
    )
    session.add(doctor)
    session.flush()
    return doctor


@pytest.fixture
def sandbox() -> Iterator[SandboxProvider]:
    """A sandbox of this test alone (its memory starts empty)."""
    p = SandboxProvider(key=sandbox_key("test-secret-key-not-for-production"), base_url="")
    providers.set_provider("sandbox", p)
    yield p
    providers.set_provider("sandbox", None)


@pytest.fixture
def priced_slots(session: Session, clock) -> list[Slot]:  # type: ignore[no-untyped-def]
    """Outpatient slots (capacity 2) of a fresh doctor at the coordinator's hospital, a few
    days ahead; the demo fee schedule prices them."""
    coord = user_named(session, "coordinator")
    doctor = fresh_doctor(session, coord.institution_id, core_clock.now())
    rule = scheduling_service.create_rule(
        session=session,
        data=RuleCreate(
            specialist_id=doctor.id,
            weekdays=[0, 1, 2, 3, 4],
            start_time=time(8, 0),
            end_time=time(10, 0),
            slot_minutes=30,
            capacity=2,
            service_class="outpatient",
        ),
        by=coord,
        now=core_clock.now(),
    )
    later = core_clock.now() + timedelta(days=3)
    return list(
        session.execute(
            select(Slot)
            .where(Slot.rule_id == rule.id, Slot.start_at > later)  # type: ignore[arg-type]
            .order_by(Slot.start_at)  # type: ignore[arg-type]
        ).scalars()
    )


@pytest.fixture
def book(session: Session, priced_slots: list[Slot]) -> Callable[..., Booking]:
    """Book the n-th priced slot as `username` (the demo patient by default)."""

    def _book(n: int = 0, username: str = "patient") -> Booking:
        return scheduling_service.book(
            session=session,
            slot_id=priced_slots[n].id,
            by=user_named(session, username),
            patient_id=None,
            now=core_clock.now(),
        )

    return _book


def demo_patient(session: Session) -> Patient:
    p = session.get(Patient, user_named(session, "patient").patient_id)
    assert p is not None
    return p


@pytest.fixture
def other_patient(session: Session) -> str:
    """Another patient's account (password telemed-demo); returns its username."""
    from datetime import date

    from telemed.identity.security import hash_password

    now = core_clock.now()
    p = Patient(
        name="其他患者",
        sex="female",
        birth_date=date(1980, 1, 1),
        resident_id_hash=uuid.uuid4().hex,
        resident_id_masked="1501**********0000",
        created_at=now,
    )
    session.add(p)
    session.flush()
    name = f"p-{uuid.uuid4().hex[:8]}"
    session.add(
        User(
            username=name,
            password_hash=hash_password("telemed-demo"),
            role=Role.PATIENT,
            full_name="其他患者",
            patient_id=p.id,
            created_at=now,
        )
    )
    session.flush()
    return name
