"""A patient pays a booking on a phone: books a priced slot ten days ahead, is led to the
payment page (total, insurance share, own share), pays through the sandbox's page
(确认支付: its signed notification reaches our notify endpoint), comes back to 已支付,
cancels the booking and sees the refund."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot, wait_idle

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_patient_pays_a_booking_through_the_sandbox_and_is_refunded_on_cancel(
    new_page: Any, live_server: LiveServer
) -> None:
    page = new_page(phone=True)
    login(page, "patient")
    page.goto("/#/book")
    page.get_by_test_id("slot-group").first.wait_for()
    day = (datetime.now(SHANGHAI) + timedelta(days=10)).strftime("%Y-%m-%d")
    page.locator("#f-date").fill(day)
    with page.expect_response(lambda r: "/api/v1/slots?" in r.url) as answer:
        page.get_by_test_id("slot-search").click()
    priced = [s for s in answer.value.json() if s.get("fee_cents")]
    assert priced, "the demo fee schedule prices outpatient slots"
    held = page.get_by_test_id("held")
    # the first priced time this patient can hold (other stories book as the same patient)
    for slot in priced[:8]:
        button = page.get_by_test_id(f"hold-{slot['id']}")
        if not button.count():
            continue
        # the hold's own answer decides (a slow 201 must not send us on to another time)
        path = f"/slots/{slot['id']}/hold"
        with page.expect_response(
            lambda r, path=path: path in r.url and r.request.method == "POST", timeout=60_000
        ) as hold:
            button.click()
        if hold.value.status == 201:
            held.wait_for()
            break
    else:
        raise AssertionError("no priced time could be held")
    page.get_by_test_id("confirm-booking").click()
    page.get_by_test_id("go-pay").wait_for()
    shot(page, "patient-booked-pay")
    page.get_by_test_id("go-pay").click()

    order = page.get_by_test_id("payment-order").filter(has_text=slot["institution_name"]).first
    expect(order).to_have_attribute("data-state", "created")
    fee = slot["fee_cents"] / 100
    expect(order).to_contain_text(f"费用合计 ¥{fee:.2f}")
    expect(order).to_contain_text("医保支付")
    expect(order).to_contain_text("个人自付")
    shot(page, "patient-payment-due")
    order.get_by_test_id("pay").click()

    # the sandbox's page (development only), then back to the order
    page.wait_for_url("**/api/v1/payments/sandbox/pay/*")
    expect(page.locator("#confirm")).to_have_text("确认支付")
    shot(page, "sandbox-pay-page")
    page.locator("#confirm").click()
    page.wait_for_url("**/#/payments?order=*")
    wait_idle(page)
    paid = page.locator("[data-testid=payment-order][data-state=paid]").filter(
        has_text=slot["institution_name"]
    )
    expect(paid.first).to_be_visible()
    expect(paid.first.get_by_test_id("order-state")).to_have_text("已支付")
    shot(page, "patient-paid")

    # cancelling the paid booking refunds the own share
    page.goto("/#/appointments")
    when = datetime.fromisoformat(slot["start_at"]).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    item = (
        page.get_by_test_id("appointments")
        .locator("li[data-status='booked']")
        .filter(has_text=when)
    )
    expect(item).to_have_count(1)
    expect(item.get_by_test_id("appointment-payment")).to_contain_text("已支付")
    item.get_by_test_id("cancel").click()
    item.get_by_test_id("cancel-confirm").click()
    page.get_by_test_id("appointments").locator("li[data-status='cancelled']").filter(
        has_text=when
    ).first.wait_for()
    page.goto("/#/payments")
    refunded = page.locator("[data-testid=payment-order][data-state=refunded]").first
    for _ in range(15):  # the list as the server has it now (a fresh load, not the page's)
        page.reload()
        wait_idle(page)
        if refunded.count():
            break
        page.wait_for_timeout(1000)
    expect(refunded).to_be_visible()
    expect(refunded.get_by_test_id("order-refunded")).to_contain_text("已退款 ¥")
    shot(page, "patient-refunded")
