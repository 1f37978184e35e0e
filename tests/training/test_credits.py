"""Attendance and credit: join/leave at server time for the enrolled only, recording progress
monotonic and capped, the credit at exactly 80 % (not 79 %), the certificate PDF, the report."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.core import clock as core_clock
from telemed.core.audit import AuditEvent
from tests.conftest import FixedClock
from tests.referrals.conftest import user_named
from tests.training.conftest import published_course

API = "/api/v1/training/courses"
Login = Callable[[str], dict[str, str]]
LECTURE = 3600  # seconds: the helper's lecture lasts one hour


def _enrolled(client: TestClient, login: Login, session: Session, *who: str):  # type: ignore[no-untyped-def]
    # soon after the fixed clock, so the logins' tokens outlive the lecture
    c = published_course(session, starts_at=core_clock.now() + timedelta(minutes=10))
    for name in who:
        assert client.post(f"{API}/{c.id}/enrolment", headers=login(name)).status_code == 201
    return c


def _event(client: TestClient, login: Login, c, who: str, event: str):  # type: ignore[no-untyped-def]
    return client.post(f"{API}/{c.id}/attendance", json={"event": event}, headers=login(who))


def test_live_attendance_at_80_percent_earns_the_credit_and_79_does_not(
    client: TestClient, login: Login, session: Session, clock: FixedClock
) -> None:
    c = _enrolled(client, login, session, "county-doctor", "family-doctor")
    clock.at = c.starts_at - timedelta(minutes=5)  # joins in the waiting room: counted from start
    assert _event(client, login, c, "county-doctor", "join").status_code == 200
    assert _event(client, login, c, "family-doctor", "join").status_code == 200
    r = _event(client, login, c, "county-doctor", "join")
    assert (r.status_code, r.json()["code"]) == (409, "already_joined")
    clock.at = c.starts_at + timedelta(seconds=LECTURE * 79 // 100)
    r = _event(client, login, c, "family-doctor", "leave")
    assert r.json()["live_seconds"] == 2844 and r.json()["credited_at"] is None
    clock.at = c.starts_at + timedelta(seconds=LECTURE * 80 // 100)
    r = _event(client, login, c, "county-doctor", "leave")
    assert r.json()["live_seconds"] == 2880
    assert r.json()["attended_share"] == 0.8
    assert r.json()["credited_at"] is not None
    r = _event(client, login, c, "county-doctor", "leave")
    assert (r.status_code, r.json()["code"]) == (409, "not_joined")
    # not enrolled: no attendance
    r = _event(client, login, c, "specialist2", "join")
    assert (r.status_code, r.json()["code"]) == (404, "not_enrolled")
    assert (
        client.get(f"{API}/{c.id}/certificate.pdf", headers=login("family-doctor")).json()["code"]
        == "no_credit"
    )


def test_an_open_session_is_counted_until_the_course_finishes(
    client: TestClient, login: Login, session: Session, clock: FixedClock
) -> None:
    c = _enrolled(client, login, session, "county-doctor")
    clock.at = c.starts_at + timedelta(minutes=10)
    _event(client, login, c, "county-doctor", "join")
    clock.at = c.ends_at + timedelta(minutes=30)  # never left; counted to the end only
    r = client.post(f"{API}/{c.id}/transitions", json={"action": "finish"},
                    headers=login("coordinator"))  # fmt: skip
    assert r.status_code == 200
    mine = client.get("/api/v1/training/enrolments", headers=login("county-doctor")).json()
    assert mine[0]["live_seconds"] == 3000 and mine[0]["credited_at"] is not None


def test_recording_progress_is_monotonic_capped_and_credits_at_80_percent(
    client: TestClient, login: Login, session: Session, clock: FixedClock
) -> None:
    c = _enrolled(client, login, session, "county-doctor")
    url = f"{API}/{c.id}/progress"
    h = login("county-doctor")
    r = client.post(url, json={"position_seconds": 60}, headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "recording_not_available")
    clock.at = c.ends_at + timedelta(hours=2)
    client.post(f"{API}/{c.id}/transitions", json={"action": "finish"},
                headers=login("coordinator"))  # fmt: skip
    assert (
        client.post(url, json={"position_seconds": 2879}, headers=h).json()["credited_at"] is None
    )
    assert client.post(url, json={"position_seconds": 100}, headers=h).json()[
        "watched_seconds"
    ] == (2879)
    assert client.post(url, json={"position_seconds": -1}, headers=h).status_code == 422
    r = client.post(url, json={"position_seconds": 99_999}, headers=h)
    assert r.json()["watched_seconds"] == LECTURE and r.json()["credited_at"] is not None


def test_certificate_names_the_doctor_and_the_credits(
    client: TestClient, login: Login, session: Session, clock: FixedClock
) -> None:
    c = _enrolled(client, login, session, "county-doctor")
    clock.at = c.starts_at
    _event(client, login, c, "county-doctor", "join")
    clock.at = c.ends_at
    _event(client, login, c, "county-doctor", "leave")
    r = client.get(f"{API}/{c.id}/certificate.pdf", headers=login("county-doctor"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=r.content, capture_output=True,
                          check=True).stdout.decode()  # fmt: skip
    flat = "".join(text.split())
    assert "继续医学教育学分证明" in flat
    assert "李医生" in flat  # the demo county doctor
    assert "0.5分（Ⅱ类）" in flat
    assert "1小时" in flat
    assert c.title in flat
    en = client.get(f"{API}/{c.id}/certificate.pdf?lang=en", headers=login("county-doctor"))
    en_text = subprocess.run(["pdftotext", "-", "-"], input=en.content, capture_output=True,
                             check=True).stdout.decode()  # fmt: skip
    assert "0.5 (class II)" in en_text
    row = (
        session.execute(
            select(AuditEvent).where(
                AuditEvent.object_type == "training_enrolment", AuditEvent.action == "read"
            )
        )
        .scalars()
        .all()
    )
    assert any(e.detail.get("what") == "certificate" for e in row)
    # nobody else holds this doctor's certificate
    r = client.get(f"{API}/{c.id}/certificate.pdf", headers=login("family-doctor"))
    assert r.status_code == 404


def test_report_counts_enrolled_attended_credited_per_hospital_and_county(
    client: TestClient, login: Login, session: Session, clock: FixedClock
) -> None:
    c = _enrolled(client, login, session, "county-doctor", "family-doctor")
    clock.at = c.starts_at
    _event(client, login, c, "county-doctor", "join")
    _event(client, login, c, "family-doctor", "join")
    clock.at = c.starts_at + timedelta(minutes=10)
    _event(client, login, c, "family-doctor", "leave")
    clock.at = c.ends_at
    _event(client, login, c, "county-doctor", "leave")
    r = client.get("/api/v1/training/report", headers=login("coordinator"))
    assert r.status_code == 200, r.text
    report = r.json()
    cd, fd = user_named(session, "county-doctor"), user_named(session, "family-doctor")
    by_id = {h["institution_id"]: h for h in report["hospitals"]}
    assert (by_id[str(cd.institution_id)]["enrolled"], by_id[str(cd.institution_id)]["attended"],
            by_id[str(cd.institution_id)]["credited"]) == (1, 1, 1)  # fmt: skip
    township = by_id[str(fd.institution_id)]
    assert (township["enrolled"], township["attended"], township["credited"]) == (1, 1, 0)
    county = next(x for x in report["counties"] if x["county_code"] == township["county_code"])
    assert county == {"county_code": township["county_code"], "enrolled": 2, "attended": 2,
                      "credited": 1}  # fmt: skip
    assert client.get("/api/v1/training/report", headers=login("county-doctor")).status_code == 403
