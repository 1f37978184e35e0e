"""Home sick beds (家庭病床) and home-visit requests (上门服务) of a contracted resident."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from referrals.family import contracts
from telemed.core.settings import get_settings
from tests.referrals.conftest import CONSENT, demo_team, new_patient, user_named

Login = Callable[[str], dict[str, str]]


def _sign(session: Session, patient_id: object, packages: list[str], clock) -> None:  # type: ignore[no-untyped-def]
    contracts.sign_contract(
        session=session,
        patient_id=patient_id,  # type: ignore[arg-type]
        team_id=demo_team(session).id,
        package_codes=packages,
        by=user_named(session, "family-doctor"),
        now=clock.at,
        settings=get_settings(),
        consent=CONSENT,
    )


def test_home_sick_bed_admission_visits_and_discharge(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    fd = login("family-doctor")
    p = new_patient(session, born=date(1940, 2, 2))
    session.commit()  # (a refused request rolls the shared test session back to here)
    r = client.post(
        "/api/v1/family-doctors/home-beds",
        json={"patient_id": str(p.id), "diagnosis_code": "I63.9"},
        headers=fd,
    )
    # Without a contract the family doctor may not read the resident: the patient does not
    # exist for them (nothing is written).
    assert r.status_code == 404 and r.json()["code"] == "not_found", r.json()
    _sign(session, p.id, ["elderly"], clock)
    session.commit()
    r = client.post(
        "/api/v1/family-doctors/home-beds",
        json={
            "patient_id": str(p.id),
            "diagnosis_code": "I63.9",
            "reason": "脑梗后偏瘫，行动不便",
            "visit_interval_days": 3,
            "planned_services": ["换药", "康复指导", "血压监测"],
        },
        headers=fd,
    )
    assert r.status_code == 201, r.text
    bed = r.json()
    assert client.post(
        "/api/v1/family-doctors/home-beds",
        json={"patient_id": str(p.id), "diagnosis_code": "I63.9"},
        headers=fd,
    ).status_code == 409  # one open bed  # fmt: skip
    # a visit is due after the interval: on the worklist
    clock.advance(hours=3 * 24 - 20)
    from telemed.identity.service import issue_token

    tok, _ = issue_token(
        session=session,
        user=user_named(session, "family-doctor"),
        now=clock.at,
        settings=get_settings(),
    )
    fd = {"Authorization": f"Bearer {tok}"}
    session.commit()
    team = demo_team(session)
    wl = client.get(f"/api/v1/family-doctors/teams/{team.id}/worklist", headers=fd).json()
    assert any(b["bed_id"] == bed["id"] for b in wl["home_beds_due"])
    r = client.post(
        f"/api/v1/family-doctors/home-beds/{bed['id']}/visits",
        json={"notes": "伤口愈合良好", "vitals": {"bp": "138/82"}},
        headers=fd,
    )
    assert r.status_code == 200 and len(r.json()["visits"]) == 1
    assert client.get(
        f"/api/v1/family-doctors/home-beds/{bed['id']}", headers=login("specialist")
    ).status_code in (401, 404)
    r = client.post(
        f"/api/v1/family-doctors/home-beds/{bed['id']}/discharge",
        json={"summary": "好转出院"},
        headers=fd,
    )
    assert r.status_code == 200 and r.json()["status"] == "discharged"
    r = client.post(f"/api/v1/family-doctors/home-beds/{bed['id']}/visits", json={}, headers=fd)
    assert r.status_code == 409


def test_home_visit_request_by_the_resident_scheduled_by_the_team(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    pid = user_named(session, "patient").patient_id
    _sign(session, pid, [], clock)
    session.commit()
    r = client.post(
        "/api/v1/family-doctors/home-visits",
        json={"patient_id": str(pid), "reason": "行动不便，需上门测血糖"},
        headers=login("patient"),
    )
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    wl = client.get(
        f"/api/v1/family-doctors/teams/{demo_team(session).id}/worklist",
        headers=login("family-doctor"),
    ).json()
    assert any(v["id"] == vid for v in wl["home_visits"])
    assert (
        client.post(
            f"/api/v1/family-doctors/home-visits/{vid}/done", headers=login("family-doctor")
        ).status_code
        == 409
    )
    r = client.post(
        f"/api/v1/family-doctors/home-visits/{vid}/schedule",
        json={"scheduled_at": (clock.at + timedelta(days=1)).isoformat()},
        headers=login("family-doctor"),
    )
    assert r.status_code == 200 and r.json()["status"] == "scheduled"
    assert client.post(
        f"/api/v1/family-doctors/home-visits/{vid}/schedule",
        json={},
        headers=login("county-doctor"),
    ).status_code in (403, 404)
    r = client.post(
        f"/api/v1/family-doctors/home-visits/{vid}/done", headers=login("family-doctor")
    )
    assert r.status_code == 200 and r.json()["status"] == "done"
    # the resident and the team list it; nobody else does
    for who in ("patient", "family-doctor"):
        mine = client.get(
            "/api/v1/family-doctors/home-visits",
            params={"patient_id": str(pid)},
            headers=login(who),
        )
        assert mine.status_code == 200 and [v["id"] for v in mine.json()] == [vid]
        assert mine.json()[0]["status"] == "done"
    outsider = client.get(
        "/api/v1/family-doctors/home-visits",
        params={"patient_id": str(pid)},
        headers=login("county-doctor"),
    )
    assert outsider.status_code == 200 and outsider.json() == []
    other = new_patient(session)
    assert (
        client.get(
            "/api/v1/family-doctors/home-visits",
            params={"patient_id": str(other.id)},
            headers=login("patient"),
        ).status_code
        == 404
    )
    audited = session.execute(
        text(
            "SELECT count(*) FROM audit_event WHERE object_type = 'home_visit' AND action = 'read'"
            " AND (object_id = :v OR jsonb_exists(detail::jsonb -> 'object_ids', :v))"
        ),
        {"v": vid},
    ).scalar_one()
    assert audited >= 2


def test_home_visit_is_scheduled_into_a_home_visit_slot(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    from scheduling import service as scheduling_service
    from tests.referrals.conftest import reserved_slot

    fd = user_named(session, "family-doctor")
    p = new_patient(session)
    _sign(session, p.id, [], clock)
    from telemed.network.models import Institution

    inst = session.get(Institution, fd.institution_id)
    assert inst is not None
    slot = reserved_slot(
        session, inst, clock.at + timedelta(days=1), reserved=0, service_class="home_visit"
    )
    session.commit()
    h = login("family-doctor")
    vid = client.post(
        "/api/v1/family-doctors/home-visits",
        json={"patient_id": str(p.id), "reason": "术后换药"},
        headers=h,
    ).json()["id"]
    r = client.post(
        f"/api/v1/family-doctors/home-visits/{vid}/schedule",
        json={"slot_id": str(slot.id)},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["scheduled_at"] and r.json()["booking_id"]
    b = scheduling_service.get_booking(session=session, booking_id=r.json()["booking_id"])
    assert b.reference_type == "home_visit" and str(b.reference_id) == vid


def test_a_visit_recorded_today_leaves_tomorrows_home_visit_scheduled(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    """The clock stands at 2026-12-01 09:00 Beijing time: a bed visit recorded now may not
    carry out the home visit scheduled for tomorrow (409 `home_visit_not_due`, the visit is
    still scheduled and the bed visit not written); tomorrow it may."""
    fd = login("family-doctor")
    p = new_patient(session, born=date(1941, 4, 4))
    _sign(session, p.id, ["elderly"], clock)
    session.commit()
    bed = client.post(
        "/api/v1/family-doctors/home-beds",
        json={"patient_id": str(p.id), "diagnosis_code": "I63.9"},
        headers=fd,
    ).json()
    hv = client.post(
        "/api/v1/family-doctors/home-visits",
        json={"patient_id": str(p.id), "reason": "查床"},
        headers=fd,
    ).json()
    tomorrow = clock.at + timedelta(days=1)
    r = client.post(
        f"/api/v1/family-doctors/home-visits/{hv['id']}/schedule",
        json={"scheduled_at": tomorrow.isoformat()},
        headers=fd,
    )
    assert r.status_code == 200, r.text
    url = f"/api/v1/family-doctors/home-beds/{bed['id']}"
    today = client.post(
        f"{url}/visits", json={"notes": "今日查床", "home_visit_id": hv["id"]}, headers=fd
    )
    assert today.status_code == 409, today.text
    assert today.json()["code"] == "home_visit_not_due"
    shown = client.get(url, headers=fd).json()
    assert [v["status"] for v in shown["home_visits"]] == ["scheduled"]
    assert shown["visits"] == []
    # a visit recorded today without naming it leaves it scheduled as well
    plain = client.post(f"{url}/visits", json={"notes": "今日查床"}, headers=fd)
    assert plain.status_code == 200 and plain.json()["home_visits"][0]["status"] == "scheduled"
    clock.advance(hours=24)
    from telemed.identity.service import issue_token

    tok, _ = issue_token(
        session=session,
        user=user_named(session, "family-doctor"),
        now=clock.at,
        settings=get_settings(),
    )
    session.commit()
    fd = {"Authorization": f"Bearer {tok}"}
    done = client.post(
        f"{url}/visits", json={"notes": "次日查床", "home_visit_id": hv["id"]}, headers=fd
    )
    assert done.status_code == 200, done.text
    assert done.json()["home_visits"][0]["status"] == "done"
