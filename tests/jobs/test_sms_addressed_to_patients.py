"""An SMS is addressed to the patient, not to an account (issue 15, nothing is silently
lost): a resident registered by staff without an app account who consented is texted the
waitlist offer through the fake Aliyun provider (which checks each request's signature); a
patient with an account gets one text per event (the account in-app rows); without consent
the row is `skipped`; rows queued before core 0022 (addressed to an account) are still
delivered; the admin outbox names the patient with the phone masked, and the inbox shows
in-app rows only."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from scheduling import service
from scheduling.models import Booking, ScheduleRule, Slot
from telemed.core.clock import to_shanghai
from telemed.core.notifications import Notification, enqueue
from telemed.identity import resident_id as rid
from telemed.identity.models import Patient, User
from telemed.jobs.tasks import Context, run_task
from tests.jobs.conftest import TEMPLATE_CODES
from tests.referrals.conftest import league_hospital, new_patient, up_referral
from tests.scheduling.conftest import slots_of, user_named
from tests.support.fake_aliyun_sms import FakeAliyunSms

Login = Callable[[str], dict[str, str]]
_serial = itertools.count(301, 2)


def _register(client: TestClient, login: Login, phone: str, *, consent: bool) -> dict[str, Any]:
    """The family doctor registers a resident at the clinic (POST /api/v1/patients)."""
    number = rid.make("150122", date(1958, 4, 2), next(_serial))
    r = client.post(
        "/api/v1/patients",
        json={"name": "巴特尔", "resident_id": number, "phone": phone, "sms_consent": consent},
        headers=login("family-doctor"),
    )
    assert r.status_code == 201, r.text
    assert phone not in r.text
    return dict(r.json())


def _offer_by_the_family_doctor(
    session: Session,
    client: TestClient,
    login: Login,
    clock: Any,
    make_rule: Callable[..., ScheduleRule],
    new_doctor: Callable[..., User],
    patient_id: str,
) -> Booking:
    """The family doctor puts the patient on the waitlist; the slot's holder cancels: the
    place is offered to the patient (a pending hold of 120 minutes)."""
    slot: Slot = slots_of(session, make_rule())[0]
    holder = new_doctor()
    taken = service.book(session=session, slot_id=slot.id, by=holder, patient_id=None, now=clock())
    r = client.post(
        "/api/v1/waitlist",
        json={
            "specialty_code": slot.specialty_code,
            "patient_id": patient_id,
            "start_at": (slot.start_at - timedelta(days=1)).isoformat(),
            "end_at": (slot.end_at + timedelta(days=1)).isoformat(),
        },
        headers=login("family-doctor"),
    )
    assert r.status_code == 201, r.text
    service.cancel_booking(
        session=session, booking_id=taken.id, by=holder, now=clock(), reason="plans changed"
    )
    session.flush()
    offer = session.execute(
        select(Booking).where(
            col(Booking.waitlist_entry_id) == r.json()["id"], Booking.status == "pending"
        )
    ).scalar_one()
    assert str(offer.patient_id) == patient_id
    return offer


def _texts(session: Session, **where: Any) -> list[Notification]:
    session.expire_all()
    stmt = select(Notification).where(Notification.channel == "sms")
    for name, value in where.items():
        stmt = stmt.where(getattr(Notification, name) == value)
    return list(session.execute(stmt).scalars())


def test_a_resident_without_an_account_hears_of_the_waitlist_offer_by_sms(
    session: Session,
    client: TestClient,
    login: Login,
    clock: Any,
    ctx: Context,
    fake_sms: FakeAliyunSms,
    make_rule: Callable[..., ScheduleRule],
    new_doctor: Callable[..., User],
) -> None:
    phone = "13947100001"
    patient = _register(client, login, phone, consent=True)
    pid = patient["id"]
    assert session.execute(select(User).where(col(User.patient_id) == pid)).first() is None
    offer = _offer_by_the_family_doctor(session, client, login, clock, make_rule, new_doctor, pid)

    [row] = _texts(session, kind="waitlist.offer")
    assert (str(row.patient_id), row.user_id, row.status) == (pid, None, "pending")
    assert row.data["booking_id"] == str(offer.id)
    # The admin sees whom it is for, never the number.
    admin = login("admin")
    waiting = client.get("/api/v1/admin/outbox", params={"status": "pending"}, headers=admin)
    assert waiting.status_code == 200
    [item] = [i for i in waiting.json()["items"] if i["id"] == str(row.id)]
    assert (item["patient_id"], item["user_id"], item["phone_masked"]) == (
        pid,
        None,
        "139****0001",
    )
    assert phone not in waiting.text

    out = run_task("notifications.dispatch", ctx)
    assert out["dead"] == 0
    [msg] = [m for m in fake_sms.accepted if m["OutId"] == str(row.id)]
    assert (msg["PhoneNumbers"], msg["SignName"]) == (phone, "内蒙古远程医疗")
    assert msg["TemplateCode"] == TEMPLATE_CODES["waitlist.offer"]
    assert msg["TemplateParam"] == {
        "time": f"{to_shanghai(offer.start_at):%m月%d日 %H:%M}",
        "minutes": "120",
    }
    assert fake_sms.refused == []  # the provider accepted the request's signature
    [sent] = _texts(session, id=row.id)
    assert sent.status == "sent" and sent.provider_message_id

    # The family doctor who asked is told in the app; the inbox holds no SMS rows.
    inbox = client.get("/api/v1/notifications", headers=login("family-doctor")).json()
    assert [n["kind"] for n in inbox if n["data"].get("booking_id") == str(offer.id)] == [
        "waitlist.offer"
    ]
    assert str(row.id) not in {n["id"] for n in inbox}


def test_a_resident_without_consent_is_not_texted(
    session: Session,
    client: TestClient,
    login: Login,
    clock: Any,
    ctx: Context,
    fake_sms: FakeAliyunSms,
    make_rule: Callable[..., ScheduleRule],
    new_doctor: Callable[..., User],
) -> None:
    phone = "13947100002"
    patient = _register(client, login, phone, consent=False)
    _offer_by_the_family_doctor(session, client, login, clock, make_rule, new_doctor, patient["id"])
    run_task("notifications.dispatch", ctx)
    [row] = _texts(session, kind="waitlist.offer")
    assert (str(row.patient_id), row.status, row.attempts) == (patient["id"], "skipped", 0)
    assert [m for m in fake_sms.accepted if m["PhoneNumbers"] == phone] == []


def test_a_patient_with_an_account_gets_one_sms_per_event_and_the_account_in_app_rows(
    session: Session,
    clock: Any,
    ctx: Context,
    fake_sms: FakeAliyunSms,
    make_rule: Callable[..., ScheduleRule],
) -> None:
    phone = "13947100003"
    p = new_patient(session, with_user=True)
    p.institution_id = user_named(session, "county-doctor").institution_id
    p.phone, p.sms_consent_at = phone, clock()
    own = session.execute(select(User).where(User.patient_id == p.id)).scalar_one()
    # (one account per patient at most: user_account.patient_id is unique since core 0001)

    booking = service.book(
        session=session, slot_id=slots_of(session, make_rule())[0].id, by=own,
        patient_id=None, now=clock(),
    )  # fmt: skip
    r = up_referral(session, clock, patient=p)
    from referrals import service as referrals_service
    from telemed.core.settings import get_settings

    referrals_service.transition(
        session=session, referral_id=r.id, action="submit", by=user_named(session, "county-doctor"),
        now=clock(), settings=get_settings(),
    )  # fmt: skip
    session.flush()
    for kind, key, ident in (
        ("booking.confirmed", "booking_id", booking.id),
        ("referral.requested", "referral_id", r.id),
    ):
        in_app = [
            n
            for n in session.execute(
                select(Notification).where(
                    Notification.kind == kind, Notification.channel == "in_app"
                )
            ).scalars()
            if n.data.get(key) == str(ident)
        ]
        assert own.id in {n.user_id for n in in_app}  # the account, in the app
        texts = [n for n in _texts(session, kind=kind) if n.data.get(key) == str(ident)]
        assert [(n.patient_id, n.user_id) for n in texts] == [(p.id, None)], kind

    run_task("notifications.dispatch", ctx)
    to_phone = [m for m in fake_sms.accepted if m["PhoneNumbers"] == phone]
    assert sorted(m["TemplateCode"] for m in to_phone) == sorted(
        [TEMPLATE_CODES["booking.confirmed"], TEMPLATE_CODES["referral.requested"]]
    )
    assert league_hospital(session).name_zh in {m["TemplateParam"]["place"] for m in to_phone}


def test_an_sms_queued_for_an_account_before_the_migration_is_still_delivered(
    session: Session,
    clock: Any,
    ctx: Context,
    fake_sms: FakeAliyunSms,
) -> None:
    """Core 0022 leaves old rows as they were (user_id, no patient_id): the dispatcher finds
    the patient through the account; a staff account's old row is skipped."""
    p = session.get(Patient, user_named(session, "patient").patient_id)
    assert p is not None and p.sms_consent_at is not None and p.phone
    term_end = clock().date() + timedelta(days=20)
    rows = []
    for user in (user_named(session, "patient"), user_named(session, "family-doctor")):
        [row] = enqueue(session=session, user_id=user.id, kind="x", title="t", now=clock())
        row.channel, row.status, row.sent_at = "sms", "pending", None  # as 0021 wrote them
        row.kind, row.data = "contract.expiring", {"term_end": term_end.isoformat()}
        rows.append(row)
    session.flush()
    run_task("notifications.dispatch", ctx)
    patients_row, staff_row = (_texts(session, id=r.id)[0] for r in rows)
    assert patients_row.status == "sent" and staff_row.status == "skipped"
    [msg] = [m for m in fake_sms.accepted if m["OutId"] == str(patients_row.id)]
    assert msg["PhoneNumbers"] == p.phone
    assert msg["TemplateParam"] == {"date": f"{term_end:%Y年%m月%d日}"}
    assert [m for m in fake_sms.accepted if m["OutId"] == str(staff_row.id)] == []
