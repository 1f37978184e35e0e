"""The routing rule (分级诊疗路由) as data: where a candidate hospital stands for the patient.

`TIERS` lists the tiers of preference, best first. `place` puts each candidate hospital in
the first tier whose test it passes, with the alliance that put it there and its travel
distance from the patient's county. The consultation and referral proposals rank within a
tier themselves (they own slots and service levels); see docs/routing.md.
"""

from __future__ import annotations

import csv
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Protocol

from sqlalchemy import bindparam, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from telemed.network.models import Alliance, AllianceKind, AllianceMember, Institution

__all__ = [
    "IN_ALLIANCE_TIERS",
    "TIERS",
    "PatientPlace",
    "Placeable",
    "Placement",
    "RoutingTier",
    "distance_km",
    "place",
    "seat_of",
]


@dataclass(frozen=True)
class RoutingTier:
    """One tier of preference: `code` is also the reason code the client renders."""

    code: str
    rank: int
    alliance_kind: str | None
    description: str


TIERS: tuple[RoutingTier, ...] = (
    RoutingTier(
        "county_community",
        1,
        AllianceKind.COUNTY_COMMUNITY,
        "a member of the patient's county medical community (县域医共体), or of the one of the "
        "patient's family-doctor team",
    ),
    RoutingTier(
        "city_group",
        2,
        AllianceKind.CITY_GROUP,
        "a member of the city medical group (城市医疗集团) of the patient's league",
    ),
    RoutingTier(
        "specialist_alliance",
        3,
        AllianceKind.SPECIALIST,
        "a member of a specialist alliance (专科联盟) of the requested specialty that includes "
        "the requesting hospital, the patient's family-doctor institution or a hospital of the "
        "patient's county",
    ),
    RoutingTier("league", 4, None, "another hospital of the patient's league"),
    RoutingTier("region", 5, None, "any other network hospital of the region"),
)
_BY_CODE = {t.code: t for t in TIERS}
IN_ALLIANCE_TIERS = ("county_community", "city_group", "specialist_alliance")


@dataclass(frozen=True)
class PatientPlace:
    """Where the patient belongs: residence county (or the requester's), league, and the
    institutions that anchor them (home institution, family-doctor team's institution)."""

    county_code: str | None
    league_code: str
    anchor_institution_ids: tuple[uuid.UUID, ...] = ()


