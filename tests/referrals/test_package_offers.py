"""The packages offered to a resident are the ones the signing rule accepts: a 64-year-old
man is offered neither the 65+ package, nor the maternity one, nor the 0-6 children's; the
day he turns 65 the elderly package is offered and signs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from referrals.family import contracts, packages
from telemed.core.errors import Invalid
from telemed.core.settings import get_settings
from tests.referrals.conftest import CONSENT, demo_team, new_patient, user_named

Login = Callable[[str], dict[str, str]]


def _offers(client: TestClient, headers: dict[str, str], pid: Any) -> dict[str, Any]:
    r = client.get(f"/api/v1/family-doctors/patients/{pid}/packages", headers=headers)
    assert r.status_code == 200, r.text
    return {p["code"]: p for p in r.json()}


def test_a_64_year_old_man_is_offered_only_what_he_may_sign(
    client: TestClient, session: Session, login: Login, clock: Any
) -> None:
    # the clock stands at 2026-12-01 (Beijing): born 1961-12-02 he is 64 for one more day
    man = new_patient(session, born=date(1961, 12, 2))
    team = demo_team(session)
    fd = user_named(session, "family-doctor")
    contracts.sign_contract(
        session=session,
        patient_id=man.id,
        team_id=team.id,
        package_codes=[],
        by=fd,
        now=clock.at,
        settings=get_settings(),
        consent=CONSENT,
    )
    offers = _offers(client, login("family-doctor"), man.id)
    refused = {c: p["ineligible_reason"] for c, p in offers.items() if not p["eligible"]}
    assert refused == {"elderly": "under_65", "maternal": "not_female", "child": "over_6"}
    assert offers["basic"]["eligible"] and offers["hypertension"]["eligible"]
    assert offers["hypertension"]["fee_yuan"] == 60.0
    # what is offered as refused is what signing refuses, with the same reason
    with pytest.raises(Invalid) as exc:
        packages.resolve_packages(session, ["elderly"], man, date(2026, 12, 1))
    assert exc.value.code == "package_not_eligible" and exc.value.extra["reason"] == "under_65"
    assert packages.resolve_packages(session, ["elderly"], man, date(2026, 12, 2))


def test_a_woman_of_70_is_offered_the_elderly_and_maternity_packages(
    client: TestClient, session: Session, login: Login
) -> None:
    woman = new_patient(session, born=date(1956, 3, 1), female=True)
    session.flush()
    offers = _offers(client, login("admin"), woman.id)
    assert offers["elderly"]["eligible"] and offers["maternal"]["eligible"]
    assert offers["child"] == {**offers["child"], "eligible": False, "ineligible_reason": "over_6"}


def test_the_offer_of_a_hidden_resident_is_404(
    client: TestClient, session: Session, login: Login
) -> None:
    stranger = new_patient(session)
    r = client.get(
        f"/api/v1/family-doctors/patients/{stranger.id}/packages", headers=login("specialist")
    )
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_the_family_doctor_sees_the_offer_of_a_county_resident_before_signing(
    client: TestClient, session: Session, login: Login
) -> None:
    """A resident of the team's county, registered at the county hospital and not contracted
    yet: the family doctor found them by the resident ID to sign them, and may see what they
    may sign; a doctor of another county may not."""
    resident = new_patient(session, born=date(1990, 6, 1))
    session.flush()
    offers = _offers(client, login("family-doctor"), resident.id)
    assert not offers["elderly"]["eligible"] and offers["hypertension"]["eligible"]
    r = client.get(
        f"/api/v1/family-doctors/patients/{resident.id}/packages", headers=login("patient")
    )
    assert r.status_code == 404
