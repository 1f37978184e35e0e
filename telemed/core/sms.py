"""SMS (短信) gateways: Aliyun SMS for production, a logging stand-in for development.

Providers in China send only approved templates: a message is a template code (模板CODE)
plus parameters, under an approved signature (签名). `TEMPLATES` holds our text and
parameters per notification kind (submit these texts for approval; the codes Aliyun
assigns go to `TELEMED_SMS__TEMPLATE_CODES`). `TRANSLATED_TEMPLATES` holds the same kinds in
the other languages patients choose (Mongolian script); their codes go to the same setting
under `kind@language` (`template_key`). A patient who chose a language is texted in it when
its template (and, for Aliyun, its code) exists, else in Chinese, never in English.

Exceptions:
    SmsError             delivery failed; `retryable` tells whether trying later may help
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

import httpx

from telemed.core.i18n import DEFAULT_LANGUAGE, mongolian
from telemed.core.settings import Settings, SmsSettings

__all__ = [
    "TEMPLATES",
    "TRANSLATED_TEMPLATES",
    "AliyunSmsGateway",
    "LoggingSmsGateway",
    "SmsError",
    "SmsGateway",
    "SmsTemplate",
    "build_gateway",
    "render",
    "sign_aliyun",
    "template_key",
    "template_language",
]

log = logging.getLogger("telemed.notifications")


class SmsError(Exception):
    """The provider did not accept the message."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class SmsTemplate:
    """The approved text of one message kind; `${name}` marks a parameter."""

    text: str
    params: tuple[str, ...]


TEMPLATES: dict[str, SmsTemplate] = {
    "waitlist.offer": SmsTemplate(
        "您候补的${time}号源已有空位，已为您保留${minutes}分钟，请尽快登录确认。",
        ("time", "minutes"),
    ),
    "booking.confirmed": SmsTemplate(
        "您已预约${time}在${place}就诊，请按时到达。", ("time", "place")
    ),
    "booking.changed": SmsTemplate("您的预约已改至${time}，地点${place}。", ("time", "place")),
    "booking.cancelled": SmsTemplate("您${time}的预约已取消。", ("time",)),
    "booking.reminder": SmsTemplate(
        "温馨提示：您预约了${time}在${place}就诊，请按时到达。", ("time", "place")
    ),
    "booking.needs_reschedule": SmsTemplate(
        "您${time}的号源因排班调整已撤销，请登录改约。", ("time",)
    ),
    "contract.expiring": SmsTemplate("您的家庭医生签约将于${date}到期，请及时续约。", ("date",)),
    "referral.requested": SmsTemplate(
        "您的转诊申请已提交至${place}，接诊医院将于${date}前与您联系。", ("place", "date")
    ),
    "referral.referred_down": SmsTemplate(
        "医生已将您转回${place}继续治疗康复，该机构将于${date}前与您联系。", ("place", "date")
    ),
    "referral.contact_by": SmsTemplate(
        "您的转诊申请已受理，接诊医院将于${date}前与您联系。", ("date",)
    ),
    "referral.overdue": SmsTemplate(
        "您转往${place}的转诊已过约定联系日期，我们已提醒该院尽快与您联系。", ("place",)
    ),
    "referral.accepted": SmsTemplate(
        "${place}已接收您的转诊，将尽快为您安排就诊时间。", ("place",)
    ),
    "referral.booked": SmsTemplate(
        "您的转诊已预约：请于${time}到${place}就诊。", ("time", "place")
    ),
    "referral.rejected": SmsTemplate(
        "您转往${place}的申请未被接收，请联系您的转诊医生另行安排。", ("place",)
    ),
    "referral.returned_with_advice": SmsTemplate(
        "${place}已就您的转诊给出诊疗建议并转回，请联系您的转诊医生。", ("place",)
    ),
    "referral.cancelled": SmsTemplate("您转往${place}的转诊已取消。", ("place",)),
    "filing.accepted": SmsTemplate(
        "您转往${place}就医的异地就医备案已通过，就医时可直接结算。", ("place",)
    ),
    "filing.rejected": SmsTemplate(
        "您转往${place}就医的异地就医备案未通过，请联系您的转诊医生。", ("place",)
    ),
    "filing.expired": SmsTemplate("您转往${place}就医的异地就医备案已到期。", ("place",)),
}