class Placeable(Protocol):
    """A hospital as the rule reads it: an `Institution`, or plain columns of one."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def league_code(self) -> str: ...
    @property
    def county_code(self) -> str | None: ...


@dataclass(frozen=True)
class Placement:
    tier: RoutingTier
    alliance_id: uuid.UUID | None
    alliance_code: str | None
    alliance_name: str | None
    distance_km: float | None


@cache
def _seats() -> dict[str, tuple[float, float]]:
    text = resources.files("telemed.network").joinpath("data", "seats.csv").read_text("utf-8")
    return {
        r["code"]: (float(r["lat"]), float(r["lon"])) for r in csv.DictReader(text.splitlines())
    }


def seat_of(*, county_code: str | None, league_code: str) -> tuple[float, float] | None:
    """Coordinates of the county seat when shipped, else of the league seat (data/seats.csv)."""
    seats = _seats()
    if county_code and county_code in seats:
        return seats[county_code]
    return seats.get(league_code)


def distance_km(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float | None:
    """Great-circle distance (haversine, earth radius 6371 km), rounded to 1 km."""
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return float(round(2 * 6371 * math.asin(math.sqrt(h))))


@dataclass(frozen=True)
class _Alliance:
    """The columns of an alliance the rule reads."""

    id: uuid.UUID
    code: str
    name_zh: str
    kind: str
    league_code: str | None
    specialty_code: str | None


@cache
def _memberships_statement() -> Any:
    """The candidates' alliances that can place them, each flagged `near` when it includes
    the requester, an anchor or a hospital of the patient's county: only those a tier's
    test can pass (a county community that is near, a city group of the patient's league
    or near, a specialist alliance of the requested specialty that is near), so the rows
    do not grow with the other specialties' alliances; built once, parameters bound per
    call."""
    member = aliased(AllianceMember)
    near = col(Alliance.id).in_(
        select(member.alliance_id).where(
            or_(
                col(member.institution_id).in_(bindparam("anchors", expanding=True)),
                col(member.institution_id).in_(
                    select(Institution.id).where(Institution.county_code == bindparam("county"))
                ),
            )
        )
    )
    kind = col(Alliance.kind)
    return (
        select(  # type: ignore[call-overload]  # plain columns: no ORM objects per row
            AllianceMember.institution_id,
            Alliance.id,
            Alliance.code,
            Alliance.name_zh,
            Alliance.kind,
            Alliance.league_code,
            Alliance.specialty_code,
            near.label("near"),
        )
        .join(Alliance, col(Alliance.id) == AllianceMember.alliance_id)
        .where(
            col(AllianceMember.institution_id).in_(bindparam("candidates", expanding=True)),
            or_(
                (kind == AllianceKind.COUNTY_COMMUNITY) & near,
                (kind == AllianceKind.CITY_GROUP)
                & or_(col(Alliance.league_code) == bindparam("league"), near),
                (kind == AllianceKind.SPECIALIST)
                & col(Alliance.specialty_code).is_not_distinct_from(bindparam("specialty"))
                & near,
            ),
        )
        .order_by(col(Alliance.code))
    )


def place(
    *,
    session: Session,
    where: PatientPlace,
    requester_id: uuid.UUID | None,
    specialty: str | None,
    institutions: Iterable[Placeable],
) -> dict[uuid.UUID, Placement]:
    """Each institution's tier under `TIERS`, with the alliance that placed it (one query)."""
    insts = {i.id: i for i in institutions}
    if not insts:
        return {}
    anchors = {*where.anchor_institution_ids, *([requester_id] if requester_id else [])}
    rows = session.execute(
        _memberships_statement(),
        {
            "anchors": list(anchors),
            "county": where.county_code,
            "candidates": list(insts),
            "league": where.league_code,
            "specialty": specialty,
        },
    ).all()  # one statement: the candidates' alliances that can place them, flagged near
    memberships: dict[uuid.UUID, list[_Alliance]] = {}
    near: set[uuid.UUID] = set()
    for inst_id, *fields, flagged in rows:
        member_of = _Alliance(*fields)
        memberships.setdefault(inst_id, []).append(member_of)
        if flagged:
            near.add(member_of.id)
    origin = seat_of(county_code=where.county_code, league_code=where.league_code)

    def tier_of(inst: Placeable) -> tuple[RoutingTier, _Alliance | None]:
        mine = memberships.get(inst.id, [])
        tests: Sequence[tuple[str, object]] = (
            ("county_community", lambda a: a.id in near),
            ("city_group", lambda a: a.league_code == where.league_code or a.id in near),
            ("specialist_alliance", lambda a: a.specialty_code == specialty and a.id in near),
        )
        for code, test in tests:
            kind = _BY_CODE[code].alliance_kind
            for a in mine:
                if a.kind == kind and test(a):  # type: ignore[operator]
                    return _BY_CODE[code], a
        if inst.league_code == where.league_code:
            return _BY_CODE["league"], None
        return _BY_CODE["region"], None

    out = {}
    for inst in insts.values():
        tier, alliance = tier_of(inst)
        out[inst.id] = Placement(
            tier=tier,
            alliance_id=alliance.id if alliance else None,
            alliance_code=alliance.code if alliance else None,
            alliance_name=alliance.name_zh if alliance else None,
            distance_km=distance_km(
                origin, seat_of(county_code=inst.county_code, league_code=inst.league_code)
            ),
        )
    return out
