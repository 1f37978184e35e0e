"""Every message that should reach a patient by SMS has a Chinese template and goes through
consent: the referral messages (sent, contact date, accepted, appointment, rejected,
returned, cancelled, referred back down) through the fake Aliyun provider, which checks
each request's signature; staff are never texted; the docs and .env.example list exactly
the templates there are."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from referrals import service as referrals_service
from referrals.family import contracts
from referrals.models import Referral
from referrals.schemas import ReferralCreate
from telemed.core.clock import to_shanghai
from telemed.core.notifications import Notification
from telemed.core.settings import Settings, get_settings
from telemed.core.sms import TEMPLATES
from telemed.identity.models import Patient, User
from telemed.jobs.tasks import Context, run_task
from telemed.network.models import Institution
from tests.jobs.conftest import TEMPLATE_CODES
from tests.referrals.conftest import (
    CONSENT,
    demo_team,
    league_hospital,
    new_patient,
    reserved_slot,
    staff_of,
    up_referral,
    user_named,
)
from tests.support.fake_aliyun_sms import FakeAliyunSms

ROOT = Path(__file__).resolve().parents[2]
PHONE = "13912345678"


def _resident(session: Session, clock: Any, *, consent: bool = True) -> Patient:
    """A resident of the county doctor's area with an account and a phone."""
    p = new_patient(session, with_user=True)
    p.institution_id = user_named(session, "county-doctor").institution_id
    p.phone = PHONE
    p.sms_consent_at = clock() if consent else None
    session.flush()
    return p


def _do(session: Session, r: Referral, action: str, by: User, clock: Any, **kw: Any) -> None:
    referrals_service.transition(
        session=session,
        referral_id=r.id,
        action=action,
        by=by,
        now=clock(),
        settings=get_settings(),
        **kw,
    )


def _dispatch(session: Session, ctx: Context) -> dict[str, Any]:
    """What the request's commit would do (write the outbox rows), then the runner's task."""
    session.flush()
    return run_task("notifications.dispatch", ctx)


def _sms_rows(session: Session, referral: Referral) -> list[Notification]:
    session.expire_all()
    rows = session.execute(select(Notification).where(Notification.channel == "sms")).scalars()
    return [n for n in rows if n.data.get("referral_id") == str(referral.id)]


def _sent_to_provider(fake: FakeAliyunSms, rows: list[Notification]) -> dict[str, Any]:
    """What the provider accepted for these rows, by kind (each exactly once)."""
    out: dict[str, Any] = {}
    for n in rows:
        mine = [m for m in fake.accepted if m["OutId"] == str(n.id)]
        assert len(mine) == 1, (n.kind, n.status, n.last_error)
        out[n.kind] = mine[0]
    return out


def _place(session: Session, r: Referral) -> str:
    inst = session.get(Institution, r.to_institution_id)
    assert inst is not None
    return inst.name_zh


