"""Invariants under real concurrency (committed transactions on PostgreSQL, threads)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from referrals import service
from referrals.family import contracts
from referrals.models import (
    Contract,
    ContractPackage,
    FamilyDoctorTeam,
    FollowUp,
    Referral,
    ReferralEvent,
    TeamMember,
)
from referrals.schemas import ReferralCreate
from telemed.core.errors import Conflict
from telemed.core.notifications import Notification
from telemed.core.settings import get_settings
from telemed.identity.models import Patient, User
from telemed.network.models import Institution, Tier
from tests.referrals.conftest import CONSENT, county_hospital, new_patient, new_team, user_named

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _race(n: int, work: Callable[[Session, int], Any], engine: Engine) -> list[Any]:
    """Run `work` in n threads released together; each commits its own transaction."""
    barrier = threading.Barrier(n, timeout=30)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        with Session(engine, expire_on_commit=False) as s:
            try:
                barrier.wait()
                results[i] = work(s, i)
                s.commit()
            except Exception as exc:  # the loser's refusal is the result
                s.rollback()
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    return results


def test_one_active_contract_per_resident_under_concurrency(committed_engine: Engine) -> None:
    settings = get_settings()
    with Session(committed_engine, expire_on_commit=False) as s:
        patient = new_patient(s)
        teams = [new_team(s) for _ in range(4)]
        s.commit()
    try:

        def sign(s: Session, i: int) -> uuid.UUID:
            team, lead = teams[i]
            c = contracts.sign_contract(
                session=s,
                patient_id=patient.id,
                team_id=team.id,
                package_codes=["hypertension"],
                by=s.get(User, lead.id),  # type: ignore[arg-type]
                now=NOW,
                settings=settings,
                consent=CONSENT,
            )
            return c.id

        results = _race(4, sign, committed_engine)
        wins = [r for r in results if isinstance(r, uuid.UUID)]
        losses = [r for r in results if isinstance(r, Conflict)]
        assert len(wins) == 1, results
        assert len(losses) == 3, results
        assert {e.code for e in losses} <= {"active_contract_exists", "switch_only_at_renewal"}
        with Session(committed_engine) as s:
            active = (
                s.execute(
                    select(Contract).where(
                        Contract.patient_id == patient.id, Contract.status == "active"
                    )
                )
                .scalars()
                .all()
            )
            assert [c.id for c in active] == wins
    finally:
        with Session(committed_engine) as s:
            ids = select(Contract.id).where(Contract.patient_id == patient.id)
            s.execute(delete(FollowUp).where(FollowUp.contract_id.in_(ids)))  # type: ignore[attr-defined]
            s.execute(delete(ContractPackage).where(ContractPackage.contract_id.in_(ids)))  # type: ignore[attr-defined]
            s.execute(delete(Contract).where(Contract.patient_id == patient.id))
            for team, lead in teams:
                s.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
                s.execute(delete(FamilyDoctorTeam).where(FamilyDoctorTeam.id == team.id))
                s.execute(delete(User).where(User.id == lead.id))
            s.execute(delete(Patient).where(Patient.id == patient.id))
            s.commit()


def test_concurrent_accept_and_reject_have_one_winner(committed_engine: Engine) -> None:
    settings = get_settings()
    with Session(committed_engine, expire_on_commit=False) as s:
        county = county_hospital(s)
        league = s.execute(
            select(Institution).where(
                Institution.tier == Tier.LEAGUE, Institution.league_code == county.league_code
            )
        ).scalar_one()
        a, b = (
            s.execute(
                select(User)
                .where(User.institution_id == league.id)
                .order_by(User.username)
                .limit(2)
            )
            .scalars()
            .all()
        )
        cd = user_named(s, "county-doctor")
        patient = new_patient(s)
        patient.institution_id = county.id
        s.flush()
        r = service.create_referral(
            session=s,
            data=ReferralCreate(
                patient_id=patient.id,
                to_institution_id=league.id,
                direction="up",
                reason="胸痛待查",
                diagnosis_code="I20.9",
            ),
            by=cd,
            now=NOW,
            settings=settings,
        )
        service.transition(
            session=s, referral_id=r.id, action="submit", by=cd, now=NOW, settings=settings
        )
        service.transition(
            session=s, referral_id=r.id, action="receive", by=a, now=NOW, settings=settings
        )
        s.commit()
    try:

        def decide(s: Session, i: int) -> str:
            by = s.get(User, (a if i == 0 else b).id)
            assert by is not None
            done = service.transition(
                session=s,
                referral_id=r.id,
                action="accept" if i == 0 else "reject",
                by=by,
                now=NOW,
                settings=settings,
                reason=None if i == 0 else "no bed",
            )
            return done.status

        results = _race(2, decide, committed_engine)
        statuses = [x for x in results if isinstance(x, str)]
        refused = [x for x in results if isinstance(x, Conflict)]
        assert len(statuses) == 1 and len(refused) == 1, results
        assert refused[0].code == "invalid_transition"
        with Session(committed_engine) as s:
            final = s.get(Referral, r.id)
            assert final is not None and final.status == statuses[0]
            decisions = (
                s.execute(
                    select(ReferralEvent.action).where(
                        ReferralEvent.referral_id == r.id,
                        ReferralEvent.action.in_(["accept", "reject"]),  # type: ignore[attr-defined]
                    )
                )
                .scalars()
                .all()
            )
            assert len(decisions) == 1
    finally:
        with Session(committed_engine) as s:
            s.execute(
                delete(Notification).where(
                    text("CAST(notification.data AS jsonb) ->> 'referral_id' = :rid")
                ),
                {"rid": str(r.id)},
            )
            s.execute(delete(ReferralEvent).where(ReferralEvent.referral_id == r.id))
            s.execute(delete(Referral).where(Referral.id == r.id))
            s.execute(delete(Patient).where(Patient.id == patient.id))
            s.commit()
