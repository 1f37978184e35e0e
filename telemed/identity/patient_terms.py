"""What a staff member types in the patient search box (检索词): part of a Chinese name, the
Mongolian name, the last four characters of the resident ID, a phone number (whole or its
last digits), or the whole 18-character resident ID, told apart by their shape."""

from __future__ import annotations

import re
from typing import Any, Literal

from sqlalchemy import or_
from sqlmodel import col

from telemed.identity import resident_id as rid
from telemed.identity.models import Patient
from telemed.identity.names import has_mongolian, mongolian_key

__all__ = ["TermKind", "normalized", "term_condition", "term_kind"]

TermKind = Literal["resident_id", "id_tail", "phone", "name_mn", "name"]

_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_ID_TAIL = re.compile(r"^\d{3}[\dX]$")
_PHONE = re.compile(r"^\d{5,15}$")


def normalized(term: str | None) -> str | None:
    """The term stripped (a resident ID's x as X); None when nothing is left."""
    text = (term or "").strip()
    if re.fullmatch(r"[\dxX]+", text):
        text = text.upper()
    return text or None


def term_kind(term: str) -> TermKind:
    """How a `normalized` term is read: 4 characters of digits (or ending in X)
    are an ID tail (or a phone tail), 5-15 digits a phone, 18 an ID, the rest a name."""
    if _RESIDENT_ID.match(term):
        return "resident_id"
    if _ID_TAIL.match(term):
        return "id_tail"
    if _PHONE.match(term):
        return "phone"
    return "name_mn" if has_mongolian(term) else "name"


def term_condition(term: str, *, secret_key: str) -> Any:
    """The WHERE clause a search term stands for."""
    kind = term_kind(term)
    if kind == "resident_id":
        return Patient.resident_id_hash == rid.fingerprint(term, key=secret_key)
    if kind == "id_tail":
        return or_(
            col(Patient.resident_id_masked).endswith(term),
            col(Patient.phone).endswith(term),
        )
    if kind == "phone":
        return col(Patient.phone).endswith(term)
    if kind == "name_mn":
        return or_(
            col(Patient.name).contains(term),
            col(Patient.name_mn_key).startswith(mongolian_key(term)),
        )
    return col(Patient.name).contains(term, autoescape=True)
