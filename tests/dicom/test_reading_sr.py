"""The reading workstation's server side: measurements and key images as DICOM SR (built and
parsed with highdicom, read through /dicom-web/ with dicomweb-client), who may, the viewer
context and the demographics beside the consultation's patient."""

from __future__ import annotations

import uuid
from io import BytesIO
from typing import Any

import highdicom as hd
import pydicom
import pytest
from sqlmodel import Session, select

from dicom.models import Instance, StudyLink
from telemed.core import clock
from telemed.identity.models import Patient, User
from tests.core.test_audit_coverage import _outsider
from tests.dicom.conftest import multipart_related
from tests.support.dicom_files import ct_series, to_bytes


def _user(session: Session, username: str) -> User:
    return session.execute(select(User).where(User.username == username)).scalar_one()


def _stow(client: Any, headers: dict[str, str], datasets: list[Any], **params: str) -> None:
    blob, ctype = multipart_related([to_bytes(d) for d in datasets])
    r = client.post(
        "/dicom-web/studies",
        content=blob,
        headers={**headers, "Content-Type": ctype, "Accept": "application/dicom+json"},
        params=params,
    )
    assert r.status_code == 200, r.text


def _link(session: Session, study_uid: str, target: uuid.UUID, by: User) -> None:
    from dicom.visibility import study_by_uid

    study = study_by_uid(session, study_uid)
    assert study is not None
    session.add(
        StudyLink(
            study_id=study.id,
            study_uid=study_uid,
            target_type="consultation",
            target_id=target,
            linked_by_id=by.id,
            created_at=clock.now(),
        )
    )
    session.flush()


def _body(datasets: list[Any]) -> dict[str, Any]:
    a, b, c = datasets
    ref = lambda ds: {  # noqa: E731
        "series_uid": str(ds.SeriesInstanceUID),
        "sop_instance_uid": str(ds.SOPInstanceUID),
    }
    return {
        "measurements": [
            {
                **ref(a),
                "kind": "length",
                "points": [[1.5, 2.5], [12.5, 2.5]],
                "value": 42.1,
                "unit": "mm",
                "label": "lesion A",
            },
            {**ref(a), "kind": "angle", "points": [[1, 1], [5, 5], [9, 1]], "value": 90.0},
            {
                **ref(b),
                "kind": "ellipse_roi",
                "points": [[2, 8], [14, 8], [8, 5], [8, 11]],
                "mean": 35.2,
                "sd": 12.5,
                "area_mm2": 56.5,
                "unit": "HU",
            },
            {
                **ref(b),
                "kind": "rectangle_roi",
                "points": [[1, 1], [9, 1], [9, 6], [1, 6]],
                "value": -650.0,
                "sd": 80.0,
            },
            {**ref(c), "kind": "arrow", "points": [[3, 3], [10, 7]], "label": "nodule"},
        ],
        "key_images": [{**ref(c), "note": "best slice"}, ref(b)],
    }


@pytest.fixture
def read_case(session, client, login, link_participants, any_archive):  # type: ignore[no-untyped-def]
    """A CT study the county hospital sent, linked to a request specialist2 reads."""
    datasets = ct_series(3)
    _stow(client, login("county-doctor"), datasets)
    target = uuid.uuid4()
    spec = _user(session, "specialist2")
    link_participants[target] = {spec.id}
    _link(session, str(datasets[0].StudyInstanceUID), target, _user(session, "county-doctor"))
    session.commit()
    return datasets


