"""Who may link a study to a consultation or referral, and unlink it (`dicom.policy`).

Real domains (consultations, referrals) answer for their targets; PostgreSQL throughout.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from dicom import service
from dicom.models import StudyLink
from referrals import service as referrals_service
from referrals.models import Referral
from telemed.core.audit import AuditEvent
from telemed.core.settings import get_settings
from telemed.identity.models import Role, User
from tests.consultations.conftest import demo_patient, make_request, users  # noqa: F401
from tests.referrals.conftest import league_hospital, staff_of, up_referral

API = "/api/v1"


def _doctor(session: Session, *, same_as: User, same: bool) -> User:
    """A demo county doctor of the same hospital as `same_as`, or of another one."""
    cond = (
        User.institution_id == same_as.institution_id
        if same
        else User.institution_id != same_as.institution_id
    )
    return session.execute(
        select(User)
        .where(User.role == Role.COUNTY_DOCTOR, User.id != same_as.id, cond)
        .order_by(User.username)
        .limit(1)
    ).scalar_one()


def _link(client: TestClient, uid: str, kind: str, target: Any, headers: dict[str, str]) -> Any:
    return client.post(
        f"{API}/studies/{uid}/links",
        json={"target_type": kind, "target_id": str(target)},
        headers=headers,
    )


def _links(session: Session, uid: str) -> list[tuple[str, uuid.UUID]]:
    rows = session.execute(
        select(StudyLink.target_type, StudyLink.target_id).where(StudyLink.study_uid == uid)
    ).all()
    return [(t, i) for t, i in rows]


def test_linking_needs_the_study_its_ownership_and_a_target_the_caller_writes(
    client: TestClient,
    login: Any,
    session: Session,
    indexed_study: Any,
    make_request: Any,  # noqa: F811
) -> None:
    county_user = session.execute(select(User).where(User.username == "county-doctor")).scalar_one()
    outsider = _doctor(session, same_as=county_user, same=False)
    colleague = _doctor(session, same_as=county_user, same=True)
    county, spec2 = login("county-doctor"), login("specialist2")
    uid = indexed_study("county-doctor")
    regional_uid = indexed_study("specialist2")
    outsider_uid = indexed_study(outsider.username)
    c = make_request()  # county-doctor asks specialist2 (a candidate: reads it)

    # A target that does not exist, and one of another hospital: the same 404.
    missing = _link(client, uid, "consultation", uuid.uuid4(), county)
    assert missing.status_code == 404 and missing.json()["code"] == "link_target_not_found"
    foreign = _link(client, outsider_uid, "consultation", c["id"], login(outsider.username))
    assert foreign.status_code == 404 and foreign.json()["code"] == "link_target_not_found"
    assert foreign.json()["detail"] == f"consultation {c['id']} not found"
    # Readers who may not attach: the candidate specialist, a colleague of the requester.
    ro = _link(client, regional_uid, "consultation", c["id"], spec2)
    assert ro.status_code == 403 and ro.json()["code"] == "link_target_forbidden"
    colleague_uid = indexed_study(colleague.username)
    ro2 = _link(client, colleague_uid, "consultation", c["id"], login(colleague.username))
    assert ro2.status_code == 403 and ro2.json()["code"] == "link_target_forbidden"
    # A study the caller cannot see at all.
    hidden = _link(client, outsider_uid, "consultation", c["id"], county)
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    assert _links(session, outsider_uid) == [] and _links(session, regional_uid) == []

    ok = _link(client, uid, "consultation", c["id"], county)
    assert ok.status_code == 201, ok.text
    assert client.get(f"{API}/studies/{uid}", headers=spec2).status_code == 200
    # Seen through the link only: never linked onward, whatever the target.
    for target in (c["id"], uuid.uuid4()):
        onward = _link(client, uid, "consultation", target, spec2)
        assert onward.status_code == 403 and onward.json()["code"] == "not_study_owner"
    assert _links(session, uid) == [("consultation", uuid.UUID(c["id"]))]

    # A request that accepts no more attachments.
    closed = make_request()
    r = client.post(
        f"{API}/consultations/{closed['id']}/cancel", json={"reason": "患者转院"}, headers=county
    )
    assert r.status_code == 200, r.text
    late = _link(client, uid, "consultation", closed["id"], county)
    assert late.status_code == 409 and late.json()["code"] == "link_target_closed"
    late2 = client.post(
        f"{API}/consultations/{closed['id']}/studies", json={"study_uid": uid}, headers=county
    )
    assert late2.status_code == 409 and late2.json()["code"] == "link_target_closed"
    assert late.headers["content-type"].startswith("application/problem+json")


def test_unlinking_follows_the_same_rule_is_audited_and_hides_the_study_at_once(
    client: TestClient,
    login: Any,
    session: Session,
    indexed_study: Any,
    make_request: Any,  # noqa: F811
) -> None:
    county, spec2 = login("county-doctor"), login("specialist2")
    uid = indexed_study("county-doctor")
    c = make_request()
    assert (
        client.post(
            f"{API}/consultations/{c['id']}/studies", json={"study_uid": uid}, headers=county
        ).status_code
        == 201
    )
    listed = client.get(f"{API}/consultations/{c['id']}/studies", headers=county).json()
    assert [s["study_uid"] for s in listed] == [uid]
    assert client.get(f"{API}/studies/{uid}", headers=spec2).status_code == 200

    url = f"{API}/studies/{uid}/links/consultation/{c['id']}"
    refused = client.delete(url, headers=spec2)  # a reader, not the sender
    assert refused.status_code == 403 and refused.json()["code"] == "not_study_owner"
    assert client.delete(url, headers=login("patient")).status_code == 403
    assert _links(session, uid) == [("consultation", uuid.UUID(c["id"]))]

    gone = client.delete(url, headers=county)
    assert gone.status_code == 204, gone.text
    assert _links(session, uid) == []
    assert client.get(f"{API}/studies/{uid}", headers=spec2).status_code == 404
    assert client.get(f"{API}/consultations/{c['id']}/studies", headers=county).json() == []
    again = client.delete(url, headers=county)
    assert again.status_code == 404 and again.json()["code"] == "link_not_found"
    rows = (
        session.execute(
            select(AuditEvent).where(AuditEvent.object_id == uid, AuditEvent.action == "delete")
        )
        .scalars()
        .all()
    )
    assert [r.detail["what"] for r in rows] == ["unlink"]
    assert rows[0].detail["target_id"] == c["id"]

    # The consultation's own route unlinks through the same rule.
    client.post(f"{API}/consultations/{c['id']}/studies", json={"study_uid": uid}, headers=county)
    own = client.delete(f"{API}/consultations/{c['id']}/studies/{uid}", headers=spec2)
    assert own.status_code == 403
    own = client.delete(f"{API}/consultations/{c['id']}/studies/{uid}", headers=county)
    assert own.status_code == 204
    assert client.get(f"{API}/studies/{uid}", headers=spec2).status_code == 404


def test_referral_links_follow_the_rule_and_unlinking_drops_the_attachment(
    client: TestClient, login: Any, session: Session, indexed_study: Any, clock: Any
) -> None:
    county_user = session.execute(select(User).where(User.username == "county-doctor")).scalar_one()
    uid = indexed_study("county-doctor")
    r = up_referral(session, clock)
    referrals_service.transition(
        session=session,
        referral_id=r.id,
        action="submit",
        by=county_user,
        now=clock.at,
        settings=get_settings(),
    )
    session.flush()
    receiver = staff_of(session, league_hospital(session))[0]
    county = login("county-doctor")
    # Not a party: the regional specialist links their own study -> hidden target.
    regional_uid = indexed_study("specialist")
    outsider = client.post(
        f"{API}/referrals/{r.id}/studies",
        json={"study_uid": regional_uid},
        headers=login("specialist"),
    )
    assert outsider.status_code == 404
    via_dicom = _link(client, regional_uid, "referral", r.id, login("specialist"))
    assert via_dicom.status_code == 404 and via_dicom.json()["code"] == "link_target_not_found"

    ok = client.post(f"{API}/referrals/{r.id}/studies", json={"study_uid": uid}, headers=county)
    assert ok.status_code == 200, ok.text
    assert service.can_see_study(session=session, user=receiver, study_uid=uid)
    # The receiver sees it through the link only: no onward link.
    onward = _link(client, uid, "consultation", uuid.uuid4(), login(receiver.username))
    assert onward.status_code == 403 and onward.json()["code"] == "not_study_owner"

    gone = client.delete(f"{API}/referrals/{r.id}/studies/{uid}", headers=county)
    assert gone.status_code == 200, gone.text
    assert all(a.get("study_uid") != uid for a in gone.json()["attachments"])
    session.expire_all()
    stored = session.get(Referral, r.id)
    assert stored is not None and all(a.get("study_uid") != uid for a in stored.attachments)
    assert not service.can_see_study(session=session, user=receiver, study_uid=uid)
    assert _links(session, uid) == []

    # Cancelled: no more attachments.
    cancel = client.post(
        f"{API}/referrals/{r.id}/cancel", json={"reason": "患者拒绝转诊"}, headers=county
    )
    assert cancel.status_code == 200, cancel.text
    late = client.post(f"{API}/referrals/{r.id}/studies", json={"study_uid": uid}, headers=county)
    assert late.status_code == 409 and late.json()["code"] == "link_target_closed"
