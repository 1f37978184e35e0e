"""Texts every printed document shares, and how values are written in each language.

The Mongolian texts were drafted without a native reviewer (see the glossary
frontend/src/i18n/mn-Mong.glossary.md); a missing key falls back to zh-CN.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from telemed.core.clock import to_shanghai
from telemed.core.printing.languages import localize

COMMON: dict[str, dict[str, str]] = {
    "zh-CN": {
        "patient": "患者",
        "resident_id": "身份证号",
        "male": "男",
        "female": "女",
        "beijing_time": "北京时间",
        "number": "编号",
        "none": "—",
    },
    "en": {
        "patient": "Patient",
        "resident_id": "Resident ID",
        "male": "male",
        "female": "female",
        "beijing_time": "Beijing time",
        "number": "No.",
    },
    "mn-Mong": {
        "patient": "ᠥᠪᠴᠢᠲᠡᠨ",  # öbčiten
        "resident_id": "ᠪᠡᠶ᠎ᠡ ᠶᠢᠨ ᠦᠨᠡᠮᠯᠡᠯ ᠦᠨ ᠨᠣᠮᠧᠷ",  # bey-e-yin ünemlel-ün nomer
        "male": "ᠡᠷᠡ",  # ere
        "female": "ᠡᠮᠡ",  # eme
        "beijing_time": "ᠪᠡᠭᠡᠵᠢᠩ ᠦ ᠴᠠᠭ",  # begejing-ü čaγ
        "number": "ᠳ᠋ᠤᠭᠠᠷ",  # duγar
    },
}


def texts(catalogue: dict[str, dict[str, str]], lang: str) -> dict[str, str]:
    """The shared texts and a document's own in `lang` (zh-CN for what is missing)."""
    return {**localize(COMMON, lang), **localize(catalogue, lang)}


def when(value: datetime | None, t: dict[str, str]) -> str:
    """A moment in Beijing time, or the dash."""
    if value is None:
        return t["none"]
    return f"{to_shanghai(value):%Y-%m-%d %H:%M} ({t['beijing_time']})"


def day(value: date | None, t: dict[str, str]) -> str:
    """A date, or the dash."""
    return value.isoformat() if value else t["none"]


def patient_line(patient: Any, t: dict[str, str], lang: str) -> str:
    """The patient's name and sex; in Mongolian their Mongolian name first, when known."""
    name_mn = getattr(patient, "name_mn", None)  # identity adds it with the mn-Mong locale
    name = f"{name_mn} {patient.name}" if lang == "mn-Mong" and name_mn else patient.name
    return f"{name}（{t.get(patient.sex, patient.sex)}）"