def test_measurements_are_stored_as_sr_and_read_back(  # type: ignore[no-untyped-def]
    read_case, client, login, session, live_server, any_archive
) -> None:
    from dicomweb_client.api import DICOMwebClient

    datasets = read_case
    study_uid = str(datasets[0].StudyInstanceUID)
    url = f"/api/v1/studies/{study_uid}/measurements"
    spec = login("specialist2")
    first_get = client.get(url, headers=spec)
    assert first_get.status_code == 200, first_get.text
    assert first_get.json()["measurements"] == []

    r = client.post(url, json=_body(datasets), headers=spec)
    assert r.status_code == 201, r.text
    saved = r.json()
    kinds = [m["kind"] for m in saved["measurements"]]
    assert kinds == ["length", "angle", "ellipse_roi", "rectangle_roi", "arrow"]
    length, angle, ellipse, rect, arrow = saved["measurements"]
    assert (length["value"], length["unit"], length["label"]) == (42.1, "mm", "lesion A")
    assert length["points"] == [[1.5, 2.5], [12.5, 2.5]]
    assert (angle["value"], angle["unit"], angle["label"]) == (90.0, "deg", "angle 2")
    assert (ellipse["mean"], ellipse["sd"], ellipse["area_mm2"], ellipse["unit"]) == (
        35.2,
        12.5,
        56.5,
        "HU",
    )
    assert rect["points"] == [[1, 1], [9, 1], [9, 6], [1, 6]] and rect["mean"] == -650.0
    assert arrow["value"] is None and arrow["label"] == "nodule"
    assert arrow["series_uid"] == str(datasets[2].SeriesInstanceUID)
    assert [k["note"] for k in saved["key_images"]] == ["best slice", None]
    assert saved["report"]["observer"] == _user(session, "specialist2").full_name

    # reopening shows them: GET parses the stored SR back
    got = client.get(url, headers=spec).json()
    assert got["measurements"] == saved["measurements"]
    assert got["key_images"] == saved["key_images"]
    assert got["report"]["sop_instance_uid"] == saved["report"]["sop_instance_uid"]

    # the SR is in the study, for any DICOMweb client: parsed by highdicom, same values
    dw = DICOMwebClient(url=f"{live_server}/dicom-web", headers=spec)
    found = dw.search_for_instances(study_instance_uid=study_uid)
    by_class = {i["00080016"]["Value"][0]: i for i in found}
    assert "1.2.840.10008.5.1.4.1.1.88.34" in by_class  # Comprehensive 3D SR
    assert "1.2.840.10008.5.1.4.1.1.88.59" in by_class  # Key Object Selection
    sr_uid = saved["report"]["sop_instance_uid"]
    sr_series = saved["report"]["series_uid"]
    ds = dw.retrieve_instance(study_uid, sr_series, sr_uid)
    doc = hd.sr.Comprehensive3DSR.from_dataset(ds)
    report = hd.sr.MeasurementReport.from_sequence(doc.content)
    groups = report.get_planar_roi_measurement_groups()
    assert [g.tracking_identifier for g in groups][0] == "lesion A"
    first = groups[0].get_measurements()[0]
    assert (first.name.value, first.value, first.unit.value) == ("410668003", 42.1, "mm")
    assert ds.PatientID == datasets[0].PatientID and ds.StudyInstanceUID == study_uid
    kos_uid = saved["key_object_selection"]["sop_instance_uid"]
    kos = hd.ko.KeyObjectSelectionDocument.from_dataset(
        dw.retrieve_instance(study_uid, saved["key_object_selection"]["series_uid"], kos_uid)
    )
    refs = [r.referenced_sop_instance_uid for r in kos.content.get_references()]
    assert refs == [str(datasets[2].SOPInstanceUID), str(datasets[1].SOPInstanceUID)]

    # a second save is a new version naming the first; GET shows the newest
    body = _body(datasets)
    body["measurements"] = body["measurements"][:1]
    body["measurements"][0]["value"] = 40.0
    second = client.post(url, json=body, headers=spec).json()
    assert second["report"]["instance_number"] == saved["report"]["instance_number"] + 1
    got = client.get(url, headers=spec).json()
    assert [m["value"] for m in got["measurements"]] == [40.0]
    raw = any_archive.instance(study_uid, sr_series, second["report"]["sop_instance_uid"])
    pred = pydicom.dcmread(BytesIO(raw)).PredecessorDocumentsSequence[0]
    assert (
        pred.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == sr_uid
    )


