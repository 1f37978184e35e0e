"""A patient who chose Mongolian is texted the Mongolian template (its own approved code,
`kind@mn-Mong`) with times and places written the Mongolian way, through the fake Aliyun
provider; without an approved Mongolian code the Chinese template goes (never English);
every translated template has exactly its Chinese one's parameters."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from referrals.models import Referral
from telemed.core.clock import to_shanghai
from telemed.core.i18n import format_day
from telemed.core.notifications import Notification
from telemed.core.sms import TEMPLATES, TRANSLATED_TEMPLATES, render, template_key
from telemed.jobs.tasks import Context, run_task
from tests.jobs.conftest import TEMPLATE_CODES
from tests.jobs.test_sms_patient_messages import _do, _resident
from tests.referrals.conftest import league_hospital, staff_of, up_referral, user_named
from tests.support.fake_aliyun_sms import FakeAliyunSms

MN_CODES = {template_key(k, "mn-Mong"): f"SMS_97{i:04d}" for i, k in enumerate(TEMPLATES)}


def _sent(session: Session, ctx: Context, fake: FakeAliyunSms, r: Referral) -> dict[str, Any]:
    session.flush()
    run_task("notifications.dispatch", ctx)
    session.expire_all()
    rows = session.execute(select(Notification).where(Notification.channel == "sms")).scalars()
    ids = {str(n.id): n.kind for n in rows if n.data.get("referral_id") == str(r.id)}
    return {ids[m["OutId"]]: m for m in fake.accepted if m["OutId"] in ids}


def _accepted_referral(session: Session, clock: Any) -> tuple[Referral, str]:
    p = _resident(session, clock)
    p.preferred_language = "mn-Mong"
    cd = user_named(session, "county-doctor")
    hospital = league_hospital(session)
    rx = staff_of(session, hospital)[0]
    r = up_referral(session, clock, patient=p)
    _do(session, r, "submit", cd, clock)
    _do(session, r, "receive", rx, clock)
    _do(session, r, "accept", rx, clock)
    return r, hospital.name_zh


def test_a_mongolian_patient_is_texted_the_mongolian_template(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms
) -> None:
    ctx.settings.sms.template_codes = {**TEMPLATE_CODES, **MN_CODES}
    r, place = _accepted_referral(session, clock)
    sent = _sent(session, ctx, fake_sms, r)
    assert set(sent) == {"referral.requested", "referral.accepted"}
    requested = sent["referral.requested"]
    assert requested["TemplateCode"] == MN_CODES["referral.requested@mn-Mong"]
    assert r.contact_by is not None
    day = format_day(to_shanghai(r.contact_by).date(), "mn-Mong")
    assert requested["TemplateParam"] == {"place": place, "date": day}
    assert sent["referral.accepted"]["TemplateCode"] == MN_CODES["referral.accepted@mn-Mong"]
    text = render("referral.accepted", sent["referral.accepted"]["TemplateParam"], "mn-Mong")
    assert text.startswith("ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ") and place in text


def test_without_an_approved_mongolian_code_the_chinese_template_goes(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms
) -> None:
    r, place = _accepted_referral(session, clock)  # ctx has the Chinese codes only
    sent = _sent(session, ctx, fake_sms, r)
    accepted = sent["referral.accepted"]
    assert accepted["TemplateCode"] == TEMPLATE_CODES["referral.accepted"]
    assert accepted["TemplateParam"] == {"place": place}
    requested = sent["referral.requested"]["TemplateParam"]
    assert re.fullmatch(r"\d{4}年\d{2}月\d{2}日", requested["date"])  # written the Chinese way


def test_every_translation_has_its_chinese_templates_parameters() -> None:
    for language, templates in TRANSLATED_TEMPLATES.items():
        assert set(templates) == set(TEMPLATES), language
        for kind, t in templates.items():
            assert t.params == TEMPLATES[kind].params, (language, kind)
            assert set(re.findall(r"\$\{(\w+)\}", t.text)) == set(t.params), (language, kind)
            words = re.sub(r"\$\{\w+\}", "", t.text)
            assert not re.search(r"[A-Za-z\u4e00-\u9fff]", words), (language, kind)  # no zh/en


def test_the_docs_list_exactly_the_mongolian_templates() -> None:
    ops = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    rows = re.findall(r"^\| mn-Mong \| `([a-z_.]+)@mn-Mong` \| (.+?) \|$", ops, flags=re.M)
    assert dict(rows) == {k: t.text for k, t in TRANSLATED_TEMPLATES["mn-Mong"].items()}
