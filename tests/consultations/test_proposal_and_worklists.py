"""Proposal order (alliance, tier, earliest slot) and each role's worklist."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.consultations import service
from telemed.core.clock import now as clock_now
from telemed.identity.models import Role, Title, User
from telemed.network.models import Institution

API = "/api/v1/consultations"


def _specialist(session: Session, inst: Institution, name: str, title: Title) -> User:
    u = User(
        username=f"tcm-{name}",
        password_hash="x",
        role=Role.SPECIALIST,
        full_name=name,
        institution_id=inst.id,
        specialty_code="tcm",
        title=title,
        created_at=clock_now(),
    )
    session.add(u)
    session.flush()
    return u


def test_proposal_of_a_specialty_outside_the_alliances_follows_the_league(
    session: Session, users: Any, clock: Any
) -> None:
    doctor = users("county-doctor")
    county = session.get(Institution, doctor.institution_id)
    assert county is not None
    league = session.execute(
        select(Institution).where(
            Institution.tier == "league", Institution.league_code == county.league_code
        )
    ).scalar_one()
    regional = session.execute(select(Institution).where(Institution.tier == "regional")).scalars()
    same_league = next(r for r in regional if r.league_code == county.league_code)
    elsewhere = (
        session.execute(
            select(Institution).where(
                Institution.tier == "regional", Institution.league_code != county.league_code
            )
        )
        .scalars()
        .first()
    )
    assert elsewhere is not None
    far_regional = _specialist(session, elsewhere, "甲", Title.CHIEF)
    near_league = _specialist(session, league, "乙", Title.CHIEF)
    near_regional = _specialist(session, same_league, "丙", Title.CHIEF)
    _specialist(session, same_league, "丁", Title.ATTENDING)  # below the wanted title
    found = service.propose(
        session=session,
        viewer=doctor,
        requesting_institution_id=county.id,
        service_class="consultation",
        specialty="tcm",
        title=Title.ASSOCIATE_CHIEF,
        now=clock(),
    )
    # no tcm specialist alliance exists: the city medical group, then the league, then region
    assert [p.specialist_id for p in found] == [near_league.id, near_regional.id, far_regional.id]
    assert [p.reason.code for p in found] == [
        "routing.city_group",
        "routing.league",
        "routing.region",
    ]
    assert [p.same_alliance for p in found] == [True, False, False]


def test_submitting_without_a_choice_routes_to_the_top_proposal(
    client: TestClient, login: Any, make_request: Any
) -> None:
    c = make_request(specialist=None, specialty="radiology")
    top = client.post(
        f"{API}/proposals",
        json={"service_class": "imaging_diagnosis", "wanted_specialty": "radiology"},
        headers=login("county-doctor"),
    ).json()[0]
    assert c["proposed_specialist_id"] == top["specialist_id"]
    assert c["receiving_institution_id"] == top["institution_id"]


def test_worklists_by_role(client: TestClient, login: Any, make_request: Any, clock: Any) -> None:
    routine = make_request(urgency="routine")
    emergency = make_request(urgency="emergency")
    urgent = make_request(urgency="urgent")
    draft = make_request(submit=False)
    mine = client.get(API, headers=login("county-doctor")).json()
    assert {c["id"] for c in mine["items"]} >= {
        routine["id"],
        emergency["id"],
        urgent["id"],
        draft["id"],
    }
    drafts = client.get(f"{API}?role=requester&state=draft", headers=login("county-doctor")).json()
    assert [c["id"] for c in drafts["items"]] == [draft["id"]]
    # the specialist sees what is offered or assigned, most urgent first
    spec = client.get(API, headers=login("specialist2")).json()["items"]
    order = [c["id"] for c in spec if c["id"] in {routine["id"], emergency["id"], urgent["id"]}]
    assert order == [emergency["id"], urgent["id"], routine["id"]]
    assert "accept" in spec[0]["allowed_actions"]
    # the receiving coordinator's incoming queue, same order, no drafts
    queue = client.get(f"{API}?role=coordinator", headers=login("coordinator")).json()["items"]
    ids = [c["id"] for c in queue]
    assert draft["id"] not in ids and ids.index(emergency["id"]) < ids.index(routine["id"])
    # the patient sees their own submitted requests
    own = client.get(API, headers=login("patient")).json()["items"]
    assert draft["id"] not in {c["id"] for c in own} and routine["id"] in {c["id"] for c in own}
    assert client.get(f"{API}?role=coordinator", headers=login("county-doctor")).status_code == 422


def test_admin_sets_fees(client: TestClient, login: Any) -> None:
    r = client.put(
        f"{API}/fees",
        json={"service_class": "ecg_diagnosis", "tier": "regional", "amount_cents": 4500},
        headers=login("admin"),
    )
    assert r.status_code == 200 and r.json()["amount_cents"] == 4500
    fees = client.get(f"{API}/fees", headers=login("county-doctor")).json()
    assert {"service_class": "ecg_diagnosis", "tier": "regional"}.items() <= next(
        f for f in fees if f["service_class"] == "ecg_diagnosis" and f["tier"] == "regional"
    ).items()
    assert (
        client.put(
            f"{API}/fees",
            json={"service_class": "ecg_diagnosis", "tier": "regional", "amount_cents": 1},
            headers=login("coordinator"),
        ).status_code
        == 403
    )
