"""Candidate receivers of a referral: a contracted resident goes down to their own team's
institution; otherwise the routing rule seen from the patient (docs/routing.md)."""

from __future__ import annotations

from sqlmodel import Session

from referrals import policy
from referrals.family.contract_queries import active_contract_for
from referrals.family.teams import get_team
from referrals.schemas import ReceiverProposal, RoutingReason
from telemed.identity.models import Patient
from telemed.network.models import Institution


def propose_receivers(
    *,
    session: Session,
    src: Institution,
    patient: Patient,
    direction: str,
    specialty: str | None = None,
) -> list[ReceiverProposal]:
    """The receivers to offer, in order, each with its reason."""
    if direction == "down":
        contract = active_contract_for(session=session, patient_id=patient.id)
        if contract is not None:
            team = get_team(session=session, team_id=contract.team_id)
            inst = session.get(Institution, team.institution_id)
            assert inst is not None
            return [
                ReceiverProposal(
                    institution_id=inst.id,
                    name_zh=inst.name_zh,
                    tier=inst.tier,
                    league_code=inst.league_code,
                    in_alliance=True,
                    alliance_ids=[],
                )
            ]
    props = policy.propose_receivers(
        session=session,
        src=src,
        direction=direction,
        patient_institution_id=patient.institution_id,
        specialty=specialty,
        where=policy.patient_place(session=session, patient=patient, src=src),
    )
    return [
        ReceiverProposal(
            institution_id=p.institution.id,
            name_zh=p.institution.name_zh,
            tier=p.institution.tier,
            league_code=p.institution.league_code,
            in_alliance=p.in_alliance,
            alliance_ids=p.alliance_ids,
            routing_tier=p.placement.tier.code,
            routing_rank=p.placement.tier.rank,
            distance_km=p.placement.distance_km,
            reason=RoutingReason(code=p.reason_code, params=p.reason_params),
        )
        for p in props
    ]
