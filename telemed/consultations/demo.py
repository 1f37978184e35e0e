"""`telemed demo`: the main story over HTTP against a running server.

A county doctor requests an urgent imaging diagnosis, which publishes a modality worklist
entry; the county CT sends the study (STOW-RS) under its accession number and it lands on
the request without anyone picking it;
the system proposes a specialist, who accepts, views the study through DICOMweb and
signs an opinion; the county doctor receives it and the signature verifies (on the
server and here, with the published public key). Every step is printed; the first
failing step raises `DemoFailed`.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

DEMO_PASSWORD = "telemed-demo"
PATIENT_NAME = "巴特尔"
SLICES = 3


class DemoFailed(Exception):
    """A step of the demo did not do what it should."""


def ct_study(
    *,
    patient_id: str,
    slices: int = SLICES,
    size: int = 32,
    accession_number: str | None = None,
    study_uid: str | None = None,
) -> tuple[str, list[bytes]]:
    """A small synthetic CT series as Part-10 bytes (generated, never downloaded)."""
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import (
        PYDICOM_IMPLEMENTATION_UID,
        CTImageStorage,
        ExplicitVRLittleEndian,
        generate_uid,
    )

    study_uid, series_uid = study_uid or generate_uid(), generate_uid()
    today = datetime.now(UTC).strftime("%Y%m%d")
    out = []
    for i in range(slices):
        sop = generate_uid()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = sop
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.PatientName, ds.PatientID = "BATEER", patient_id
        ds.PatientBirthDate, ds.PatientSex = "19620314", "M"
        ds.StudyDate = ds.SeriesDate = today
        ds.StudyTime = "101500"
        ds.AccessionNumber = accession_number or "DEMO" + sop[-8:]
        ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", 1, i + 1
        ds.StudyDescription, ds.SeriesDescription = "CT CHEST", "AXIAL 5mm"
        ds.Modality, ds.Manufacturer = "CT", "TELEMED-DEMO"
        ds.InstitutionName = "DEMO COUNTY HOSPITAL"
        ds.ImagePositionPatient = [0.0, 0.0, i * 5.0]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.SliceThickness, ds.PixelSpacing = 5.0, [0.7, 0.7]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows = ds.Columns = size
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit, ds.PixelRepresentation = 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.WindowCenter, ds.WindowWidth = -600, 1500
        img = (np.add.outer(np.arange(size), np.arange(size)) * 40 + i * 10).astype(np.int16)
        ds.PixelData = img.tobytes()
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        out.append(buf.getvalue())
    return study_uid, out


def _multipart_related(parts: list[bytes]) -> tuple[bytes, str]:
    boundary = f"telemed-{uuid.uuid4().hex}"
    body = b""
    for p in parts:
        body += f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'


class _Story:
    def __init__(self, server: str, say: Callable[[str], None], timeout: float) -> None:
        self.http = httpx.Client(base_url=server.rstrip("/"), timeout=timeout)
        self.say = say
        self.n = 0

    def step(self, text: str) -> None:
        self.n += 1
        self.say(f"[{self.n:02d}] {text}")

    def ok(self, text: str) -> None:
        self.say(f"     ok: {text}")

    def call(
        self, method: str, path: str, who: dict[str, str] | None, expect: int = 200, **kw: Any
    ) -> httpx.Response:
        try:
            r = self.http.request(
                method, path, headers={**(who or {}), **kw.pop("headers", {})}, **kw
            )
        except httpx.HTTPError as exc:
            raise DemoFailed(f"{method} {path}: {exc}") from exc
        if r.status_code != expect:
            raise DemoFailed(
                f"{method} {path}: HTTP {r.status_code} (expected {expect}): {r.text[:500]}"
            )
        return r

    def login(self, username: str) -> dict[str, str]:
        r = self.call(
            "POST",
            "/api/v1/auth/token",
            None,
            data={"username": username, "password": DEMO_PASSWORD},
        )
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def run(
    server: str = "http://127.0.0.1:8000",
    *,
    say: Callable[[str], None] = print,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Run the whole story; return what it produced; raise DemoFailed on the first failed step."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    s = _Story(server, say, timeout)
    api = "/api/v1/consultations"
    s.step(f"server {server} is up")
    s.call("GET", "/healthz", None)
    s.ok("healthz")

    s.step("county doctor 李医生 logs in and finds the patient")
    county = s.login("county-doctor")
    patients = s.call("GET", "/api/v1/patients", county, params={"q": PATIENT_NAME}).json()
    if not patients:
        raise DemoFailed(
            "demo patient not found; was the server seeded with `telemed seed --demo`?"
        )
    patient = patients[0]
    s.ok(f"patient {patient['name']} {patient['resident_id_masked']}")

    s.step("county doctor requests an urgent imaging diagnosis (consent recorded)")
    consent = {
        "given_by": patient["name"],
        "relationship": "self",
        "method": "verbal",
        "given_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "note": "向患者说明远程影像诊断及影像资料共享，患者口头同意",
    }
    c = s.call(
        "POST",
        api,
        county,
        expect=201,
        json={
            "patient_id": patient["id"],
            "service_class": "imaging_diagnosis",
            "urgency": "urgent",
            "summary": "男，64岁，咳嗽伴胸痛2周，吸烟40年。胸部CT平扫示右肺上叶结节。",
            "question": "请协助判断右肺上叶结节性质及下一步处理。",
            "wanted_specialty": "radiology",
            "consent": consent,
            "imaging_order": {"modality": "CT", "procedure": "CT CHEST"},
        },
    ).json()
    cid = c["id"]
    orders = s.call("GET", "/api/v1/dicom/worklist", county, params={"target_id": cid}).json()
    if len(orders) != 1:
        raise DemoFailed(f"expected one modality worklist entry, found {len(orders)}")
    order = orders[0]
    s.ok(
        f"request {cid} (draft); worklist entry {order['accession_number']} for "
        f"{', '.join(order['scheduled_station_aes']) or 'no AE'} ({order['modality']})"
    )

    s.step(f"the county CT sends the study ({SLICES} slices, by STOW-RS) under that accession")
    study_uid, parts = ct_study(
        patient_id=order["dicom_patient_id"],
        accession_number=order["accession_number"],
        study_uid=order["study_uid"],
    )
    body, ctype = _multipart_related(parts)
    r = s.http.post(
        "/dicom-web/studies",
        content=body,
        headers={**county, "Content-Type": ctype, "Accept": "application/dicom+json"},
    )
    if r.status_code not in (200, 202):
        raise DemoFailed(f"STOW-RS: HTTP {r.status_code}: {r.text[:500]}")
    attached = s.call("GET", f"{api}/{cid}/studies", county).json()
    if [a["study_uid"] for a in attached] != [study_uid]:
        raise DemoFailed(f"the study was not matched to the request by accession: {attached}")
    s.ok(f"study {study_uid} stored and on the request without anyone picking it")

    s.step("county doctor submits; the system proposes a specialist")
    c = s.call("POST", f"{api}/{cid}/submit", county).json()
    proposals = s.call("GET", f"{api}/{cid}/proposals", county).json()
    if not c.get("proposed_specialist_id") or not proposals:
        raise DemoFailed("no specialist was proposed")
    top = proposals[0]
    if top["specialist_id"] != c["proposed_specialist_id"]:
        raise DemoFailed("the proposal shown differs from the one the request was sent to")
    s.ok(
        f"proposed {top['specialist_name']} ({top['title']}) at {top['institution_name']}; "
        f"same alliance: {top['same_alliance']}; accept by {c['accept_due_at']}; "
        f"fee {c['fee_cents'] / 100:.2f} {c['currency']}"
    )

    s.step("the proposed specialist logs in and finds it on the worklist")
    spec = s.login("specialist2")
    me = s.call("GET", "/api/v1/auth/me", spec).json()
    if me["id"] != c["proposed_specialist_id"]:
        raise DemoFailed(f"demo expects specialist2 to be proposed, got {top['specialist_name']}")
    work = s.call("GET", api, spec).json()["items"]
    if cid not in [w["id"] for w in work]:
        raise DemoFailed("request missing from the specialist's worklist")
    s.ok(f"{len(work)} item(s) on the worklist")

    s.step("specialist accepts")
    c = s.call("POST", f"{api}/{cid}/accept", spec, json={"note": "已接收，今日出具报告"}).json()
    if c["state"] != "accepted":
        raise DemoFailed(f"state after accept is {c['state']}")
    s.ok(f"state {c['state']}; report due {c['report_due_at']}")

    s.step("specialist views the study through DICOMweb (QIDO-RS, WADO-RS)")
    found = s.call("GET", "/dicom-web/studies", spec, params={"StudyInstanceUID": study_uid}).json()
    if len(found) != 1:
        raise DemoFailed(f"QIDO-RS found {len(found)} studies")
    meta = s.call("GET", f"/dicom-web/studies/{study_uid}/metadata", spec).json()
    if len(meta) != SLICES:
        raise DemoFailed(f"WADO-RS metadata has {len(meta)} instances, expected {SLICES}")
    s.ok(f"{len(meta)} instances visible to the specialist")

    s.step("specialist writes and signs the opinion (Ed25519)")
    s.call(
        "PUT",
        f"{api}/{cid}/opinion",
        spec,
        json={
            "findings": "右肺上叶尖段见一约8mm磨玻璃密度结节，边界清，未见分叶及毛刺，"
            "纵隔未见肿大淋巴结。",
            "impression": "右肺上叶磨玻璃结节，良性可能性大",
            "icd10": ["R91"],
            "recommendations": "建议3个月后复查低剂量胸部CT；戒烟。",
            "referral_advice": {"refer": False, "note": "如结节增大或实性成分增加，转诊胸外科"},
        },
    )
    op = s.call("POST", f"{api}/{cid}/opinion/sign", spec, json={"password": DEMO_PASSWORD}).json()
    s.ok(f"version {op['version']} signed with key {op['key_id']}")

    s.step("county doctor receives the opinion")
    c = s.call("GET", f"{api}/{cid}", county).json()
    if c["state"] != "reported":
        raise DemoFailed(f"state is {c['state']}, expected reported")
    got = s.call("GET", f"{api}/{cid}/opinion", county).json()
    s.ok(f"impression: {got['impression']} ({', '.join(got['icd10'])})")

    s.step("the signature verifies (server, and here with the published key)")
    v = s.call("GET", f"{api}/{cid}/opinion/verify", county).json()
    if not v["valid"]:
        raise DemoFailed(f"server says the signature is invalid: {v['reason']}")
    keys = s.call("GET", f"{api}/keys/{got['author_id']}", None).json()
    key = next((k for k in keys if k["key_id"] == got["key_id"]), None)
    if key is None:
        raise DemoFailed("the signing key is not published")
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"])).verify(
            base64.b64decode(got["signature"]), got["canonical"].encode()
        )
    except Exception as exc:
        raise DemoFailed(f"local verification failed: {exc!r}") from exc
    s.ok(f"valid; key fingerprint {key['fingerprint'][:16]}…")

    s.step("county doctor acknowledges; the request closes; printable PDF")
    c = s.call("POST", f"{api}/{cid}/acknowledge", county).json()
    pdf = s.call("GET", f"{api}/{cid}/opinion.pdf", county)
    if c["state"] != "closed" or not pdf.content.startswith(b"%PDF"):
        raise DemoFailed("not closed, or no PDF")
    s.ok(f"state {c['state']}; PDF {len(pdf.content)} bytes")
    say("demo completed: every step succeeded")
    return {"consultation_id": cid, "study_uid": study_uid, "opinion_version": op["version"]}
