"""Attaching studies links them through dicom; participants then see them, others do not."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from dicom import service as dicom_service

API = "/api/v1/consultations"


def test_attached_study_becomes_visible_to_the_specialist(
    client: TestClient,
    login: Any,
    make_request: Any,
    indexed_study: Any,
    session: Any,
    users: Any,
) -> None:
    uid = indexed_study("county-doctor")
    c = make_request(submit=False)
    specialist = users("specialist2")
    assert not dicom_service.can_see_study(session=session, user=specialist, study_uid=uid)
    r = client.post(
        f"{API}/{c['id']}/studies", json={"study_uid": uid}, headers=login("county-doctor")
    )
    assert r.status_code == 201, r.text
    # idempotent
    assert (
        client.post(
            f"{API}/{c['id']}/studies", json={"study_uid": uid}, headers=login("county-doctor")
        ).status_code
        == 201
    )
    assert [
        s["study_uid"]
        for s in client.get(f"{API}/{c['id']}/studies", headers=login("county-doctor")).json()
    ] == [uid]
    assert [
        s.study_uid
        for s in dicom_service.studies_for(
            session=session, target_type="consultation", target_id=c["id"]
        )
    ] == [uid]
    # a draft is nobody else's business yet
    assert not dicom_service.can_see_study(session=session, user=specialist, study_uid=uid)
    client.post(f"{API}/{c['id']}/submit", headers=login("county-doctor"))
    assert dicom_service.can_see_study(session=session, user=specialist, study_uid=uid)
    assert not dicom_service.can_see_study(session=session, user=users("specialist"), study_uid=uid)


def test_a_study_the_doctor_cannot_see_is_refused(
    client: TestClient,
    login: Any,
    make_request: Any,
    indexed_study: Any,
) -> None:
    foreign = indexed_study("specialist")  # sent by the regional hospital
    c = make_request(submit=False)
    r = client.post(
        f"{API}/{c['id']}/studies", json={"study_uid": foreign}, headers=login("county-doctor")
    )
    assert r.status_code == 404
    assert client.get(f"{API}/{c['id']}/studies", headers=login("county-doctor")).json() == []
