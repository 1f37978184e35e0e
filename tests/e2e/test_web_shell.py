"""The web app in real Chromium: each demo role logs in and walks the pages that exist."""

from __future__ import annotations

import random
import re
from datetime import date
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from telemed.identity.resident_id import make as make_resident_id
from tests.e2e.conftest import LiveServer, login, shot, wait_idle

pytestmark = pytest.mark.e2e

# role -> (username, nav items it must see, nav items it must not see)
ROLES = {
    "admin": ("admin", ["home", "network", "patients", "audit", "me"], []),
    "coordinator": (
        "coordinator",
        ["home", "network", "patients", "referrals", "schedules", "notifications", "me"],
        ["audit", "family"],
    ),
    "county_doctor": (
        "county-doctor",
        ["home", "patients", "referrals", "me"],
        ["network", "audit", "family", "schedules"],
    ),
    "specialist": ("specialist", ["home", "patients", "me"], ["network", "audit"]),
    "specialist2": ("specialist2", ["home", "patients", "me"], ["network", "audit"]),
    "family_doctor": (
        "family-doctor",
        ["home", "patients", "family", "referrals", "me"],
        ["network", "audit", "schedules"],
    ),
    "patient": (
        "patient",
        ["home", "family", "referrals", "notifications", "me"],
        ["network", "patients", "audit", "schedules"],
    ),
}


@pytest.mark.parametrize("role", list(ROLES))
def test_each_demo_role_logs_in_and_walks_its_pages(new_page: Any, role: str) -> None:
    username, visible, hidden = ROLES[role]
    page = new_page(phone=role == "patient")
    login(page, username)
    if role == "patient":
        page.get_by_role("button", name="菜单").click()
    for item in visible:
        assert page.get_by_test_id(f"nav-{item}").is_visible(), item
    for item in hidden:
        assert page.get_by_test_id(f"nav-{item}").count() == 0, item
    shot(page, f"{role}-home")
    current = "home"  # where the login lands
    for item in visible:
        nav = page.get_by_test_id(f"nav-{item}")
        if role == "patient" and not nav.is_visible():
            page.get_by_role("button", name="菜单").click()
        nav.click()
        if role == "patient" and item != current:
            # The phone menu closes once the new page is shown: wait for it, or the next
            # item may be seen open just before it closes (then clicked while hidden).
            expect(nav).to_be_hidden()
        current = item
        wait_idle(page)
        assert page.locator("main h1").first.is_visible()
        shot(page, f"{role}-{item}")
    # A page outside the role is not reachable by typing its address either.
    for item in hidden:
        page.goto(f"/#/{item}")
        page.wait_for_url("**/#/")


def test_network_dashboard_shows_the_twelve_leagues_and_their_hospitals(new_page: Any) -> None:
    page = new_page()
    login(page, "coordinator")
    page.get_by_test_id("nav-network").click()
    grid = page.get_by_test_id("league-grid")
    grid.locator("button").first.wait_for()
    assert grid.locator("button").count() == 12
    labels = grid.locator(".league-count").all_inner_texts()
    counts = [int("".join(c for c in t if c.isdigit())) for t in labels]
    assert sum(counts) == 131
    stats = page.get_by_test_id("network-stats").inner_text()
    assert "131" in stats and "177" in stats
    first = grid.locator("button").first
    first.click()
    rows = page.get_by_test_id("league-hospitals").locator("tbody tr")
    expect(rows).to_have_count(counts[0])
    page.get_by_test_id("alliance-kind").select_option("specialist_alliance")
    kinds = page.get_by_test_id("alliances").locator("tbody td:nth-child(2)")
    expect(kinds).to_have_count(20)
    expect(kinds).to_have_text(["专科联盟"] * 20)
    shot(page, "coordinator-network-league")


def _fresh_resident_id() -> str:
    return make_resident_id("150102", date(1975, 3, 14), random.randrange(1000), female=True)


