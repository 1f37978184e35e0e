"""Mongolian names (traditional script) as typed on a phone: stored NFC, searched by a key.

A name in Mongolian script is kept as typed, NFC-normalized (`name_mn`). People type the
same name differently: with or without the Free Variation Selectors (U+180B–U+180D,
U+180F) and the Mongolian Vowel Separator (U+180E), with zero-width joiners, and with
letters that are written alike and that keyboards mix up (o, u, ö and ü share a form
after the first syllable; so do t and d inside a word). The search key (`name_mn_key`)
drops the controls and folds the look-alikes, so ᠪᠠᠲᠦᠷ also finds ᠪᠠᠲᠤᠷ.
"""

from __future__ import annotations

import re
import unicodedata

from telemed.core.errors import Invalid

__all__ = ["has_mongolian", "mongolian_key", "normalize_mongolian_name"]

_CONTROLS = dict.fromkeys(map(ord, "\u180b\u180c\u180d\u180e\u180f\u200c\u200d\u2060"))
# Letters written alike in the middle of a word (the key keeps one of each pair).
_LOOK_ALIKE = str.maketrans(
    {"\u1824": "\u1823", "\u1825": "\u1823", "\u1826": "\u1823", "\u1833": "\u1832"}
)
_SPACES = re.compile(r"[\s\u202f\u00a0\u180a]+")  # NNBSP suffix joiner, NBSP, nirugu
# Spaces a typed name is tidied of (the NNBSP before a suffix stays: it shapes the suffix).
_TYPED_SPACES = re.compile(r"[ \t\r\n\u00a0\u3000]+")
_LETTER = re.compile(r"[\u1820-\u18aa\U00011660-\U0001167f]")
# What a Mongolian name may hold: the script's block and its supplement, its
# punctuation, the joiners and separators, spaces and a hyphen.
_ALLOWED = re.compile(r"^[\u1800-\u18af\U00011660-\U0001167f\u200c\u200d\u202f\u2060 \-]+$")


def has_mongolian(text: str) -> bool:
    """Whether `text` contains a letter of the Mongolian script."""
    return _LETTER.search(text) is not None


def normalize_mongolian_name(value: str | None, *, field: str = "name_mn") -> str | None:
    """The name NFC-normalized with its spaces tidied (the suffix joiner kept), or None when
    empty; 422
    `invalid_value` when it is not written in Mongolian script."""
    if value is None:
        return None
    name = _TYPED_SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip(" ")
    if not name:
        return None
    if not _ALLOWED.match(name) or not has_mongolian(name):
        raise Invalid(
            "a Mongolian name is written in Mongolian script (U+1800–U+18AF)",
            code="invalid_value",
            field=field,
        )
    return name


def mongolian_key(text: str) -> str:
    """The search key of a Mongolian text: NFC, without variation selectors, vowel
    separators and joiners, look-alike letters folded, spaces collapsed."""
    folded = unicodedata.normalize("NFC", text).translate(_CONTROLS).translate(_LOOK_ALIKE)
    return _SPACES.sub(" ", folded).strip()
