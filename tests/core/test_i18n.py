"""The server's own texts: a text missing in Mongolian falls back to Chinese (never to
English), its parameters then written the Chinese way; no language chosen keeps the
caller's text; times are Asia/Shanghai, Mongolian months with the vowel separator and the
suffix joiner."""

from __future__ import annotations

from datetime import UTC, date, datetime

from telemed.core.i18n import (
    LANGUAGES,
    Message,
    format_day,
    format_moment,
    is_language,
    localized,
    mongolian,
)

CATALOGUE = {
    "both": {
        "zh-CN": Message("已确认", "{time} 已确认。"),
        "en": Message("Confirmed", "Confirmed for {time}."),
        "mn-Mong": Message(mongolian("ᠪᠠᠲᠤᠯᠠᠭᠳᠠᠪᠠ"), mongolian("ᠴᠠᠭ᠄ {time}᠃")),
    },
    "no_mongolian": {
        "zh-CN": Message("仅中文", "{time}"),
        "en": Message("English only", "{time}"),
    },
}
AT = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


def test_a_text_missing_in_mongolian_falls_back_to_chinese_never_english() -> None:
    got = localized(CATALOGUE, "no_mongolian", "mn-Mong", time=AT)
    assert got == Message("仅中文", "2026-12-03 09:30")


def test_each_language_reads_its_own_text() -> None:
    assert localized(CATALOGUE, "both", "en", time=AT) == Message(
        "Confirmed", "Confirmed for 2026-12-03 09:30."
    )
    mn = localized(CATALOGUE, "both", "mn-Mong", time=AT)
    assert mn is not None and mn.body == "ᠴᠠᠭ᠄ 12 ᠰᠠᠷ\u180eᠠ\u202fᠶᠢᠨ 3 09:30᠃"


def test_no_language_or_no_such_kind_keeps_the_callers_text() -> None:
    assert localized(CATALOGUE, "both", None, time=AT) is None
    assert localized(CATALOGUE, "unknown", "mn-Mong", time=AT) is None


def test_languages_and_dates() -> None:
    assert LANGUAGES == ("zh-CN", "en", "mn-Mong")
    assert is_language("mn-Mong") and not is_language("mn") and not is_language(None)
    assert format_day(date(2026, 12, 3), "zh-CN") == "2026-12-03"
    assert format_day(date(2026, 12, 3), "mn-Mong") == ("2026 ᠣᠨ\u202fᠤ 12 ᠰᠠᠷ\u180eᠠ\u202fᠶᠢᠨ 3")
    assert format_moment(AT, "mn-Mong").endswith(" 09:30")
    assert mongolian("ᠭᠡᠷ~ᠡ_ᠶᠢᠨ") == "ᠭᠡᠷ\u180eᠡ\u202fᠶᠢᠨ"
