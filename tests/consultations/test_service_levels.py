"""Service levels with the injectable clock: breach, escalation, expiry, compliance report."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.consultations import jobs
from telemed.consultations.models import SlaBreach
from telemed.core.notifications import Notification
from telemed.core.settings import get_settings

API = "/api/v1/consultations"


def _sweep(session: Session, clock: Any) -> jobs.SweepResult:
    return jobs.sweep(session=session, now=clock(), settings=get_settings())


def _notes(session: Session, user_id: Any, kind: str) -> list[Notification]:
    return list(
        session.execute(
            select(Notification).where(Notification.user_id == user_id, Notification.kind == kind)
        ).scalars()
    )


def test_unaccepted_request_breaches_escalates_then_expires(
    client: TestClient, login: Any, make_request: Any, session: Session, clock: Any, users: Any
) -> None:
    c = make_request(urgency="urgent")  # accept within 120 min, expire at 240
    assert c["accept_due_at"].startswith("2026-12-01T03:00")
    client.post(f"{API}/{c['id']}/payments", headers=login("county-doctor"))
    clock.advance(minutes=119)
    assert _sweep(session, clock).accept_breaches == []
    clock.advance(minutes=2)
    result = _sweep(session, clock)
    assert result.accept_breaches == [c["id"]]
    coordinator = users("coordinator")
    assert len(_notes(session, coordinator.id, "consultation.sla_breach")) == 1
    # a second pass (or another worker) records nothing twice
    assert _sweep(session, clock).accept_breaches == []
    assert len(_notes(session, coordinator.id, "consultation.sla_breach")) == 1
    clock.advance(minutes=120)
    assert _sweep(session, clock).expired == [c["id"]]
    got = client.get(f"{API}/{c['id']}", headers=login("county-doctor")).json()
    assert (got["state"], got["payment_state"]) == ("expired", "refunded")
    assert _notes(session, users("county-doctor").id, "consultation.expired")
    last = client.get(f"{API}/{c['id']}/history", headers=login("county-doctor")).json()[-1]
    assert (last["action"], last["by_id"]) == ("expire", None)


def test_emergency_limits_are_thirty_minutes(
    make_request: Any, session: Session, clock: Any
) -> None:
    c = make_request(urgency="emergency")
    clock.advance(minutes=29)
    assert _sweep(session, clock).accept_breaches == []
    clock.advance(minutes=2)
    assert _sweep(session, clock).accept_breaches == [c["id"]]


def test_late_report_breaches_and_tells_the_specialist(
    client: TestClient, login: Any, make_request: Any, session: Session, clock: Any, users: Any
) -> None:
    c = make_request(urgency="urgent")
    clock.advance(minutes=10)
    got = client.post(f"{API}/{c['id']}/accept", headers=login("specialist2")).json()
    assert got["report_due_at"].startswith("2026-12-02T01:10")  # urgent: 24 h from acceptance
    clock.advance(hours=24, minutes=1)
    assert _sweep(session, clock).report_breaches == [c["id"]]
    assert _notes(session, users("specialist2").id, "consultation.sla_breach")


def test_compliance_report_per_institution_league_and_class(
    client: TestClient, login: Any, make_request: Any, session: Session, clock: Any
) -> None:
    on_time = make_request(urgency="urgent")
    late = make_request(urgency="urgent")
    clock.advance(minutes=30)
    client.post(f"{API}/{on_time['id']}/accept", headers=login("specialist2"))
    clock.advance(minutes=100)
    _sweep(session, clock)  # `late` breaches
    r = client.get(f"{API}/service-levels", headers=login("coordinator"))
    assert r.status_code == 200, r.text
    report = r.json()
    (inst,) = [
        row for row in report["by_institution"] if row["key"] == on_time["receiving_institution_id"]
    ]
    assert (
        inst["requests"],
        inst["accept_measured"],
        inst["accepted_in_time"],
        inst["accept_breaches"],
    ) == (2, 2, 1, 1)
    assert inst["accept_compliance"] == 0.5
    assert [row["key"] for row in report["by_service_class"]] == ["imaging_diagnosis"]
    assert report["by_league"][0]["requests"] == 2
    assert late["id"]
    assert client.get(f"{API}/service-levels", headers=login("county-doctor")).status_code == 403


def test_service_classes_document_their_needs_and_levels(client: TestClient) -> None:
    classes = {c["code"]: c for c in client.get(f"{API}/service-classes").json()}
    assert len(classes) == 11
    assert classes["imaging_diagnosis"]["live_session"] is False
    assert classes["consultation"]["live_session"] is True
    assert classes["consultation"]["accept_minutes"] == {
        "routine": 2880,
        "urgent": 120,
        "emergency": 30,
    }
    assert classes["pathology_diagnosis"]["report_minutes"]["routine"] == 120 * 60


def test_two_workers_sweeping_at_once_record_one_breach(committed_engine: Any, clock: Any) -> None:
    from tests.consultations.committed import committed_request, purge

    cid = committed_request(committed_engine, urgency="emergency")
    try:
        clock.advance(minutes=31)
        barrier = threading.Barrier(2)
        results: list[jobs.SweepResult] = []

        def worker() -> None:
            with Session(committed_engine) as s:
                barrier.wait(timeout=10)
                results.append(jobs.sweep(session=s, now=clock(), settings=get_settings()))
                s.commit()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(len(r.accept_breaches) for r in results) == [0, 1]
        with Session(committed_engine) as s:
            rows = (
                s.execute(select(SlaBreach).where(SlaBreach.consultation_id == cid)).scalars().all()
            )
            assert len(rows) == 1
    finally:
        purge(committed_engine, cid)
