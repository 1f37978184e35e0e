"""axe-core on every page of every role's menu, on a desktop and a phone: no serious or
critical violation. axe is served as a same-origin file (the page's CSP allows 'self')."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, LiveServer
from tests.e2e.menu_pages import ROLE_USERS, open_page, populate, walk

pytestmark = pytest.mark.e2e

AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = "/__test__/axe.min.js"

RUN_AXE = """async () => {
  const r = await axe.run(document, { resultTypes: ['violations'] })
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) =>
        n.target.join(' ') + ' :: ' + (n.failureSummary || '').split('\\n').slice(1, 2).join('')),
      count: v.nodes.length,
    }))
}"""


def _axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(url=AXE_URL)
    return list(page.evaluate(RUN_AXE))


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_every_menu_page_has_no_serious_accessibility_violation(
    new_page: Any, live_server: LiveServer, role: str, size: str
) -> None:
    populate(live_server)
    assert AXE.exists(), "axe-core is a dev dependency of the frontend (npm ci)"
    page = open_page(new_page, size)
    page.route(
        f"**{AXE_URL}",
        lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=Path(AXE).read_text()
        ),
    )
    found: dict[str, list[dict[str, Any]]] = {}
    pages = 0
    for name, _ in walk(page, ROLE_USERS[role]):
        pages += 1
        violations = _axe(page)
        if violations:
            found[name] = violations
    assert pages >= 3
    for name, violations in found.items():
        for v in violations:
            print(f"[{role} {size}] {name}: {v['id']} ({v['impact']}, {v['count']}) {v['help']}")
            for node in v["nodes"]:
                print(f"    {node}")
    assert not found, {n: [v["id"] for v in vs] for n, vs in found.items()}


def test_the_login_page_has_no_serious_accessibility_violation(new_page: Any) -> None:
    for size in ("desktop", "phone"):
        page = open_page(new_page, size)
        page.route(
            f"**{AXE_URL}",
            lambda route: route.fulfill(
                status=200, content_type="text/javascript", body=Path(AXE).read_text()
            ),
        )
        page.goto("/#/login")
        page.get_by_test_id("login-form").wait_for()
        violations = _axe(page)
        assert not violations, violations
        assert page.evaluate("() => document.documentElement.lang") == "zh-CN"


def test_the_favicon_is_served(live_server: LiveServer, new_page: Any) -> None:
    page = new_page()
    for path, kind in (("/favicon.ico", "image/"), ("/favicon.svg", "image/svg+xml")):
        r = page.request.get(live_server.url + path)
        assert r.status == 200, path
        assert r.headers["content-type"].startswith(kind), r.headers["content-type"]
        assert len(r.body()) > 100


def test_the_check_reports_a_violation_it_is_shown(new_page: Any) -> None:
    """The harness itself: an unnamed button is reported, with its selector."""
    page = open_page(new_page, "desktop")
    page.route(
        f"**{AXE_URL}",
        lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=Path(AXE).read_text()
        ),
    )
    page.goto("/#/login")
    page.get_by_test_id("login-form").wait_for()
    page.evaluate(
        """() => {
          const b = document.createElement('button')
          b.id = 'unnamed'
          document.querySelector('main').append(b)
        }"""
    )
    ids = {v["id"]: v["nodes"] for v in _axe(page)}
    assert "button-name" in ids and "#unnamed" in ids["button-name"][0]
