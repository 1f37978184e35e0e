"""What a patient is told about their referral and their family-doctor contract, and what
the doctors of a referral and the team lead are told (`*.staff` codes), each in the
language they chose, zh-CN when none (in-app title and body; the SMS templates are in
telemed.core.sms). Codes among the parameters (direction, urgency, status) are `Term`s
named per language below.

The Mongolian texts were drafted without a native reviewer (see
frontend/src/i18n/mn-Mong.glossary.md); a kind missing in a language falls back to zh-CN.
`{reason}` is the staff's own words, shown as written.
"""

from __future__ import annotations

from telemed.core.i18n import Catalogue, Message, mongolian

__all__ = ["DIRECTIONS", "MESSAGES", "STATUSES", "URGENCIES"]

_M = mongolian
_CONTACTED_ZH = "接诊医院将于 {date} 前与您联系。"
_CONTACTED_EN = "You will be contacted by {date}."
_CONTACTED_MN = _M("ᠲᠠᠨ_ᠲᠠᠢ ᠬᠣᠯᠪᠣᠭᠳᠠᠬᠤ ᠡᠴᠡᠰ_ᠦᠨ ᠡᠳᠦᠷ᠄ {date}᠃")


def _status(zh: str, en: str, mn: str) -> dict[str, Message]:
    """A change of the referral's state: the receiver's reason (if any) is the body."""
    return {
        "zh-CN": Message(zh, "{reason}"),
        "en": Message(en, "{reason}"),
        "mn-Mong": Message(_M(mn), "{reason}"),
    }


