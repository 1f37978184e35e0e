"""The demo's cast: the demo hospitals' doctors (`dr-*`), grouped by league."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlmodel import Session, col, select

from telemed.identity.models import Role, User
from telemed.network.models import Institution

LEAGUES = 9  # of the 12: the dashboard shows busy, quiet and idle leagues


@dataclass
class League:
    code: str
    hospital: Institution  # the league hospital
    specialists: list[User]  # of the league hospital
    counties: list[tuple[Institution, list[User]]]  # county hospitals and their doctors


@dataclass
class Cast:
    leagues: list[League]
    regional: list[User]  # specialists of the regional hospitals
    coordinator: User | None = None  # of a regional hospital: redirects requests sent there


def find_cast(session: Session, rng: random.Random) -> Cast | None:
    """The demo hospitals' doctors (`dr-*`), grouped by league; None without them."""
    rows = session.execute(
        select(User, Institution)
        .join(Institution, col(Institution.id) == User.institution_id)
        .where(col(User.username).startswith("dr-"), col(User.is_active).is_(True))
        .order_by(col(User.username))
    ).all()
    by_inst: dict[str, tuple[Institution, list[User]]] = {}
    for user, inst in rows:
        by_inst.setdefault(inst.code, (inst, []))[1].append(user)
    league_hosp: dict[str, tuple[Institution, list[User]]] = {}
    counties: dict[str, list[tuple[Institution, list[User]]]] = {}
    regional: list[User] = []
    for inst, users in by_inst.values():
        if inst.tier == "league":
            league_hosp[inst.league_code] = (inst, [u for u in users if u.role == Role.SPECIALIST])
        elif inst.tier == "county":
            doctors = [u for u in users if u.role == Role.COUNTY_DOCTOR]
            if doctors:
                counties.setdefault(inst.league_code, []).append((inst, doctors))
        elif inst.tier == "regional":
            regional += [u for u in users if u.role == Role.SPECIALIST]
    codes = sorted(c for c in league_hosp if counties.get(c) and league_hosp[c][1])
    if not codes or not regional:
        return None
    chosen = sorted(rng.sample(codes, min(LEAGUES, len(codes))))
    coordinator = session.execute(
        select(User).where(User.username == "coordinator", col(User.is_active).is_(True))
    ).scalar_one_or_none()
    return Cast(
        leagues=[
            League(code, league_hosp[code][0], league_hosp[code][1], counties[code])
            for code in chosen
        ],
        regional=regional,
        coordinator=coordinator,
    )
