"""Consent in writing before a witness or signed on the screen: the drawn signature is a PNG
the server checks (format, size, dimensions) before storing it with the consent, and serves
only to those who may read the request, audited."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlmodel import Session, col, select

from telemed.consultations import consent_signature
from telemed.core.audit import AuditEvent
from tests.consultations.conftest import CONSENT

API = "/api/v1/consultations"
SIGN = {"password": "telemed-demo"}


def _png(width: int = 600, height: int = 200, fmt: str = "PNG") -> bytes:
    img = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    ImageDraw.Draw(img).line([(10, height - 10), (width - 10, 10)], fill="black", width=4)
    out = io.BytesIO()
    img.convert("RGB" if fmt == "JPEG" else "RGBA").save(out, fmt)
    return out.getvalue()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture
def draft(make_request: Any) -> dict[str, Any]:
    return make_request(consent=False, submit=False)


def _consent(client: TestClient, login: Any, cid: str, who: str = "county-doctor", **kw: Any):  # type: ignore[no-untyped-def]
    return client.post(f"{API}/{cid}/consent", json={**CONSENT, **kw}, headers=login(who))


def test_an_on_screen_signature_is_stored_and_served_to_readers(
    client: TestClient, login: Any, session: Session, draft: dict[str, Any]
) -> None:
    png = _png()
    r = _consent(
        client, login, draft["id"], method="on_screen",
        signature_png="data:image/png;base64," + _b64(png),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    consent = r.json()
    assert consent["method"] == "on_screen" and consent["has_signature"] is True
    assert "signature_png" not in consent  # served on its own route, never inline
    listed = client.get(f"{API}/{draft['id']}/consent", headers=login("county-doctor")).json()
    assert [c["has_signature"] for c in listed] == [True]
    url = f"{API}/{draft['id']}/consent/{consent['id']}/signature.png"
    got = client.get(url, headers=login("county-doctor"))
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.content == png
    reads = session.execute(
        select(AuditEvent).where(
            col(AuditEvent.object_id) == consent["id"], col(AuditEvent.action) == "read"
        )
    ).scalars()
    assert [e.detail.get("what") for e in reads] == ["signature"]
    # a doctor who takes no part in the request: 404, and the refusal is recorded
    assert client.get(url, headers=login("specialist")).status_code == 404


def test_a_submitted_request_shows_the_signature_to_the_specialist(
    client: TestClient, login: Any, draft: dict[str, Any]
) -> None:
    r = _consent(client, login, draft["id"], method="on_screen", signature_png=_b64(_png()))
    assert r.status_code == 201
    sub = client.post(f"{API}/{draft['id']}/submit", headers=login("county-doctor"))
    assert sub.status_code == 200, sub.text
    url = f"{API}/{draft['id']}/consent/{r.json()['id']}/signature.png"
    assert client.get(url, headers=login("specialist2")).status_code == 200  # proposed


def test_a_written_consent_names_its_witness(
    client: TestClient, login: Any, draft: dict[str, Any]
) -> None:
    r = _consent(client, login, draft["id"], method="written")
    assert r.status_code == 422 and r.json()["code"] == "witness_required"
    r = _consent(client, login, draft["id"], method="written", witness="  ")
    assert r.status_code == 422 and r.json()["code"] == "witness_required"
    r = _consent(client, login, draft["id"], method="written", witness="护士 李梅")
    assert r.status_code == 201, r.text
    assert r.json()["witness"] == "护士 李梅" and r.json()["has_signature"] is False


@pytest.mark.parametrize(
    ("signature", "why"),
    [
        ("not base64 at all!", "not base64"),
        (_b64(b"GIF89a" + b"\0" * 100), "not a PNG"),
        (_b64(_png(fmt="JPEG")), "not a PNG"),
        (_b64(_png(20, 10)), "pixels"),
        (_b64(_png(5000, 200)), "pixels"),
        (_b64(_png()[:200]), "cannot be read"),
        (_b64(b"\x89PNG\r\n\x1a\n" + b"\0" * (consent_signature.MAX_BYTES + 1)), "KiB"),
    ],
)
def test_a_bad_signature_is_refused_and_nothing_is_stored(
    client: TestClient, login: Any, draft: dict[str, Any], signature: str, why: str
) -> None:
    r = _consent(client, login, draft["id"], method="on_screen", signature_png=signature)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] in ("invalid_signature", "invalid")  # over max_length: the schema
    if body["code"] == "invalid_signature":
        assert why in body["detail"] and body["errors"][0]["field"] == "signature_png"
    assert client.get(f"{API}/{draft['id']}/consent", headers=login("county-doctor")).json() == []


def test_on_screen_needs_a_signature_and_only_it_carries_one(
    client: TestClient, login: Any, draft: dict[str, Any]
) -> None:
    r = _consent(client, login, draft["id"], method="on_screen")
    assert r.status_code == 422 and r.json()["code"] == "signature_required"
    r = _consent(client, login, draft["id"], method="verbal", signature_png=_b64(_png()))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "signature_png"


def test_only_the_requester_records_a_consent(
    client: TestClient, login: Any, draft: dict[str, Any]
) -> None:
    sig = _b64(_png())
    r = _consent(client, login, draft["id"], "specialist", method="on_screen", signature_png=sig)
    assert r.status_code == 404  # a draft is the requester's alone
    assert client.get(f"{API}/{draft['id']}/consent", headers=login("county-doctor")).json() == []


def test_the_drawn_signature_is_printed_on_the_opinion(
    client: TestClient, login: Any, draft: dict[str, Any]
) -> None:
    cid = draft["id"]
    r = _consent(client, login, cid, method="on_screen", signature_png=_b64(_png()))
    assert r.status_code == 201
    county, spec = login("county-doctor"), login("specialist2")
    assert client.post(f"{API}/{cid}/submit", headers=county).status_code == 200
    assert client.post(f"{API}/{cid}/accept", headers=spec).status_code == 200
    opinion = {"findings": "未见异常", "impression": "正常"}
    assert client.put(f"{API}/{cid}/opinion", json=opinion, headers=spec).status_code == 200
    signed = client.post(f"{API}/{cid}/opinion/sign", json=SIGN, headers=spec)
    assert signed.status_code == 200, signed.text
    printed = client.get(f"{API}/{cid}/opinion.pdf", headers=county).content
    assert b"/Subtype /Image" in printed  # the signature (and its transparency mask)
    english = client.get(f"{API}/{cid}/opinion.pdf?lang=en", headers=county).content
    assert b"/Subtype /Image" in english