def test_an_sr_in_the_study_has_no_frames_to_give(  # type: ignore[no-untyped-def]
    read_case, client, login
) -> None:
    """A viewer asking for frames of the study's SR gets a 404 problem, never a 500."""
    datasets = read_case
    study_uid = str(datasets[0].StudyInstanceUID)
    spec = login("specialist2")
    r = client.post(f"/api/v1/studies/{study_uid}/measurements", json=_body(datasets), headers=spec)
    assert r.status_code == 201, r.text
    ref = r.json()["report"]
    for stored in (True, False):
        accept = 'multipart/related; type="application/octet-stream"'
        if stored:
            accept += "; transfer-syntax=*"
        url = (
            f"/dicom-web/studies/{study_uid}/series/{ref['series_uid']}"
            f"/instances/{ref['sop_instance_uid']}/frames/1"
        )
        got = client.get(url, headers={**spec, "Accept": accept})
        assert got.status_code == 404, (stored, got.status_code, got.text[:200])
        assert got.json()["code"] == "not_found"
    image = datasets[0]
    ok = client.get(
        f"/dicom-web/studies/{study_uid}/series/{image.SeriesInstanceUID}"
        f"/instances/{image.SOPInstanceUID}/frames/1",
        headers={**spec, "Accept": 'multipart/related; type="application/octet-stream"'},
    )
    assert ok.status_code == 200, ok.text[:200]


def test_who_may_save_and_read_measurements(read_case, client, login, session) -> None:  # type: ignore[no-untyped-def]
    datasets = read_case
    study_uid = str(datasets[0].StudyInstanceUID)
    url = f"/api/v1/studies/{study_uid}/measurements"
    outsider = _outsider(session)
    other = login(outsider.username)
    assert client.get(url, headers=other).status_code == 404
    r = client.post(url, json=_body(datasets), headers=other)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # an instance of another study, or named under the wrong series: 422
    body = _body(datasets)
    body["measurements"][0]["series_uid"] = str(datasets[0].StudyInstanceUID)
    r = client.post(url, json=body, headers=login("specialist2"))
    assert r.status_code == 422 and r.json()["code"] == "invalid"
    body = _body(datasets)
    body["measurements"][1]["points"] = [[1, 1], [2, 2]]  # an angle has 3
    assert client.post(url, json=body, headers=login("specialist2")).status_code == 422
    # nothing was stored by the refused attempts
    rows = session.exec(
        select(Instance).where(Instance.study_uid == study_uid, Instance.modality == "SR")
    ).all()
    assert rows == []


def test_viewer_context_and_demographics_beside_ours(  # type: ignore[no-untyped-def]
    session, client, login, any_archive
) -> None:
    bateer = session.execute(select(Patient).where(Patient.name == "巴特尔")).scalars().first()
    assert bateer is not None
    cd = login("county-doctor")
    # the header names BATE^ER born 1965; our patient 巴特尔 is another birth date
    wrong = ct_series(1, patient_name="BATE^ER", patient_id="MM-1", patient_birth_date="19650101")
    _stow(client, cd, wrong, patient_id=str(bateer.id))
    uid = str(wrong[0].StudyInstanceUID)
    summary = client.get(f"/api/v1/studies/{uid}", headers=cd).json()
    assert summary["demographics_mismatch"] is True
    assert "birth_date" in summary["mismatches"]
    assert summary["patient"]["name"] == "巴特尔" and summary["patient_birth_date"] == "19650101"
    ctx = client.get(f"/api/v1/studies/{uid}/context", headers=cd).json()
    assert ctx["study"]["study_uid"] == uid and ctx["consultations"] == []
    assert (
        client.get(
            f"/api/v1/studies/{uid}/context", headers=login(_outsider(session).username)
        ).status_code
        == 404
    )


def test_measurements_while_the_archive_is_down_are_503(  # type: ignore[no-untyped-def]
    read_case, client, login, any_archive
) -> None:
    from dicom.archive import OrthancArchive, set_archive
    from tests.support.ports import free_port

    datasets = read_case
    url = f"/api/v1/studies/{datasets[0].StudyInstanceUID}/measurements"
    spec = login("specialist2")
    assert client.post(url, json=_body(datasets), headers=spec).status_code == 201
    set_archive(OrthancArchive(f"http://127.0.0.1:{free_port()}", timeout=5))
    try:
        for r in (
            client.post(url, json=_body(datasets), headers=spec),
            client.get(url, headers=spec),
        ):
            assert r.status_code == 503 and r.json()["code"] == "unavailable", r.text
            assert r.headers["Retry-After"] == "10"
    finally:
        set_archive(any_archive)
