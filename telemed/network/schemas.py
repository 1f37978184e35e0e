"""API shapes of the network registry."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from telemed.network.models import AllianceKind, Tier


class SpecialtyPublic(BaseModel):
    """A specialty of the fixed code list, with its Chinese and English names."""

    code: str
    name_zh: str
    name_en: str


class LeaguePublic(BaseModel):
    code: str
    name_zh: str
    name_en: str
    kind: str


class DepartmentPublic(BaseModel):
    id: uuid.UUID
    specialty_code: str
    name_zh: str


class InstitutionPublic(BaseModel):
    id: uuid.UUID
    code: str
    name_zh: str
    name_en: str
    tier: Tier
    league_code: str
    county_code: str | None
    in_network: bool
    is_demo: bool
    grade: str


class InstitutionDetail(InstitutionPublic):
    departments: list[DepartmentPublic]
    alliance_ids: list[uuid.UUID]
    ae_titles: list[str]


class InstitutionCreate(BaseModel):
    code: str = Field(min_length=2, max_length=32)
    name_zh: str = Field(min_length=1, max_length=128)
    name_en: str = ""
    tier: Tier
    league_code: str = Field(pattern=r"^\d{6}$")
    county_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    in_network: bool = False
    grade: str = ""


class AlliancePublic(BaseModel):
    id: uuid.UUID
    code: str
    name_zh: str
    kind: AllianceKind
    lead_institution_id: uuid.UUID
    league_code: str
    specialty_code: str | None
    member_count: int


class AECreate(BaseModel):
    ae_title: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_\-. ]+$")
    host: str = ""
    port: int = Field(default=104, ge=1, le=65535)
    kind: str = Field(default="modality", pattern=r"^(modality|pacs)$")
    description: str = ""


class AEPublic(AECreate):
    id: uuid.UUID
    institution_id: uuid.UUID


class NetworkSummary(BaseModel):
    leagues: int
    counties: int
    institutions: int
    network_hospitals: int
    alliances: int
    by_tier: dict[str, int]
    network_hospitals_by_tier: dict[str, int]
    by_league: dict[str, int]
    alliances_by_kind: dict[str, int]
