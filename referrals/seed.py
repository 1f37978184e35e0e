"""Demo data of tiered care: the package catalogue and a family-doctor team led by
`family-doctor` at the demo county's township health centre. No contract is seeded:
signing `patient` is the first step of the demo story."""

from __future__ import annotations

from sqlmodel import Session, select

from referrals.family import packages, teams
from referrals.models import FamilyDoctorTeam
from telemed.core import clock
from telemed.core.settings import Settings
from telemed.identity.models import User
from telemed.network.models import Institution

DEMO_TEAM_NAME = "赵医生家庭医生团队"


def seed_demo(session: Session, settings: Settings) -> None:
    """Packages and the demo team (idempotent)."""
    packages.ensure_packages(session=session)
    lead = session.execute(
        select(User).where(User.username == "family-doctor")
    ).scalar_one_or_none()
    if lead is None or lead.institution_id is None:
        return
    exists = session.execute(
        select(FamilyDoctorTeam.id).where(FamilyDoctorTeam.lead_doctor_id == lead.id)
    ).first()
    if exists:
        return
    inst = session.get(Institution, lead.institution_id)
    assert inst is not None
    teams.create_team(
        session=session,
        institution_id=inst.id,
        name=DEMO_TEAM_NAME,
        lead_doctor_id=lead.id,
        members=[],
        served_areas=[f"{inst.name_zh.removesuffix('中心卫生院')}城关镇", "五申村", "双河村"],
        capacity=None,
        by=lead,
        now=clock.now(),
    )
