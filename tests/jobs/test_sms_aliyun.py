"""SMS through a local Aliyun endpoint that checks our signatures."""

from __future__ import annotations

import pytest

from telemed.core.sms import AliyunSmsGateway, SmsError, render, sign_aliyun
from tests.jobs.conftest import aliyun_settings
from tests.support.fake_aliyun_sms import FakeAliyunSms, expected_signature


def test_a_signed_send_sms_is_accepted_with_template_and_parameters(
    fake_sms: FakeAliyunSms,
) -> None:
    gateway = AliyunSmsGateway(aliyun_settings(fake_sms))
    biz = gateway.send(
        phone="13800000017",
        kind="waitlist.offer",
        params={"time": "12月02日 08:30", "minutes": "120"},
        out_id="n-1",
    )
    assert biz == "biz-1"
    [msg] = fake_sms.accepted
    assert (msg["PhoneNumbers"], msg["SignName"], msg["TemplateCode"], msg["OutId"]) == (
        "13800000017",
        "内蒙古远程医疗",
        "SMS_900001",
        "n-1",
    )
    assert msg["TemplateParam"] == {"time": "12月02日 08:30", "minutes": "120"}
    assert msg["SignatureMethod"] == "HMAC-SHA1" and msg["Action"] == "SendSms"


def test_a_wrong_secret_is_refused_by_the_provider_and_not_retried(
    fake_sms: FakeAliyunSms,
) -> None:
    gateway = AliyunSmsGateway(aliyun_settings(fake_sms, secret="not-the-secret"))
    with pytest.raises(SmsError) as exc:
        gateway.send(phone="13800000017", kind="waitlist.offer", params={}, out_id="n-2")
    assert "SignatureDoesNotMatch" in str(exc.value) and exc.value.retryable is False
    assert fake_sms.accepted == [] and [r["code"] for r in fake_sms.refused] == [
        "SignatureDoesNotMatch"
    ]
    assert "not-the-secret" not in str(exc.value)


def test_our_signature_matches_the_documented_algorithm_on_chinese_and_reserved_text() -> None:
    params = {"SignName": "内蒙古 远程~医疗*", "TemplateParam": '{"a":"b c+d"}', "X": "/&="}
    assert sign_aliyun(params, "s3cret") == expected_signature(params, "s3cret", "POST")


def test_a_kind_without_an_approved_template_code_is_a_permanent_failure(
    fake_sms: FakeAliyunSms,
) -> None:
    gateway = AliyunSmsGateway(aliyun_settings(fake_sms, template_codes={}))
    with pytest.raises(SmsError) as exc:
        gateway.send(phone="13800000017", kind="waitlist.offer", params={}, out_id="n-3")
    assert exc.value.retryable is False and fake_sms.accepted == []


def test_templates_render_in_chinese_with_their_parameters() -> None:
    text = render("waitlist.offer", {"time": "12月02日 08:30", "minutes": "120"})
    assert text == "您候补的12月02日 08:30号源已有空位，已为您保留120分钟，请尽快登录确认。"
