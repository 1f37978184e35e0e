"""API shapes of the reference data."""

from __future__ import annotations

from pydantic import BaseModel


class Icd10Public(BaseModel):
    code: str
    name_zh: str
    name_en: str
    chapter: str
    chapter_zh: str
    chapter_en: str


class ImportResult(BaseModel):
    created: int
    updated: int
    unchanged: int
