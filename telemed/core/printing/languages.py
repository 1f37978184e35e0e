"""The languages of printed documents and how a route picks one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from fastapi import Query

Language = Literal["zh-CN", "en", "mn-Mong"]
LANGUAGES: tuple[str, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "zh-CN"

LangQuery = Annotated[
    Language | None,
    Query(description="language of the document; default: the patient's or the caller's"),
]


def _known(value: object) -> Language | None:
    return value if isinstance(value, str) and value in LANGUAGES else None  # type: ignore[return-value]


def choose_language(requested: str | None, *, user: Any, patient: Any = None) -> Language:
    """`?lang=` first; then a patient's own choice (the patient calling, else the patient's
    preferred language: the document is theirs); then the caller's; then zh-CN."""
    own = getattr(user, "language", None)
    for candidate in (
        requested,
        own if getattr(user, "patient_id", None) is not None else None,
        getattr(patient, "preferred_language", None),
        own,
    ):
        if (known := _known(candidate)) is not None:
            return known
    return DEFAULT_LANGUAGE


def localize(catalogue: Mapping[str, Mapping[str, str]], lang: str) -> dict[str, str]:
    """The texts of `lang`, a missing key falling back to zh-CN (never to English)."""
    return {**catalogue[DEFAULT_LANGUAGE], **catalogue.get(lang, {})}
