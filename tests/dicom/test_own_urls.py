"""QIDO/WADO answers carry only our own URLs; the DICOMweb view follows an unlink at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicom.own_urls import rewrite
from tests.consultations.conftest import demo_patient, make_request, users  # noqa: F401
from tests.support.dicom_files import ct_series, to_bytes


@pytest.fixture
def orthanc_only(orthanc_server: Any) -> Iterator[Any]:
    from dicom.archive import OrthancArchive, set_archive

    archive = OrthancArchive(orthanc_server.url, orthanc_server.username, orthanc_server.password)
    set_archive(archive)
    yield archive
    set_archive(None)


def test_rewrite_rebuilds_retrieve_urls_and_drops_other_archive_addresses() -> None:
    archive = "http://10.0.0.5:8042"
    base = "https://telemed.example/dicom-web"
    answer = [
        {
            "00081190": {"vr": "UR", "Value": [f"{archive}/dicom-web/studies/1.2.3"]},
            "00080081": {"vr": "ST", "Value": ["PACS at 10.0.0.5:8042, ward 3"]},
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": "BATEER"}]},
            "7FE00010": {"vr": "OB", "BulkDataURI": f"{archive}/instances/x/frames"},
            "00081115": {
                "vr": "SQ",
                "Value": [
                    {
                        "00081190": {
                            "vr": "UR",
                            "Value": [f"{archive}/dicom-web/studies/1.2.3/series/4.5"],
                        },
                        "00081199": {"vr": "UR", "Value": [f"{archive}/app/explorer.html"]},
                    }
                ],
            },
        }
    ]
    out = rewrite(answer, archive_url=archive, public_base=base)
    assert "10.0.0.5" not in json.dumps(out)
    item = out[0]
    assert item["00081190"]["Value"] == [f"{base}/studies/1.2.3"]
    assert item["00080081"] == {"vr": "ST"}
    assert item["00100010"] == answer[0]["00100010"]
    assert item["7FE00010"] == {"vr": "OB"}
    nested = item["00081115"]["Value"][0]
    assert nested["00081190"]["Value"] == [f"{base}/studies/1.2.3/series/4.5"]
    assert nested["00081199"] == {"vr": "UR"}
    assert answer[0]["00081190"]["Value"][0].startswith(archive)  # the input is not changed


def test_qido_and_wado_answers_never_name_the_archive(
    orthanc_only: Any, orthanc_server: Any, client: Any, login: Any, stow: Any
) -> None:
    where = f"127.0.0.1:{orthanc_server.http_port}"
    datasets = ct_series(2, patient_id="URL-1")
    uid = str(datasets[0].StudyInstanceUID)
    series = str(datasets[0].SeriesInstanceUID)
    sop = str(datasets[0].SOPInstanceUID)
    # An instance whose own header names the archive (a copy made by another tool).
    ds = datasets[0]
    ds.RetrieveURL = f"{orthanc_server.url}/dicom-web/studies/{uid}"
    ds.InstitutionAddress = f"archive http://{where}/ behind the firewall"
    ref = Dataset()
    ref.SeriesInstanceUID = series
    ref.RetrieveURL = f"{orthanc_server.url}/dicom-web/studies/{uid}/series/{series}"
    ds.ReferencedSeriesSequence = Sequence([ref])
    county = login("county-doctor")
    assert stow([to_bytes(d) for d in datasets], county).status_code == 200

    # Orthanc does name itself: without the rewrite this test would fail.
    raw = orthanc_only.search("studies", {"StudyInstanceUID": uid})
    assert where in json.dumps(raw)

    urls = [
        ("/dicom-web/studies", {"PatientID": "URL-1"}),
        ("/dicom-web/series", {"PatientID": "URL-1"}),
        ("/dicom-web/instances", {"PatientID": "URL-1"}),
        (f"/dicom-web/studies/{uid}/series", {}),
        (f"/dicom-web/studies/{uid}/instances", {}),
        (f"/dicom-web/studies/{uid}/series/{series}/instances", {}),
        (f"/dicom-web/studies/{uid}/metadata", {}),
        (f"/dicom-web/studies/{uid}/series/{series}/metadata", {}),
        (f"/dicom-web/studies/{uid}/series/{series}/instances/{sop}/metadata", {}),
    ]
    for url, params in urls:
        r = client.get(url, params=params, headers=county)
        assert r.status_code == 200, (url, r.text)
        assert r.json(), url
        assert where not in r.text, url
        assert orthanc_server.url not in r.text, url
    studies = client.get("/dicom-web/studies", params={"PatientID": "URL-1"}, headers=county)
    assert studies.json()[0]["00081190"]["Value"] == [f"http://testserver/dicom-web/studies/{uid}"]
    meta = client.get(f"/dicom-web/studies/{uid}/metadata", headers=county).json()
    first = next(m for m in meta if m["00080018"]["Value"] == [sop])
    assert first["00081190"]["Value"] == [f"http://testserver/dicom-web/studies/{uid}"]
    assert "Value" not in first["00080081"]
    assert first["00081115"]["Value"][0]["00081190"]["Value"] == [
        f"http://testserver/dicom-web/studies/{uid}/series/{series}"
    ]


def test_dicomweb_view_follows_an_unlink_at_once(
    orthanc_only: Any,
    live_server: str,
    client: Any,
    login: Any,
    stow: Any,
    make_request: Any,  # noqa: F811
) -> None:
    from dicomweb_client.api import DICOMwebClient

    county = login("county-doctor")
    datasets = ct_series(2, patient_id="UNLINK-1")
    uid = str(datasets[0].StudyInstanceUID)
    assert stow([to_bytes(d) for d in datasets], county).status_code == 200
    c = make_request()  # asks specialist2
    r = client.post(
        f"/api/v1/consultations/{c['id']}/studies", json={"study_uid": uid}, headers=county
    )
    assert r.status_code == 201, r.text
    mine = {"PatientID": "UNLINK-1"}
    reader = DICOMwebClient(url=f"{live_server}/dicom-web", headers=login("specialist2"))
    assert len(reader.retrieve_study_metadata(uid)) == 2
    assert [s["0020000D"]["Value"][0] for s in reader.search_for_studies(search_filters=mine)] == [
        uid
    ]

    gone = client.delete(f"/api/v1/studies/{uid}/links/consultation/{c['id']}", headers=county)
    assert gone.status_code == 204, gone.text
    with pytest.raises(requests.HTTPError) as exc:
        reader.retrieve_study_metadata(uid)
    assert exc.value.response.status_code == 404
    assert uid not in {
        s["0020000D"]["Value"][0] for s in reader.search_for_studies(search_filters=mine)
    }
    with pytest.raises(requests.HTTPError):
        reader.retrieve_instance(uid, datasets[0].SeriesInstanceUID, datasets[0].SOPInstanceUID)
    owner = DICOMwebClient(url=f"{live_server}/dicom-web", headers=county)
    assert len(owner.retrieve_study_metadata(uid)) == 2
