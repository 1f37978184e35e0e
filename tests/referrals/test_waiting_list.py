"""No referral is lost: it waits on the receiver's worklist with a contact-by date, and
breaches of that date are escalated (injectable clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from referrals import reports, service
from telemed.core.i18n import format_moment
from telemed.core.notifications import Notification
from telemed.core.settings import get_settings
from tests.referrals.conftest import league_hospital, new_patient, staff_of, up_referral, user_named

Login = Callable[[str], dict[str, str]]


def _breach_notes(session: Session, referral_id: object) -> list[Notification]:
    rows = session.execute(
        select(Notification).where(Notification.kind == "referral.breach")
    ).scalars()
    return [n for n in rows if n.data.get("referral_id") == str(referral_id)]


def test_contact_date_by_urgency_and_escalation_of_breaches(session: Session, clock) -> None:
    settings = get_settings()
    cd = user_named(session, "county-doctor")
    rx = staff_of(session, league_hospital(session))[0]
    p = new_patient(session, with_user=True)
    p.institution_id = cd.institution_id
    session.flush()
    routine = up_referral(session, clock, patient=p)
    # a second referral to the same hospital while the first stands: confirmed as intended
    urgent = up_referral(session, clock, patient=p, urgency="urgent", confirm_duplicate=True)
    for r in (routine, urgent):
        service.transition(
            session=session,
            referral_id=r.id,
            action="submit",
            by=cd,
            now=clock.at,
            settings=settings,
        )
    assert routine.contact_by == clock.at + timedelta(days=14)
    assert urgent.contact_by == clock.at + timedelta(days=2)
    # the patient is told by when they will hear back
    told = session.execute(
        select(Notification).where(Notification.kind == "referral.requested")
    ).scalars()
    by_date = format_moment(routine.contact_by, "zh-CN")
    assert any(
        n.data["referral_id"] == str(routine.id)
        and n.params["date"] == routine.contact_by.isoformat()
        and n.body == f"接诊医院将于 {by_date} 前与您联系。"
        for n in told
    )

    wl = service.receiver_worklist(session=session, institution_id=rx.institution_id)  # type: ignore[arg-type]
    ids = [r.id for r in wl]
    assert ids.index(urgent.id) < ids.index(routine.id)  # soonest contact date first

    clock.advance(days=3)  # the urgent one is past its date
    assert service.escalate_breaches(session=session, now=clock.at) >= 1
    assert urgent.escalation_level == 1 and routine.escalation_level == 0
    notes = _breach_notes(session, urgent.id)
    assert {n.user_id for n in notes} >= {cd.id}  # the referrer hears about it
    assert len({n.user_id for n in notes}) >= 2  # and the receiving side
    # not again within the day, again the next day while still breached
    assert urgent.id not in _escalated(session, clock.at)
    clock.advance(days=1, minutes=1)
    assert urgent.id in _escalated(session, clock.at)
    assert urgent.escalation_level == 2
    ev = service.events_of(session=session, referral_id=urgent.id)[-1]
    assert ev.action == "escalate" and ev.data["level"] == 2

    rep = reports.referral_report(session=session, now=clock.at)
    assert rep.waiting_past_contact_date >= 1

    # the receiver sets a new date: off the breach list, patient and referrer told
    service.set_contact_by(
        session=session,
        referral_id=urgent.id,
        by=rx,
        now=clock.at,
        contact_by=clock.at + timedelta(days=1),
        reason="cardiology clinic full; next free day",
    )
    assert urgent.id not in _escalated(session, clock.at)
    # once booked it no longer waits
    service.transition(
        session=session,
        referral_id=urgent.id,
        action="receive",
        by=rx,
        now=clock.at,
        settings=settings,
    )
    service.transition(
        session=session,
        referral_id=urgent.id,
        action="accept",
        by=rx,
        now=clock.at,
        settings=settings,
    )
    service.transition(
        session=session,
        referral_id=urgent.id,
        action="book",
        by=rx,
        now=clock.at,
        settings=settings,
        appointment_at=clock.at + timedelta(hours=20),
    )
    clock.advance(days=5)
    assert urgent.id not in _escalated(session, clock.at)


def _escalated(session: Session, now: object) -> list[object]:
    before = {
        r.id: r.escalation_level
        for r in service.receiver_worklist(
            session=session, institution_id=league_hospital(session).id
        )
    }
    service.escalate_breaches(session=session, now=now)  # type: ignore[arg-type]
    after = service.receiver_worklist(session=session, institution_id=league_hospital(session).id)
    return [r.id for r in after if r.escalation_level > before.get(r.id, 0)]


def test_worklist_and_status_are_visible_over_the_api(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    cd = user_named(session, "county-doctor")
    r = up_referral(session, clock, urgency="emergency", reason="急性心梗")
    service.transition(
        session=session,
        referral_id=r.id,
        action="submit",
        by=cd,
        now=clock.at,
        settings=get_settings(),
    )
    session.commit()
    clock.advance(hours=7)
    rows = client.get("/api/v1/referrals", params={"role": "sent"}, headers=login("county-doctor"))
    assert rows.status_code == 200
    mine = [x for x in rows.json()["items"] if x["id"] == str(r.id)]
    assert mine and mine[0]["contact_by_breached"] and mine[0]["status"] == "requested"
    run = client.post("/api/v1/referrals/jobs/run", headers=login("admin"))
    assert run.status_code == 200 and run.json()["escalated"] >= 1
    assert (
        client.post("/api/v1/referrals/jobs/run", headers=login("county-doctor")).status_code == 403
    )


def test_contact_by_in_messages_is_shown_in_shanghai_time() -> None:
    from datetime import UTC, datetime

    from referrals.messages import MESSAGES
    from telemed.core.i18n import render

    at = datetime(2026, 12, 10, 17, 30, tzinfo=UTC)
    assert render(MESSAGES, "referral.contact_by", "zh-CN", date=at).body == (
        "接诊医院将于 2026-12-11 01:30 前与您联系。"
    )
    assert render(MESSAGES, "referral.contact_by.staff", "en", date=at).body == (
        "The patient will be contacted by 2026-12-11 01:30."
    )
