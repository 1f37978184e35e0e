"""Studies attached to a referral become visible to its participants (dicom link access)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from dicom import service as dicom_service
from dicom.models import Study
from referrals import service
from telemed.core.settings import get_settings
from tests.referrals.conftest import (
    county_hospital,
    league_hospital,
    staff_of,
    up_referral,
    user_named,
)

Login = Callable[[str], dict[str, str]]


def test_linked_study_follows_the_referral(
    client: TestClient, session: Session, login: Login, clock
) -> None:
    uid = "1.2.826.0.1.3680043.8.498.4242"
    session.add(
        Study(
            study_uid=uid,
            modality="CT",
            source_institution_id=county_hospital(session).id,
            created_at=clock.at,
            updated_at=clock.at,
        )
    )
    session.flush()
    cd = user_named(session, "county-doctor")
    rx = staff_of(session, league_hospital(session))[0]
    specialist = user_named(session, "specialist")
    r = up_referral(
        session, clock, attachments=[{"kind": "study", "title": "胸部CT", "study_uid": uid}]
    )
    assert not dicom_service.can_see_study(session=session, user=rx, study_uid=uid)  # draft
    service.transition(
        session=session,
        referral_id=r.id,
        action="submit",
        by=cd,
        now=clock.at,
        settings=get_settings(),
    )
    assert dicom_service.can_see_study(session=session, user=rx, study_uid=uid)
    assert not dicom_service.can_see_study(session=session, user=specialist, study_uid=uid)
    session.commit()
    got = client.get(f"/api/v1/referrals/{r.id}/studies", headers=login("county-doctor"))
    assert got.status_code == 200 and [s["study_uid"] for s in got.json()] == [uid]
    # a study the linker cannot see is refused (404), and only participants link
    r2 = client.post(
        f"/api/v1/referrals/{r.id}/studies",
        json={"study_uid": "1.2.3.999"},
        headers=login("county-doctor"),
    )
    assert r2.status_code == 404
