"""The workflow: every transition, who/when/why logged, and every refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.consultations.conftest import CONSENT
from tests.support.pdf_pages import assert_vertical_mongolian

SIGN = {"password": "telemed-demo"}  # signing re-authenticates the signer

H = Callable[[str], dict[str, str]]
API = "/api/v1/consultations"

OPINION = {
    "findings": "右肺上叶见一约8mm磨玻璃结节，边界清。",
    "impression": "右肺上叶磨玻璃结节，考虑良性可能大",
    "icd10": ["R91"],
    "recommendations": "3个月后复查低剂量CT",
    "referral_advice": {"refer": False},
}


def _post(client: TestClient, path: str, who: dict[str, str], json: Any = None) -> Any:
    return client.post(f"{API}{path}", json=json, headers=who)


def test_imaging_request_goes_accepted_to_reported_to_closed(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]], clock: Any
) -> None:
    c = make_request()
    assert c["state"] == "submitted"
    assert c["accept_due_at"] and c["receiving_institution_id"]
    assert c["fee_cents"] == 15000 and c["payment_state"] == "unpaid"
    cid = c["id"]
    r = _post(client, f"/{cid}/accept", login("specialist2"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted"  # no live session for imaging
    assert (
        client.put(f"{API}/{cid}/opinion", json=OPINION, headers=login("specialist2")).status_code
        == 200
    )
    r = _post(client, f"/{cid}/opinion/sign", login("specialist2"), SIGN)
    assert r.status_code == 200, r.text
    assert client.get(f"{API}/{cid}", headers=login("county-doctor")).json()["state"] == "reported"
    r = _post(client, f"/{cid}/acknowledge", login("county-doctor"))
    assert r.json()["state"] == "closed"
    steps = client.get(f"{API}/{cid}/history", headers=login("county-doctor")).json()
    assert [(s["action"], s["from_state"], s["to_state"]) for s in steps] == [
        ("create", "", "draft"),
        ("submit", "draft", "submitted"),
        ("accept", "submitted", "accepted"),
        ("report", "accepted", "reported"),
        ("close", "reported", "closed"),
    ]
    assert all(s["by_id"] and s["at"] for s in steps)


def test_emergency_consultation_gets_an_immediate_session(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]], clock: Any
) -> None:
    c = make_request(
        service_class="consultation",
        urgency="emergency",
        specialty="cardiology",
        specialist="specialist",
    )
    r = _post(client, f"/{c['id']}/accept", login("specialist"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "scheduled"
    assert body["session_start_at"].startswith("2026-12-01T01:00")
    r = _post(client, f"/{c['id']}/start", login("specialist"))
    assert r.json()["state"] == "in_session"
    client.put(f"{API}/{c['id']}/opinion", json=OPINION, headers=login("specialist"))
    r = _post(client, f"/{c['id']}/opinion/sign", login("specialist"), SIGN)
    assert r.status_code == 200, r.text
    actions = [
        s["action"]
        for s in client.get(f"{API}/{c['id']}/history", headers=login("specialist")).json()
    ]
    assert actions == ["create", "submit", "accept", "schedule", "start_session", "report"]


def test_live_request_cannot_be_reported_before_its_session(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]], clock: Any
) -> None:
    c = make_request(
        service_class="consultation",
        urgency="routine",
        specialty="cardiology",
        specialist="specialist",
    )
    assert _post(client, f"/{c['id']}/accept", login("specialist")).json()["state"] == "scheduled"
    client.put(f"{API}/{c['id']}/opinion", json=OPINION, headers=login("specialist"))
    r = _post(client, f"/{c['id']}/opinion/sign", login("specialist"), SIGN)
    assert r.status_code == 409
    assert r.json()["code"] == "invalid_transition"
    assert r.json()["current_state"] == "scheduled"


def test_illegal_transitions_are_409_with_the_current_state(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]]
) -> None:
    draft = make_request(submit=False)
    r = _post(client, f"/{draft['id']}/acknowledge", login("county-doctor"))
    assert r.status_code == 409 and r.json()["current_state"] == "draft"
    c = make_request()
    r = _post(client, f"/{c['id']}/submit", login("county-doctor"))
    assert r.status_code == 409 and r.json()["current_state"] == "submitted"
    assert _post(client, f"/{c['id']}/accept", login("specialist2")).status_code == 200
    r = _post(client, f"/{c['id']}/accept", login("coordinator"))
    assert r.status_code == 409
    assert r.json()["current_state"] == "accepted" and r.json()["action"] == "accept"
    r = _post(
        client,
        f"/{c['id']}/redirect",
        login("coordinator"),
        {"reason": "x", "institution_id": c["requesting_institution_id"]},
    )
    assert r.status_code == 409


def test_submission_needs_consent(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]]
) -> None:
    c = make_request(consent=False, submit=False)
    r = _post(client, f"/{c['id']}/submit", login("county-doctor"))
    assert r.status_code == 409 and r.json()["code"] == "consent_required"
    r = _post(client, f"/{c['id']}/consent", login("county-doctor"), CONSENT)
    assert r.status_code == 201
    assert r.json()["method"] == "verbal" and r.json()["given_by"] == "巴特尔"
    assert _post(client, f"/{c['id']}/submit", login("county-doctor")).status_code == 200


def test_signed_form_consent_needs_the_scanned_form(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]]
) -> None:
    c = make_request(consent=False, submit=False)
    r = _post(
        client, f"/{c['id']}/consent", login("county-doctor"), {**CONSENT, "method": "signed_form"}
    )
    assert r.status_code == 422
    doc = client.post(
        f"{API}/{c['id']}/documents",
        data={"kind": "consent_form"},
        files={"file": ("consent.pdf", b"%PDF-1.4 signed form", "application/pdf")},
        headers=login("county-doctor"),
    )
    assert doc.status_code == 201, doc.text
    r = _post(
        client,
        f"/{c['id']}/consent",
        login("county-doctor"),
        {**CONSENT, "method": "signed_form", "document_id": doc.json()["id"]},
    )
    assert r.status_code == 201, r.text


def test_bad_requests_are_refused_clearly(
    client: TestClient,
    login: H,
    make_request: Callable[..., dict[str, Any]],
    demo_patient: Any,
    session: Any,
) -> None:
    base = {
        "patient_id": str(demo_patient.id),
        "service_class": "consultation",
        "urgency": "routine",
        "summary": "s",
        "question": "q",
        "wanted_specialty": "astrology",
    }
    r = client.post(API, json=base, headers=login("county-doctor"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "wanted_specialty"
    r = client.post(
        API,
        json={**base, "wanted_specialty": "cardiology", "service_class": "telepathy"},
        headers=login("county-doctor"),
    )
    assert r.status_code == 422
    # a doctor of another hospital may not act for this patient: the patient does not exist for them
    from sqlmodel import col, select

    from telemed.identity.models import User

    other = (
        session.execute(
            select(User).where(
                col(User.username).like("dr-%"),
                User.role == "county_doctor",
                User.institution_id != demo_patient.institution_id,
            )
        )
        .scalars()
        .first()
    )
    r = client.post(
        "/api/v1/auth/token", data={"username": other.username, "password": "telemed-demo"}
    )
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = client.post(API, json={**base, "wanted_specialty": "cardiology"}, headers=h)
    assert r.status_code == 404
    # patients and coordinators do not request
    assert (
        client.post(
            API, json={**base, "wanted_specialty": "cardiology"}, headers=login("patient")
        ).status_code
        == 403
    )
    # decline needs a reason
    c = make_request()
    r = _post(client, f"/{c['id']}/decline", login("specialist2"), {"reason": ""})
    assert r.status_code == 422


def test_decline_records_the_reason(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]]
) -> None:
    c = make_request(imaging_order={"modality": "CT", "procedure": "CT CHEST"})
    county = login("county-doctor")
    orders = client.get(f"{API}/{c['id']}/imaging-orders", headers=county).json()
    assert [o["status"] for o in orders] == ["scheduled"]
    r = _post(client, f"/{c['id']}/decline", login("coordinator"), {"reason": "本院影像科设备检修"})
    assert r.json()["state"] == "declined"
    last = client.get(f"{API}/{c['id']}/history", headers=county).json()[-1]
    assert (last["action"], last["reason"]) == ("decline", "本院影像科设备检修")
    # the county's modalities no longer see the order of a declined request
    orders = client.get(f"{API}/{c['id']}/imaging-orders", headers=county).json()
    assert [o["status"] for o in orders] == ["cancelled"]


def test_redirect_goes_back_to_submitted_at_another_hospital(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]], session: Any
) -> None:
    from sqlmodel import select

    from telemed.network.models import Institution

    c = make_request()
    league = (
        session.execute(select(Institution).where(Institution.tier == "league")).scalars().first()
    )
    r = _post(
        client,
        f"/{c['id']}/redirect",
        login("coordinator"),
        {"reason": "就近由盟市医院处理", "institution_id": str(league.id)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "submitted"
    assert r.json()["receiving_institution_id"] == str(league.id)
    actions = [
        (s["action"], s["to_state"])
        for s in client.get(f"{API}/{c['id']}/history", headers=login("county-doctor")).json()
    ]
    assert actions[-2:] == [("redirect", "redirected"), ("resubmit", "submitted")]
    # the old hospital's coordinator no longer sees it
    assert client.get(f"{API}/{c['id']}", headers=login("coordinator")).status_code == 404


def test_cancel_after_payment_refunds(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]]
) -> None:
    c = make_request()
    r = _post(client, f"/{c['id']}/payments", login("county-doctor"))
    assert r.json()["payment_state"] == "paid"
    assert _post(client, f"/{c['id']}/payments", login("county-doctor")).status_code == 409
    r = _post(client, f"/{c['id']}/cancel", login("county-doctor"), {"reason": "患者已转院"})
    assert r.json()["state"] == "cancelled" and r.json()["payment_state"] == "refunded"
    pays = client.get(f"{API}/{c['id']}/payments", headers=login("county-doctor")).json()
    assert [(p["kind"], p["status"], p["amount_cents"]) for p in pays] == [
        ("charge", "succeeded", 15000),
        ("refund", "succeeded", 15000),
    ]
    r = _post(client, f"/{c['id']}/cancel", login("county-doctor"), {"reason": "again"})
    assert r.status_code == 409 and r.json()["current_state"] == "cancelled"
    receipt = f"{API}/{c['id']}/payments/{pays[1]['id']}/receipt.pdf?lang=mn-Mong"
    r = client.get(receipt, headers=login("county-doctor"))
    assert r.status_code == 200
    assert_vertical_mongolian(r.content)
    other = f"{API}/{make_request()['id']}/payments/{pays[1]['id']}/receipt.pdf"
    assert client.get(other, headers=login("county-doctor")).status_code == 404


def test_documents_keep_type_and_checksum(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]]
) -> None:
    import hashlib

    c = make_request(submit=False)
    content = b"%PDF-1.4 ECG 12-lead"
    r = client.post(
        f"{API}/{c['id']}/documents",
        data={"kind": "ecg"},
        files={"file": ("ecg.pdf", content, "application/pdf")},
        headers=login("county-doctor"),
    )
    assert r.status_code == 201
    assert r.json()["sha256"] == hashlib.sha256(content).hexdigest() and r.json()["kind"] == "ecg"
    got = client.get(f"{API}/{c['id']}/documents/{r.json()['id']}", headers=login("county-doctor"))
    assert got.content == content
    bad = client.post(
        f"{API}/{c['id']}/documents",
        data={"kind": "selfie"},
        files={"file": ("x.png", b"x", "image/png")},
        headers=login("county-doctor"),
    )
    assert bad.status_code == 422


def test_create_with_an_idempotency_key_returns_the_first_request(
    client: TestClient, login: H, demo_patient: Any
) -> None:
    body = {
        "patient_id": str(demo_patient.id),
        "service_class": "ecg_diagnosis",
        "urgency": "urgent",
        "summary": "s",
        "question": "q",
        "wanted_specialty": "electrophysiology",
    }
    h = {**login("county-doctor"), "Idempotency-Key": "ecg-2026-12-01-1"}
    first = client.post(API, json=body, headers=h)
    again = client.post(API, json=body, headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = client.post(API, json={**body, "summary": "changed"}, headers=h)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


def test_a_family_doctor_requests_for_contracted_residents_only(
    client: TestClient, login: H, demo_patient: Any, session: Any, clock: Any
) -> None:
    from referrals.family import contracts
    from telemed.core.settings import get_settings
    from tests.referrals.conftest import CONSENT as CONTRACT_CONSENT
    from tests.referrals.conftest import demo_team, user_named

    body = {
        "patient_id": str(demo_patient.id),
        "service_class": "consultation",
        "urgency": "routine",
        "summary": "高血压控制不佳",
        "question": "调整降压方案",
        "wanted_specialty": "cardiology",
    }
    assert client.post(API, json=body, headers=login("family-doctor")).status_code == 404
    contracts.sign_contract(
        session=session,
        patient_id=demo_patient.id,
        team_id=demo_team(session).id,
        package_codes=["hypertension"],
        by=user_named(session, "family-doctor"),
        now=clock(),
        settings=get_settings(),
        consent=CONTRACT_CONSENT,
    )
    r = client.post(API, json=body, headers=login("family-doctor"))
    assert r.status_code == 201, r.text


def test_a_403_on_a_request_the_caller_sees_is_kept_in_the_audit_log(
    client: TestClient, login: H, make_request: Callable[..., dict[str, Any]], session: Any
) -> None:
    from sqlmodel import select

    from telemed.core.audit import AuditEvent

    c = make_request()
    # The patient reads their own request but may not accept it for the hospital.
    r = _post(client, f"/{c['id']}/accept", login("patient"), {})
    assert r.status_code == 403, r.text
    code = r.json()["code"]
    session.expire_all()
    rows = session.exec(
        select(AuditEvent).where(AuditEvent.action == "refused", AuditEvent.object_id == c["id"])
    ).all()
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row.object_type, row.actor_role) == ("consultation", "patient")
    assert row.patient_id is not None  # the request's patient, looked up by its id
    assert row.detail["reason"].startswith(f"{code}: ")
    assert (row.detail["method"], row.detail["path"]) == ("POST", f"{API}/{c['id']}/accept")
    # ... and the request changed nothing
    assert client.get(f"{API}/{c['id']}", headers=login("patient")).json()["state"] == "submitted"
