"""The routing rule on the seeded network: a table of scenarios (patient county, requester,
specialty, urgency) and the first three candidates with the reason each one shows."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select

from telemed.consultations import service
from telemed.core.clock import now as clock_now
from telemed.identity.models import Patient, User
from telemed.network.models import Institution

CHIFENG_CITY = "L150400"  # 赤峰市医院
CHIFENG_COLLEGE = "R15040011"  # 赤峰学院附属医院, lead of the Chifeng-group cardiology alliance
CHIFENG_TUMOUR = "R15040012"  # 赤峰市肿瘤医院
TONGLIAO_CITY = "L150500"  # 通辽市医院: same cardiology alliance, nearer than Ordos

# patient county, requesting county hospital, specialty, urgency -> first three (code, reason)
SCENARIOS = [
    pytest.param(
        "150428",
        "C150428",
        "cardiology",
        "routine",
        [
            (CHIFENG_CITY, "routing.city_group"),
            (CHIFENG_COLLEGE, "routing.specialist_alliance"),
            (TONGLIAO_CITY, "routing.specialist_alliance"),
        ],
        id="chifeng-harqin-cardiology-county-in-the-alliance",
    ),
    pytest.param(
        "150426",
        "C150426",
        "cardiology",
        "routine",
        [
            (CHIFENG_CITY, "routing.city_group"),
            (CHIFENG_COLLEGE, "routing.league"),
            (CHIFENG_TUMOUR, "routing.league"),
        ],
        id="chifeng-ongniud-cardiology-county-outside-the-alliance",
    ),
    pytest.param(
        "150428",
        "C150426",
        "cardiology",
        "routine",
        [
            (CHIFENG_CITY, "routing.city_group"),
            (CHIFENG_COLLEGE, "routing.specialist_alliance"),
            (TONGLIAO_CITY, "routing.specialist_alliance"),
        ],
        id="patient-from-a-member-county-seen-at-a-non-member-requester",
    ),
]


def _doctor_of(session: Session, inst: Institution) -> User:
    return (
        session.execute(select(User).where(User.institution_id == inst.id).order_by(User.username))
        .scalars()
        .first()
    )  # type: ignore[return-value]


def _patient(session: Session, county_code: str) -> Patient:
    p = Patient(
        name="测试",
        sex="female",
        birth_date=date(1960, 1, 1),
        resident_id_hash=f"routing-{county_code}",
        resident_id_masked="1504**********0000",
        county_code=county_code,
        created_at=clock_now(),
    )
    session.add(p)
    session.flush()
    return p


@pytest.mark.parametrize(("county", "requester", "specialty", "urgency", "expected"), SCENARIOS)
def test_routing_scenario(
    session: Session,
    clock: Any,
    county: str,
    requester: str,
    specialty: str,
    urgency: str,
    expected: list[tuple[str, str]],
) -> None:
    inst = session.execute(select(Institution).where(Institution.code == requester)).scalar_one()
    patient = _patient(session, county)
    found = service.propose(
        session=session,
        viewer=_doctor_of(session, inst),
        requesting_institution_id=inst.id,
        service_class="consultation",
        specialty=specialty,
        title=None,
        patient_id=patient.id,
        urgency=urgency,
        now=clock(),
    )
    codes = {
        i.id: i.code
        for i in session.execute(
            select(Institution).where(Institution.id.in_([p.institution_id for p in found]))  # type: ignore[attr-defined]
        ).scalars()
    }
    got = [(codes[p.institution_id], p.reason.code) for p in found[:3]]
    assert got == expected
    first = found[0]
    assert first.reason.params["alliance_code"] == "A-CMG-150400"
    assert first.reason.params["county"] == county


def test_emergency_goes_to_the_earliest_feasible_slot(session: Session, clock: Any) -> None:
    inst = session.execute(select(Institution).where(Institution.code == "C150426")).scalar_one()
    found = service.propose(
        session=session,
        viewer=_doctor_of(session, inst),
        requesting_institution_id=inst.id,
        service_class="consultation",
        specialty="cardiology",
        title=None,
        urgency="emergency",
        now=clock(),
    )
    assert found and {p.reason.code for p in found} == {"routing.emergency_earliest"}
    slots = [p.earliest_slot_at for p in found if p.earliest_slot_at is not None]
    assert slots == sorted(slots)
    assert all(p.earliest_slot_at is None for p in found[len(slots) :])