def test_the_referral_journey_texts_the_consenting_patient_each_step(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms
) -> None:
    cd = user_named(session, "county-doctor")
    rx = staff_of(session, league_hospital(session))[0]
    p = _resident(session, clock)
    r = up_referral(session, clock, patient=p)
    _do(session, r, "submit", cd, clock)
    first_date = r.contact_by
    assert _dispatch(session, ctx)["dead"] == 0
    _do(session, r, "receive", rx, clock)
    new_date = clock() + timedelta(days=5, hours=20)  # 21:00 UTC: the next day in Shanghai
    referrals_service.set_contact_by(
        session=session, referral_id=r.id, by=rx, now=clock(), contact_by=new_date, reason="床位"
    )
    assert _dispatch(session, ctx)["dead"] == 0
    _do(session, r, "accept", rx, clock)
    at = clock() + timedelta(days=3, hours=1)
    _do(session, r, "book", rx, clock, appointment_at=at)
    _dispatch(session, ctx)

    rows = _sms_rows(session, r)
    # addressed to the patient, not to an account: staff are not texted
    assert {(n.user_id, n.patient_id) for n in rows} == {(None, p.id)}
    assert len(rows) == len({n.kind for n in rows})  # one text per event
    assert all(n.status == "sent" for n in rows), [(n.kind, n.status, n.last_error) for n in rows]
    sent = _sent_to_provider(fake_sms, rows)
    assert set(sent) == {
        "referral.requested",
        "referral.contact_by",
        "referral.accepted",
        "referral.booked",
    }
    place = _place(session, r)
    assert first_date == clock() + timedelta(days=14)
    first = f"{to_shanghai(first_date):%Y年%m月%d日}"
    later = f"{to_shanghai(new_date):%Y年%m月%d日}"
    assert later == f"{(new_date + timedelta(days=1)).date():%Y年%m月%d日}"  # Shanghai, not UTC
    assert sent["referral.requested"]["TemplateParam"] == {"place": place, "date": first}
    assert sent["referral.contact_by"]["TemplateParam"] == {"date": later}
    assert sent["referral.accepted"]["TemplateParam"] == {"place": place}
    assert sent["referral.booked"]["TemplateParam"] == {
        "time": f"{to_shanghai(at):%m月%d日 %H:%M}",
        "place": place,
    }
    for kind, msg in sent.items():
        assert msg["TemplateCode"] == TEMPLATE_CODES[kind]
        assert (msg["PhoneNumbers"], msg["SignName"]) == (PHONE, "内蒙古远程医疗")
    assert fake_sms.refused == []  # every request carried a signature the provider accepts


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("reject", "本周无心内科床位"),
        ("return_with_advice", "基层可处理：加用他汀"),
        ("cancel", "患者已好转"),
    ],
)
def test_an_ending_is_texted_with_the_receivers_name(
    session: Session,
    clock: Any,
    ctx: Context,
    fake_sms: FakeAliyunSms,
    action: str,
    reason: str,
) -> None:
    cd = user_named(session, "county-doctor")
    rx = staff_of(session, league_hospital(session))[0]
    r = up_referral(session, clock, patient=_resident(session, clock))
    _do(session, r, "submit", cd, clock)
    if action != "cancel":
        _do(session, r, "receive", rx, clock)
    _do(session, r, action, cd if action == "cancel" else rx, clock, reason=reason)
    _dispatch(session, ctx)
    kind = f"referral.{r.status}"
    rows = [n for n in _sms_rows(session, r) if n.kind == kind]
    msg = _sent_to_provider(fake_sms, rows)[kind]
    assert msg["TemplateCode"] == TEMPLATE_CODES[kind]
    assert msg["TemplateParam"] == {"place": _place(session, r)}


def test_a_patient_whose_contact_date_passed_is_told_once_that_the_receiver_was_chased(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms
) -> None:
    cd = user_named(session, "county-doctor")
    r = up_referral(session, clock, patient=_resident(session, clock), urgency="urgent")
    _do(session, r, "submit", cd, clock)
    session.flush()
    for _ in range(2):  # past the date, then a day later while still breached
        clock.advance(days=3)
        assert run_task("referrals.contact_by", ctx)["escalated"] >= 1
    _dispatch(session, ctx)
    session.refresh(r)
    assert r.escalation_level == 2
    rows = [n for n in _sms_rows(session, r) if n.kind == "referral.overdue"]
    assert len(rows) == 1  # once, not every day
    msg = _sent_to_provider(fake_sms, rows)["referral.overdue"]
    assert msg["TemplateCode"] == TEMPLATE_CODES["referral.overdue"]
    assert msg["TemplateParam"] == {"place": _place(session, r)}


def test_a_patient_referred_back_down_is_told_where_and_by_when(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms
) -> None:
    team, fd = demo_team(session), user_named(session, "family-doctor")
    cd = user_named(session, "county-doctor")
    p = _resident(session, clock)
    contracts.sign_contract(
        session=session, patient_id=p.id, team_id=team.id, package_codes=["rehabilitation"],
        by=fd, now=clock(), settings=get_settings(), consent=CONSENT,
    )  # fmt: skip
    r = referrals_service.create_referral(
        session=session,
        data=ReferralCreate(
            patient_id=p.id,
            direction="down",
            reason="术后康复回社区",
            diagnosis_code="S72.0",
            care_plan="每周2次康复训练",
        ),
        by=cd,
        now=clock(),
        settings=get_settings(),
    )
    _do(session, r, "submit", cd, clock)
    _dispatch(session, ctx)
    [row] = _sms_rows(session, r)
    assert row.kind == "referral.referred_down"
    msg = _sent_to_provider(fake_sms, [row])["referral.referred_down"]
    assert msg["TemplateParam"] == {
        "place": _place(session, r),
        "date": f"{to_shanghai(r.contact_by):%Y年%m月%d日}",  # type: ignore[arg-type]
    }
    assert _place(session, r) == session.get(Institution, team.institution_id).name_zh  # type: ignore[union-attr]


