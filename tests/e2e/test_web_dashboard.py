"""The coordinator's network dashboard and incoming queue in Chromium: a request sent over
the API appears in the coordinator's queue, and the 12 league cards, the totals and the
SVG charts show the figures the dashboard API gives; on the utilization tab the coordinator
sees the specialist overloaded this week and downloads the CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e


def _percent(ratio: float | None) -> str:
    """As the page shows it (`formatPercent`): one decimal, a trailing .0 dropped."""
    if ratio is None:
        return "—"
    text = f"{ratio * 100:.1f}"
    return text[:-2] + "%" if text.endswith(".0") else text + "%"


def _send_request(live_server: LiveServer) -> str:
    """A county doctor's imaging request to the regional hospital, accepted by specialist2."""
    with live_server.api("specialist2") as spec:
        specialist_id = spec.get("/auth/me").json()["id"]
    with live_server.api("county-doctor") as api:
        patient = api.get("/patients", params={"q": "巴特尔"}).json()[0]
        body = {
            "patient_id": patient["id"],
            "service_class": "imaging_diagnosis",
            "urgency": "urgent",
            "summary": "男，64岁，CT示右肺结节",
            "question": "请协助明确结节性质",
            "wanted_specialty": "radiology",
            "chosen_specialist_id": specialist_id,
            "override_reason": "指定专家（测试）",  # a named specialist: docs/routing.md
            "consent": {
                "given_by": patient["name"],
                "relationship": "self",
                "method": "verbal",
                "given_at": datetime.now(UTC).isoformat(),
                "note": "agreed",
            },
        }
        r = api.post("/consultations", json=body)
        assert r.status_code == 201, r.text
        cid = str(r.json()["id"])
        r = api.post(f"/consultations/{cid}/submit")
        assert r.status_code == 200, r.text
    return cid


def test_coordinator_sees_the_queue_and_the_dashboard_figures_of_the_api(
    new_page: Any, live_server: LiveServer
) -> None:
    paths = live_server.paths()
    if "/api/v1/dashboard/network" not in paths or "/api/v1/consultations" not in paths:
        pytest.fail("the dashboard or consultations API is not in this build")
    cid = _send_request(live_server)

    page = new_page()
    login(page, "coordinator")
    # The incoming queue of the coordinator's hospital lists the new request.
    page.get_by_test_id("nav-consultations").click()
    expect(page.get_by_test_id("worklist").locator(f"tr[data-id='{cid}']")).to_be_visible()
    shot(page, "coordinator-queue")
    with live_server.api("specialist2") as spec:
        assert spec.post(f"/consultations/{cid}/accept").status_code == 200

    page.get_by_test_id("nav-dashboard").click()
    cards = page.get_by_test_id("league-cards").locator("li.league-card")
    expect(cards).to_have_count(12)
    with live_server.api("coordinator") as api:
        data = api.get("/dashboard/network").json()
    assert data["totals"]["consultations"] >= 1
    assert data["totals"]["hospitals"] == 131
    expect(page.get_by_test_id("total-hospitals")).to_have_text("131")
    expect(page.get_by_test_id("total-consultations")).to_have_text(
        str(data["totals"]["consultations"])
    )
    expect(page.get_by_test_id("total-sla")).to_have_text(
        _percent(data["totals"]["sla_compliance"])
    )
    for league in data["leagues"]:
        card = page.get_by_test_id(f"league-{league['code']}")
        expect(card.locator("[data-field=hospitals]")).to_have_text(str(league["hospitals"]))
        expect(card.locator("[data-field=consultations]")).to_have_text(
            str(league["consultations"])
        )
        expect(card.locator("[data-field=referrals]")).to_have_text(str(league["referrals"]))
        expect(card.locator("[data-field=sla]")).to_have_text(_percent(league["sla_compliance"]))
        expect(card.locator("[data-field=closure]")).to_have_text(_percent(league["closure_rate"]))

    # The per-league chart: two bars per league, the busiest league's bar drawn.
    chart = page.get_by_test_id("chart-leagues-svg")
    expect(chart).to_have_attribute("role", "img")
    bars = chart.locator("rect[data-testid=bar]")
    expect(bars).to_have_count(24)
    heights = [
        float(h or 0) for h in bars.evaluate_all("els => els.map(e => e.getAttribute('height'))")
    ]
    assert max(heights) > 0
    day_bars = page.get_by_test_id("chart-days-svg").locator("rect[data-testid=bar]")
    expect(day_bars).to_have_count(2 * len(data["days"]))
    shot(page, "coordinator-dashboard")

    # A start after the end is refused in place; the range picked is kept.
    page.get_by_test_id("range-start").fill("2031-03-10")
    page.get_by_test_id("range-end").fill("2031-03-09")
    page.get_by_test_id("range-apply").click()
    expect(page.locator("#dash-start-error")).to_be_visible()
    expect(page.get_by_test_id("range-start")).to_have_value("2031-03-10")
    page.get_by_test_id("preset-7").click()
    expect(page.get_by_test_id("chart-days-svg").locator("rect[data-testid=bar]")).to_have_count(14)


