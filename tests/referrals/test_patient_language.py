"""A patient who chose Mongolian reads their referral and their family-doctor contract in
Mongolian script (their accounts' in-app messages and the SMS row of each event); the
doctors of the referral and the team lead read theirs in their own language (zh-CN when
none is chosen); every row keeps its message code and parameters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from referrals import service as referrals_service
from referrals.family import contracts
from referrals.models import Referral
from telemed.core.i18n import format_day, format_moment
from telemed.core.notifications import Notification
from telemed.core.settings import get_settings
from telemed.identity.models import Patient, User
from tests.referrals import conftest as world


def _mongolian_resident(session: Session) -> tuple[Patient, User]:
    p = world.new_patient(session, with_user=True)
    p.preferred_language = "mn-Mong"
    account = session.execute(select(User).where(User.patient_id == p.id)).scalar_one()
    return p, account


def _rows(session: Session, kind: str, key: str, value: str) -> list[Notification]:
    session.flush()
    found = session.execute(select(Notification).where(Notification.kind == kind)).scalars()
    return [n for n in found if n.data.get(key) == value]


def _step(session: Session, r: Referral, action: str, by: User, clock: Any, **kw: Any) -> None:
    kw.update(session=session, referral_id=r.id, action=action, by=by, now=clock())
    referrals_service.transition(settings=get_settings(), **kw)


def test_the_referral_is_told_to_a_mongolian_patient_in_mongolian(
    session: Session, clock: Any
) -> None:
    p, account = _mongolian_resident(session)
    cd = world.user_named(session, "county-doctor")
    p.institution_id = cd.institution_id
    rx = world.staff_of(session, world.league_hospital(session))[0]
    r = world.up_referral(session, clock, patient=p)
    _step(session, r, "submit", cd, clock)
    sent = {
        (n.channel, n.user_id): n
        for n in _rows(session, "referral.requested", "referral_id", str(r.id))
    }
    mine = sent[("in_app", account.id)]
    assert mine.title == "ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠢ ᠲᠤᠰᠢᠶᠠᠪᠠ"
    assert r.contact_by is not None and format_moment(r.contact_by, "mn-Mong") in mine.body
    assert (sent[("sms", None)].title, sent[("sms", None)].body) == (mine.title, mine.body)
    staff = [n for (channel, uid), n in sent.items() if channel == "in_app" and uid != account.id]
    assert staff and all(n.title == "新转诊申请" for n in staff)
    assert all(n.code == "referral.requested.staff" for n in staff)
    assert staff[0].params["direction"] == "up" and staff[0].params["urgency"] == r.urgency
    assert staff[0].body.startswith("上转，")
    assert mine.code == "referral.requested" and mine.params["date"] == r.contact_by.isoformat()

    cd.language = "en"  # the referrer reads English from now on

    _step(session, r, "receive", rx, clock)
    _step(session, r, "reject", rx, clock, reason="本周无床位")
    told = _rows(session, "referral.rejected", "referral_id", str(r.id))
    [mine] = [n for n in told if n.user_id == account.id]
    assert (mine.title, mine.body) == ("ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠲᠡᠪᠴᠢᠭᠳᠡᠪᠡ", "本周无床位")
    [referrer] = [n for n in told if n.user_id == cd.id]
    assert (referrer.title, referrer.body) == ("Referral rejected", "本周无床位")
    assert (referrer.code, referrer.params["status"]) == ("referral.status.staff", "rejected")


def test_the_contract_is_told_to_a_mongolian_resident_in_mongolian(
    session: Session, clock: Any
) -> None:
    p, account = _mongolian_resident(session)
    team, fd = world.demo_team(session), world.user_named(session, "family-doctor")
    c = contracts.sign_contract(
        session=session, patient_id=p.id, team_id=team.id, package_codes=["hypertension"],
        by=fd, now=clock.at, settings=get_settings(), consent=world.CONSENT,
    )  # fmt: skip
    [active] = _rows(session, "contract.active", "contract_id", str(c.id))
    assert active.user_id == account.id
    assert active.title == "ᠭᠡᠷ ᠪᠦᠯᠢ\u202fᠶᠢᠨ ᠡᠮᠴᠢ\u202fᠲᠡᠢ ᠭᠡᠷ\u180eᠡ ᠬᠦᠴᠦᠨ\u202fᠲᠡᠢ ᠪᠣᠯᠪᠠ"
    assert format_day(c.term_end, "mn-Mong") in active.body

    clock.at = clock.at + timedelta(days=345)
    contracts.run_contract_jobs(session=session, now=clock.at, settings=get_settings())
    expiring = {
        (n.channel, n.user_id): n
        for n in _rows(session, "contract.expiring", "contract_id", str(c.id))
    }
    assert expiring[("in_app", account.id)].title.startswith("ᠭᠡᠷ\u180eᠡ\u202fᠶᠢᠨ")
    assert expiring[("sms", None)].title == expiring[("in_app", account.id)].title
    lead = expiring[("in_app", team.lead_doctor_id)]
    assert (lead.title, lead.code) == ("家庭医生签约即将到期", "contract.expiring.staff")
    assert lead.params["end"] == c.term_end.isoformat()
