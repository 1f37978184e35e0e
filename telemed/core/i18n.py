"""Languages of the texts the server writes itself (notifications, SMS, calendar files).

The server speaks zh-CN (the default), English and Mongolian in its traditional script
(`mn-Mong`, written top to bottom; the browser shapes it). A text missing in a language
falls back to zh-CN, never to English. A catalogue maps a message kind to its texts per
language; times in a text are written as the language writes them, in Asia/Shanghai.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args

from telemed.core.clock import to_shanghai

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Catalogue",
    "Language",
    "Message",
    "Term",
    "format_day",
    "format_moment",
    "is_language",
    "localized",
    "mongolian",
    "render",
    "stored_params",
]

Language = Literal["zh-CN", "en", "mn-Mong"]
LANGUAGES: tuple[str, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "zh-CN"

# Mongolian suffixes are joined to the word before with NARROW NO-BREAK SPACE (U+202F);
# ᠰᠠᠷ᠎ᠠ (month) carries the MONGOLIAN VOWEL SEPARATOR (U+180E) before its final a.
_NNBSP = "\u202f"
_MONTH_MN = "ᠰᠠᠷ\u180eᠠ"


def mongolian(text: str) -> str:
    """Mongolian text as catalogues write it legibly: `_` for the NNBSP that joins a suffix
    to its word (ᠴᠠᠭ_ᠲᠤ), `~` for the vowel separator before a final a/e (ᠭᠡᠷ~ᠡ)."""
    return text.replace("_", _NNBSP).replace("~", "\u180e")


def is_language(value: object) -> bool:
    """Whether `value` is one of the language codes the server speaks."""
    return isinstance(value, str) and value in LANGUAGES


@dataclass(frozen=True)
class Message:
    """The title and body of one message in one language; `{name}` marks a parameter."""

    title: str
    body: str = ""


Catalogue = Mapping[str, Mapping[str, Message]]  # kind -> language -> message


def format_day(value: date, language: str) -> str:
    """A calendar day: 2026-12-03 (zh-CN, en); 2026 ᠣᠨ ᠤ 12 ᠰᠠᠷ᠎ᠠ ᠶᠢᠨ 3 (mn-Mong)."""
    if language == "mn-Mong":
        return f"{value.year} ᠣᠨ{_NNBSP}ᠤ {value.month} {_MONTH_MN}{_NNBSP}ᠶᠢᠨ {value.day}"
    return value.isoformat()


def format_moment(value: datetime, language: str) -> str:
    """A time to the minute in Asia/Shanghai: 2026-12-03 09:30 (zh-CN, en);
    12 ᠰᠠᠷ᠎ᠠ ᠶᠢᠨ 3 09:30 (mn-Mong; digits stay Arabic, as the region's press writes them)."""
    local = to_shanghai(value)
    if language == "mn-Mong":
        return f"{local.month} {_MONTH_MN}{_NNBSP}ᠶᠢᠨ {local.day} {local:%H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class Term:
    """A parameter that is itself a code (an urgency, a service class, a specialty): stored
    as `value`, shown as `names[language][value]` (zh-CN when the language lacks it, the
    code itself when no language names it)."""

    names: Mapping[str, Mapping[str, str]]
    value: str

    def shown(self, language: str) -> str:
        for used in (language, DEFAULT_LANGUAGE):
            name = self.names.get(used, {}).get(self.value)
            if name is not None:
                return name
        return self.value


def _shown(value: object, language: str) -> str:
    if isinstance(value, Term):
        return value.shown(language)
    if isinstance(value, datetime):
        return format_moment(value, language)
    if isinstance(value, date):
        return format_day(value, language)
    return "" if value is None else str(value)


def localized(
    catalogue: Catalogue, kind: str, language: str | None, **params: object
) -> Message | None:
    """The message of `kind` in `language` (a missing text falls back to zh-CN), its
    parameters filled in (times as the language writes them); None when no language is
    chosen or the catalogue has no such kind (the caller keeps its own text)."""
    texts = catalogue.get(kind)
    if language is None or texts is None:
        return None
    used = language if language in texts else DEFAULT_LANGUAGE
    text = texts.get(used)
    if text is None:
        return None
    values = {name: _shown(value, used) for name, value in params.items()}
    return Message(text.title.format(**values), text.body.format(**values).strip())


def render(catalogue: Catalogue, code: str, language: str | None, **params: object) -> Message:
    """The message `code` in `language` (None or a missing text: zh-CN), its parameters
    filled in; a KeyError when the catalogue has no such code (a programming error)."""
    if code not in catalogue:
        raise KeyError(f"no message {code!r} in the catalogue")
    message = localized(catalogue, code, language or DEFAULT_LANGUAGE, **params)
    assert message is not None  # every code has its zh-CN text (checked by the tests)
    return message


def stored_params(params: Mapping[str, object]) -> dict[str, object]:
    """The parameters of a message as stored beside it (JSON): codes, numbers and ISO
    times, never texts rendered in one language, so a client renders them in its own."""
    out: dict[str, object] = {}
    for name, value in params.items():
        if isinstance(value, Term):
            out[name] = value.value
        elif isinstance(value, datetime | date):
            out[name] = value.isoformat()
        elif isinstance(value, uuid.UUID):
            out[name] = str(value)
        elif value is None or isinstance(value, str | int | float | bool):
            out[name] = value
        else:
            out[name] = str(value)
    return out
