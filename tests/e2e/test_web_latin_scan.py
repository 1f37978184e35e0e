"""The Latin-text scan: as each demo role, every page of the menu in zh-CN shows no Latin
word except codes and names (ICD-10 codes, modality abbreviations, UIDs, resident IDs,
logins, units). What leaked is printed, page by page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, login, wait_idle

pytestmark = pytest.mark.e2e

ROLES = ["patient", "county-doctor", "specialist", "family-doctor", "coordinator", "admin"]

# Visible text of the page (the selected option of a select, not its hidden options);
# nothing in <script>/<style>, nor what a user typed into a field.
_VISIBLE_TEXT = """() => {
  const out = []
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement
    if (!el || ['SCRIPT', 'STYLE', 'OPTION', 'TEXTAREA', 'NOSCRIPT'].includes(el.tagName)) continue
    if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue
    const text = n.textContent.trim()
    if (text) out.push(text)
  }
  for (const s of document.querySelectorAll('select')) {
    const chosen = s.selectedOptions[0]
    if (s.checkVisibility() && chosen) out.push(chosen.textContent.trim())
  }
  for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
    if (el.checkVisibility()) out.push(el.getAttribute('placeholder'))
  }
  return out
}"""

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'._:/+-]*")
LOGINS = {"patient", "county-doctor", "specialist", "specialist2", "family-doctor"}
LOGINS |= {"coordinator", "admin", "telemed-demo"}
# Names shown as they are: the language menu's own names, the product, standards.
NAMES = {"English", "telemed", "Telemed", "DICOM", "DICOMweb", "FHIR", "ICD-10", "HL7", "QTc"}
UNITS = {"mm", "cm", "kg", "bpm", "ms", "mmHg", "min", "s", "h", "px", "kB", "MB", "GB", "HU"}
UNITS |= {"mm/s", "mm/mV", "mV", "g/L", "mmol/L", "x", "×"}


def allowed(token: str) -> bool:
    """A token that is a code or a name, not prose."""
    bare = token.strip("'.:/-+_")
    if not re.search(r"[A-Za-z]", bare):
        return True  # numbers, dates, UIDs
    if bare in LOGINS or bare in NAMES or bare in UNITS:
        return True
    if re.fullmatch(r"[A-Z]\d{2}(\.[0-9A-Z]{1,4})?(-[A-Z]\d{2}(\.\d+)?)?", bare):
        return True  # ICD-10 (I10, E11.9, C34.1)
    if re.fullmatch(r"[A-Z0-9_]{1,16}", bare):
        return True  # CT, MR, ECG, PACS, AE titles, 2026-W49's week code
    if re.fullmatch(r"[A-Z0-9_]{1,16}(/[A-Z0-9_]{1,16})+", bare):
        return True  # a study's modalities, ECG/SR
    if re.search(r"\d", bare) and re.fullmatch(r"[0-9A-Za-z._:/+-]+", bare):
        # codes mixing digits and letters: W49, 2026-W49, 12x, resident IDs ending in X,
        # UUID prefixes, 1.2.840…, 5x/40x
        return not re.fullmatch(r"[A-Za-z]{3,}\d?", bare)
    if re.fullmatch(r"[a-z0-9]+(\.[a-z0-9]+)+", bare):
        return True  # host names, file names
    if re.fullmatch(r"[0-9a-f]{6,}", bare):
        return True  # hex ids
    return False


def leaks(texts: list[str]) -> list[str]:
    """The Latin words among `texts` that are not codes or names, with their text."""
    found = []
    for text in texts:
        for token in _TOKEN.findall(text):
            if not allowed(token):
                found.append(f"{token!r} in {text[:80]!r}")
    return found


def test_the_allow_list_passes_codes_and_stops_prose() -> None:
    ok = ["I10", "E11.9", "CT", "MR", "ECG", "2026-W49", "15010219750314123X", "mm", "bpm"]
    ok += ["1.2.840.10008.5.1.4.1.1.2", "county-doctor", "01a23d40", "5x", "QTc"]
    assert all(allowed(t) for t in ok), [t for t in ok if not allowed(t)]
    prose = ["opinion", "received", "Your", "referral", "emergency", "starts_at", "login"]
    assert not any(allowed(t) for t in prose), [t for t in prose if allowed(t)]
    assert leaks(["[急] 新的远程影像诊断申请", "会诊 CT I10 · 3 mm"]) == []
    assert leaks(["· opinion received"]) == [
        "'opinion' in '· opinion received'",
        "'received' in '· opinion received'",
    ]


def _menu(page: Any) -> list[tuple[str, str]]:
    """The pages the menu offers: (test id, hash route), in menu order."""
    items = page.eval_on_selector_all(
        "[data-testid^='nav-']",
        "els => els.map(e => [e.dataset.testid, e.getAttribute('href') || ''])",
    )
    return [(testid, href) for testid, href in items if href.startswith("#/")]


def _settled(page: Any) -> list[str]:
    """The page's visible texts once its data has come (no request in flight and the same
    texts read twice in a row: reference names replace codes once they are loaded)."""
    wait_idle(page)
    before = page.evaluate(_VISIBLE_TEXT)
    for _ in range(30):
        page.wait_for_timeout(200)
        now = page.evaluate(_VISIBLE_TEXT)
        if now == before:
            return list(now)
        before = now
    return list(before)


@pytest.fixture(scope="module")
def something_to_show(live_server: LiveServer) -> None:
    """The patient books a place, so their appointments and notifications are not empty
    (the server writes a notice of it, which the scan reads rendered)."""
    with live_server.api("patient") as me:
        # Well ahead (+12 days): no other test of the run books as this patient then, and a
        # time of theirs taken here would be refused to them (person_overlap).
        start = (datetime.now(UTC) + timedelta(days=12)).isoformat()
        slots = me.get(
            "/slots", params={"service_class": "outpatient", "start_from": start, "limit": 20}
        )
        assert slots.status_code == 200 and slots.json(), slots.text
        for slot in slots.json():
            r = me.post("/bookings", json={"slot_id": slot["id"]})
            if r.status_code == 201:
                break
        assert any(n["code"] == "booking.confirmed" for n in me.get("/notifications").json())


@pytest.mark.parametrize("username", ROLES)
def test_no_latin_prose_on_any_page_in_zh_cn(
    new_page: Any, username: str, something_to_show: None
) -> None:
    page = new_page(locale="zh-CN")
    login(page, username)
    menu = _menu(page)
    assert menu, "the menu offers no pages"
    leaked: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for testid, href in menu:
        page.get_by_test_id(testid).click()
        page.wait_for_url(f"**/{href}")
        page.locator("main h1").first.wait_for()
        texts = _settled(page)
        assert len(texts) > 5, f"{href}: the scan read almost nothing: {texts}"
        seen[href] = f"{page.locator('main h1').first.inner_text()}:{len(texts)}"
        found = leaks(texts)
        if found:
            leaked[href] = sorted(set(found))
    print(f"[{username}] texts read per page: {seen}")
    for href, found in leaked.items():
        print(f"[{username}] {href}:", *found, sep="\n    ")
    assert not leaked, f"Latin text on {username}'s pages: {leaked}"
