"""Tier policy: one tier up at a time unless urgent or green channel (reason recorded);
receivers in the patient's alliances proposed first; the step is configurable."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from referrals import policy
from telemed.core.errors import Invalid
from telemed.core.settings import ReferralSettings, get_settings
from telemed.network.models import Institution, Tier
from tests.referrals.conftest import county_hospital, league_hospital


def _inst(session: Session, code: str) -> Institution:
    return session.execute(select(Institution).where(Institution.code == code)).scalar_one()


def _check(src: Institution, dst: Institution, settings=None, **kw) -> None:  # type: ignore[no-untyped-def]
    args = {
        "direction": "up",
        "urgency": "routine",
        "green_channel": False,
        "green_channel_reason": None,
        "reason": "needs specialist care",
        **kw,
    }
    policy.check_tiers(src=src, dst=dst, settings=settings or get_settings(), **args)


@pytest.fixture
def tiers(session: Session) -> dict[str, Institution]:
    regional = (
        session.execute(
            select(Institution).where(Institution.tier == Tier.REGIONAL).order_by(Institution.code)
        )
        .scalars()
        .first()
    )
    assert regional is not None
    return {
        "village": _inst(session, "V1501221"),
        "township": _inst(session, "P1501221"),
        "county": county_hospital(session),
        "league": league_hospital(session),
        "regional": regional,
    }


@pytest.mark.parametrize(
    ("src", "dst"),
    [("village", "township"), ("township", "county"), ("county", "league"), ("league", "regional")],
)
def test_one_tier_up_is_allowed(tiers: dict[str, Institution], src: str, dst: str) -> None:
    _check(tiers[src], tiers[dst])


@pytest.mark.parametrize(
    ("src", "dst"), [("township", "league"), ("county", "regional"), ("village", "county")]
)
def test_skipping_tiers_is_refused_without_urgency(
    tiers: dict[str, Institution], src: str, dst: str
) -> None:
    with pytest.raises(Invalid) as exc:
        _check(tiers[src], tiers[dst])
    assert exc.value.code == "tier_skip"


def test_urgent_or_green_channel_may_skip_with_a_reason(tiers: dict[str, Institution]) -> None:
    t, r = tiers["township"], tiers["regional"]
    _check(t, r, urgency="urgent")
    _check(t, r, urgency="emergency")
    _check(t, r, green_channel=True, green_channel_reason="STEMI: direct PCI")
    with pytest.raises(Invalid) as exc:
        _check(t, r, green_channel=True, green_channel_reason=" ")
    assert exc.value.code == "green_channel_reason_required"


def test_direction_must_match_the_tiers(session: Session, tiers: dict[str, Institution]) -> None:
    _check(tiers["county"], county_hospital(session, "150123"), direction="lateral")
    with pytest.raises(Invalid) as exc:
        _check(tiers["county"], tiers["township"], direction="up")
    assert exc.value.code == "direction_mismatch"
    _check(tiers["county"], tiers["township"], direction="down")
    _check(tiers["league"], tiers["township"], direction="down")  # down may go several tiers
    _check(tiers["township"], tiers["village"], direction="down")


def test_the_policy_is_configurable(tiers: dict[str, Institution]) -> None:
    base = get_settings()
    two_steps = base.model_copy(update={"referrals": ReferralSettings(max_tier_step=2)})
    _check(tiers["county"], tiers["regional"], settings=two_steps)
    no_skip = base.model_copy(update={"referrals": ReferralSettings(tier_skip_urgencies=[])})
    with pytest.raises(Invalid):
        _check(tiers["county"], tiers["regional"], settings=no_skip, urgency="urgent")


def test_receivers_in_the_alliance_are_proposed_first(
    session: Session, tiers: dict[str, Institution]
) -> None:
    props = policy.propose_receivers(
        session=session,
        src=tiers["township"],
        direction="up",
        patient_institution_id=None,
        specialty=None,
    )
    assert props[0].institution.id == tiers["county"].id and props[0].in_alliance
    assert all(p.institution.tier == "county" for p in props)
    assert any(not p.in_alliance for p in props)  # the rest of the league follows
    first_outside = next(i for i, p in enumerate(props) if not p.in_alliance)
    assert all(p.in_alliance for p in props[:first_outside])
    # from the county hospital: the league hospital of its city medical group first
    up = policy.propose_receivers(
        session=session,
        src=tiers["county"],
        direction="up",
        patient_institution_id=None,
        specialty="cardiology",
    )
    assert up[0].institution.id == tiers["league"].id and up[0].in_alliance
