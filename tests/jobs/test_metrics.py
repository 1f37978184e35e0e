"""`/metrics`: the job queue, the outbox, recordings and request latency by route template."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from telemed.core.settings import get_settings
from telemed.jobs import runner
from tests.jobs.helpers import waitlist_offer_to_patient

pytestmark = pytest.mark.usefixtures("empty_queue")
TOKEN = "metrics-token-of-the-test"


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(get_settings().metrics, "token", TOKEN)
    return {"Authorization": f"Bearer {TOKEN}"}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_show_the_queues_outbox_and_latency_by_route(
    client: TestClient,
    login: Callable[[str], dict[str, str]],
    session: Session,
    clock: Any,
    make_rule: Any,
    new_doctor: Any,
    token: dict[str, str],
    settings: Any,
) -> None:
    app = runner.build_app(settings, schedule=False)

    async def defer() -> None:
        async with app.open_async():
            for _ in range(2):
                await app.tasks["scheduling.holds"].defer_async(timestamp=0)
            await app.tasks["notifications.dispatch"].defer_async(timestamp=0)

    asyncio.run(defer())
    waitlist_offer_to_patient(session, clock, make_rule, new_doctor)
    referral = client.get(
        "/api/v1/referrals/00000000-0000-0000-0000-000000000000", headers=login("admin")
    )
    assert referral.status_code == 404

    r = client.get("/metrics", headers=token)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    got = _samples(r.text)
    assert got[("telemed_job_queue_depth", (("task", "scheduling.holds"),))] == 2
    assert got[("telemed_job_queue_depth", (("task", "notifications.dispatch"),))] == 1
    assert ("telemed_job_queue_oldest_age_seconds", (("task", "scheduling.holds"),)) in got
    assert got[("telemed_outbox_backlog", (("channel", "sms"),))] >= 1
    route = "/api/v1/referrals/{referral_id}"
    count = [
        v
        for (name, labels), v in got.items()
        if name == "telemed_http_request_duration_seconds_count" and ("route", route) in labels
    ]
    assert count and sum(count) >= 1
    assert not any("00000000-0000" in str(labels) for (_, labels) in got)  # never raw paths


def test_metrics_need_the_token(client: TestClient, token: dict[str, str]) -> None:
    r = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["code"] == "metrics_token"
    assert client.get("/metrics").status_code == 401


def test_without_a_token_metrics_are_off_outside_development(client: TestClient) -> None:
    r = client.get("/metrics")
    assert r.status_code == 404 and r.json()["code"] == "metrics_disabled"
