"""The network dashboard counts what the services created, per league and per Shanghai day,
in one GROUP BY per figure, for coordinators and administrators only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from referrals import service as referral_service
from referrals.schemas import OutcomeIn, ReferralCreate
from telemed.consultations import jobs
from telemed.core.settings import get_settings
from telemed.identity.models import User
from telemed.network.models import Institution
from tests.referrals.conftest import (
    county_hospital,
    league_hospital,
    new_patient,
    staff_of,
    up_referral,
    user_named,
)

API = "/api/v1/dashboard/network"
CONSULT = "/api/v1/consultations"
RANGE = {"start": "2031-03-09", "end": "2031-03-10"}


def _do(session: Session, r: Any, action: str, by: User, clock: Any, **kw: Any) -> Any:
    return referral_service.transition(
        session=session,
        referral_id=r.id,
        action=action,
        by=by,
        now=clock.at,
        settings=get_settings(),
        **kw,
    )


def _referrals(session: Session, clock: Any) -> None:
    """Up from the county: one closed, one completed, one draft; down from the league hospital:
    one sent; one up sent a minute before the range (Shanghai midnight)."""
    cd = user_named(session, "county-doctor")
    rx = staff_of(session, league_hospital(session))[0]
    clock.at = datetime(2031, 3, 8, 15, 59, tzinfo=UTC)  # 2031-03-08 23:59 in Shanghai
    _do(session, up_referral(session, clock), "submit", cd, clock)
    clock.at = datetime(2031, 3, 9, 2, 0, tzinfo=UTC)  # 10:00 on the 9th in Shanghai
    for close in (True, False):
        r = _do(session, up_referral(session, clock), "submit", cd, clock)
        for action in ("receive", "accept"):
            _do(session, r, action, rx, clock)
        _do(session, r, "book", rx, clock, appointment_at=clock.at + timedelta(hours=2))
        _do(session, r, "arrive", rx, clock)
        _do(session, r, "complete", rx, clock)
        if close:
            referral_service.send_outcome(
                session=session,
                referral_id=r.id,
                by=rx,
                now=clock.at,
                outcome=OutcomeIn(kind="discharge_summary", summary="PCI", recommendations="DAPT"),
            )
            _do(session, r, "close", cd, clock)
    up_referral(session, clock)  # a draft: not sent, not counted
    patient = new_patient(session)
    patient.institution_id = rx.institution_id
    session.flush()
    down = referral_service.create_referral(
        session=session,
        data=ReferralCreate(
            patient_id=patient.id,
            to_institution_id=county_hospital(session).id,
            direction="down",
            reason="康复期",
            diagnosis_code="I21.9",
            care_plan="阿司匹林 100mg qd，两周复查",
        ),
        by=rx,
        now=clock.at,
        settings=get_settings(),
    )
    _do(session, down, "submit", rx, clock)


def _consultations(
    client: TestClient, login: Any, make_request: Any, session: Session, clock: Any
) -> str:
    """A: accepted in time, report late; B: accepted late; C: never accepted, expired.
    A is sent at 23:30 on the 9th in Shanghai, B and C after midnight (the 10th)."""
    clock.at = datetime(2031, 3, 9, 15, 30, tzinfo=UTC)
    a = make_request(urgency="urgent")  # accept within 120 min, report within 24 h
    clock.advance(minutes=60)
    b = make_request(urgency="urgent")
    c = make_request(urgency="urgent")
    clock.advance(minutes=10)
    assert client.post(f"{CONSULT}/{a['id']}/accept", headers=login("specialist2")).is_success
    clock.advance(minutes=111)  # B and C are past their accept due time
    jobs.sweep(session=session, now=clock(), settings=get_settings())
    clock.advance(minutes=4)
    assert client.post(f"{CONSULT}/{b['id']}/accept", headers=login("specialist2")).is_success
    clock.at = datetime(2031, 3, 10, 16, 50, tzinfo=UTC)  # A's report is late, C expired
    result = jobs.sweep(session=session, now=clock(), settings=get_settings())
    assert result.report_breaches == [a["id"]] and result.expired == [c["id"]]
    inst = session.get(Institution, a["receiving_institution_id"])
    assert inst is not None
    return inst.league_code


def test_figures_per_league_and_day_match_what_the_services_created(
    client: TestClient, login: Any, make_request: Any, session: Session, clock: Any
) -> None:
    _referrals(session, clock)
    league = _consultations(client, login, make_request, session, clock)
    r = client.get(API, params=RANGE, headers=login("coordinator"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["start"], body["end"], body["timezone"]) == (
        "2031-03-09",
        "2031-03-10",
        "Asia/Shanghai",
    )
    leagues = {row["code"]: row for row in body["leagues"]}
    assert len(leagues) == 12
    row = leagues[league]
    assert row["consultations"] == 3
    assert row["consultations_by_state"] == {"accepted": 2, "expired": 1}
    assert (row["accept_measured"], row["accepted_in_time"], row["accept_breaches"]) == (3, 1, 2)
    assert (row["report_measured"], row["reported_in_time"], row["report_breaches"]) == (1, 0, 1)
    assert row["sla_compliance"] == 0.25  # 1 of 4 deadlines met

    county = county_hospital(session).league_code
    sender = league_hospital(session).league_code
    up = leagues[county]
    down = leagues[sender]
    if county == sender:
        assert (up["referrals"], up["referrals_up"], up["referrals_down"]) == (3, 2, 1)
    else:
        assert (up["referrals"], up["referrals_up"], up["referrals_down"]) == (2, 2, 0)
        assert (down["referrals"], down["referrals_up"], down["referrals_down"]) == (1, 0, 1)
    assert (up["referrals_completed"], up["referrals_closed"], up["closure_rate"]) == (2, 1, 0.5)

    totals = body["totals"]
    assert totals["consultations"] == 3 and totals["referrals"] == 3
    assert totals["sla_compliance"] == 0.25 and totals["closure_rate"] == 0.5
    assert totals["hospitals"] == sum(x["hospitals"] for x in body["leagues"])
    summary = client.get("/api/v1/network/summary").json()
    assert totals["hospitals"] == summary["network_hospitals"]
    quiet = [x for x in body["leagues"] if x["code"] not in {league, county, sender}]
    assert all(x["consultations"] == 0 and x["referrals"] == 0 for x in quiet)
    assert all(x["sla_compliance"] is None and x["closure_rate"] is None for x in quiet)

    # Shanghai days: A on the 9th (accept met, report missed), B and C on the 10th.
    assert body["days"] == [
        {"day": "2031-03-09", "consultations": 1, "referrals": 3, "sla_compliance": 0.5},
        {"day": "2031-03-10", "consultations": 2, "referrals": 0, "sla_compliance": 0.0},
    ]
    # One more day back takes in the referral sent at 23:59 on the 8th.
    wider = client.get(API, params={**RANGE, "start": "2031-03-08"}, headers=login("admin")).json()
    assert wider["totals"]["referrals"] == 4
    assert [d["referrals"] for d in wider["days"]] == [1, 3, 0]


def test_default_range_is_the_last_thirty_shanghai_days(
    client: TestClient, login: Any, clock: Any
) -> None:
    clock.at = datetime(2031, 3, 10, 16, 30, tzinfo=UTC)  # 00:30 on the 11th in Shanghai
    body = client.get(API, headers=login("coordinator")).json()
    assert (body["start"], body["end"]) == ("2031-02-10", "2031-03-11")
    assert len(body["days"]) == 30


def test_only_coordinators_and_admins_see_the_dashboard(client: TestClient, login: Any) -> None:
    r = client.get(API, headers=login("county-doctor"))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get(API).status_code == 401
    assert client.get(API, headers=login("admin")).status_code == 200


def test_bad_date_ranges_are_refused_as_problems(client: TestClient, login: Any) -> None:
    headers = login("coordinator")
    r = client.get(API, params={"start": "2031-03-10", "end": "2031-03-09"}, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "bad_range"
    assert r.json()["errors"][0]["field"] == "start"
    r = client.get(API, params={"start": "2030-01-01", "end": "2031-03-09"}, headers=headers)
    assert (r.status_code, r.json()["code"]) == (422, "range_too_long")
    r = client.get(API, params={"start": "2031-02-30"}, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


def test_the_number_of_queries_does_not_grow_with_the_rows(
    client: TestClient, login: Any, make_request: Any, session: Session, clock: Any
) -> None:
    """Aggregated in the database: ten times the requests, the same statements."""
    clock.at = datetime(2031, 5, 1, 2, 0, tzinfo=UTC)
    params = {"start": "2031-05-01", "end": "2031-05-01"}
    headers = login("coordinator")

    def statements() -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        conn = session.connection()
        event.listen(conn, "before_cursor_execute", count)
        try:
            assert client.get(API, params=params, headers=headers).status_code == 200
        finally:
            event.remove(conn, "before_cursor_execute", count)
        return len(seen)

    make_request()
    statements()  # the caller's token is then in the worker's cache (telemed.identity.token_cache)
    few = statements()
    for _ in range(10):
        make_request()
    assert statements() == few
    body = client.get(API, params=params, headers=headers).json()
    assert body["totals"]["consultations"] == 11
