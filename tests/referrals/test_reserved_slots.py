"""Priority for contracted residents: a referral by the resident's own family doctor may book
the reserved places of the scheduling service; others may not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from referrals import booking, service
from referrals.family import contracts
from referrals.schemas import ReferralCreate
from scheduling import service as scheduling_service
from telemed.core.errors import Conflict, Forbidden
from telemed.core.settings import get_settings
from telemed.identity.models import Role, User
from tests.referrals.conftest import (
    CONSENT,
    county_hospital,
    demo_team,
    new_doctor,
    new_patient,
    reserved_slot,
    staff_of,
    user_named,
)

Login = Callable[[str], dict[str, str]]


def _accepted_up_referral(session: Session, clock, by: User, patient_id):  # type: ignore[no-untyped-def]
    settings = get_settings()
    county = county_hospital(session)
    r = service.create_referral(
        session=session,
        data=ReferralCreate(
            patient_id=patient_id,
            to_institution_id=county.id,
            direction="up",
            reason="血压控制不佳",
            diagnosis_code="I10",
        ),
        by=by,
        now=clock.at,
        settings=settings,
    )
    cd = user_named(session, "county-doctor")
    for action, who in (("submit", by), ("receive", cd), ("accept", cd)):
        service.transition(
            session=session,
            referral_id=r.id,
            action=action,
            by=who,
            now=clock.at,
            settings=settings,
        )
    return r


def test_the_hook_is_registered_with_scheduling() -> None:
    assert booking.reserved_eligible in scheduling_service._eligibility


def test_contracted_family_doctor_books_reserved_capacity_and_others_may_not(
    session: Session, clock
) -> None:
    settings = get_settings()
    fd = user_named(session, "family-doctor")
    team = demo_team(session)
    township = session.get(type(county_hospital(session)), fd.institution_id)
    assert township is not None
    # a contracted resident, and a resident of the same township without a contract
    contracted = new_patient(session, with_user=True)
    contracts.sign_contract(
        session=session, patient_id=contracted.id, team_id=team.id, package_codes=["hypertension"],
        by=fd, now=clock.at, settings=settings, consent=CONSENT,
    )  # fmt: skip
    plain = new_patient(session)
    plain.institution_id = township.id
    session.flush()
    start = clock.at + timedelta(days=5)

    # the resident's own family doctor: the reserved place is theirs
    slot = reserved_slot(session, county_hospital(session), start)
    r = _accepted_up_referral(session, clock, fd, contracted.id)
    service.transition(
        session=session, referral_id=r.id, action="book", by=fd, now=clock.at, settings=settings,
        slot_id=slot.id,
    )  # fmt: skip
    assert r.status == "booked" and r.booking_id is not None and r.appointment_at == start
    b = scheduling_service.get_booking(session=session, booking_id=r.booking_id)
    assert b.uses_reserved and b.reference_type == "referral" and b.reference_id == r.id

    # another doctor of the township, not of the resident's team: refused
    colleague = new_doctor(session, township)
    slot2 = reserved_slot(session, county_hospital(session), start + timedelta(hours=1))
    r2 = _accepted_up_referral(session, clock, colleague, plain.id)
    with pytest.raises(Conflict) as exc:
        service.transition(
            session=session, referral_id=r2.id, action="book", by=colleague, now=clock.at,
            settings=settings, slot_id=slot2.id,
        )  # fmt: skip
    assert exc.value.code == "reserved_for_contracted_residents"
    # the family doctor for a resident not contracted with them: refused too
    with pytest.raises(Conflict) as exc:
        scheduling_service.book(
            session=session, slot_id=slot2.id, by=fd, patient_id=plain.id, now=clock.at
        )
    assert exc.value.code == "slot_full"
    # ... and they may not book for a referral they take no part in
    with pytest.raises(Forbidden) as refused:
        booking.book_slot(
            session=session, slot_id=slot2.id, by=fd, patient_id=plain.id, now=clock.at,
            reference_type="referral", reference_id=r2.id,
        )  # fmt: skip
    assert refused.value.code == "reference_forbidden"
    # the receiver books the general place of a mixed slot; the reserved one stays
    mixed = reserved_slot(session, county_hospital(session), start + timedelta(hours=2), capacity=2)
    cd = user_named(session, "county-doctor")
    service.transition(
        session=session, referral_id=r2.id, action="book", by=cd, now=clock.at, settings=settings,
        slot_id=mixed.id,
    )  # fmt: skip
    session.refresh(mixed)
    assert (mixed.booked, mixed.reserved_booked) == (1, 0)


def test_eligibility_rules(session: Session, clock) -> None:
    fd = user_named(session, "family-doctor")
    p = new_patient(session, with_user=True)
    resident = session.execute(
        __import__("sqlmodel").select(User).where(User.patient_id == p.id)
    ).scalar_one()
    assert not booking.reserved_eligible(session, fd, p.id)
    assert not booking.reserved_eligible(session, resident, p.id)
    contracts.sign_contract(
        session=session, patient_id=p.id, team_id=demo_team(session).id, package_codes=[],
        by=fd, now=clock.at, settings=get_settings(), consent=CONSENT,
    )  # fmt: skip
    assert booking.reserved_eligible(session, fd, p.id)
    assert booking.reserved_eligible(session, resident, p.id)  # the contracted resident
    assert not booking.reserved_eligible(session, resident, None)
    assert not booking.reserved_eligible(session, user_named(session, "county-doctor"), p.id)
    assert user_named(session, "patient").role == Role.PATIENT
    assert not booking.reserved_eligible(session, user_named(session, "patient"), p.id)


def test_cancelling_a_booked_referral_frees_the_slot(session: Session, clock) -> None:
    settings = get_settings()
    fd = user_named(session, "family-doctor")
    p = new_patient(session)
    contracts.sign_contract(
        session=session, patient_id=p.id, team_id=demo_team(session).id, package_codes=[],
        by=fd, now=clock.at, settings=settings, consent=CONSENT,
    )  # fmt: skip
    slot = reserved_slot(session, county_hospital(session), clock.at + timedelta(days=4))
    r = _accepted_up_referral(session, clock, fd, p.id)
    service.transition(
        session=session, referral_id=r.id, action="book", by=fd, now=clock.at, settings=settings,
        slot_id=slot.id,
    )  # fmt: skip
    # the receiver cancels (scheduling does not show county doctors others' bookings:
    # the slot is released in the booker's name, saying who cancelled)
    cd = user_named(session, "county-doctor")
    service.transition(
        session=session, referral_id=r.id, action="cancel", by=cd, now=clock.at, settings=settings,
        reason="department closed for renovation",
    )  # fmt: skip
    session.refresh(slot)
    assert slot.booked == 0 and slot.reserved_booked == 0
    b = scheduling_service.get_booking(session=session, booking_id=r.booking_id)  # type: ignore[arg-type]
    assert b.status == "cancelled"
    assert staff_of(session, county_hospital(session))


def test_reserved_refusal_is_problem_json(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    township = session.get(
        type(county_hospital(session)), user_named(session, "family-doctor").institution_id
    )
    assert township is not None
    colleague = new_doctor(session, township)
    colleague.role = Role.FAMILY_DOCTOR
    plain = new_patient(session)
    plain.institution_id = township.id
    slot = reserved_slot(session, county_hospital(session), clock.at + timedelta(days=5))
    r = _accepted_up_referral(session, clock, colleague, plain.id)
    from telemed.identity.service import issue_token

    token, _ = issue_token(session=session, user=colleague, now=clock.at, settings=get_settings())
    session.commit()
    got = client.post(
        f"/api/v1/referrals/{r.id}/book",
        json={"slot_id": str(slot.id)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert got.status_code == 409
    assert got.headers["content-type"].startswith("application/problem+json")
    assert got.json()["code"] == "reserved_for_contracted_residents"


def test_a_referral_books_only_slots_of_its_receiver(session: Session, clock) -> None:
    from telemed.core.errors import Invalid
    from tests.referrals.conftest import league_hospital

    fd = user_named(session, "family-doctor")
    p = new_patient(session)
    contracts.sign_contract(
        session=session, patient_id=p.id, team_id=demo_team(session).id, package_codes=[],
        by=fd, now=clock.at, settings=get_settings(), consent=CONSENT,
    )  # fmt: skip
    elsewhere = reserved_slot(session, league_hospital(session), clock.at + timedelta(days=4))
    r = _accepted_up_referral(session, clock, fd, p.id)
    with pytest.raises(Invalid) as exc:
        service.transition(
            session=session, referral_id=r.id, action="book", by=fd, now=clock.at,
            settings=get_settings(), slot_id=elsewhere.id,
        )  # fmt: skip
    assert exc.value.code == "slot_elsewhere"