def _mn(text: str, *params: str) -> SmsTemplate:
    return SmsTemplate(mongolian(text), params)


# Drafted without a native reviewer (see frontend/src/i18n/mn-Mong.glossary.md); place
# names stay as the institutions write them (Chinese), times and dates in Mongolian order.
TRANSLATED_TEMPLATES: dict[str, dict[str, SmsTemplate]] = {
    "mn-Mong": {
        "waitlist.offer": _mn(
            "ᠬᠦᠯᠢᠴᠡᠭᠰᠡᠨ ᠴᠠᠭ ᠰᠤᠯᠠᠯᠠᠪᠠ᠄ ${time}᠃ ${minutes} ᠮᠢᠨᠦᠲ ᠬᠠᠳᠠᠭᠠᠯᠠᠨ~ᠠ᠂ "
            "ᠨᠡᠪᠲᠡᠷᠡᠵᠦ ᠪᠠᠲᠠᠯᠠᠨ~ᠠ ᠤᠤ᠃",
            "time",
            "minutes",
        ),
        "booking.confirmed": _mn(
            "ᠪᠣᠯᠵᠢᠶᠠᠯ ᠠᠮᠵᠢᠯᠲᠠᠢ ᠪᠦᠷᠲᠡᠭᠦᠯᠪᠡ᠄ ${time}᠂ ${place}᠃ ᠴᠠᠭ_ᠲᠤ_ᠪᠠᠨ ᠢᠷᠡᠭᠡᠷᠡᠢ᠃",
            "time",
            "place",
        ),
        "booking.changed": _mn("ᠪᠣᠯᠵᠢᠶᠠᠯ_ᠤᠨ ᠰᠢᠨ~ᠡ ᠴᠠᠭ᠄ ${time}᠂ ${place}᠃", "time", "place"),
        "booking.cancelled": _mn("ᠪᠣᠯᠵᠢᠶᠠᠯ ᠴᠤᠴᠠᠯᠠᠭᠳᠠᠪᠠ᠄ ${time}᠃", "time"),
        "booking.reminder": _mn(
            "ᠰᠠᠨᠠᠭᠤᠯᠤᠮᠵᠢ᠄ ᠲᠠᠨ_ᠤ ᠪᠣᠯᠵᠢᠶᠠᠯ ${time}᠂ ${place}᠃ ᠴᠠᠭ_ᠲᠤ_ᠪᠠᠨ ᠢᠷᠡᠭᠡᠷᠡᠢ᠃",
            "time",
            "place",
        ),
        "booking.needs_reschedule": _mn(
            "ᠡᠮᠴᠢ_ᠶᠢᠨ ᠬᠤᠸᠠᠷᠢ ᠥᠭᠡᠷᠡᠴᠢᠯᠡᠭᠳᠡᠪᠡ᠂ ᠪᠣᠯᠵᠢᠶᠠᠯ ᠬᠦᠴᠦᠨ ᠦᠭᠡᠢ ᠪᠣᠯᠪᠠ᠄ ${time}᠃ "
            "ᠨᠡᠪᠲᠡᠷᠡᠵᠦ ᠴᠠᠭ ᠥᠭᠡᠷᠡᠴᠢᠯᠡᠨ~ᠡ ᠦᠦ᠃",
            "time",
        ),
        "contract.expiring": _mn(
            "ᠭᠡᠷ ᠪᠦᠯᠢ_ᠶᠢᠨ ᠡᠮᠴᠢ_ᠲᠡᠢ ᠪᠠᠶᠢᠭᠤᠯᠤᠭᠰᠠᠨ ᠭᠡᠷ~ᠡ ᠳᠠᠭᠤᠰᠬᠤ ᠡᠳᠦᠷ᠄ ${date}᠃ "
            "ᠴᠠᠭ_ᠲᠤ_ᠨᠢ ᠰᠤᠩᠭᠠᠨ~ᠠ ᠤᠤ᠃",
            "date",
        ),
        "referral.requested": _mn(
            "ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠲᠤᠰᠢᠶᠠᠭᠳᠠᠪᠠ᠄ ${place}᠃ ᠲᠠᠨ_ᠲᠠᠢ ᠬᠣᠯᠪᠣᠭᠳᠠᠬᠤ ᠡᠴᠡᠰ_ᠦᠨ ᠡᠳᠦᠷ᠄ ${date}᠃",
            "place",
            "date",
        ),
        "referral.referred_down": _mn(
            "ᠰᠤᠮᠤ_ᠶᠢᠨ ᠡᠮᠨᠡᠯᠭᠡ_ᠳᠦ ᠪᠤᠴᠠᠭᠠᠨ ᠰᠢᠯᠵᠢᠭᠦᠯᠪᠡ᠄ ${place}᠃ "
            "ᠲᠠᠨ_ᠲᠠᠢ ᠬᠣᠯᠪᠣᠭᠳᠠᠬᠤ ᠡᠴᠡᠰ_ᠦᠨ ᠡᠳᠦᠷ᠄ ${date}᠃",
            "place",
            "date",
        ),
        "referral.contact_by": _mn(
            "ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠢ ᠬᠦᠯᠢᠶᠡᠨ ᠠᠪᠤᠪᠠ᠃ ᠲᠠᠨ_ᠲᠠᠢ ᠬᠣᠯᠪᠣᠭᠳᠠᠬᠤ ᠡᠴᠡᠰ_ᠦᠨ ᠡᠳᠦᠷ᠄ ${date}᠃", "date"
        ),
        "referral.overdue": _mn(
            "ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ_ᠦᠨ ᠬᠣᠯᠪᠣᠭᠳᠠᠬᠤ ᠡᠳᠦᠷ ᠥᠩᠭᠡᠷᠡᠪᠡ᠄ ${place}᠃ ᠲᠠᠨ_ᠲᠠᠢ ᠬᠣᠯᠪᠣᠭᠳᠠᠬᠤ ᠶᠢ ᠰᠠᠨᠠᠭᠤᠯᠪᠠ᠃",
            "place",
        ),
        "referral.accepted": _mn(
            "ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠢ ᠵᠥᠪᠰᠢᠶᠡᠷᠡᠪᠡ᠄ ${place}᠃ ᠤᠳᠠᠯ ᠦᠭᠡᠢ ᠴᠠᠭ ᠪᠦᠷᠲᠡᠭᠦᠯᠦᠨ~ᠡ᠃", "place"
        ),
        "referral.booked": _mn("ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ_ᠦᠨ ᠴᠠᠭ᠄ ${time}᠂ ${place}᠃", "time", "place"),
        "referral.rejected": _mn(
            "ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠲᠡᠪᠴᠢᠭᠳᠡᠪᠡ᠄ ${place}᠃ ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠭᠰᠡᠨ ᠡᠮᠴᠢ_ᠲᠡᠢ_ᠪᠡᠨ ᠬᠣᠯᠪᠣᠭᠳᠠᠨ~ᠠ ᠤᠤ᠃",
            "place",
        ),
        "referral.returned_with_advice": _mn(
            "ᠰᠠᠨᠠᠯ_ᠲᠠᠢ ᠪᠤᠴᠠᠭᠠᠪᠠ᠄ ${place}᠃ ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠭᠰᠡᠨ ᠡᠮᠴᠢ_ᠲᠡᠢ_ᠪᠡᠨ ᠬᠣᠯᠪᠣᠭᠳᠠᠨ~ᠠ ᠤᠤ᠃",
            "place",
        ),
        "referral.cancelled": _mn("ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠴᠤᠴᠠᠯᠠᠭᠳᠠᠪᠠ᠄ ${place}᠃", "place"),
        # the cross-region filing (备案 as "registration", ᠪᠦᠷᠲᠡᠭᠡᠯ)
        "filing.accepted": _mn("ᠪᠦᠷᠲᠡᠭᠡᠯ ᠵᠥᠪᠰᠢᠶᠡᠷᠡᠭᠳᠡᠪᠡ᠄ ${place}᠃", "place"),
        "filing.rejected": _mn("ᠪᠦᠷᠲᠡᠭᠡᠯ ᠲᠡᠪᠴᠢᠭᠳᠡᠪᠡ᠄ ${place}᠃", "place"),
        "filing.expired": _mn("ᠪᠦᠷᠲᠡᠭᠡᠯ_ᠦᠨ ᠬᠤᠭᠤᠴᠠᠭ~ᠠ ᠳᠠᠭᠤᠰᠪᠠ᠄ ${place}᠃", "place"),
    }
}


