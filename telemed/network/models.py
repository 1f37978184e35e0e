"""Tables of the network registry."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from telemed.core.db import id_field


class Tier(StrEnum):
    """Institution tiers, top to bottom."""

    REGIONAL = "regional"  # 自治区级三级医院
    LEAGUE = "league"  # 盟市级医院
    COUNTY = "county"  # 县级医院
    TOWNSHIP = "township"  # 乡镇卫生院
    COMMUNITY = "community"  # 社区卫生服务中心
    VILLAGE = "village"  # 村卫生室


TIER_RANK = {
    Tier.REGIONAL: 4,
    Tier.LEAGUE: 3,
    Tier.COUNTY: 2,
    Tier.TOWNSHIP: 1,
    Tier.COMMUNITY: 1,
    Tier.VILLAGE: 0,
}
PRIMARY_TIERS = (Tier.TOWNSHIP, Tier.COMMUNITY, Tier.VILLAGE)


class AllianceKind(StrEnum):
    """Kinds of medical alliance (医联体)."""

    COUNTY_COMMUNITY = "county_medical_community"  # 县域医共体
    CITY_GROUP = "city_medical_group"  # 城市医疗集团
    SPECIALIST = "specialist_alliance"  # 专科联盟
    TELEMEDICINE = "telemedicine_network"  # 远程医疗协作网


class League(SQLModel, table=True):
    """League-level division (盟/地级市)."""

    __tablename__ = "league"

    code: str = Field(primary_key=True, max_length=6)
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    seat_zh: str = Field(default="", max_length=64)


class County(SQLModel, table=True):
    """County-level division (区/县/旗/县级市)."""

    __tablename__ = "county"

    code: str = Field(primary_key=True, max_length=6)
    league_code: str = Field(foreign_key="league.code", index=True, max_length=6)
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=64)
    kind: str = Field(max_length=32)


class Institution(SQLModel, table=True):
    """A hospital or primary-care institution."""

    __tablename__ = "institution"

    id: uuid.UUID = id_field()
    code: str = Field(unique=True, max_length=32)
    name_zh: str = Field(max_length=128)
    name_en: str = Field(default="", max_length=160)
    tier: str = Field(index=True, max_length=16)
    league_code: str = Field(foreign_key="league.code", index=True, max_length=6)
    county_code: str | None = Field(
        default=None, foreign_key="county.code", index=True, max_length=6
    )
    in_network: bool = Field(default=False, index=True)
    is_demo: bool = False
    grade: str = Field(default="", max_length=16)


class Department(SQLModel, table=True):
    """A clinical department of an institution, tagged with a specialty code."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("institution_id", "specialty_code"),)

    id: uuid.UUID = id_field()
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    specialty_code: str = Field(index=True, max_length=40)
    name_zh: str = Field(max_length=64)


class Alliance(SQLModel, table=True):
    """Medical alliance (医联体)."""

    __tablename__ = "alliance"

    id: uuid.UUID = id_field()
    code: str = Field(unique=True, max_length=32)
    name_zh: str = Field(max_length=160)
    kind: str = Field(index=True, max_length=32)
    lead_institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    league_code: str = Field(foreign_key="league.code", index=True, max_length=6)
    specialty_code: str | None = Field(default=None, max_length=40)


class AllianceMember(SQLModel, table=True):
    __tablename__ = "alliance_member"

    alliance_id: uuid.UUID = Field(foreign_key="alliance.id", primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institution.id", primary_key=True, index=True)


class DicomAE(SQLModel, table=True):
    """A DICOM application entity registered for an institution."""

    __tablename__ = "dicom_ae"

    id: uuid.UUID = id_field()
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    ae_title: str = Field(unique=True, max_length=16)
    host: str = Field(default="", max_length=255)
    port: int = 104
    kind: str = Field(default="modality", max_length=16)  # modality | pacs
    description: str = Field(default="", max_length=200)
