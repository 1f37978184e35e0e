"""Every page of every role's menu, for the checks that walk them all (axe, phone overflow)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.conftest import LiveServer, login, wait_idle

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


_populated: set[str] = set()


def populate(live_server: LiveServer) -> None:
    """Once per server: lists with rows to lay out (an empty page cannot overflow): an urgent
    consultation request with a long question to specialist 张主任, and a booking of the
    patient's."""
    if live_server.url in _populated:
        return
    _populated.add(live_server.url)
    with live_server.api("specialist") as spec:
        specialist_id = spec.get("/auth/me").json()["id"]
    with live_server.api("county-doctor") as api:
        patient = api.get("/patients", params={"q": "巴特尔"}).json()[0]
        r = api.post(
            "/consultations",
            json={
                "patient_id": patient["id"],
                "service_class": "consultation",
                "urgency": "urgent",
                "summary": "男，64岁，反复胸闷气短三月余，活动后加重，夜间阵发性呼吸困难" * 2,
                "question": "请协助明确胸闷原因并给出下一步检查与治疗建议，是否需要上转" * 2,
                "wanted_specialty": "cardiology",
                "chosen_specialist_id": specialist_id,
                "override_reason": "指定专家（测试）",
                "consent": {
                    "given_by": patient["name"],
                    "relationship": "self",
                    "method": "verbal",
                    "given_at": datetime.now(UTC).isoformat(),
                    "note": "同意",
                },
            },
        )
        assert r.status_code == 201, r.text
        assert api.post(f"/consultations/{r.json()['id']}/submit").status_code == 200
    with live_server.api("patient") as me:
        start = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        slots = me.get(
            "/slots", params={"service_class": "outpatient", "start_from": start, "limit": 20}
        ).json()
        for slot in slots:
            if me.post("/bookings", json={"slot_id": slot["id"]}).status_code == 201:
                break


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
    wait_idle(page)
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