def template_key(kind: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The key of a template's provider code in `TELEMED_SMS__TEMPLATE_CODES`: the kind for
    Chinese, `kind@language` for a translation (booking.confirmed@mn-Mong)."""
    return kind if language == DEFAULT_LANGUAGE else f"{kind}@{language}"


def template_language(settings: SmsSettings, kind: str, preferred: str | None) -> str:
    """The language to text `kind` in for a patient who prefers `preferred`: theirs when
    its template exists (and, for Aliyun, has an approved code), else Chinese."""
    translated = TRANSLATED_TEMPLATES.get(preferred or "", {})
    if kind not in translated or preferred is None:
        return DEFAULT_LANGUAGE
    if settings.provider == "aliyun" and template_key(kind, preferred) not in (
        settings.template_codes
    ):
        return DEFAULT_LANGUAGE
    return preferred


def render(kind: str, params: dict[str, str], language: str = DEFAULT_LANGUAGE) -> str:
    """The text a recipient reads (what the provider composes from the template)."""
    template = TRANSLATED_TEMPLATES.get(language, {}).get(kind) or TEMPLATES[kind]
    text = template.text
    for name, value in params.items():
        text = text.replace("${" + name + "}", value)
    return text


class SmsGateway(Protocol):
    def send(
        self, *, phone: str, kind: str, params: dict[str, str], out_id: str, language: str = "zh-CN"
    ) -> str:
        """Send one templated SMS (the template of `kind` in `language`); return the
        provider's message id, or raise SmsError."""


def _mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "***"


class LoggingSmsGateway:
    """Development: logs the rendered message (phone masked) instead of sending it."""

    def send(
        self, *, phone: str, kind: str, params: dict[str, str], out_id: str, language: str = "zh-CN"
    ) -> str:
        text = render(kind, params, language)
        log.info("sms", extra={"phone": _mask(phone), "kind": kind, "text": text})
        return f"log-{out_id}"


def _pct(value: str) -> str:
    """RFC 3986 percent-encoding as Aliyun's signature requires (space is %20, ~ kept)."""
    return quote(value, safe="-_.~")


def sign_aliyun(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Aliyun RPC signature (V1.0): HMAC-SHA1 with `secret&` over
    METHOD&%2F&pct(canonicalized query), base64."""
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_pct('/')}&{_pct(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Aliyun error codes that trying again later will not fix.
_PERMANENT = {
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.INVALID_PARAMETERS",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "InvalidAccessKeyId.NotFound",
    "SignatureDoesNotMatch",
}


class AliyunSmsGateway:
    """Aliyun SMS `SendSms` (API version 2017-05-25), signed RPC request over HTTPS."""

    def __init__(self, settings: SmsSettings, *, client: httpx.Client | None = None) -> None:
        assert settings.access_key_id and settings.access_key_secret and settings.sign_name
        self._s = settings
        self._client = client or httpx.Client(timeout=settings.timeout_seconds)

    def send(
        self, *, phone: str, kind: str, params: dict[str, str], out_id: str, language: str = "zh-CN"
    ) -> str:
        key = template_key(kind, language)
        code = self._s.template_codes.get(key)
        if not code:
            raise SmsError(f"no template code configured for {key!r}", retryable=False)
        query = {
            "AccessKeyId": self._s.access_key_id or "",
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": self._s.region_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
            "PhoneNumbers": phone,
            "SignName": self._s.sign_name or "",
            "TemplateCode": code,
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
            "OutId": out_id,
        }
        query["Signature"] = sign_aliyun(query, self._s.access_key_secret or "")
        try:
            r = self._client.post(self._s.endpoint, data=query)
        except httpx.HTTPError as exc:
            raise SmsError(f"provider unreachable: {type(exc).__name__}") from exc
        try:
            body = r.json()
        except ValueError:
            raise SmsError(f"provider answered HTTP {r.status_code} without JSON") from None
        result = str(body.get("Code", ""))
        if result == "OK":
            return str(body.get("BizId", ""))
        message = f"{result or r.status_code}: {body.get('Message', '')}"[:300]
        raise SmsError(message, retryable=result not in _PERMANENT)


def build_gateway(settings: Settings) -> SmsGateway:
    """The configured gateway; the logging one is refused in production."""
    if settings.sms.provider == "aliyun":
        return AliyunSmsGateway(settings.sms)
    if settings.env == "production":
        raise RuntimeError(
            "TELEMED_SMS__PROVIDER=log only logs messages; configure Aliyun SMS in production"
        )
    return LoggingSmsGateway()
