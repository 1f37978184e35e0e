"""Tables of the reference data."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from telemed.core.db import utc_field


class Icd10Code(SQLModel, table=True):
    """One ICD-10 code (category such as I21 or subcategory such as I21.0) with its names."""

    __tablename__ = "reference_icd10"

    code: str = Field(primary_key=True, max_length=8)  # upper case, e.g. "I21.0"
    name_zh: str = Field(max_length=200)
    name_en: str = Field(max_length=300)
    chapter: str = Field(max_length=5)  # WHO chapter in Roman numerals, "I" .. "XXII"
    updated_at: datetime = utc_field()