def test_coordinator_sees_who_is_overloaded_and_downloads_the_csv(
    new_page: Any, live_server: LiveServer
) -> None:
    paths = live_server.paths()
    assert "/api/v1/dashboard/utilization" in paths, "the utilization API is missing"
    with live_server.api("coordinator") as api:
        rule = api.get("/dashboard/utilization").json()["overload_rule"]
    # Ten open requests waiting for specialist2: overloaded by the worklist rule.
    for _ in range(rule["open_worklist"]):
        _send_request(live_server)
    with live_server.api("specialist2") as spec:
        specialist_id = spec.get("/auth/me").json()["id"]
    with live_server.api("coordinator") as api:
        data = api.get("/dashboard/utilization").json()
        alliances = api.get("/network/alliances", params={"limit": 500}).json()
    mine = next(o for o in data["overloaded"] if o["specialist_id"] == specialist_id)
    assert mine["open_worklist"] >= rule["open_worklist"]
    assert "open_worklist" in mine["reasons"]

    page = new_page()
    login(page, "coordinator")
    page.get_by_test_id("nav-dashboard").click()
    page.get_by_test_id("tab-utilization").click()
    overloaded = page.get_by_test_id("overloaded")
    expect(overloaded.locator("li")).to_have_count(len(data["overloaded"]))
    item = overloaded.locator(f"li[data-id='{specialist_id}']")
    expect(item.locator("[data-field=name]")).to_have_text(mine["name"])
    expect(item.locator("[data-field=worklist]")).to_have_text(str(mine["open_worklist"]))
    expect(item.locator("[data-reason=open_worklist]")).to_have_text("待处理积压")
    expect(page.get_by_test_id("util-offered")).to_have_text(str(data["totals"]["offered"]))
    # The alliance filter offers every alliance of the network ("all" first).
    expect(page.get_by_test_id("util-alliance").locator("option")).to_have_count(
        1 + alliances["total"]
    )
    rows = page.get_by_test_id("util-rows").locator("tbody tr")
    expect(rows).to_have_count(min(50, len(data["rows"])))  # the first 50, then "show all"
    if len(data["rows"]) > 50:
        page.get_by_test_id("util-rows-all").click()
        expect(rows).to_have_count(len(data["rows"]))
    shot(page, "coordinator-utilization")

    with page.expect_download() as info:
        page.get_by_test_id("util-csv").click()
    download = info.value
    assert download.suggested_filename == f"utilization-{data['from_week']}-{data['to_week']}.csv"
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # for Excel
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert lines[0][:3] == ["周次", "周一日期", "盟市代码"]
    assert len(lines) == len(data["rows"]) + 1
    expect(page.get_by_test_id("util-csv-done")).to_be_visible()

    # A week range the wrong way round is refused in place.
    page.get_by_test_id("util-from").fill("2031-W10")
    page.get_by_test_id("util-to").fill("2031-W09")
    page.get_by_test_id("util-apply").click()
    expect(page.locator("#util-from-error")).to_be_visible()


def test_dashboard_fits_a_phone(new_page: Any, live_server: LiveServer) -> None:
    paths = live_server.paths()
    if "/api/v1/dashboard/network" not in paths:
        pytest.fail("the dashboard API is not in this build")
    page = new_page(phone=True)
    login(page, "admin")
    page.goto("/#/dashboard")
    expect(page.get_by_test_id("league-cards").locator("li.league-card")).to_have_count(12)
    page.get_by_test_id("chart-leagues-svg").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    shot(page, "admin-dashboard-phone")
    page.get_by_test_id("tab-utilization").click()
    page.get_by_test_id("util-totals").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    shot(page, "admin-utilization-phone")
    # Not for a county doctor: no menu entry, and the address leads home.
    other = new_page()
    login(other, "county-doctor")
    assert other.get_by_test_id("nav-dashboard").count() == 0
    other.goto("/#/dashboard")
    other.wait_for_url("**/#/")
