"""Fixtures of the job runner tests: a task context on the test's transaction, the fake
SMS provider, and procrastinate's queue tables emptied after each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from telemed.core.settings import Settings, SmsSettings, get_settings
from telemed.core.sms import TEMPLATES, AliyunSmsGateway
from telemed.jobs.tasks import Context
from tests.consultations.conftest import demo_patient, make_request, users  # noqa: F401
from tests.scheduling.conftest import make_rule, new_doctor  # noqa: F401
from tests.support.fake_aliyun_sms import FakeAliyunSms

# An approved code per template kind, as Aliyun would assign them (SMS_900001 ...).
TEMPLATE_CODES = {kind: f"SMS_{900001 + i}" for i, kind in enumerate(TEMPLATES)}


@pytest.fixture
def fake_sms() -> Iterator[FakeAliyunSms]:
    fake = FakeAliyunSms().start()
    yield fake
    fake.stop()


def aliyun_settings(fake: FakeAliyunSms, **kw: Any) -> SmsSettings:
    return SmsSettings(
        provider="aliyun",
        endpoint=fake.url,
        access_key_id=fake.access_key_id,
        access_key_secret=kw.pop("secret", fake.access_key_secret),
        sign_name="内蒙古远程医疗",
        template_codes=kw.pop("template_codes", TEMPLATE_CODES),
        **kw,
    )


@pytest.fixture
def settings() -> Settings:
    """A copy of the test settings a test may change."""
    return get_settings().model_copy(deep=True)


@pytest.fixture
def ctx(session: Session, clock: Any, settings: Settings, fake_sms: FakeAliyunSms) -> Context:
    """Tasks run on the test's own connection (their commits are savepoints) with the
    fixed clock, sending SMS to the fake provider."""
    settings.sms = aliyun_settings(fake_sms)
    return Context(
        bind=session.connection(),
        settings=settings,
        now=clock,
        sms=AliyunSmsGateway(settings.sms),
    )


@pytest.fixture
def empty_queue(committed_engine: Engine) -> Iterator[None]:
    yield
    with committed_engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE procrastinate_events, procrastinate_periodic_defers, "
                "procrastinate_jobs, procrastinate_workers CASCADE"
            )
        )