def test_a_slot_booking_is_texted_once_by_scheduling_with_time_and_place(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms
) -> None:
    cd = user_named(session, "county-doctor")
    hospital = league_hospital(session)
    rx = staff_of(session, hospital)[0]
    p = _resident(session, clock)
    r = up_referral(session, clock, patient=p)
    for action, by in (("submit", cd), ("receive", rx), ("accept", rx)):
        _do(session, r, action, by, clock)
    slot = reserved_slot(session, hospital, clock() + timedelta(days=4), reserved=0)
    _do(session, r, "book", rx, clock, slot_id=slot.id)
    _dispatch(session, ctx)
    kinds = [n.kind for n in _sms_rows(session, r)]
    assert "referral.booked" not in kinds  # the booking's own message says it
    booking_sms = [
        m
        for m in fake_sms.accepted
        if m["TemplateCode"] == TEMPLATE_CODES["booking.confirmed"] and m["PhoneNumbers"] == PHONE
    ]
    assert len(booking_sms) == 1
    assert booking_sms[0]["TemplateParam"] == {
        "time": f"{to_shanghai(slot.start_at):%m月%d日 %H:%M}",
        "place": hospital.name_zh,
    }


def test_a_patient_without_sms_consent_is_not_texted(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms
) -> None:
    cd = user_named(session, "county-doctor")
    rx = staff_of(session, league_hospital(session))[0]
    r = up_referral(session, clock, patient=_resident(session, clock, consent=False))
    for action in ("submit", "receive", "accept"):
        _do(session, r, action, cd if action == "submit" else rx, clock)
    _dispatch(session, ctx)
    rows = _sms_rows(session, r)
    assert {n.kind for n in rows} == {"referral.requested", "referral.accepted"}
    assert {n.status for n in rows} == {"skipped"}
    assert [m for m in fake_sms.accepted if m["PhoneNumbers"] == PHONE] == []


def test_a_message_whose_parameters_cannot_be_filled_is_a_dead_letter_not_a_holed_text(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms
) -> None:
    cd = user_named(session, "county-doctor")
    r = up_referral(session, clock, patient=_resident(session, clock))
    _do(session, r, "submit", cd, clock)
    [row] = _sms_rows(session, r)
    row.data = {**row.data, "referral_id": "00000000-0000-7000-8000-000000000000"}
    session.flush()
    _dispatch(session, ctx)
    session.expire_all()
    got = session.get(Notification, row.id)
    assert got is not None and got.status == "dead"
    assert "place" in (got.last_error or "") and "date" in (got.last_error or "")
    assert [m for m in fake_sms.accepted if m["OutId"] == str(row.id)] == []


def test_the_docs_and_the_env_example_list_exactly_the_templates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ops = (ROOT / "docs" / "operations.md").read_text()
    documented = dict(re.findall(r"^\| `([a-z_.]+)` \| (.+?) \|$", ops, flags=re.M))
    documented = {k: v for k, v in documented.items() if "${" in v or k in TEMPLATES}
    assert documented == {k: t.text for k, t in TEMPLATES.items()}
    for kind, t in TEMPLATES.items():  # every parameter appears in its text, and only those
        assert set(re.findall(r"\$\{(\w+)\}", t.text)) == set(t.params), kind
    line = next(
        x
        for x in (ROOT / ".env.example").read_text().splitlines()
        if x.startswith("TELEMED_SMS__TEMPLATE_CODES=")
    )
    value = line.split("=", 1)[1]
    assert set(json.loads(value)) == set(TEMPLATES)
    # and the variable is what configures the gateway's codes
    monkeypatch.setenv("TELEMED_SMS__TEMPLATE_CODES", value)
    assert set(Settings(_env_file=None).sms.template_codes) == set(TEMPLATES)  # type: ignore[call-arg]
