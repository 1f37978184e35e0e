"""Fixtures of the referrals tests: demo users, the demo team, fresh residents and teams."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from referrals.family import teams
from referrals.models import FamilyDoctorTeam
from telemed.core import clock as core_clock
from telemed.core.settings import get_settings
from telemed.identity import resident_id as rid
from telemed.identity.models import Patient, Role, User
from telemed.network.models import Institution
from telemed.network.seed import DEMO_COUNTY_CODE

_seq = itertools.count(100, 2)  # rid.make keeps parity for sex: step 2 stays unique


def user_named(session: Session, username: str) -> User:
    return session.execute(select(User).where(User.username == username)).scalar_one()


def demo_team(session: Session) -> FamilyDoctorTeam:
    lead = user_named(session, "family-doctor")
    return session.execute(
        select(FamilyDoctorTeam).where(FamilyDoctorTeam.lead_doctor_id == lead.id)
    ).scalar_one()


def county_hospital(session: Session, county: str = DEMO_COUNTY_CODE) -> Institution:
    return session.execute(select(Institution).where(Institution.code == f"C{county}")).scalar_one()


def new_patient(
    session: Session,
    *,
    county: str = DEMO_COUNTY_CODE,
    born: date = date(1960, 5, 1),
    female: bool = False,
    with_user: bool = False,
) -> Patient:
    """A fresh resident of `county` (and a patient account when asked)."""
    n = next(_seq)
    number = rid.make(county, born + timedelta(days=n // 1000), n, female=female)
    parsed = rid.parse(number, today=date(2026, 1, 1))
    p = Patient(
        name=f"测试居民{n}",
        sex=parsed.sex,
        birth_date=born,
        resident_id_hash=rid.fingerprint(number, key=get_settings().security.secret_key),
        resident_id_masked=rid.mask(number),
        county_code=county,
        created_at=core_clock.now(),
    )
    session.add(p)
    session.flush()
    if with_user:
        session.add(
            User(
                username=f"resident-{n}",
                password_hash="x",
                role=Role.PATIENT,
                full_name=p.name,
                patient_id=p.id,
                created_at=core_clock.now(),
            )
        )
        session.flush()
    return p


def new_doctor(session: Session, inst: Institution, role: Role = Role.FAMILY_DOCTOR) -> User:
    n = next(_seq)
    u = User(
        username=f"doc-{n}",
        password_hash="x",
        role=role,
        full_name=f"医生{n}",
        institution_id=inst.id,
        created_at=core_clock.now(),
    )
    session.add(u)
    session.flush()
    return u


def new_team(session: Session, *, capacity: int | None = None) -> tuple[FamilyDoctorTeam, User]:
    """Another team at the demo township health centre, with its own lead."""
    fd = user_named(session, "family-doctor")
    inst = session.get(Institution, fd.institution_id)
    assert inst is not None
    lead = new_doctor(session, inst)
    team = teams.create_team(
        session=session,
        institution_id=inst.id,
        name=f"团队{lead.username}",
        lead_doctor_id=lead.id,
        members=[],
        served_areas=["测试村"],
        capacity=capacity,
        by=lead,
        now=core_clock.now(),
    )
    return team, lead


@pytest.fixture
def users(session: Session) -> Callable[[str], User]:
    return lambda name: user_named(session, name)


CONSENT = {"method": "written", "witness": "村委会"}


def league_hospital(session: Session, league_code: str = "150100") -> Institution:
    from telemed.network.models import Tier

    return session.execute(
        select(Institution).where(
            Institution.tier == Tier.LEAGUE, Institution.league_code == league_code
        )
    ).scalar_one()


def staff_of(session: Session, inst: Institution) -> list[User]:
    return list(
        session.execute(
            select(User).where(User.institution_id == inst.id).order_by(User.username)
        ).scalars()
    )


def up_referral(session: Session, clock, *, patient: Patient | None = None, **kw):  # type: ignore[no-untyped-def]
    """A draft referral by `county-doctor` to the league hospital (one tier up)."""
    from referrals import service
    from referrals.schemas import ReferralCreate

    cd = user_named(session, "county-doctor")
    if patient is None:
        patient = new_patient(session)
        patient.institution_id = cd.institution_id
        session.flush()
    data = {
        "patient_id": patient.id,
        "to_institution_id": league_hospital(session).id,
        "direction": "up",
        "reason": "胸痛待查",
        "diagnosis_code": "I20.9",
        **kw,
    }
    return service.create_referral(
        session=session,
        data=ReferralCreate(**data),
        by=cd,
        now=clock.at,
        settings=get_settings(),
    )


def reserved_slot(  # type: ignore[no-untyped-def]
    session: Session,
    inst: Institution,
    start_at,
    *,
    capacity: int = 1,
    reserved: int = 1,
    service_class: str = "outpatient",
):
    """A slot at `inst` whose places are (partly) reserved for family-doctor referrals."""
    from scheduling.models import Slot

    slot = Slot(
        institution_id=inst.id,
        specialty_code="internal_medicine",
        service_class=service_class,
        league_code=inst.league_code,
        tier=inst.tier,
        institution_name=inst.name_zh,
        start_at=start_at,
        end_at=start_at + timedelta(minutes=30),
        capacity=capacity,
        reserved=reserved,
        release_at=start_at - timedelta(hours=48),
        created_at=core_clock.now(),
    )
    session.add(slot)
    session.flush()
    return slot


from tests.referrals.agency_fixtures import agency  # noqa: E402, F401 (the fake agency fixture)
