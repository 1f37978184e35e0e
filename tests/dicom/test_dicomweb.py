"""DICOMweb through the relay: STOW under the uploader's institution, filtered QIDO/WADO."""

from __future__ import annotations

import uuid
from io import BytesIO

import pydicom
from PIL import Image
from sqlmodel import col, select

from telemed.core.audit import AuditEvent, AuditEventPatient
from tests.support.dicom_files import ct_series, to_bytes


def _uids(resp) -> set[str]:  # type: ignore[no-untyped-def]
    return {i["0020000D"]["Value"][0] for i in resp.json()}


def test_owner_linked_specialist_unlinked_specialist_patient_other_patient(
    any_archive, client, login, stow, session, link_participants, demo_user
) -> None:  # type: ignore[no-untyped-def]
    county, spec, spec2 = login("county-doctor"), login("specialist"), login("specialist2")
    patient = demo_user("patient")
    datasets = ct_series(3, patient_name="BATEER", patient_id="DEMO-MRN-1")
    study_uid = str(datasets[0].StudyInstanceUID)
    r = stow([to_bytes(d) for d in datasets], county, patient_id=str(patient.patient_id))
    assert r.status_code == 200, r.text
    assert len(r.json()["00081199"]["Value"]) == 3

    listed = client.get("/api/v1/studies", headers=county).json()
    mine = next(i for i in listed["items"] if i["study_uid"] == study_uid)
    assert (mine["instance_count"], mine["series_count"], mine["modality"]) == (3, 1, "CT")
    assert mine["source_institution_name"] and mine["size_bytes"] > 0
    assert study_uid in _uids(client.get("/dicom-web/studies", headers=county))

    # The specialist does not see it until it is linked to their consultation.
    assert study_uid not in _uids(client.get("/dicom-web/studies", headers=spec))
    meta_url = f"/dicom-web/studies/{study_uid}/metadata"
    assert client.get(meta_url, headers=spec).status_code == 404
    assert client.get(f"/api/v1/studies/{study_uid}", headers=spec).status_code == 404
    consultation = uuid.uuid4()
    link_participants[consultation] = {demo_user("specialist").id, demo_user("county-doctor").id}
    bad = client.post(
        f"/api/v1/studies/{study_uid}/links",
        json={"target_type": "consultation", "target_id": str(consultation)},
        headers=spec,
    )
    assert bad.status_code == 404  # cannot link what you cannot see
    r = client.post(
        f"/api/v1/studies/{study_uid}/links",
        json={"target_type": "consultation", "target_id": str(consultation)},
        headers=county,
    )
    assert r.status_code == 201, r.text
    assert study_uid in _uids(client.get("/dicom-web/studies", headers=spec))
    meta = client.get(meta_url, headers=spec)
    assert meta.status_code == 200 and len(meta.json()) == 3
    assert meta.headers["content-type"].startswith("application/dicom+json")

    # Unlinked specialist, the patient, another patient.
    assert study_uid not in _uids(client.get("/dicom-web/studies", headers=spec2))
    assert client.get(meta_url, headers=spec2).status_code == 404
    assert study_uid in _uids(client.get("/dicom-web/studies", headers=login("patient")))
    ds = datasets[0]
    inst = (
        f"/dicom-web/studies/{study_uid}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}"
    )
    assert client.get(inst + "/rendered", headers=spec2).status_code == 404

    # Rendered with a window, frames, the instance itself.
    png = client.get(inst + "/rendered", headers=spec, params={"window": "40,400"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(BytesIO(png.content)).size == (16, 16)
    other = client.get(inst + "/frames/1/rendered", headers=spec, params={"window": "-1000,10"})
    assert other.status_code == 200 and other.content != png.content
    frames = client.get(inst + "/frames/1", headers=spec)
    assert frames.status_code == 200
    assert frames.headers["content-type"].startswith("multipart/related")
    assert bytes(ds.PixelData) in frames.content
    whole = client.get(inst, headers=spec)
    assert whole.status_code == 200 and str(ds.SOPInstanceUID).encode() in whole.content
    series = client.get(f"/dicom-web/studies/{study_uid}/series", headers=spec).json()
    assert series[0]["0020000E"]["Value"][0] == ds.SeriesInstanceUID

    # rows about the study: its own reads and the searches (one row each) that returned it
    audit = [
        a
        for a in session.exec(select(AuditEvent)).all()
        if a.object_id == study_uid or study_uid in a.detail.get("object_ids", [])
    ]
    seen = {(a.actor_id, a.detail.get("what")) for a in audit}
    sid = demo_user("specialist").id
    for what in ("qido-studies", "metadata", "rendered", "frames", "retrieve-instance"):
        assert (sid, what) in seen, what
    assert (demo_user("county-doctor").id, "stow") in seen
    named = session.exec(
        select(AuditEventPatient).where(col(AuditEventPatient.event_id).in_([a.id for a in audit]))
    ).all()
    assert {n.event_id for n in named if n.patient_id == patient.patient_id} == {
        a.id for a in audit
    }


def test_other_patient_does_not_see_it(any_archive, client, login, stow, session) -> None:  # type: ignore[no-untyped-def]
    datasets = ct_series(1)
    r = stow([to_bytes(datasets[0])], login("county-doctor"))
    assert r.status_code == 200
    study_uid = str(datasets[0].StudyInstanceUID)
    assert study_uid not in _uids(client.get("/dicom-web/studies", headers=login("patient")))
    assert (
        client.get(f"/dicom-web/studies/{study_uid}/metadata", headers=login("patient")).status_code
        == 404
    )


def test_stow_bad_input(any_archive, client, login, stow) -> None:  # type: ignore[no-untyped-def]
    county = login("county-doctor")
    good = to_bytes(ct_series(1)[0])
    truncated = good[: len(good) - 100]
    r = stow([b"not dicom at all, just text" * 10, truncated], county)
    assert r.status_code == 409
    failed = r.json()["00081198"]["Value"]
    assert len(failed) == 2 and all("00081197" in f for f in failed)
    r = stow([good, b"\x00" * 200], county)
    assert r.status_code == 202
    assert len(r.json()["00081199"]["Value"]) == 1
    r = stow([good], county)  # the same instance again: harmless
    assert r.status_code == 200
    r = client.post(
        "/dicom-web/studies", content=b"x", headers={**county, "Content-Type": "text/plain"}
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = client.post(
        "/dicom-web/studies", content=good, headers={"Content-Type": "application/dicom"}
    )
    assert r.status_code == 401
    r = client.post(
        "/dicom-web/studies",
        content=good,
        headers={"Authorization": "Bearer expired-or-bogus", "Content-Type": "application/dicom"},
    )
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = stow([good], login("patient"))
    assert r.status_code == 403


def test_study_larger_than_limit_is_refused(any_archive, client, login, stow, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from telemed.core.settings import get_settings

    blobs = [to_bytes(d) for d in ct_series(3, size=16)]
    monkeypatch.setattr(get_settings().dicom, "max_study_bytes", 2 * len(blobs[0]) + 10)
    county = login("county-doctor")
    assert stow([blobs[0]], county).status_code == 200
    assert stow([blobs[1]], county).status_code == 200
    r = stow([blobs[2]], county)  # the third would take the study past the limit
    assert r.status_code == 409
    assert r.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xA700]
    big = to_bytes(ct_series(1, size=64)[0])
    r = stow([big], login("county-doctor"))
    assert r.status_code == 413 and r.json()["code"] == "too_large"


def test_dicomweb_client_reads_through_the_relay(any_archive, live_server, login, stow) -> None:  # type: ignore[no-untyped-def]
    from dicomweb_client.api import DICOMwebClient

    county = login("county-doctor")
    datasets = ct_series(2, patient_id="DWC-1")
    assert stow([to_bytes(d) for d in datasets], county).status_code == 200
    study_uid = str(datasets[0].StudyInstanceUID)
    dw = DICOMwebClient(url=f"{live_server}/dicom-web", headers=county)
    studies = dw.search_for_studies(search_filters={"PatientID": "DWC-1"})
    assert [s["0020000D"]["Value"][0] for s in studies] == [study_uid]
    series = dw.search_for_series(study_uid)
    assert len(series) == 1
    meta = dw.retrieve_study_metadata(study_uid)
    assert len(meta) == 2
    ds = datasets[1]
    inst = dw.retrieve_instance(study_uid, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert isinstance(inst, pydicom.Dataset) and inst.SOPInstanceUID == ds.SOPInstanceUID
    frames = dw.retrieve_instance_frames(
        study_uid, ds.SeriesInstanceUID, ds.SOPInstanceUID, frame_numbers=[1]
    )
    assert frames == [bytes(ds.PixelData)]
    img = dw.retrieve_instance_rendered(
        study_uid, ds.SeriesInstanceUID, ds.SOPInstanceUID, media_types=("image/png",)
    )
    assert img[:4] == b"\x89PNG"
    spec = DICOMwebClient(url=f"{live_server}/dicom-web", headers=login("specialist2"))
    assert spec.search_for_studies(search_filters={"PatientID": "DWC-1"}) == []
    stored = dw.store_instances([ct_series(1)[0]])
    assert "00081199" in stored


def test_cors_is_configurable(monkeypatch, session) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from telemed.app import create_app
    from telemed.core.settings import get_settings

    monkeypatch.setattr(get_settings().dicom, "cors_origins", ["https://viewer.example"])
    with TestClient(create_app()) as c:
        r = c.options(
            "/dicom-web/studies",
            headers={
                "Origin": "https://viewer.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
    assert r.headers.get("access-control-allow-origin") == "https://viewer.example"


def test_searches_are_restricted_to_visible_studies_in_chunks(
    any_archive, client, login, stow, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import dicom.dicomweb.qido as dw

    monkeypatch.setattr(dw, "UID_CHUNK", 1)
    county, spec2 = login("county-doctor"), login("specialist2")
    uids = []
    for _ in range(2):
        ds = ct_series(1, patient_id="CHUNK-1")[0]
        assert stow([to_bytes(ds)], county).status_code == 200
        uids.append(str(ds.StudyInstanceUID))
    found = client.get("/dicom-web/studies", params={"PatientID": "CHUNK-1"}, headers=county)
    assert _uids(found) == set(uids)
    series = client.get("/dicom-web/series", params={"PatientID": "CHUNK-1"}, headers=county)
    assert {s["0020000D"]["Value"][0] for s in series.json()} == set(uids)
    paged = client.get(
        "/dicom-web/studies", params={"PatientID": "CHUNK-1", "limit": 1}, headers=county
    )
    assert len(paged.json()) == 1
    none = client.get("/dicom-web/studies", params={"PatientID": "CHUNK-1"}, headers=spec2)
    assert none.json() == []
