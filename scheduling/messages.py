"""What a patient is told about their booking, in the language they chose (in-app title
and body; the SMS templates are in telemed.core.sms). Patients who chose no language, and
staff, read the bilingual texts the booking steps write.

The Mongolian texts were drafted without a native reviewer (see
frontend/src/i18n/mn-Mong.glossary.md); a kind missing in a language falls back to zh-CN.
"""

from __future__ import annotations

from telemed.core.i18n import Catalogue, Message, mongolian

__all__ = ["MESSAGES"]

_M = mongolian

MESSAGES: Catalogue = {
    "booking.confirmed": {
        "zh-CN": Message("预约成功", "{time} 预约已确认。"),
        "en": Message("Appointment confirmed", "Your appointment on {time} is confirmed."),
        "mn-Mong": Message(
            _M("ᠪᠣᠯᠵᠢᠶᠠᠯ ᠠᠮᠵᠢᠯᠲᠠᠢ ᠪᠦᠷᠲᠡᠭᠦᠯᠪᠡ"), _M("ᠴᠠᠭ᠄ {time}᠃ ᠴᠠᠭ_ᠲᠤ_ᠪᠠᠨ ᠢᠷᠡᠭᠡᠷᠡᠢ᠃")
        ),
    },
    "booking.changed": {
        "zh-CN": Message("预约已改期", "预约由 {old} 改至 {new}。"),
        "en": Message("Appointment changed", "Your appointment moved from {old} to {new}."),
        "mn-Mong": Message(
            _M("ᠪᠣᠯᠵᠢᠶᠠᠯ_ᠤᠨ ᠴᠠᠭ ᠥᠭᠡᠷᠡᠴᠢᠯᠡᠭᠳᠡᠪᠡ"),
            _M("ᠡᠮᠦᠨᠡᠬᠢ ᠴᠠᠭ᠄ {old}᠂ ᠰᠢᠨ~ᠡ ᠴᠠᠭ᠄ {new}᠃"),
        ),
    },
    "booking.cancelled": {
        "zh-CN": Message("预约已取消", "{time} 的预约已取消。{reason}"),
        "en": Message("Appointment cancelled", "Your appointment on {time} is cancelled. {reason}"),
        "mn-Mong": Message(_M("ᠪᠣᠯᠵᠢᠶᠠᠯ ᠴᠤᠴᠠᠯᠠᠭᠳᠠᠪᠠ"), _M("ᠴᠠᠭ᠄ {time}᠃ {reason}")),
    },
    "booking.reminder": {
        "zh-CN": Message("就诊提醒", "您明天 {time} 有预约。"),
        "en": Message("Appointment reminder", "You have an appointment tomorrow, {time}."),
        "mn-Mong": Message(
            _M("ᠡᠮᠴᠢ_ᠳᠦ ᠦᠵᠡᠭᠦᠯᠬᠦ ᠰᠠᠨᠠᠭᠤᠯᠤᠮᠵᠢ"), _M("ᠲᠠ ᠮᠠᠷᠭᠠᠰᠢ ᠪᠣᠯᠵᠢᠶᠠᠯ_ᠲᠠᠢ᠄ {time}᠃")
        ),
    },
    "booking.needs_reschedule": {
        "zh-CN": Message("预约需改期", "{time} 的号源因排班调整已撤销，请改约。"),
        "en": Message(
            "Appointment needs rescheduling",
            "The schedule changed and the place of {time} was withdrawn; please choose another.",
        ),
        "mn-Mong": Message(
            _M("ᠪᠣᠯᠵᠢᠶᠠᠯ_ᠤᠨ ᠴᠠᠭ ᠢ ᠥᠭᠡᠷᠡᠴᠢᠯᠡᠬᠦ ᠬᠡᠷᠡᠭᠲᠡᠢ"),
            _M("ᠡᠮᠴᠢ_ᠶᠢᠨ ᠬᠤᠸᠠᠷᠢ ᠥᠭᠡᠷᠡᠴᠢᠯᠡᠭᠳᠡᠪᠡ᠄ {time}᠃ ᠰᠢᠨ~ᠡ ᠴᠠᠭ ᠰᠣᠩᠭᠣᠨ~ᠠ ᠤᠤ᠃"),
        ),
    },
    "waitlist.offer": {
        "zh-CN": Message("候补号源", "{time} 有空余号源，已为您保留 {minutes} 分钟，请确认。"),
        "en": Message(
            "A place is offered to you",
            "A place on {time} is free and held for you for {minutes} minutes; please confirm.",
        ),
        "mn-Mong": Message(
            _M("ᠬᠦᠯᠢᠴᠡᠭᠰᠡᠨ ᠴᠠᠭ ᠰᠤᠯᠠᠯᠠᠪᠠ"),
            _M("ᠴᠠᠭ᠄ {time}᠃ ᠲᠠᠨ_ᠳᠤ {minutes} ᠮᠢᠨᠦᠲ ᠬᠠᠳᠠᠭᠠᠯᠠᠪᠠ᠂ ᠪᠠᠲᠠᠯᠠᠨ~ᠠ ᠤᠤ᠃"),
        ),
    },
}
