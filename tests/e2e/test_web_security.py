"""The web app under its Content-Security-Policy in real Chromium, and the forced
password change from the login form to the change-password form."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, login, shot, wait_idle

pytestmark = pytest.mark.e2e

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def _watch(page: Any) -> list[str]:
    console: list[str] = []
    page.add_init_script(WATCH_CSP)
    page.on(
        "console",
        lambda m: (
            console.append(m.text)
            if "Content Security Policy" in m.text or "Refused to" in m.text
            else None
        ),
    )
    return console


def test_the_app_runs_under_its_csp_without_a_violation(new_page: Any) -> None:
    page = new_page()
    console = _watch(page)
    response = page.goto("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self' 'wasm-unsafe-eval';" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    login(page, "coordinator")
    for item in ["network", "patients", "referrals", "schedules", "notifications", "me"]:
        page.get_by_test_id(f"nav-{item}").click()
        page.wait_for_url(f"**/#/{item}*")
        wait_idle(page)
    violations = page.evaluate("window.__csp")
    assert violations == [] and console == [], (violations, console)
    # the watcher sees violations, and the policy blocks an injected inline script
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__injected = 1'; document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__injected") is None
    assert page.evaluate("window.__csp")[0].startswith("script-src")


def test_a_forced_change_leads_from_login_to_the_password_form(
    new_page: Any, live_server: LiveServer
) -> None:
    name = f"forced-{uuid.uuid4().hex[:6]}"
    first, second = "Steppe-horse-ride-42", "Gobi-camel-trek-77"
    with live_server.api("admin") as admin:
        inst = admin.get("/network/institutions", params={"tier": "league", "limit": 1})
        r = admin.post(
            "/users",
            json={
                "username": name,
                "password": first,
                "role": "specialist",
                "full_name": "强制改密",
                "institution_id": inst.json()["items"][0]["id"],
                "must_change_password": True,
            },
        )
        assert r.status_code == 201, r.text
    page = new_page()
    console = _watch(page)
    login(page, name, first)
    page.wait_for_url("**/#/me")
    page.get_by_test_id("must-change").wait_for()
    # every other page leads back here until the password is changed
    page.goto("/#/patients")
    page.wait_for_url("**/#/me")
    page.locator("#pw-current").fill(first)
    page.locator("#pw-new").fill("password123")
    page.locator("#pw-again").fill("password123")
    page.get_by_test_id("password-form").get_by_role("button").click()
    page.get_by_text("密码太常见或太容易猜到").first.wait_for()
    page.locator("#pw-new").fill(second)
    page.locator("#pw-again").fill(second)
    page.get_by_test_id("password-form").get_by_role("button").click()
    page.get_by_test_id("password-changed").wait_for()
    assert page.get_by_test_id("must-change").count() == 0
    page.get_by_test_id("nav-patients").click()
    page.wait_for_url("**/#/patients*")
    shot(page, "forced-password-change-done")
    assert page.evaluate("window.__csp") == [] and console == []
