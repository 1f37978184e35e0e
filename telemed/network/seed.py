"""Reference data (leagues, counties) and the demo network of 131 hospitals and 177 alliances.

The composition follows `data/README` of the shared reference data: 16 regional
hospitals (13 real, 3 plainly labelled demo names), one hospital per league (12, real),
one county hospital per county-level division (103, named `<county>人民医院`, demo),
primary institutions in every county, and 177 alliances: a county medical community
per county (103), a city medical group per league (12) and 62 specialist alliances
(专科联盟), each led by a regional hospital with the league hospitals of three leagues and
about a third of their county hospitals as members (`specialist_alliance_plan`).
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

from sqlalchemy import func
from sqlmodel import Session, select

from telemed.network.models import (
    Alliance,
    AllianceKind,
    AllianceMember,
    County,
    Department,
    Institution,
    League,
    Tier,
)
from telemed.network.specialties import NAMES, Specialty

REGIONAL_COUNT = 16
SPECIALIST_ALLIANCES = 62
DEMO_COUNTY_CODE = "150122"  # 托克托县, Hohhot: home of the demo county doctor and patient
DEMO_REGIONAL_NAME = "内蒙古自治区人民医院"

LEAGUE_SPECIALTIES = [
    Specialty.INTERNAL_MEDICINE,
    Specialty.CARDIOLOGY,
    Specialty.RESPIRATORY,
    Specialty.GASTROENTEROLOGY,
    Specialty.NEUROLOGY,
    Specialty.ENDOCRINOLOGY,
    Specialty.GENERAL_SURGERY,
    Specialty.ORTHOPEDICS,
    Specialty.NEUROSURGERY,
    Specialty.OBSTETRICS_GYNECOLOGY,
    Specialty.PEDIATRICS,
    Specialty.ONCOLOGY,
    Specialty.EMERGENCY,
    Specialty.RADIOLOGY,
    Specialty.ULTRASOUND,
    Specialty.ELECTROPHYSIOLOGY,
    Specialty.PATHOLOGY,
    Specialty.REHABILITATION,
]
COUNTY_SPECIALTIES = [
    Specialty.INTERNAL_MEDICINE,
    Specialty.GENERAL_SURGERY,
    Specialty.OBSTETRICS_GYNECOLOGY,
    Specialty.PEDIATRICS,
    Specialty.EMERGENCY,
    Specialty.RADIOLOGY,
    Specialty.ULTRASOUND,
    Specialty.ELECTROPHYSIOLOGY,
    Specialty.REHABILITATION,
    Specialty.TCM,
]
PRIMARY_SPECIALTIES = [Specialty.GENERAL_PRACTICE, Specialty.INTERNAL_MEDICINE, Specialty.TCM]
ALLIANCE_SPECIALTIES = [
    Specialty.CARDIOLOGY,
    Specialty.RADIOLOGY,
    Specialty.ONCOLOGY,
    Specialty.NEUROLOGY,
    Specialty.PEDIATRICS,
    Specialty.OBSTETRICS_GYNECOLOGY,
    Specialty.RESPIRATORY,
    Specialty.ENDOCRINOLOGY,
    Specialty.PATHOLOGY,
    Specialty.ELECTROPHYSIOLOGY,
    Specialty.CRITICAL_CARE,
    Specialty.REHABILITATION,
    Specialty.MONGOLIAN_MEDICINE,
    Specialty.NEPHROLOGY,
    Specialty.ORTHOPEDICS,
    Specialty.EMERGENCY,
]


# Lead hospitals of the specialist alliances by specialty, as indexes into the regional
# hospitals of data/tertiary_hospitals.csv (0 自治区人民医院, 1 医科大学附属医院, 3 肿瘤医院,
# 4 国际蒙医医院, 5 中蒙医医院, 6 妇幼保健院, 8 包医一附院, 11 赤峰学院附属医院, 12 赤峰市肿瘤医院,
# 13 内蒙古民族大学附属医院): the n-th alliance of a specialty covers league group n below.
# Other specialties rotate over all 16.
SPECIALIST_LEADS: dict[Specialty, tuple[int, ...]] = {
    Specialty.CARDIOLOGY: (0, 11, 1, 8),
    Specialty.ONCOLOGY: (3, 12, 13, 8),
    Specialty.OBSTETRICS_GYNECOLOGY: (6, 11, 13, 9),
    Specialty.PEDIATRICS: (6, 13, 1, 8),
    Specialty.MONGOLIAN_MEDICINE: (4, 5, 13, 4),
    Specialty.RADIOLOGY: (1, 11, 0, 8),
}
LEAGUES_PER_ALLIANCE = 3


def specialist_alliance_plan(
    i: int, league_codes: Sequence[str], counties_by_league: dict[str, list[str]]
) -> tuple[Specialty, int, list[str], list[str]]:
    """The i-th specialist alliance: specialty, lead (regional index), member leagues and
    member counties. The n-th alliance of a specialty takes league group n (leagues 3n..3n+2,
    shifted by the specialty's index) and every third county hospital of those leagues, so
    no league hospital is in every alliance and a county is in some specialties' alliances."""
    s, n = i % len(ALLIANCE_SPECIALTIES), i // len(ALLIANCE_SPECIALTIES)
    spec = ALLIANCE_SPECIALTIES[s]
    leads = SPECIALIST_LEADS.get(spec)
    lead = leads[n % len(leads)] if leads else (s + 4 * n) % REGIONAL_COUNT
    covered = [
        league_codes[(n * LEAGUES_PER_ALLIANCE + k + (0 if leads else s)) % len(league_codes)]
        for k in range(LEAGUES_PER_ALLIANCE)
    ]
    counties = [
        c for lc in covered for m, c in enumerate(counties_by_league[lc]) if (m + s) % 3 == 0
    ]
    return spec, lead, covered, counties


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("telemed.network").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@dataclass
class DemoNetwork:
    """Handles to the institutions the demo accounts need."""

    regional: list[Institution] = field(default_factory=list)
    league: dict[str, Institution] = field(default_factory=dict)
    county: dict[str, Institution] = field(default_factory=dict)
    primary: dict[str, list[Institution]] = field(default_factory=dict)


def load_reference(session: Session) -> None:
    """Leagues and counties (idempotent)."""
    for r in _rows("leagues.csv"):
        if session.get(League, r["code"]) is None:
            session.add(League(**r))
    session.flush()
    for r in _rows("counties.csv"):
        if session.get(County, r["code"]) is None:
            session.add(County(**r))
    session.flush()


def _departments(session: Session, inst: Institution, specialties: Sequence[Specialty]) -> None:
    for s in specialties:
        session.add(Department(institution_id=inst.id, specialty_code=s.value, name_zh=NAMES[s][0]))


def load_demo_network(session: Session) -> DemoNetwork:
    """The demo network; does nothing when institutions exist already."""
    if session.execute(select(func.count()).select_from(Institution)).scalar_one():
        return existing_network(session)
    load_reference(session)
    net = DemoNetwork()
    hospitals = _rows("tertiary_hospitals.csv")
    regional_rows = [h for h in hospitals if h["kind"] == "regional"]
    for i in range(REGIONAL_COUNT):
        if i < len(regional_rows):
            h = regional_rows[i]
            name, name_en, lc, demo = h["name_zh"], h["name_en"], h["league_code"], False
        else:
            name, name_en, lc, demo = (
                f"演示自治区区域医疗中心{i - len(regional_rows) + 1}",
                "",
                "150100",
                True,
            )
        inst = Institution(
            code=f"R{lc}{i:02d}",
            name_zh=name,
            name_en=name_en,
            tier=Tier.REGIONAL,
            league_code=lc,
            in_network=True,
            is_demo=demo,
            grade="三级甲等",
        )
        session.add(inst)
        net.regional.append(inst)
    leagues = _rows("leagues.csv")
    for lg in leagues:
        h = next(h for h in hospitals if h["kind"] == "league" and h["league_code"] == lg["code"])
        inst = Institution(
            code=f"L{lg['code']}",
            name_zh=h["name_zh"],
            name_en=h["name_en"],
            tier=Tier.LEAGUE,
            league_code=lg["code"],
            in_network=True,
            grade="三级",
        )
        session.add(inst)
        net.league[lg["code"]] = inst
    for c in _rows("counties.csv"):
        inst = Institution(
            code=f"C{c['code']}",
            name_zh=f"{c['name_zh']}人民医院",
            name_en=f"{c['name_en']} People's Hospital",
            tier=Tier.COUNTY,
            league_code=c["league_code"],
            county_code=c["code"],
            in_network=True,
            is_demo=True,
            grade="二级甲等",
        )
        session.add(inst)
        net.county[c["code"]] = inst
        district = c["kind"] == "district"
        tier = Tier.COMMUNITY if district else Tier.TOWNSHIP
        names = (
            [f"{c['name_zh']}第一社区卫生服务中心", f"{c['name_zh']}第二社区卫生服务中心"]
            if district
            else [f"{c['name_zh']}中心卫生院", f"{c['name_zh']}城关镇卫生院"]
        )
        prim = [
            Institution(
                code=f"P{c['code']}{n}",
                name_zh=nm,
                tier=tier,
                league_code=c["league_code"],
                county_code=c["code"],
                is_demo=True,
            )
            for n, nm in enumerate(names, 1)
        ]
        prim.append(
            Institution(
                code=f"V{c['code']}1",
                name_zh=f"{c['name_zh']}示范村卫生室",
                tier=Tier.VILLAGE,
                league_code=c["league_code"],
                county_code=c["code"],
                is_demo=True,
            )
        )
        session.add_all(prim)
        net.primary[c["code"]] = prim
    session.flush()

    all_specs = [s for s in Specialty if s is not Specialty.GENERAL_PRACTICE]
    for inst in net.regional:
        _departments(session, inst, all_specs)
    for inst in net.league.values():
        _departments(session, inst, LEAGUE_SPECIALTIES)
    for inst in net.county.values():
        _departments(session, inst, COUNTY_SPECIALTIES)
    for prim in net.primary.values():
        for inst in prim:
            _departments(
                session,
                inst,
                PRIMARY_SPECIALTIES if inst.tier != Tier.VILLAGE else [Specialty.GENERAL_PRACTICE],
            )

    counties_by_league: dict[str, list[str]] = {}
    for c in _rows("counties.csv"):
        counties_by_league.setdefault(c["league_code"], []).append(c["code"])

    def alliance(
        code: str,
        name: str,
        kind: AllianceKind,
        lead: Institution,
        members: list[Institution],
        specialty: Specialty | None = None,
    ) -> None:
        a = Alliance(
            code=code,
            name_zh=name,
            kind=kind,
            lead_institution_id=lead.id,
            league_code=lead.league_code,
            specialty_code=specialty.value if specialty else None,
        )
        session.add(a)
        session.flush()
        seen: set[uuid.UUID] = set()
        for m in [lead, *members]:
            if m.id not in seen:
                seen.add(m.id)
                session.add(AllianceMember(alliance_id=a.id, institution_id=m.id))

    county_names = {c["code"]: c["name_zh"] for c in _rows("counties.csv")}
    for code, hosp in net.county.items():
        alliance(
            f"A-CMC-{code}",
            f"{county_names[code]}县域医共体",
            AllianceKind.COUNTY_COMMUNITY,
            hosp,
            net.primary[code],
        )
    league_names = {lg["code"]: lg["name_zh"] for lg in leagues}
    for lc, hosp in net.league.items():
        members = [net.county[c] for c in counties_by_league[lc]]
        alliance(
            f"A-CMG-{lc}", f"{league_names[lc]}城市医疗集团", AllianceKind.CITY_GROUP, hosp, members
        )
    league_codes = [lg["code"] for lg in leagues]
    for i in range(SPECIALIST_ALLIANCES):
        spec, lead, covered, counties = specialist_alliance_plan(
            i, league_codes, counties_by_league
        )
        members = [net.league[lc] for lc in covered] + [net.county[c] for c in counties]
        head = net.regional[lead]
        alliance(
            f"A-SPA-{spec.value[:12]}-{i // len(ALLIANCE_SPECIALTIES) + 1}",
            f"{NAMES[spec][0]}专科联盟({head.name_zh}牵头)",
            AllianceKind.SPECIALIST,
            head,
            members,
            spec,
        )
    session.flush()
    return net


def existing_network(session: Session) -> DemoNetwork:
    """Rebuild the handles from a seeded database."""
    net = DemoNetwork()
    for inst in session.execute(select(Institution).order_by(Institution.code)).scalars():
        if inst.tier == Tier.REGIONAL:
            net.regional.append(inst)
        elif inst.tier == Tier.LEAGUE:
            net.league[inst.league_code] = inst
        elif inst.tier == Tier.COUNTY and inst.county_code:
            net.county[inst.county_code] = inst
        elif inst.county_code:
            net.primary.setdefault(inst.county_code, []).append(inst)
    return net
