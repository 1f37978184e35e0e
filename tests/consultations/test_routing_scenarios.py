"""The routing rule on the seeded network: a table of scenarios (patient county, requester,
specialty, urgency) and the first three candidates with the reason each one shows; the
override of the proposal order (reason required, recorded, audited, shown); emergencies to
the earliest slot; distances from the county seat; referral receivers on the same rule."""

from __future__ import annotations

import csv
import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from referrals import policy as referral_policy
from telemed.consultations import service
from telemed.consultations.models import Consultation
from telemed.consultations.schemas import ConsentCreate, ConsultationCreate, ConsultationPublic
from telemed.core.audit import AuditEvent
from telemed.core.clock import now as clock_now
from telemed.core.errors import Invalid
from telemed.core.settings import get_settings
from telemed.identity.models import Patient, User
from telemed.network import routing as network_routing
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


def _patient(session: Session, county_code: str, home: Institution | None = None) -> Patient:
    p = Patient(
        institution_id=home.id if home else None,
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


# ---------------------------------------------------------------- overrides, emergencies


def _create(
    session: Session, doctor: User, patient: Patient, now: Any, **extra: Any
) -> Consultation:
    return service.create(
        session=session,
        by=doctor,
        data=ConsultationCreate(
            patient_id=patient.id,
            service_class="consultation",  # type: ignore[arg-type]
            summary="胸痛 3 小时",
            question="请协助诊治",
            wanted_specialty="cardiology",
            consent=ConsentCreate(given_by="测试", method="verbal", given_at=now),
            **extra,
        ),
        now=now,
    )


def _specialist_at(session: Session, code: str) -> User:
    return (
        session.execute(
            select(User)
            .join(Institution, Institution.id == User.institution_id)  # type: ignore[arg-type]
            .where(Institution.code == code, User.specialty_code == "cardiology")
            .order_by(User.username)
        )
        .scalars()
        .first()
    )  # type: ignore[return-value]


def test_choosing_a_hospital_outside_the_proposal_order_needs_a_reason_that_is_recorded(
    session: Session, clock: Any
) -> None:
    inst = session.execute(select(Institution).where(Institution.code == "C150428")).scalar_one()
    doctor = _doctor_of(session, inst)
    patient = _patient(session, "150428", inst)
    other = _specialist_at(session, TONGLIAO_CITY)  # third in the proposal order
    assert other is not None
    with pytest.raises(Invalid) as refused:
        _create(session, doctor, patient, clock(), chosen_specialist_id=other.id)
    assert refused.value.code == "override_reason_required"
    first = session.execute(
        select(Institution).where(Institution.code == CHIFENG_CITY)
    ).scalar_one()
    assert refused.value.extra["first_proposed_institution_id"] == str(first.id)

    c = _create(
        session,
        doctor,
        patient,
        clock(),
        chosen_specialist_id=other.id,
        override_reason="  患者家属在通辽，便于复诊  ",
    )
    assert c.override_reason == "患者家属在通辽，便于复诊"
    assert c.first_proposed_institution_id == first.id
    service.submit(
        session=session, consultation_id=c.id, by=doctor, now=clock(), settings=get_settings()
    )
    assert c.receiving_institution_id == other.institution_id
    submitted = [t for t in service.history(session=session, consultation_id=c.id)][-1]
    assert submitted.action == "submit"
    assert submitted.data["override"] == {
        "first_proposed_institution_id": str(first.id),
        "chosen_institution_id": None,
        "chosen_specialist_id": str(other.id),
        "reason": "患者家属在通辽，便于复诊",
    }
    audited = session.execute(
        select(AuditEvent).where(
            AuditEvent.object_id == str(c.id), AuditEvent.action == "routing_override"
        )
    ).scalar_one()
    assert audited.actor_id == doctor.id
    assert audited.detail["override"]["reason"] == "患者家属在通辽，便于复诊"
    shown = ConsultationPublic.model_validate(c)
    assert shown.override_reason == "患者家属在通辽，便于复诊"
    assert shown.first_proposed_institution_id == first.id


def test_choosing_the_first_proposed_hospital_needs_no_reason(session: Session, clock: Any) -> None:
    inst = session.execute(select(Institution).where(Institution.code == "C150428")).scalar_one()
    doctor = _doctor_of(session, inst)
    patient = _patient(session, "150428", inst)
    first = _specialist_at(session, CHIFENG_CITY)
    c = _create(
        session,
        doctor,
        patient,
        clock(),
        chosen_specialist_id=first.id,
        override_reason="not needed",
    )
    assert c.first_proposed_institution_id is None and c.override_reason is None
    service.submit(
        session=session, consultation_id=c.id, by=doctor, now=clock(), settings=get_settings()
    )
    assert "override" not in service.history(session=session, consultation_id=c.id)[-1].data


def test_an_emergency_goes_to_the_candidate_with_the_earliest_slot(
    session: Session, clock: Any
) -> None:
    inst = session.execute(select(Institution).where(Institution.code == "C150428")).scalar_one()
    doctor = _doctor_of(session, inst)
    patient = _patient(session, "150428", inst)
    everyone = service.propose(
        session=session,
        viewer=doctor,
        requesting_institution_id=inst.id,
        service_class="consultation",
        specialty="cardiology",
        title=None,
        patient_id=patient.id,
        urgency="emergency",
        now=clock(),
        limit=50,
    )
    slots = [p.earliest_slot_at for p in everyone if p.earliest_slot_at is not None]
    assert slots, "the seed has free cardiology slots"
    c = _create(session, doctor, patient, clock(), urgency="emergency")
    service.submit(
        session=session, consultation_id=c.id, by=doctor, now=clock(), settings=get_settings()
    )
    chosen = next(p for p in everyone if p.specialist_id == c.proposed_specialist_id)
    assert chosen.earliest_slot_at == min(slots)
    assert c.receiving_institution_id == chosen.institution_id
    # routine order would start at the city hospital; the emergency ignores the tiers
    assert chosen.reason.code == "routing.emergency_earliest"


# ---------------------------------------------------------------- distance, referral receivers


def _seat(code: str) -> tuple[float, float]:
    path = Path(network_routing.__file__).parent / "data" / "seats.csv"
    with path.open(encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["code"] == code)
    return float(row["lat"]), float(row["lon"])


def _haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return float(round(2 * 6371 * math.asin(math.sqrt(h))))


def test_distance_runs_from_the_patient_county_seat(session: Session, clock: Any) -> None:
    inst = session.execute(select(Institution).where(Institution.code == "C150428")).scalar_one()
    found = service.propose(
        session=session,
        viewer=_doctor_of(session, inst),
        requesting_institution_id=inst.id,
        service_class="consultation",
        specialty="cardiology",
        title=None,
        patient_id=_patient(session, "150428").id,
        now=clock(),
    )
    city = session.execute(select(Institution).where(Institution.code == CHIFENG_CITY)).scalar_one()
    assert city.county_code is None  # a league hospital stands at its league's seat
    expected = _haversine(_seat("150428"), _seat(city.league_code))
    assert expected > 10  # 喀喇沁旗 is not the city: a league seat alone would give 0
    assert found[0].distance_km == expected


@pytest.mark.parametrize(
    ("county", "requester", "expected"),
    [
        pytest.param(
            "150428",
            "C150428",
            [(CHIFENG_CITY, "routing.city_group")],
            id="chifeng-county-up-to-its-city-hospital",
        ),
        pytest.param(
            "150122",
            "C150428",
            [("L150100", "routing.city_group")],
            id="hohhot-patient-seen-in-chifeng-goes-to-their-own-league",
        ),
    ],
)
def test_referral_receivers_are_ranked_by_the_routing_rule(
    session: Session, county: str, requester: str, expected: list[tuple[str, str]]
) -> None:
    src = session.execute(select(Institution).where(Institution.code == requester)).scalar_one()
    patient = _patient(session, county)
    props = referral_policy.propose_receivers(
        session=session,
        src=src,
        direction="up",
        patient_institution_id=None,
        specialty="cardiology",
        where=referral_policy.patient_place(session=session, patient=patient, src=src),
    )
    got = [(p.institution.code, p.reason_code) for p in props[: len(expected)]]
    assert got == expected
    assert all(p.institution.tier == "league" for p in props)
    keys = [(p.placement.tier.rank, p.placement.distance_km) for p in props]
    assert keys == sorted(keys, key=lambda k: (k[0], k[1] if k[1] is not None else math.inf))
    assert props[0].reason_params["county"] == county
    assert props[0].reason_params["alliance_code"] == f"A-CMG-{props[0].institution.league_code}"
