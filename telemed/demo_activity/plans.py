"""What the month holds: which consultations and referrals happen, when, between whom,
and how each ends (drawn from the seeded random generator, in a fixed order)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from telemed.demo_activity.cast import Cast
from telemed.demo_activity.consultations import ConsultPlan, consultation_fate
from telemed.demo_activity.referrals import ReferralPlan
from telemed.demo_activity.simulation import DAYS, day_time

CONSULTATIONS_PER_LEAGUE = (10, 20)  # over the 30 days, per league (random in range)
ACUTE_SHARE = 0.35  # live emergency consultations; the rest are remote ECG readings
UP_REFERRALS_PER_LEAGUE = (4, 9)
DOWN_SHARE = 0.45  # of completed up-referrals, sent back down for rehabilitation
REDIRECT_SHARE = 0.12  # of live requests: via the coordinator's regional hospital, sent on


def plans(
    cast: Cast, rng: random.Random, start: datetime, now: datetime
) -> tuple[list[ConsultPlan], list[ReferralPlan]]:
    """The consultations and referrals of the month, league by league."""
    cons: list[ConsultPlan] = []
    refs: list[ReferralPlan] = []
    coordinator = cast.coordinator
    coordinated = [
        u
        for u in cast.regional
        if coordinator is not None and u.institution_id == coordinator.institution_id
    ]
    for k, league in enumerate(cast.leagues):
        ecg = [u for u in league.specialists if u.specialty_code == "electrophysiology"]
        acute = [u for u in league.specialists if u.specialty_code != "electrophysiology"]
        count = rng.randint(*CONSULTATIONS_PER_LEAGUE)
        # the last hours: requests waiting to be accepted or reported, a session going on
        recent = [
            now - timedelta(hours=rng.uniform(1, 30)),
            now - timedelta(hours=rng.uniform(1, 8)),
        ]
        if k < 2:
            recent.append(now - timedelta(minutes=rng.uniform(15, 35)))
        for n in range(count + len(recent)):
            county, doctors = rng.choice(league.counties)
            live = n == count + 2 or (n < count and rng.random() < ACUTE_SHARE)
            if live:  # emergencies: to the own league hospital or a regional hospital
                specialist = rng.choice(acute if rng.random() < 0.5 else cast.regional)
            else:
                specialist = rng.choice(ecg or league.specialists)
            at = (
                recent[n - count] if n >= count else day_time(rng, start, rng.randrange(DAYS), live)
            )
            fate = consultation_fate(rng) if n < count else "normal"
            redirect = None
            if (
                live
                and n < count
                and acute
                and coordinator is not None
                and coordinated
                and rng.random() < REDIRECT_SHARE
            ):
                # sent to the coordinator's regional hospital, which sends it on to the
                # league's own specialist
                specialist = rng.choice(coordinated)
                redirect = (coordinator, rng.choice(acute))
                fate = "normal"
            cons.append(
                ConsultPlan(
                    at=at,
                    requester=rng.choice(doctors),
                    county=county,
                    specialist=specialist,
                    fate=fate,
                    acknowledge=rng.random() < 0.85,
                    pay=rng.random() < 0.8,
                    case=n,
                    redirect=redirect,
                )
            )
        for n in range(rng.randint(*UP_REFERRALS_PER_LEAGUE)):
            county, doctors = rng.choice(league.counties)
            r = rng.random()
            fate = "reject" if r < 0.12 else "cancel" if r < 0.17 else "normal"
            if fate == "normal" and rng.random() < DOWN_SHARE:
                fate = "down"
            refs.append(
                ReferralPlan(
                    at=day_time(rng, start, rng.randrange(DAYS), False),
                    referrer=rng.choice(doctors),
                    county=county,
                    league=league,
                    fate=fate,
                    close=rng.random() < 0.8,
                    case=n,
                )
            )
    return cons, refs