def test_patient_registration_checks_the_resident_id_and_keeps_input_on_errors(
    new_page: Any,
) -> None:
    page = new_page()
    login(page, "county-doctor")
    page.get_by_test_id("nav-patients").click()
    form = page.get_by_test_id("register-form")
    number = _fresh_resident_id()
    mistyped = number[:17] + ("0" if number[17] != "0" else "1")
    name = f"测试{random.randrange(10**6)}"
    form.locator("#reg-name").fill(name)
    form.locator("#reg-resident_id").fill(mistyped)
    form.locator("#reg-phone").fill("13800000000")
    page.get_by_test_id("register-submit").click()
    err = form.locator("#reg-resident_id-error")
    err.wait_for()
    assert f"应为 {number[17]}" in err.inner_text()
    assert form.locator("#reg-resident_id").get_attribute("aria-invalid") == "true"
    assert form.locator("#reg-name").input_value() == name
    shot(page, "county_doctor-register-check-digit")

    # The server's own check (a name too long) lands next to the field it names.
    form.locator("#reg-resident_id").fill(number)
    form.locator("#reg-name").fill("长" * 70)
    page.get_by_test_id("register-submit").click()
    form.locator("#reg-name-error").wait_for()
    assert form.locator("#reg-resident_id").input_value() == number
    assert form.locator("#reg-phone").input_value() == "13800000000"

    form.locator("#reg-name").fill(name)
    page.get_by_test_id("register-submit").click()
    page.get_by_test_id("registered").wait_for()
    assert name in page.get_by_test_id("registered").inner_text()

    # Registering the same person twice: the conflict shows in the user's language.
    form.locator("#reg-name").fill(name)
    form.locator("#reg-resident_id").fill(number)
    page.get_by_test_id("register-submit").click()
    banner = form.locator(".banner.error")
    banner.wait_for()
    assert "已登记" in banner.inner_text()
    assert form.locator("#reg-resident_id").input_value() == number

    search = page.get_by_test_id("search-form")
    search.locator("#search-rid").fill(number)
    page.get_by_test_id("search-submit").click()
    results = page.get_by_test_id("patient-results")
    results.wait_for()
    assert name in results.inner_text()
    assert number[-4:] in results.inner_text()
    shot(page, "county_doctor-patients")


def test_an_expired_session_asks_to_log_in_again_and_returns_to_the_same_work(
    new_page: Any, live_server: LiveServer
) -> None:
    page = new_page()
    login(page, "county-doctor")
    page.get_by_test_id("nav-patients").click()
    form = page.get_by_test_id("register-form")
    number = _fresh_resident_id()
    form.locator("#reg-name").fill("过期会话")
    form.locator("#reg-resident_id").fill(number)
    # The token dies behind the page's back (as at expiry).
    token = page.evaluate("localStorage.getItem('telemed.token')")
    revoked = httpx.post(
        f"{live_server.url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert revoked.status_code == 204
    page.get_by_test_id("register-submit").click()
    dialog = page.get_by_test_id("relogin")
    dialog.wait_for()
    shot(page, "relogin-dialog")
    dialog.locator("#relogin-password").fill("telemed-demo")
    dialog.locator("#relogin-password").press("Enter")
    page.get_by_test_id("registered").wait_for()
    assert "#/patients" in page.url


def test_a_deep_link_survives_the_login(new_page: Any) -> None:
    page = new_page()
    page.goto("/#/audit")
    page.wait_for_url(re.compile(r"#/login\?redirect=(/|%2F)audit$"))
    page.locator("#login-username").fill("admin")
    page.locator("#login-password").fill("telemed-demo")
    page.locator("#login-password").press("Enter")
    page.get_by_test_id("audit-table").wait_for()
    assert "#/audit" in page.url
    assert "登录" in page.get_by_test_id("audit-table").inner_text()  # the login rows


def test_wrong_password_is_refused_in_the_users_language(
    new_page: Any, live_server: LiveServer
) -> None:
    with live_server.language_restored("patient"):
        _english_after_a_wrong_password(new_page)


def _english_after_a_wrong_password(new_page: Any) -> None:
    page = new_page()
    page.goto("/#/login")
    page.locator("#login-username").fill("patient")
    page.locator("#login-password").fill("wrong-password")
    page.locator("#login-password").press("Enter")
    page.locator(".banner.error").wait_for()
    assert "用户名或密码错误" in page.locator(".banner.error").inner_text()
    assert page.locator("#login-username").input_value() == "patient"
    page.get_by_test_id("locale").select_option("en")
    page.locator("#login-password").fill("telemed-demo")
    page.locator("#login-password").press("Enter")
    page.get_by_test_id("who").wait_for(state="attached")
    assert "Patient" in page.get_by_test_id("who").inner_text()
    page.reload()
    page.get_by_test_id("who").wait_for(state="attached")
    # The choice of language survives a reload.
    assert page.get_by_test_id("nav-home").inner_text() == "Home"
    assert page.locator("html").get_attribute("lang") == "en"


def test_patient_sees_own_record_on_a_phone(new_page: Any) -> None:
    page = new_page(phone=True)
    login(page, "patient")
    assert page.get_by_role("button", name="菜单").is_visible()
    page.goto("/#/me")
    page.get_by_test_id("my-record").wait_for()
    text = page.get_by_test_id("my-record").inner_text()
    assert "*" in text  # the resident ID is masked
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways on a phone: {width}px"
    shot(page, "patient-phone-me")
