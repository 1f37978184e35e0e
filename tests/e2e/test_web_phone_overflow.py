"""No page of any role's menu scrolls sideways on a 390×844 phone: after the page has loaded,
`scrollWidth <= clientWidth`. An offending page is printed with its widest elements."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, shot
from tests.e2e.menu_pages import ROLE_USERS, open_page, populate, walk

pytestmark = pytest.mark.e2e

# The elements reaching furthest right past the viewport, outermost first among equals.
WIDEST = """() => {
  const root = document.documentElement
  const limit = root.clientWidth
  const out = []
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect()
    if (r.width === 0 || r.right <= limit + 0.5) continue
    // inside a box that scrolls by itself (or clips), it does not widen the page
    let clipped = false
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX
      if (['auto', 'scroll', 'hidden', 'clip'].includes(o)) { clipped = true; break }
    }
    if (clipped) continue
    const id = el.id ? '#' + el.id : ''
    const cls = typeof el.className === 'string' && el.className.trim()
      ? '.' + el.className.trim().split(/\\s+/).join('.') : ''
    const testid = el.getAttribute('data-testid')
    out.push({
      element: el.tagName.toLowerCase() + id + cls + (testid ? `[data-testid=${testid}]` : ''),
      right: Math.round(r.right),
      width: Math.round(r.width),
      text: (el.textContent || '').trim().slice(0, 40),
    })
  }
  out.sort((a, b) => b.right - a.right)
  return { scrollWidth: root.scrollWidth, clientWidth: limit, widest: out.slice(0, 3) }
}"""


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_no_menu_page_scrolls_sideways_on_a_phone(
    new_page: Any, live_server: LiveServer, role: str
) -> None:
    populate(live_server)
    page = open_page(new_page, "phone")
    offending: dict[str, Any] = {}
    pages = 0
    for name, _ in walk(page, ROLE_USERS[role]):
        pages += 1
        m = page.evaluate(WIDEST)
        if m["scrollWidth"] > m["clientWidth"]:
            offending[name] = m
            shot(page, f"overflow-{role}-{name}")
    assert pages >= 3
    for name, m in offending.items():
        print(f"[{role}] {name}: {m['scrollWidth']} px wide on a {m['clientWidth']} px screen")
        for w in m["widest"]:
            print(f"    {w['element']} right={w['right']} width={w['width']} {w['text']!r}")
    assert not offending, {n: m["scrollWidth"] for n, m in offending.items()}


def test_the_check_names_the_element_that_widens_the_page(new_page: Any) -> None:
    page = open_page(new_page, "phone")
    page.goto("/#/login")
    page.get_by_test_id("login-form").wait_for()
    assert page.evaluate(WIDEST)["widest"] == []
    page.evaluate(
        """() => {
          const d = document.createElement('div')
          d.className = 'too-wide'
          d.style.width = '700px'
          d.textContent = 'wide'
          document.querySelector('.login-card').append(d)
        }"""
    )
    m = page.evaluate(WIDEST)
    assert m["scrollWidth"] > m["clientWidth"] == 390
    assert any(w["element"] == "div.too-wide" for w in m["widest"]), m
