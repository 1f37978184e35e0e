"""Every page of every role's menu, for the checks that walk them all (axe, phone overflow)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.e2e.conftest import login

# one demo account per role (the menu is per role)
ROLE_USERS = {
    "admin": "admin",
    "coordinator": "coordinator",
    "county_doctor": "county-doctor",
    "specialist": "specialist",
    "family_doctor": "family-doctor",
    "patient": "patient",
}

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}


def menu_paths(page: Any) -> list[tuple[str, str]]:
    """(name, hash path) of each item of the signed-in user's menu."""
    links = page.locator("#main-nav a[data-testid^='nav-']")
    links.first.wait_for(state="attached")
    out = []
    for i in range(links.count()):
        link = links.nth(i)
        name = (link.get_attribute("data-testid") or "").removeprefix("nav-")
        out.append((name, link.get_attribute("href") or "#/"))
    return out


def settle(page: Any) -> None:
    """Wait until the page shows its heading and its first answers have arrived."""
    page.locator("main h1").first.wait_for()
    try:
        page.wait_for_load_state("networkidle", timeout=5_000)
    except Exception:  # a page holding a live channel open never goes idle
        pass
    # what the page shows after its data: no loading line left
    for _ in range(50):
        if not page.evaluate("() => document.body.innerText.includes('加载中')"):
            break
        page.wait_for_timeout(100)


def open_page(new_page: Any, size: str) -> Any:
    """A page in a fresh context at the desktop (1366×768) or phone (390×844) size."""
    page = new_page(phone=size == "phone")
    page.set_viewport_size(PHONE if size == "phone" else DESKTOP)
    return page


def walk(page: Any, username: str) -> Iterator[tuple[str, str]]:
    """Log in as `username` and open each page of the menu in turn, then an unknown address
    (the not-found page); yields (name, path)."""
    login(page, username)
    for name, href in [*menu_paths(page), ("notFound", "#/no-such-page")]:
        page.goto("/" + href)
        settle(page)
        yield name, href
