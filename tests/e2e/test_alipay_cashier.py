"""The fake Alipay's cashier in real Chromium on a phone: the payer opens our wap.pay URL,
sees the order in Chinese without scrolling sideways, presses 确认付款 and comes back to our
return_url, while the signed notification reaches our notify_url (docs/payments.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from telemed.payments.alipay import AlipayProvider
from telemed.payments.provider import Notice
from tests.payments.alipay_fixtures import *  # noqa: F403 (the fixtures)
from tests.payments.alipay_fixtures import Receiver, order

pytestmark = pytest.mark.e2e


def test_a_phone_pays_in_the_fake_cashier_and_returns(
    browser: Any, provider: AlipayProvider, receiver: Receiver
) -> None:
    back_to = receiver.url.replace("/api/v1/payments/notify/alipay", "/pay/return")
    start = provider.start(
        order("E2E0001", notify=receiver.url, description="门诊预约挂号费", return_url=back_to)
    )
    assert start.url is not None
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(start.url)
        assert page.get_by_test_id("alipay-amount").inner_text() == "¥12.50"
        assert page.get_by_test_id("alipay-subject").inner_text() == "门诊预约挂号费"
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 390
        page.get_by_role("button", name="确认付款").click()
        page.get_by_test_id("back").wait_for()
        back = urlsplit(page.url)
        assert back.path == "/pay/return"
        returned = dict(parse_qsl(back.query))
        assert returned["out_trade_no"] == "E2E0001" and provider.verify_return(returned)
    finally:
        context.close()
    notice = receiver.next()
    assert isinstance(notice, Notice) and (notice.kind, notice.amount_cents) == ("paid", 1250)
