"""The local fake insurance agency on a free port, and settings and an adapter that reach it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from referrals.agency import AgencyClient
from referrals.fake_agency import FakeAgency
from referrals.insurance import AgencyAdapter
from telemed.core.settings import FilingAgencySettings, Settings, get_settings

TOKEN = "fake-agency-token-of-at-least-32-bytes"
PAASID = "telemed-test"
FIXMEDINS = "H15010000001"


@pytest.fixture
def agency() -> Iterator[FakeAgency]:
    fake = FakeAgency(paasid=PAASID, token=TOKEN).start()
    yield fake
    fake.stop()


def agency_settings(fake: FakeAgency, **kw: object) -> Settings:
    """The test settings with the agency at `fake` (short timeout, no real waiting)."""
    settings = get_settings().model_copy(deep=True)
    values: dict[str, object] = {
        "url": fake.url,
        "paasid": PAASID,
        "token": TOKEN,
        "fixmedins_code": FIXMEDINS,
        "fixmedins_name": "内蒙古远程医疗网络",
        "timeout_seconds": 1.0,
        **kw,
    }
    settings.referrals.filing_agency = FilingAgencySettings.model_validate(values)
    return settings


def adapter_for(settings: Settings) -> AgencyAdapter:
    agency = settings.referrals.filing_agency
    return AgencyAdapter(agency, AgencyClient(agency, sleep=lambda _s: None))


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Until `condition` holds (the fake answers on its own threads), at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
