"""Demo data: the network, demo accounts and the doctors of every network hospital.

`telemed seed --demo` runs this (only with TELEMED_ENV=development); the demo
password of every account is `telemed-demo`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime

from sqlmodel import Session, col, select

from referrals import seed as referrals_seed
from scheduling import seed as scheduling_seed
from telemed.consultations import seed as consultations_seed
from telemed.core import clock
from telemed.core.settings import Settings
from telemed.identity import resident_id as rid
from telemed.identity.models import Patient, Role, Title, User
from telemed.identity.names import mongolian_key
from telemed.identity.security import hash_password
from telemed.network.models import Department, DicomAE, Institution
from telemed.network.seed import (
    DEMO_COUNTY_CODE,
    DEMO_REGIONAL_NAME,
    DemoNetwork,
    load_demo_network,
)
from telemed.reference import seed as reference_seed
from telemed.training import seed as training_seed
from telemed.video import seed as video_seed

DEMO_PASSWORD = "telemed-demo"
DEMO_AE_TITLE = "DEMO_COUNTY"
DOCTORS_PER_HOSPITAL = 3

# Later domains add their own demo data here (schedules, contracts ...), run in order.
extra_seeders: list[Callable[[Session, Settings], None]] = []


def _dept(session: Session, inst: Institution, specialty: str) -> Department:
    dept = session.execute(
        select(Department).where(
            Department.institution_id == inst.id, Department.specialty_code == specialty
        )
    ).scalar_one()
    return dept


def seed_demo(session: Session, settings: Settings) -> dict[str, int]:
    """Load the demo network and accounts; idempotent (skips what exists)."""
    net = load_demo_network(session)
    reference_seed.seed_reference(session, settings)
    if session.execute(select(User.id).where(User.username == "admin")).first():
        return {"created_users": 0}
    result = _seed_accounts(session, settings, net)
    consultations_seed.seed_demo(session, settings)
    training_seed.seed_demo(session)
    return result


def _seed_accounts(session: Session, settings: Settings, net: DemoNetwork) -> dict[str, int]:
    now = clock.now()
    pw = hash_password(DEMO_PASSWORD)  # one hash for every demo account: seeding stays fast
    regional = next(i for i in net.regional if i.name_zh == DEMO_REGIONAL_NAME)
    county_hosp = net.county[DEMO_COUNTY_CODE]
    township = net.primary[DEMO_COUNTY_CODE][0]

    born = date(1962, 3, 14)
    number = rid.make(DEMO_COUNTY_CODE, born, 17)
    patient = Patient(
        name="巴特尔",
        name_mn="ᠪᠠᠲᠦᠷ",  # the same name in Mongolian script (telemed.identity.names)
        name_mn_key=mongolian_key("ᠪᠠᠲᠦᠷ"),
        sex="male",
        birth_date=born,
        resident_id_hash=rid.fingerprint(number, key=settings.security.secret_key),
        resident_id_masked=rid.mask(number),
        phone="13800000017",
        sms_consent_at=now,  # agreed at registration to be told by SMS
        sms_consent_method="registration",
        institution_id=county_hosp.id,
        county_code=DEMO_COUNTY_CODE,
        insurance_category="urban_rural_resident",  # 城乡居民: the share insurance pays
        created_at=now,
    )
    session.add(patient)
    session.flush()

    def user(
        username: str,
        role: Role,
        name: str,
        inst: Institution | None = None,
        specialty: str | None = None,
        title: Title | None = None,
        patient_id: uuid.UUID | None = None,
        phone: str | None = None,
    ) -> User:
        dept = _dept(session, inst, specialty) if inst is not None and specialty else None
        u = User(
            username=username,
            password_hash=pw,
            role=role,
            full_name=name,
            institution_id=inst.id if inst else None,
            department_id=dept.id if dept else None,
            specialty_code=specialty,
            title=title,
            created_at=now,
            patient_id=patient_id,
            phone=phone,
        )
        session.add(u)
        return u

    user("admin", Role.ADMIN, "系统管理员")
    user("coordinator", Role.COORDINATOR, "王协调", regional)
    user(
        "county-doctor",
        Role.COUNTY_DOCTOR,
        "李医生",
        county_hosp,
        "internal_medicine",
        Title.ATTENDING,
    )
    user("specialist", Role.SPECIALIST, "张主任", regional, "cardiology", Title.CHIEF)
    user("specialist2", Role.SPECIALIST, "刘主任", regional, "radiology", Title.ASSOCIATE_CHIEF)
    user(
        "family-doctor",
        Role.FAMILY_DOCTOR,
        "赵家庭医生",
        township,
        "general_practice",
        Title.ATTENDING,
    )
    # the demo's named readers of remote pathology and ECG (docs/consultations.md, Demo readers)
    user("pathologist", Role.SPECIALIST, "周病理", regional, "pathology", Title.CHIEF)
    user(
        "ecg-reader",
        Role.SPECIALIST,
        "吴心电",
        regional,
        "electrophysiology",
        Title.ASSOCIATE_CHIEF,
    )
    user("patient", Role.PATIENT, "巴特尔", None, patient_id=patient.id, phone=patient.phone)

    session.add(
        DicomAE(
            institution_id=county_hosp.id,
            ae_title=DEMO_AE_TITLE,
            kind="modality",
            description="demo county CT scanner",
        )
    )
    # Doctors of every network hospital, so search and booking work out of the box.
    titles = list(Title)
    created = 9
    for inst in [*net.regional, *net.league.values(), *net.county.values()]:
        depts = session.execute(
            select(Department)
            .where(Department.institution_id == inst.id)
            .order_by(Department.specialty_code)
        ).scalars()
        for n, dept in enumerate(list(depts)[:DOCTORS_PER_HOSPITAL]):
            session.add(
                User(
                    username=f"dr-{inst.code.lower()}-{n + 1}",
                    password_hash=pw,
                    role=Role.SPECIALIST if inst.tier != "county" else Role.COUNTY_DOCTOR,
                    full_name=f"{dept.name_zh}医生{n + 1}",
                    institution_id=inst.id,
                    department_id=dept.id,
                    specialty_code=dept.specialty_code,
                    title=titles[n % len(titles)],
                    created_at=now,
                )
            )
            created += 1
    created += _seed_readers(session, net, pw, now)
    session.flush()
    for seeder in extra_seeders:
        seeder(session, settings)
    video_seed.seed_demo(session, settings)
    scheduling_seed.seed_demo(session, settings)
    referrals_seed.seed_demo(session, settings)
    return {"created_users": created}


# Remote ECG (远程心电诊断) and remote pathology (远程病理诊断) are read by a department of their
# own; every regional and league hospital with that department gets a reader of it when the
# three `dr-*` doctors above left it without one (docs/consultations.md, Demo readers).
READER_SPECIALTIES = {"electrophysiology": "ecg", "pathology": "path"}


def _seed_readers(session: Session, net: DemoNetwork, pw: str, now: datetime) -> int:
    """`reader-<kind>-<hospital code>` specialists; returns how many were added."""
    hospitals = {i.id: i for i in [*net.regional, *net.league.values()]}
    staffed = set(
        session.execute(
            select(User.institution_id, User.specialty_code).where(
                col(User.role) == Role.SPECIALIST,
                col(User.institution_id).in_(list(hospitals)),
                col(User.specialty_code).in_(list(READER_SPECIALTIES)),
            )
        ).all()
    )
    depts = session.execute(
        select(Department)
        .where(
            col(Department.institution_id).in_(list(hospitals)),
            col(Department.specialty_code).in_(list(READER_SPECIALTIES)),
        )
        .order_by(Department.specialty_code)
    ).scalars()
    added = 0
    for dept in depts:
        inst = hospitals[dept.institution_id]
        if (inst.id, dept.specialty_code) in staffed:
            continue
        kind = READER_SPECIALTIES[dept.specialty_code]
        session.add(
            User(
                username=f"reader-{kind}-{inst.code.lower()}",
                password_hash=pw,
                role=Role.SPECIALIST,
                full_name=f"{dept.name_zh}医生",
                institution_id=inst.id,
                department_id=dept.id,
                specialty_code=dept.specialty_code,
                title=Title.ASSOCIATE_CHIEF if inst.tier == "regional" else Title.ATTENDING,
                created_at=now,
            )
        )
        added += 1
    return added
