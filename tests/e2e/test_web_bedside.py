"""Bedside settlement (床旁结算) on a tablet: the family doctor picks a resident of their own
township, sees the resident's open order (a priced outpatient booking 14 days ahead), shows
its Native payment QR code, the resident "scans" it (a second page opens the encoded URL,
the sandbox's payer page, and confirms), the bedside page sees the order paid (it refreshes
the order every 2 s) and shows 已缴费, and the receipt downloads as a PDF naming the amounts."""

from __future__ import annotations

import secrets
import subprocess
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from telemed.identity import resident_id as rid
from tests.e2e.conftest import LiveServer, login, shot, wait_idle

pytestmark = pytest.mark.e2e
TABLET = {"width": 820, "height": 1180}


def _resident_with_order(live_server: LiveServer) -> dict[str, Any]:
    """A resident registered by the family doctor (so of the doctor's township), booked by the
    doctor on a priced outpatient slot 14 days ahead at a time the resident is free, and the
    booking's payment order."""
    seq = secrets.randbelow(400) * 2 + 101
    born = date(1955, 1, 1) + timedelta(days=secrets.randbelow(3000))
    name = f"其木格{seq}"
    with live_server.api("family-doctor") as fd:
        number = rid.make("150122", born, seq)
        r = fd.post(
            "/patients", json={"name": name, "resident_id": number, "county_code": "150122"}
        )
        assert r.status_code == 201, r.text
        patient = r.json()
        start = (datetime.now(UTC) + timedelta(days=14)).isoformat()
        slots = fd.get(
            "/slots",
            params={
                "service_class": "outpatient",
                "start_from": start,
                "patient_id": patient["id"],
                "limit": 50,
            },  # fmt: skip
        ).json()
        booking = None
        for slot in [s for s in slots if s.get("fee_cents")]:
            r = fd.post("/bookings", json={"slot_id": slot["id"], "patient_id": patient["id"]})
            if r.status_code == 201:
                booking = r.json()
                break
        assert booking, "no priced outpatient slot 14 days ahead could be booked"
        subject = {"subject_type": "booking", "subject_id": booking["id"]}
        r = fd.post("/payment-orders", json=subject)
        assert r.status_code == 201, r.text
        return {"patient": patient, "order": r.json(), "slot": slot}


def test_family_doctor_settles_an_order_at_the_bedside_by_qr_code(
    new_page: Any, live_server: LiveServer, tmp_path: Any
) -> None:
    made = _resident_with_order(live_server)
    order, patient = made["order"], made["patient"]
    assert order["state"] == "created" and order["own_cents"] > 0

    page = new_page()
    page.set_viewport_size(TABLET)
    login(page, "family-doctor")
    page.goto("/#/bedside")
    expect(page.get_by_role("heading", name="床旁结算")).to_be_visible()
    page.get_by_test_id("search-q").fill(patient["name"])
    page.get_by_test_id("search-submit").click()
    row = page.get_by_test_id("patient-results").locator("tr").filter(has_text=patient["name"])
    row.get_by_role("button").click()
    expect(page.get_by_test_id("bedside-patient")).to_contain_text(patient["name"])
    card = page.locator(f"[data-testid=bedside-order][data-order='{order['id']}']")
    expect(card).to_have_attribute("data-state", "created")
    expect(card).to_contain_text(f"个人自付 ¥{order['own_cents'] / 100:.2f}")
    page.get_by_test_id("provider-sandbox").check()
    card.get_by_test_id("show-qr").click()

    qr = card.get_by_test_id("pay-qr")
    expect(qr).to_be_visible()
    url = qr.get_attribute("data-url")
    assert url and url.endswith(f"/api/v1/payments/sandbox/pay/{order['order_no']}")
    assert url.startswith(live_server.url)
    code = card.get_by_test_id("pay-qr-code")
    box = code.bounding_box()
    assert box and box["width"] >= 256 and box["height"] >= 256  # scannable from a tablet
    # the canvas is drawn: dark modules and light ones, in a square
    dark, total = code.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++;
                  return [n, d.length / 4] }"""
    )
    assert 0.2 < dark / total < 0.7, (dark, total)
    expect(card.get_by_test_id("bedside-waiting")).to_be_visible()
    shot(page, "bedside-qr")

    # the patient scans with their phone: the encoded URL is the provider's payer page
    phone = new_page(phone=True)
    phone.goto(url)
    expect(phone.locator("#confirm")).to_have_text("确认支付")
    phone.locator("#confirm").click()
    phone.wait_for_load_state()

    paid = page.locator(f"[data-testid=bedside-order][data-order='{order['id']}'][data-state=paid]")
    expect(paid).to_be_visible(timeout=15_000)  # the page polls refresh every 2 s
    expect(paid.get_by_test_id("bedside-paid")).to_have_text("已缴费")
    expect(paid.get_by_test_id("pay-qr")).to_have_count(0)
    wait_idle(page)
    shot(page, "bedside-paid")

    with page.expect_download() as dl:
        paid.get_by_test_id("receipt").click()
    saved = tmp_path / "receipt.pdf"
    dl.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    text = "".join(
        subprocess.run(["pdftotext", str(saved), "-"], capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    assert "缴费凭证" in text and order["order_no"] in text
    assert f"个人自付¥{order['own_cents'] / 100:.2f}" in text
    assert f"费用合计¥{order['total_cents'] / 100:.2f}" in text