MESSAGES: Catalogue = {
    "referral.requested": {
        "zh-CN": Message("转诊已提交", _CONTACTED_ZH),
        "en": Message("Your referral is sent", _CONTACTED_EN),
        "mn-Mong": Message(_M("ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠢ ᠲᠤᠰᠢᠶᠠᠪᠠ"), _CONTACTED_MN),
    },
    "referral.referred_down": {
        "zh-CN": Message("转回基层", "基层医疗机构将于 {date} 前与您联系。"),
        "en": Message("You are referred back", _CONTACTED_EN),
        "mn-Mong": Message(_M("ᠰᠤᠮᠤ_ᠶᠢᠨ ᠡᠮᠨᠡᠯᠭᠡ_ᠳᠦ ᠪᠤᠴᠠᠭᠠᠨ ᠰᠢᠯᠵᠢᠭᠦᠯᠪᠡ"), _CONTACTED_MN),
    },
    "referral.contact_by": {
        "zh-CN": Message("转诊联系日期", _CONTACTED_ZH),
        "en": Message("When you will hear back", _CONTACTED_EN),
        "mn-Mong": Message(_M("ᠬᠣᠯᠪᠣᠭᠳᠠᠬᠤ ᠡᠳᠦᠷ"), _CONTACTED_MN),
    },
    "referral.overdue": {
        "zh-CN": Message("转诊尚未安排", "我们已提醒接诊医院尽快与您联系。"),
        "en": Message(
            "Your referral is overdue", "The receiving hospital has been reminded to contact you."
        ),
        "mn-Mong": Message(
            _M("ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ_ᠦᠨ ᠬᠣᠯᠪᠣᠭᠳᠠᠬᠤ ᠡᠳᠦᠷ ᠥᠩᠭᠡᠷᠡᠪᠡ"),
            _M("ᠬᠦᠯᠢᠶᠡᠨ ᠠᠪᠬᠤ ᠡᠮᠨᠡᠯᠭᠡ_ᠳᠦ ᠲᠠᠨ_ᠲᠠᠢ ᠬᠣᠯᠪᠣᠭᠳᠠᠬᠤ ᠶᠢ ᠰᠠᠨᠠᠭᠤᠯᠪᠠ᠃"),
        ),
    },
    "referral.accepted": _status(
        "转诊已接收", "Your referral is accepted", "ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠢ ᠵᠥᠪᠰᠢᠶᠡᠷᠡᠪᠡ"
    ),
    "referral.rejected": _status(
        "转诊未被接收", "Your referral was not accepted", "ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠲᠡᠪᠴᠢᠭᠳᠡᠪᠡ"
    ),
    "referral.returned_with_advice": _status(
        "转诊已给出建议并转回", "Your referral was returned with advice", "ᠰᠠᠨᠠᠯ_ᠲᠠᠢ ᠪᠤᠴᠠᠭᠠᠪᠠ"
    ),
    "referral.booked": _status(
        "转诊已预约", "Your referral appointment is booked", "ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ_ᠦᠨ ᠴᠠᠭ ᠪᠦᠷᠲᠡᠭᠦᠯᠪᠡ"
    ),
    "referral.completed": _status(
        "转诊就诊已完成", "Your referral visit is completed", "ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠳᠠᠭᠤᠰᠪᠠ"
    ),
    "referral.cancelled": _status(
        "转诊已取消", "Your referral is cancelled", "ᠰᠢᠯᠵᠢᠭᠦᠯᠦᠯᠲ ᠴᠤᠴᠠᠯᠠᠭᠳᠠᠪᠠ"
    ),
    "contract.active": {
        "zh-CN": Message("家庭医生签约已生效", "签约期 {start} 至 {end}。"),
        "en": Message("Family-doctor contract active", "Term {start} to {end}."),
        "mn-Mong": Message(
            _M("ᠭᠡᠷ ᠪᠦᠯᠢ_ᠶᠢᠨ ᠡᠮᠴᠢ_ᠲᠡᠢ ᠭᠡᠷ~ᠡ ᠬᠦᠴᠦᠨ_ᠲᠡᠢ ᠪᠣᠯᠪᠠ"),
            _M("ᠬᠤᠭᠤᠴᠠᠭ~ᠠ᠄ {start} — {end}᠃"),
        ),
    },
    "contract.expiring": {
        "zh-CN": Message("家庭医生签约即将到期", "签约将于 {end} 到期，请及时续约。"),
        "en": Message(
            "Contract expires soon", "The contract ends on {end}; renew to keep your family doctor."
        ),
        "mn-Mong": Message(
            _M("ᠭᠡᠷ~ᠡ_ᠶᠢᠨ ᠬᠤᠭᠤᠴᠠᠭ~ᠠ ᠳᠠᠭᠤᠰᠬᠤ ᠳᠥᠭᠡᠷᠡᠪᠡ"),
            _M("ᠳᠠᠭᠤᠰᠬᠤ ᠡᠳᠦᠷ᠄ {end}᠃ ᠭᠡᠷ~ᠡ_ᠶᠢ ᠴᠠᠭ_ᠲᠤ_ᠨᠢ ᠰᠤᠩᠭᠠᠨ~ᠠ ᠤᠤ᠃"),
        ),
    },
    # the cross-region filing (异地就医备案): {number} the agency's 流水号, {valid_to} its
    # last valid day, {reason}/{code_of_agency} the agency's words and code of a refusal
    "filing.accepted": {
        "zh-CN": Message(
            "异地就医备案已通过", "备案号 {number}，有效期至 {valid_to}，可直接结算。"
        ),
        "en": Message(
            "Cross-region filing accepted",
            "Filing {number}, valid until {valid_to}: treatment is settled directly.",
        ),
    },
    "filing.rejected": {
        "zh-CN": Message("异地就医备案未通过", "医保经办机构：{reason}。请联系您的转诊医生。"),
        "en": Message(
            "Cross-region filing not accepted",
            "The insurance agency said: {reason}. Please contact your referring doctor.",
        ),
    },
    "filing.expired": {
        "zh-CN": Message("异地就医备案已到期", "备案号 {number} 已于 {valid_to} 到期。"),
        "en": Message("Cross-region filing expired", "Filing {number} ended on {valid_to}."),
    },
    # what the staff of a referral read (the referrer, the receiver, the team lead)
    "referral.requested.staff": {
        "zh-CN": Message("新转诊申请", "{direction}，{urgency}；请于 {date} 前联系患者。"),
        "en": Message(
            "New referral", "{direction} referral, {urgency}; contact the patient by {date}."
        ),
    },
    "referral.status.staff": {
        "zh-CN": Message("转诊{status}", "{reason}"),
        "en": Message("Referral {status}", "{reason}"),
    },
    "referral.outcome.staff": {
        "zh-CN": Message("转诊结果已回传", "请确认结果，完成闭环。"),
        "en": Message("Referral outcome received", "Acknowledge the outcome to close the loop."),
    },
    "referral.contact_by.staff": {
        "zh-CN": Message("转诊联系日期", "接诊医院将于 {date} 前联系患者。"),
        "en": Message("When the patient hears back", "The patient will be contacted by {date}."),
    },
    "referral.breach.staff": {
        "zh-CN": Message("转诊逾期未联系", "已升级（第 {level} 级）。"),
        "en": Message("Referral past its contact date", "Escalation level {level}."),
    },
    "filing.accepted.staff": {
        "zh-CN": Message("异地就医备案已通过", "备案号 {number}，有效期至 {valid_to}。"),
        "en": Message("Cross-region filing accepted", "Filing {number}, valid until {valid_to}."),
    },
    "filing.rejected.staff": {
        "zh-CN": Message("异地就医备案未通过", "医保经办机构（{code_of_agency}）：{reason}"),
        "en": Message(
            "Cross-region filing rejected", "The insurance agency ({code_of_agency}): {reason}"
        ),
    },
    "filing.expired.staff": {
        "zh-CN": Message("异地就医备案已到期", "备案号 {number} 已于 {valid_to} 到期。"),
        "en": Message("Cross-region filing expired", "Filing {number} ended on {valid_to}."),
    },
    "contract.expiring.staff": {
        "zh-CN": Message("家庭医生签约即将到期", "签约将于 {end} 到期，请提醒居民续约。"),
        "en": Message(
            "Contract expires soon", "The contract ends on {end}; remind the resident to renew."
        ),
    },
}

DIRECTIONS: dict[str, dict[str, str]] = {
    "zh-CN": {"up": "上转", "down": "下转", "lateral": "平级转诊"},
    "en": {"up": "Upward", "down": "Downward", "lateral": "Lateral"},
}
URGENCIES: dict[str, dict[str, str]] = {
    "zh-CN": {"routine": "普通", "urgent": "加急", "emergency": "急诊"},
    "en": {"routine": "routine", "urgent": "urgent", "emergency": "emergency"},
}
STATUSES: dict[str, dict[str, str]] = {
    "zh-CN": {
        "accepted": "已接收",
        "rejected": "未被接收",
        "returned_with_advice": "已给出建议并退回",
        "booked": "已预约",
        "completed": "就诊已完成",
        "cancelled": "已取消",
    },
    "en": {
        "accepted": "accepted",
        "rejected": "rejected",
        "returned_with_advice": "returned with advice",
        "booked": "booked",
        "completed": "completed",
        "cancelled": "cancelled",
    },
}
