"""Audit complete by construction: a walk over every route of the app.

Every GET route is either a read of patient data (`PATIENT_READS`: how to call it on real
objects) or exempt with a reason (`EXEMPT`). A route added without being classified fails
`test_every_get_route_is_classified`. The walk builds real objects through the API and the
domains' services, calls each patient-data route as an entitled user and asserts that an
audit row of that request names the patient; then calls it as a doctor of another county,
who takes part in nothing, and asserts the refusal was recorded (and survived the rollback).

Every other route whose response carries a patient-data shape is in `WRITES`, saying what
it records (a route added without an entry fails). The write walk calls every one of them
through the API, as the users would, and asserts that each successful call wrote an audit
row naming the patient the response is about.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlmodel import Session, col, select

from dicom import ecg_synth
from dicom.models import Instance
from referrals import service as referrals_service
from referrals.family import contracts
from referrals.insurance import FilingRequest, FilingResult, LocalFilingAdapter
from telemed.consultations.models import Payment
from telemed.core.audit import AuditEvent, AuditEventPatient
from telemed.core.settings import get_settings
from telemed.identity.models import Patient, Role, User
from telemed.network.models import DicomAE, Institution
from telemed.network.seed import DEMO_COUNTY_CODE
from telemed.payments import providers as payment_providers
from tests.consultations.conftest import CONSENT as CONSULTATION_CONSENT
from tests.dicom.conftest import multipart_related, orthanc_archive, orthanc_server  # noqa: F401
from tests.referrals.conftest import CONSENT as CONTRACT_CONSENT
from tests.referrals.conftest import demo_team, league_hospital, new_patient, up_referral
from tests.scheduling.conftest import make_rule, new_doctor, slots_of  # noqa: F401
from tests.support.dicom_files import ct_series, to_bytes

SIGN = {"password": "telemed-demo"}  # signing re-authenticates the signer

Login = Callable[[str], dict[str, str]]


def _drawn() -> str:
    """A signature drawn on the screen: a base64 PNG of 300×100 pixels with one stroke."""
    img = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    ImageDraw.Draw(img).line([(10, 80), (290, 20)], fill="black", width=3)
    out = io.BytesIO()
    img.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


# GET routes that return no patient data, each with the reason.
EXEMPT: dict[str, str] = {
    "/healthz": "liveness",
    "/readyz": "readiness of the dependencies",
    "/api/v1/auth/me": "the caller's own account",
    "/api/v1/users": "the staff directory of an institution",
    "/api/v1/audit": "the audit log itself (admins); reading it is not a patient read",
    "/api/v1/network/summary": "network directory",
    "/api/v1/network/specialties": "network directory",
    "/api/v1/network/leagues": "network directory",
    "/api/v1/network/institutions": "network directory",
    "/api/v1/network/institutions/{institution_id}": "network directory",
    "/api/v1/network/alliances": "network directory",
    "/api/v1/rooms/{room_id}/ice-servers": "STUN/TURN credentials of the caller",
    "/api/v1/consultations/service-classes": "reference: kinds of service",
    "/api/v1/consultations/service-levels": "aggregate compliance figures",
    "/api/v1/consultations/keys/{user_id}": "published public keys of a specialist",
    "/api/v1/consultations/fees": "the fee schedule",
    "/api/v1/consultations/{consultation_id}/proposals": "receiving institutions and slots",
    "/api/v1/consultations/{consultation_id}/opinion/verify": (
        "signature validity, key and signer; no clinical content"
    ),
    "/api/v1/slots": "free capacity",
    "/api/v1/schedules": "specialists' weekly rules",
    "/api/v1/schedules/{rule_id}": "a specialist's weekly rule",
    "/api/v1/holidays": "the calendar",
    "/api/v1/notifications": (
        "the caller's own inbox (links and patient ids, no names); opening what it names is audited"
    ),
    "/api/v1/notifications/unread-count": "a count of the caller's own unread notifications",
    "/api/v1/events": (
        "the caller's push channel: notification ids and kinds, unread counts, ids and states "
        "of changed requests; the rows are read (and audited) through the list routes"
    ),
    "/api/v1/admin/outbox": "delivery state of messages (admins); audited as an outbox read",
    "/fhir/R4/Slot": "free capacity",
    "/fhir/R4/Slot/{id}": "free capacity",
    "/fhir/R4/Schedule": "specialists' weekly rules",
    "/fhir/R4/Schedule/{id}": "specialists' weekly rules",
    "/fhir/R4/metadata": "the CapabilityStatement",
    "/api/v1/training/courses": "the training catalogue; no patient data",
    "/api/v1/training/courses/{course_id}": "a course of the catalogue; no patient data",
    "/api/v1/training/enrolments": (
        "the caller's own courses; no patient data, audited as a training_enrolment read"
    ),
    "/api/v1/training/courses/{course_id}/certificate.pdf": (
        "the caller's own CME certificate; no patient data, audited as a training_enrolment read"
    ),
    "/api/v1/training/courses/{course_id}/recordings": (
        "a lecture's recordings (no patient data: a training room), audited as a "
        "video_recording list read"
    ),
    "/api/v1/training/report": (
        "attendance counts per hospital; no patient data, audited as a training_report read"
    ),
    "/fhir/R4/$bulk-publish": "the public SMART Scheduling Links manifest",
    "/fhir/R4/$bulk-publish/{kind}.ndjson": "public free capacity (Location, Schedule, Slot)",
    "/fhir/R4/Organization": "network directory",
    "/fhir/R4/Organization/{id}": "network directory",
    "/fhir/R4/Practitioner": "the staff directory of an institution",
    "/fhir/R4/Practitioner/{id}": "the staff directory",
    "/fhir/R4/PractitionerRole": "the staff directory of an institution",
    "/fhir/R4/PractitionerRole/{id}": "the staff directory",
    "/fhir/R4/Location": "network directory: institutions' sites",
    "/fhir/R4/Location/{id}": "network directory: an institution's site",
    "/fhir/R4/HealthcareService": "what institutions offer (specialty, service class)",
    "/fhir/R4/HealthcareService/{id}": "what an institution offers",
    "/fhir/R4/{path}": "unsupported FHIR paths: always 404",
    "/api/v1/dicom/jobs/{job_id}": "progress of a PACS transfer (counts, status)",
    "/api/v1/family-doctors/packages": "the service packages",
    "/api/v1/family-doctors/teams": "the teams of an institution",
    "/api/v1/family-doctors/teams/{team_id}": "a team: members and capacity",
    "/api/v1/referrals/receivers": "candidate receiving institutions",
    "/api/v1/referrals/reports": "aggregates, no patient data",
    "/api/v1/dashboard/network": "aggregates, no patient data",
    "/api/v1/dashboard/utilization": (
        "aggregates per hospital, specialty and week (counts, medians), no patient data"
    ),
    "/api/v1/reference/icd10": "ICD-10 reference",
    "/api/v1/reference/icd10/{code}": "ICD-10 reference",
    "/api/v1/payments/providers": "the payment providers offered and their channels",
    "/api/v1/payments/coverage": "the coverage table (rates by service and insurance category)",
    "/api/v1/payments/reconciliation": (
        "order numbers and amounts against a provider's bill (coordinators, admins); no patient"
    ),
}


@dataclass(frozen=True)
class Read:
    """How to call one patient-data route: as whom, with which parameters, whose patient."""

    user: str
    # key of the world's patient the response is about; None: studies matched to no patient
    # yet (a read row per study, naming nobody)
    patient: str | None = "bateer"
    params: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # path parameters other than the world's
    refusal: bool | None = None  # outsider on the object: default when the path names one
    refusal_names_patient: bool = True


_DICOMWEB_STUDY = "/dicom-web/studies/{study_uid}"
_DICOMWEB_INSTANCE = _DICOMWEB_STUDY + "/series/{series_uid}/instances/{sop_uid}"
_CONSULTATION = "/api/v1/consultations/{consultation_id}"
_FAMILY = "/api/v1/family-doctors"

PATIENT_READS: dict[str, Read] = {
    "/api/v1/patients": Read("county-doctor", params={"q": "巴特"}),
    "/api/v1/patients/{patient_id}": Read("county-doctor"),
    _FAMILY + "/patients/{patient_id}/packages": Read("county-doctor"),
    "/api/v1/rooms": Read("county-doctor", params={"consultation_id": "{live_consultation_id}"}),
    "/api/v1/rooms/{room_id}": Read("county-doctor"),
    "/api/v1/rooms/{room_id}/events": Read("county-doctor"),
    "/api/v1/rooms/{room_id}/recordings": Read("county-doctor"),
    "/api/v1/recordings/{recording_id}/file": Read("county-doctor"),
    "/api/v1/consultations": Read("county-doctor"),
    _CONSULTATION: Read("county-doctor"),
    _CONSULTATION + "/history": Read("county-doctor"),
    _CONSULTATION + "/consent": Read("county-doctor"),
    _CONSULTATION + "/documents": Read("county-doctor"),
    _CONSULTATION + "/documents/{document_id}": Read("county-doctor"),
    _CONSULTATION + "/studies": Read("county-doctor"),
    _CONSULTATION + "/imaging-orders": Read("county-doctor"),
    _CONSULTATION + "/payments": Read("county-doctor"),
    _CONSULTATION + "/payments/{payment_id}/receipt.pdf": Read("county-doctor"),
    _CONSULTATION + "/opinion": Read("county-doctor"),
    _CONSULTATION + "/opinion/versions": Read("county-doctor"),
    _CONSULTATION + "/opinion/draft": Read("county-doctor"),
    _CONSULTATION + "/consent/{consent_id}/signature.png": Read("county-doctor"),
    _CONSULTATION + "/opinion/annotations": Read("county-doctor"),
    _CONSULTATION + "/opinion.pdf": Read("county-doctor"),
    "/api/v1/bookings": Read("county-doctor"),
    "/api/v1/bookings/{booking_id}.ics": Read("county-doctor"),
    "/api/v1/bookings/{booking_id}": Read("county-doctor"),
    "/api/v1/payment-orders": Read("coordinator"),
    "/api/v1/payment-orders/{order_id}": Read("coordinator"),
    "/api/v1/payment-orders/{order_id}/receipt.pdf": Read(
        "coordinator", ids={"order_id": "{paid_order_id}"}
    ),
    "/api/v1/waitlist": Read("county-doctor"),
    "/api/v1/waitlist/{entry_id}": Read("county-doctor"),
    "/fhir/R4/Appointment/{id}": Read("county-doctor", ids={"id": "{booking_id}"}),
    "/fhir/R4/Appointment": Read("county-doctor"),
    "/fhir/R4/Patient": Read("county-doctor", params={"name": "巴特"}),
    "/fhir/R4/Patient/{id}": Read("county-doctor", ids={"id": "{patient_id}"}),
    "/fhir/R4/DiagnosticReport": Read(
        "county-doctor", params={"based-on": "ServiceRequest/{consultation_id}"}
    ),
    "/fhir/R4/DiagnosticReport/{id}": Read("county-doctor", ids={"id": "{consultation_id}"}),
    "/fhir/R4/Provenance/{id}": Read("county-doctor", ids={"id": "{consultation_id}"}),
    "/fhir/R4/ImagingStudy": Read(
        "county-doctor", params={"based-on": "ServiceRequest/{consultation_id}"}
    ),
    "/fhir/R4/ImagingStudy/{id}": Read("county-doctor", ids={"id": "{study_uid}"}),
    "/api/v1/studies": Read("county-doctor"),
    "/api/v1/studies/{study_uid}": Read("county-doctor"),
    "/api/v1/studies/{study_uid}/links": Read("county-doctor"),
    "/api/v1/studies/{study_uid}/priors": Read("county-doctor"),
    "/api/v1/studies/{study_uid}/measurements": Read("county-doctor"),
    "/api/v1/studies/{study_uid}/context": Read("county-doctor"),
    "/api/v1/studies/{study_uid}/ecg": Read("county-doctor", ids={"study_uid": "{ecg_study_uid}"}),
    "/api/v1/studies/{study_uid}/ecg/measurements": Read(
        "county-doctor", ids={"study_uid": "{ecg_study_uid}"}
    ),
    "/api/v1/dicom/worklist": Read("county-doctor"),
    "/api/v1/dicom/reconciliation": Read("county-doctor", patient=None),
    "/api/v1/dicom/reconciliation/{study_uid}/compare": Read(
        "county-doctor",
        params={"patient_id": "{patient_id}"},
        ids={"study_uid": "{unmatched_uid}"},
        refusal_names_patient=False,  # the study is nobody's yet
    ),
    "/dicom-web/studies": Read("county-doctor"),
    "/dicom-web/series": Read("county-doctor"),
    "/dicom-web/instances": Read("county-doctor"),
    _DICOMWEB_STUDY + "/series": Read("county-doctor"),
    _DICOMWEB_STUDY + "/instances": Read("county-doctor"),
    _DICOMWEB_STUDY + "/series/{series_uid}/instances": Read("county-doctor"),
    _DICOMWEB_STUDY + "/metadata": Read("county-doctor"),
    _DICOMWEB_STUDY + "/series/{series_uid}/metadata": Read("county-doctor"),
    _DICOMWEB_INSTANCE + "/metadata": Read("county-doctor"),
    _DICOMWEB_STUDY: Read("county-doctor"),
    _DICOMWEB_STUDY + "/series/{series_uid}": Read("county-doctor"),
    _DICOMWEB_INSTANCE: Read("county-doctor"),
    _DICOMWEB_INSTANCE + "/frames/{frames}": Read("county-doctor"),
    _DICOMWEB_INSTANCE + "/bulk/{tags}": Read("county-doctor", ids={"tags": "7FE00010"}),
    _DICOMWEB_INSTANCE + "/rendered": Read("county-doctor"),
    _DICOMWEB_INSTANCE + "/frames/{frame}/rendered": Read("county-doctor"),
    _FAMILY + "/teams/{team_id}/worklist": Read(
        "family-doctor", patient="resident", refusal_names_patient=False
    ),
    _FAMILY + "/contracts": Read(
        "family-doctor", patient="resident", params={"patient_id": "{resident_id}"}
    ),
    _FAMILY + "/contracts/{contract_id}": Read("family-doctor", patient="resident"),
    _FAMILY + "/contracts/{contract_id}/follow-ups": Read("family-doctor", patient="resident"),
    _FAMILY + "/contracts/{contract_id}/contract.pdf": Read("family-doctor", patient="resident"),
    _FAMILY + "/home-beds": Read(
        "family-doctor", patient="resident", params={"team_id": "{team_id}"}
    ),
    _FAMILY + "/home-beds/{bed_id}": Read("family-doctor", patient="resident"),
    _FAMILY + "/home-visits": Read(
        "family-doctor", patient="resident", params={"patient_id": "{resident_id}"}
    ),
    _FAMILY + "/home-visits/{visit_id}": Read("family-doctor", patient="resident"),
    "/api/v1/referrals": Read("county-doctor"),
    "/api/v1/referrals/worklist": Read("receiver", patient="bateer"),
    "/api/v1/referrals/{referral_id}": Read("county-doctor"),
    "/api/v1/referrals/{referral_id}/events": Read("county-doctor"),
    "/api/v1/referrals/{referral_id}/slip.pdf": Read("county-doctor"),
    "/api/v1/referrals/{referral_id}/studies": Read("county-doctor"),
    "/api/v1/referrals/{referral_id}/filing": Read("county-doctor"),
    "/fhir/R4/ServiceRequest/{id}": Read("county-doctor", ids={"id": "{referral_id}"}),
    "/fhir/R4/ServiceRequest": Read("county-doctor", params={"patient": "Patient/{patient_id}"}),
    "/fhir/R4/Task/{id}": Read("county-doctor", ids={"id": "{referral_id}"}),
    "/fhir/R4/Task": Read("county-doctor", params={"patient": "Patient/{patient_id}"}),
    "/fhir/R4/Consent/{id}": Read("county-doctor", ids={"id": "{consent_id}"}),
    "/fhir/R4/Consent": Read("county-doctor", params={"patient": "Patient/{patient_id}"}),
    "/fhir/R4/CarePlan/{id}": Read("family-doctor", patient="resident", ids={"id": "{plan_id}"}),
    "/fhir/R4/CarePlan": Read(
        "family-doctor", patient="resident", params={"patient": "Patient/{resident_id}"}
    ),
}


_C = _CONSULTATION
_B = "/api/v1/bookings/{booking_id}"
_R = "/api/v1/referrals/{referral_id}"


class _RefusingAgency(LocalFilingAdapter):
    def file(self, request: FilingRequest) -> FilingResult:
        return FilingResult("rejected", None, "参保地未开通直接结算", "-1")


# Routes other than GET whose response carries a patient-data shape (one that a patient read
# above returns): each says what it records. `test_every_write_is_audited` calls each of
# them and asserts a row of that request names the patient.
WRITES: dict[str, str] = {
    "POST /api/v1/patients": "create patient",
    "POST /api/v1/rooms": "create video_room (the consultation's patient)",
    "POST /api/v1/consultations": "create consultation",
    f"PATCH {_C}": "update consultation",
    f"POST {_C}/consent": "consent consultation",
    f"POST {_C}/documents": "attach consultation_document",
    f"POST {_C}/studies": "attach consultation",
    **{
        f"POST {_C}/{a}": f"{a} consultation"
        for a in ("submit", "accept", "decline", "redirect", "schedule", "start", "cancel")
    },
    f"POST {_C}/acknowledge": "acknowledge (close) consultation",
    f"POST {_C}/payments": "pay consultation",
    f"PUT {_C}/opinion": "write_opinion consultation",
    f"PUT {_C}/opinion/annotations": "write_annotations consultation",
    f"POST {_C}/opinion/sign": "report consultation",
    f"POST {_C}/opinion/corrections": "amend consultation",
    "POST /api/v1/slots/{slot_id}/hold": "hold booking (a replayed key: read booking)",
    "POST /api/v1/bookings": "book booking (a replayed key: read booking)",
    f"POST {_B}/cancel": "cancel booking",
    f"POST {_B}/reschedule": "cancel (the old) and reschedule (the new) booking",
    **{f"POST {_B}/{a}": f"{a} booking" for a in ("arrive", "noshow", "fulfil")},
    "POST /api/v1/payment-orders": "create payment_order",
    "POST /api/v1/payment-orders/{order_id}/pay": "payment.start payment_order",
    "POST /api/v1/payment-orders/{order_id}/refresh": "read payment_order",
    "POST /api/v1/waitlist": "create waitlist",
    "POST /api/v1/waitlist/{entry_id}/cancel": "leave waitlist",
    "POST /api/v1/studies/{study_uid}/links": "link study",
    "POST /api/v1/studies/{study_uid}/measurements": "create study (what=measurements)",
    "POST /api/v1/dicom/reconciliation/{study_uid}/assign": "update study (reconcile)",
    f"POST {_FAMILY}/contracts": "sign contract",
    **{
        f"POST {_FAMILY}/contracts/{{contract_id}}/{a}": f"{a} contract (and its loader's read)"
        for a in ("confirm", "renew", "terminate")
    },
    f"POST {_FAMILY}/follow-ups/{{follow_up_id}}/done": "done follow_up",
    f"POST {_FAMILY}/home-beds": "admit home_bed",
    f"POST {_FAMILY}/home-beds/{{bed_id}}/visits": "visit home_bed",
    f"POST {_FAMILY}/home-beds/{{bed_id}}/discharge": "discharge home_bed",
    f"POST {_FAMILY}/home-visits": "request home_visit",
    f"POST {_FAMILY}/home-visits/{{visit_id}}/schedule": "schedule home_visit",
    f"POST {_FAMILY}/home-visits/{{visit_id}}/{{outcome}}": "done / cancel home_visit",
    "POST /api/v1/referrals": "create referral",
    **{
        f"POST {_R}/{a}": f"{a.replace('-', '_')} referral"
        for a in ("book", "complete", "outcome", "contact-by")
    },
    f"POST {_R}/studies": "link_study referral",
    f"DELETE {_R}/studies/{{study_uid}}": "unlink_study referral",
    f"POST {_R}/{{action}}": "<action> referral (receive, accept, arrive, close ...)",
    f"POST {_R}/filing/{{action}}": "filing_<action> referral (resubmit, revoke)",
}


def _schema_refs(node: Any, schemas: dict[str, Any], out: set[str]) -> set[str]:
    """Names of the component schemas `node` refers to, transitively."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                name = value.rsplit("/", 1)[-1]
                if name not in out:
                    out.add(name)
                    _schema_refs(schemas.get(name, {}), schemas, out)
            else:
                _schema_refs(value, schemas, out)
    elif isinstance(node, list):
        for value in node:
            _schema_refs(value, schemas, out)
    return out


def _response_schemas(operation: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    ok = [r for code, r in operation.get("responses", {}).items() if code.startswith("2")]
    return _schema_refs([r.get("content", {}) for r in ok], schemas, set())


def test_every_route_returning_patient_data_is_classified() -> None:
    from telemed.app import create_app

    spec = create_app().openapi()
    paths, schemas = spec["paths"], spec["components"]["schemas"]
    patient_shapes: set[str] = set()
    for path in PATIENT_READS:
        patient_shapes |= _response_schemas(paths[path]["get"], schemas)
    assert {"PatientPublic", "ConsultationPublic", "ReferralPublic"} <= patient_shapes
    returning = {
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method != "get" and _response_schemas(operation, schemas) & patient_shapes
    }
    assert not sorted(returning - WRITES.keys()), (
        "routes returning patient data without saying what they audit: "
        f"{sorted(returning - WRITES.keys())}"
    )
    assert not sorted(WRITES.keys() - returning), sorted(WRITES.keys() - returning)


def _get_routes() -> set[str]:
    from telemed.app import create_app

    paths: dict[str, dict[str, Any]] = create_app().openapi()["paths"]
    return {path for path, operations in paths.items() if "get" in operations}


def test_every_get_route_is_classified() -> None:
    routes = _get_routes()
    unclassified = sorted(routes - EXEMPT.keys() - PATIENT_READS.keys())
    assert not unclassified, (
        "GET routes neither exempt (no patient data, with a reason) nor walked as patient "
        f"reads: {unclassified}"
    )
    assert not EXEMPT.keys() & PATIENT_READS.keys()
    stale = sorted((EXEMPT.keys() | PATIENT_READS.keys()) - routes)
    assert not stale, f"classified routes that no longer exist: {stale}"


# ---------------------------------------------------------------- the world


def _user(session: Session, username: str) -> User:
    return session.execute(select(User).where(User.username == username)).scalar_one()


def _outsider(session: Session) -> User:
    """A doctor of a county hospital in another county: takes part in nothing here."""
    return session.execute(
        select(User)
        .join(Institution, col(Institution.id) == col(User.institution_id))
        .where(
            Institution.tier == "county",
            Institution.county_code != DEMO_COUNTY_CODE,
            User.role == Role.COUNTY_DOCTOR,
        )
        .order_by(col(User.username))
        .limit(1)
    ).scalar_one()


def _ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Call:
    """One request the test client made, as the write walk checks it."""

    route: str  # "METHOD /openapi/path"
    status: int
    request_id: str
    body: Any


def _route_of(templates: list[str], method: str, path: str) -> str | None:
    """The OpenAPI path `path` matches: literal segments win over parameters."""
    parts = path.rstrip("/").split("/")
    best: tuple[int, str] | None = None
    for template in templates:
        segs = template.split("/")
        if len(segs) != len(parts):
            continue
        params = 0
        for seg, part in zip(segs, parts, strict=True):
            if seg.startswith("{") and seg.endswith("}"):
                params += 1
            elif seg != part:
                break
        else:
            if best is None or params < best[0]:
                best = (params, template)
    return f"{method} {best[1]}" if best else None


@pytest.fixture
def calls(client: TestClient, app: Any) -> list[Call]:
    """Every request of the test client from here on (world included), with its route."""
    templates = list(app.openapi()["paths"])
    seen: list[Call] = []

    def hook(response: Any) -> None:
        response.read()
        route = _route_of(templates, response.request.method, response.request.url.path)
        if route is None:
            return
        try:
            body = response.json()
        except ValueError:
            body = None
        rid = response.headers.get("x-request-id", "")
        seen.append(Call(route=route, status=response.status_code, request_id=rid, body=body))

    client.event_hooks = {"request": [], "response": [hook]}
    return seen


@pytest.fixture
def world(
    client: TestClient,
    session: Session,
    login: Login,
    clock: Any,
    calls: list[Call],
    orthanc_server: Any,  # noqa: F811
    orthanc_archive: Any,  # noqa: F811
    make_rule: Callable[..., Any],  # noqa: F811
    tmp_path: Path,
) -> Iterator[dict[str, str]]:
    """Real objects of every kind about two patients, built as the users would."""
    from dicom.archive import set_archive

    set_archive(orthanc_archive)
    settings = get_settings()
    cd_user, fd_user = _user(session, "county-doctor"), _user(session, "family-doctor")
    cd = login("county-doctor")
    bateer = session.execute(select(Patient).where(Patient.name == "巴特尔")).scalars().first()
    assert bateer is not None
    api = "/api/v1/consultations"

    # an imaging consultation: consent, document, study, signed opinion
    body = {
        "patient_id": str(bateer.id),
        "service_class": "imaging_diagnosis",
        "urgency": "urgent",
        "summary": "男，64岁，胸痛3小时，CT示右肺结节",
        "question": "请协助明确结节性质",
        "wanted_specialty": "radiology",
        "chosen_specialist_id": str(_user(session, "specialist2").id),
        "override_reason": "指定专家（测试）",  # a named specialist: docs/routing.md
        # signed on the screen: its drawn signature is a route of its own
        "consent": {**CONSULTATION_CONSENT, "method": "on_screen", "signature_png": _drawn()},
    }
    c = _ok(client.post(api, json=body, headers=cd), 201)
    _ok(client.post(f"{api}/{c['id']}/submit", headers=cd))
    doc = _ok(
        client.post(
            f"{api}/{c['id']}/documents",
            data={"kind": "ecg"},
            files={"file": ("ecg.pdf", b"%PDF-1.4 ecg", "application/pdf")},
            headers=cd,
        ),
        201,
    )
    datasets = ct_series(2, patient_name="BATEER", patient_id="WALK-MRN-1")
    # and an ECG of the same patient (the ECG reader's routes), in the same upload
    ecg = ecg_synth.ecg_dataset(patient_name="BATEER", patient_id="WALK-MRN-1")
    blob, ctype = multipart_related([to_bytes(d) for d in [*datasets, ecg]])
    _ok(
        client.post(
            "/dicom-web/studies",
            content=blob,
            headers={**cd, "Content-Type": ctype, "Accept": "application/dicom+json"},
            params={"patient_id": str(bateer.id)},
        )
    )
    ds = datasets[0]
    study_uid = str(ds.StudyInstanceUID)
    # a remote imaging request: its modality worklist entry at the county hospital
    order = {**body, "imaging_order": {"modality": "CT", "procedure": "CT CHEST"}}
    _ok(client.post(api, json=order, headers=cd), 201)
    # a study the county hospital sent that matches no order: waits for reconciliation
    unmatched = ct_series(1, patient_name="WALK^UNKNOWN", patient_id="WALK-H-9")
    blob, ctype = multipart_related([to_bytes(d) for d in unmatched])
    _ok(
        client.post(
            "/dicom-web/studies",
            content=blob,
            headers={**cd, "Content-Type": ctype, "Accept": "application/dicom+json"},
        )
    )
    # the county PACS that priors are asked of: the Orthanc, knowing our AE title
    orthanc_server.add_modality("TELEMED", settings.dicom.ae_title, "127.0.0.1", 1)
    session.add(
        DicomAE(
            institution_id=cd_user.institution_id,
            ae_title=orthanc_server.aet,
            host="127.0.0.1",
            port=orthanc_server.dicom_port,
            kind="pacs",
        )
    )
    _ok(client.post(f"{api}/{c['id']}/studies", json={"study_uid": study_uid}, headers=cd), 201)
    spec2 = login("specialist2")
    _ok(client.post(f"{api}/{c['id']}/accept", headers=spec2))
    opinion = {
        "findings": "右肺上叶见一约8mm磨玻璃结节。",
        "impression": "右肺上叶磨玻璃结节",
        "icd10": ["R91"],
        "recommendations": "3个月后复查",
    }
    _ok(client.put(f"{api}/{c['id']}/opinion", json=opinion, headers=spec2))
    mark = {"id": "m1", "kind": "point", "study_uid": study_uid, "x": 10, "y": 20, "text": "核分裂"}
    _ok(client.put(f"{api}/{c['id']}/opinion/annotations", json={"items": [mark]}, headers=spec2))
    _ok(client.post(f"{api}/{c['id']}/opinion/sign", json=SIGN, headers=spec2))

    # a live consultation with its video room and a finished recording
    specialist = _user(session, "specialist")
    live = _ok(
        client.post(
            api,
            json={
                **body,
                "service_class": "consultation",
                "urgency": "emergency",
                "wanted_specialty": "cardiology",
                "chosen_specialist_id": str(specialist.id),
                "override_reason": "指定专家（测试）",  # a named specialist: docs/routing.md
            },
            headers=cd,
        ),
        201,
    )
    _ok(client.post(f"{api}/{live['id']}/submit", headers=cd))
    _ok(client.post(f"{api}/{live['id']}/accept", headers=login("specialist")))
    room = _ok(
        client.post(
            "/api/v1/rooms",
            json={"title": "急诊会诊", "consultation_id": live["id"]},
            headers=login("specialist"),
        ),
        201,
    )
    from telemed.video.models import Recording, RecordingStatus

    media = tmp_path / "r.mp4"
    media.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    rec = Recording(
        room_id=uuid.UUID(room["id"]),
        consultation_id=uuid.UUID(live["id"]),
        path=str(media),
        status=RecordingStatus.FINISHED,
        started_by_id=specialist.id,
        started_at=clock.at,
        ended_at=clock.at + timedelta(minutes=5),
        retention_until=clock.at + timedelta(days=30),
        access_user_ids=[str(cd_user.id), str(specialist.id)],
    )
    session.add(rec)

    # a booking and a waitlist request made by the county doctor for the patient
    slots = slots_of(session, make_rule())
    slot = slots[0]
    session.commit()
    booking = _ok(
        client.post(
            "/api/v1/bookings",
            json={"slot_id": str(slot.id), "patient_id": str(bateer.id)},
            headers=cd,
        ),
        201,
    )
    # its fee, as an order the coordinator of the slot's hospital makes
    order = _ok(
        client.post(
            "/api/v1/payment-orders",
            json={"subject_type": "booking", "subject_id": booking["id"]},
            headers=login("coordinator"),
        ),
        201,
    )
    # another booking's order, paid through the sandbox: its receipt prints
    later = _ok(
        client.post(
            "/api/v1/bookings",
            json={"slot_id": str(slots[-1].id), "patient_id": str(bateer.id)},
            headers=cd,
        ),
        201,
    )
    paid = _ok(
        client.post(
            "/api/v1/payment-orders",
            json={"subject_type": "booking", "subject_id": later["id"]},
            headers=login("coordinator"),
        ),
        201,
    )
    started = _ok(
        client.post(
            f"/api/v1/payment-orders/{paid['id']}/pay",
            json={"provider": "sandbox", "channel": "h5"},
            headers=login("coordinator"),
        ),
        200,
    )
    notice_headers, notice = payment_providers.get("sandbox").confirm(started["order"]["order_no"])
    _ok(client.post("/api/v1/payments/notify/sandbox", content=notice, headers=notice_headers), 200)
    entry = _ok(
        client.post(
            "/api/v1/waitlist",
            json={
                "specialty_code": "cardiology",
                "patient_id": str(bateer.id),
                "start_at": (clock.at + timedelta(days=1)).isoformat(),
                "end_at": (clock.at + timedelta(days=20)).isoformat(),
            },
            headers=cd,
        ),
        201,
    )

    # a cross-league referral (it needs a filing) with the study attached
    baotou = league_hospital(session, "150200")
    referral = up_referral(session, clock, patient=bateer, to_institution_id=baotou.id)
    referrals_service.transition(
        session=session,
        referral_id=referral.id,
        action="submit",
        by=cd_user,
        now=clock.at,
        settings=settings,
    )
    session.commit()
    _ok(
        client.post(
            f"/api/v1/referrals/{referral.id}/studies", json={"study_uid": study_uid}, headers=cd
        )
    )
    receiver = next(
        u
        for u in session.execute(select(User).where(User.institution_id == baotou.id)).scalars()
        if u.role in (Role.SPECIALIST, Role.COORDINATOR)
    )

    # a contracted resident with a home sick bed and a home visit
    resident = new_patient(session, born=date_of_birth())
    team = demo_team(session)
    contract = contracts.sign_contract(
        session=session,
        patient_id=resident.id,
        team_id=team.id,
        package_codes=["elderly", "hypertension"],  # hypertension: follow-ups
        by=fd_user,
        now=clock.at,
        settings=settings,
        consent=CONTRACT_CONSENT,
    )
    session.commit()
    fd = login("family-doctor")
    bed = _ok(
        client.post(
            "/api/v1/family-doctors/home-beds",
            json={
                "patient_id": str(resident.id),
                "diagnosis_code": "I63.9",
                "reason": "脑梗后偏瘫，行动不便",
            },
            headers=fd,
        ),
        201,
    )
    visit = _ok(
        client.post(
            "/api/v1/family-doctors/home-visits",
            json={"patient_id": str(resident.id), "reason": "行动不便，需上门换药"},
            headers=fd,
        ),
        201,
    )
    session.commit()
    # a downward referral of the resident to their team, accepted: its care plan
    from referrals.models import CarePlanTask
    from referrals.schemas import ReferralCreate
    from telemed.consultations.models import ConsultationConsent

    resident.institution_id = cd_user.institution_id
    session.flush()
    down = referrals_service.create_referral(
        session=session,
        data=ReferralCreate(
            patient_id=resident.id,
            direction="down",
            reason="术后康复回社区",
            diagnosis_code="S72.0",
            care_plan="每周2次康复训练",
        ),
        by=cd_user,
        now=clock.at,
        settings=settings,
    )
    for action, actor in (("submit", cd_user), ("receive", fd_user), ("accept", fd_user)):
        referrals_service.transition(
            session=session,
            referral_id=down.id,
            action=action,
            by=actor,
            now=clock.at,
            settings=settings,
        )
    plan = session.execute(
        select(CarePlanTask).where(CarePlanTask.referral_id == down.id)
    ).scalar_one()
    session.commit()

    consent = session.execute(
        select(ConsultationConsent).where(ConsultationConsent.consultation_id == uuid.UUID(c["id"]))
    ).scalar_one()
    payment = Payment(
        consultation_id=uuid.UUID(c["id"]), kind="charge", provider="sandbox",
        provider_ref="walk", amount_cents=15000, status="succeeded", created_at=datetime.now(UTC),
    )  # fmt: skip
    session.add(payment)
    session.flush()
    yield {
        "payment_id": str(payment.id),
        "consent_id": str(consent.id),
        "plan_id": str(plan.id),
        "receiver_token": _token(session, receiver),
        "bateer": str(bateer.id),
        "resident": str(resident.id),
        "resident_id": str(resident.id),
        "patient_id": str(bateer.id),
        "consultation_id": c["id"],
        "live_consultation_id": live["id"],
        "document_id": doc["id"],
        "room_id": room["id"],
        "recording_id": str(rec.id),
        "booking_id": booking["id"],
        "order_id": order["id"],
        "paid_order_id": paid["id"],
        "entry_id": entry["id"],
        "study_uid": study_uid,
        "ecg_study_uid": str(ecg.StudyInstanceUID),
        "series_uid": str(ds.SeriesInstanceUID),
        "sop_uid": str(ds.SOPInstanceUID),
        "unmatched_uid": str(unmatched[0].StudyInstanceUID),
        "slot_ids": ",".join(str(x.id) for x in slots[1:4]),
        "baotou_id": str(baotou.id),
        "frames": "1",
        "frame": "1",
        "referral_id": str(referral.id),
        "team_id": str(team.id),
        "contract_id": str(contract.id),
        "bed_id": bed["id"],
        "visit_id": visit["id"],
    }
    set_archive(None)


def date_of_birth() -> Any:
    from datetime import date

    return date(1941, 3, 3)


def _token(session: Session, user: User) -> str:
    """A bearer token of `user` (a seeded account whose password the tests do not know)."""
    from telemed.core import clock as core_clock
    from telemed.identity.service import issue_token

    token, _ = issue_token(
        session=session, user=user, now=core_clock.now(), settings=get_settings()
    )
    session.commit()
    return token


# ---------------------------------------------------------------- the walk


def _rows(session: Session, request_id: str) -> list[tuple[AuditEvent, set[str]]]:
    events = list(
        session.execute(select(AuditEvent).where(AuditEvent.request_id == request_id)).scalars()
    )
    out = []
    for e in events:
        named = session.execute(
            select(AuditEventPatient.patient_id).where(AuditEventPatient.event_id == e.id)
        ).scalars()
        out.append((e, {str(p) for p in named}))
    return out


def test_every_patient_data_read_is_audited_and_every_refusal_recorded(
    client: TestClient, session: Session, login: Login, world: dict[str, str]
) -> None:
    outsider = _outsider(session)
    tokens = {"outsider": _token(session, outsider), "receiver": world["receiver_token"]}

    def headers(username: str) -> dict[str, str]:
        if username in tokens:
            return {"Authorization": f"Bearer {tokens[username]}"}
        return login(username)

    failures: list[str] = []
    for path, case in sorted(PATIENT_READS.items()):
        url = path.format(**{**world, **{k: v.format(**world) for k, v in case.ids.items()}})
        params = {k: v.format(**world) for k, v in case.params.items()}
        patient = world[case.patient] if case.patient else None
        rid = uuid.uuid4().hex
        r = client.get(url, params=params, headers={**headers(case.user), "X-Request-ID": rid})
        if r.status_code != 200:
            failures.append(f"{path}: {case.user} got {r.status_code} {r.text[:200]}")
            continue
        reads = [(e, named) for e, named in _rows(session, rid) if e.action == "read"]
        if patient is None and not reads:
            failures.append(f"{path}: no read row")
        elif patient is not None and not any(patient in named for _, named in reads):
            failures.append(f"{path}: no read row naming the patient ({len(reads)} read rows)")
        refusal = case.refusal if case.refusal is not None else "{" in path
        if not refusal:
            continue
        rid = uuid.uuid4().hex
        r = client.get(url, params=params, headers={**headers("outsider"), "X-Request-ID": rid})
        if r.status_code not in (403, 404):
            failures.append(f"{path}: the outsider got {r.status_code}")
            continue
        refused = [
            (e, named)
            for e, named in _rows(session, rid)
            if e.action == "refused" and e.actor_id == outsider.id and e.detail.get("reason")
        ]
        if not refused:
            failures.append(f"{path}: the outsider's refusal was not recorded")
        elif case.refusal_names_patient and not any(patient in n for _, n in refused):
            failures.append(f"{path}: the refusal row does not name the patient")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- the write walk


def _walk_writes(
    client: TestClient,
    session: Session,
    login: Login,
    world: dict[str, str],
    receiver: dict[str, str],
    clock: Any,
    make_rule: Callable[..., Any],  # noqa: F811
    new_doctor: Callable[..., User],  # noqa: F811
) -> None:
    """Call every route of `WRITES` that the world did not, as the users would."""
    from referrals.models import FollowUp
    from telemed.identity import resident_id

    cd, fd, spec2 = login("county-doctor"), login("family-doctor"), login("specialist2")
    spec, coord = login("specialist"), login("coordinator")
    api, w = "/api/v1/consultations", world
    future = (clock.at + timedelta(days=5)).isoformat()

    def post(url: str, headers: dict[str, str], status: int = 200, **body: Any) -> Any:
        return _ok(client.post(url, json=body, headers=headers), status)

    # patients and imaging
    number = resident_id.make("150122", date_of_birth(), 731)
    post("/api/v1/patients", cd, 201, name="走查患者", resident_id=number)
    # paying the world's order (the sandbox), then asking the provider about it
    post(f"/api/v1/payment-orders/{w['order_id']}/pay", coord, provider="sandbox", channel="h5")
    post(f"/api/v1/payment-orders/{w['order_id']}/refresh", coord)
    post(
        f"/api/v1/studies/{w['study_uid']}/links",
        cd,
        201,
        target_type="consultation",
        target_id=w["live_consultation_id"],
    )
    image = (
        session.execute(
            select(Instance).where(Instance.study_uid == w["study_uid"], Instance.modality == "CT")
        )
        .scalars()
        .first()
    )
    assert image is not None
    post(
        f"/api/v1/studies/{w['study_uid']}/measurements",
        spec2,
        201,
        measurements=[
            {
                "kind": "length",
                "series_uid": image.series_uid,
                "sop_instance_uid": image.sop_uid,
                "points": [[1.5, 1.5], [5.5, 5.5]],
                "value": 5.6,
            }
        ],
    )
    post(
        f"/api/v1/dicom/reconciliation/{w['unmatched_uid']}/assign",
        cd,
        patient_id=w["bateer"],
        confirm_mismatch=True,
    )

    # consultations: a draft changed, consented, paid and declined; one redirected, cancelled
    draft = {
        "patient_id": w["bateer"],
        "service_class": "imaging_diagnosis",
        "urgency": "urgent",
        "summary": "女，58岁，咳嗽1月",
        "question": "请阅胸片",
        "wanted_specialty": "radiology",
        "chosen_specialist_id": str(_user(session, "specialist2").id),
        "override_reason": "指定专家（测试）",  # a named specialist: docs/routing.md
    }
    d = post(api, cd, 201, **draft)
    _ok(client.patch(f"{api}/{d['id']}", json={"question": "请阅胸部CT"}, headers=cd))
    post(f"{api}/{d['id']}/consent", cd, 201, **CONSULTATION_CONSENT)
    post(f"{api}/{d['id']}/submit", cd)
    post(f"{api}/{d['id']}/payments", cd)
    post(f"{api}/{d['id']}/decline", spec2, reason="本院影像设备检修")
    d2 = post(api, cd, 201, **draft, consent=CONSULTATION_CONSENT)
    post(f"{api}/{d2['id']}/submit", cd)
    post(f"{api}/{d2['id']}/redirect", coord, reason="就近处理", institution_id=w["baotou_id"])
    post(f"{api}/{d2['id']}/cancel", cd, reason="患者已转院")
    # the signed opinion corrected, then acknowledged; the live session started
    post(
        f"{api}/{w['consultation_id']}/opinion/corrections",
        spec2,
        201,
        findings="右肺上叶见一约9mm磨玻璃结节。",
        impression="右肺上叶磨玻璃结节",
        reason="测量更正",
        **SIGN,
    )
    post(f"{api}/{w['consultation_id']}/acknowledge", cd)
    post(f"{api}/{w['live_consultation_id']}/start", spec)
    # a live consultation with a specialist who has no slots yet: accepted, then scheduled
    doctor = new_doctor(specialty="cardiology")
    doc = {"Authorization": f"Bearer {_token(session, doctor)}"}
    live = post(
        api,
        cd,
        201,
        **{
            **draft,
            "service_class": "consultation",
            "wanted_specialty": "cardiology",
            "chosen_specialist_id": str(doctor.id),
            "consent": CONSULTATION_CONSENT,
        },
    )
    post(f"{api}/{live['id']}/submit", cd)
    accepted = post(f"{api}/{live['id']}/accept", doc)
    assert accepted["state"] == "accepted", accepted["state"]
    rule = make_rule(
        specialist=doctor,
        service_class="consultation",
        start_time=time(14, 0),  # not at the hours of the patient's other bookings
        end_time=time(15, 0),
    )
    session.commit()
    post(f"{api}/{live['id']}/schedule", doc, slot_id=str(slots_of(session, rule)[0].id))

    # bookings and the waitlist
    free = w["slot_ids"].split(",")
    post(f"/api/v1/waitlist/{w['entry_id']}/cancel", cd)
    hold = post(f"/api/v1/slots/{free[0]}/hold", cd, 201, patient_id=w["bateer"])
    post(f"/api/v1/bookings/{hold['id']}/cancel", cd, reason="改约")
    moved = post(f"/api/v1/bookings/{w['booking_id']}/reschedule", cd, 201, slot_id=free[1])
    post(f"/api/v1/bookings/{moved['id']}/arrive", coord)
    post(f"/api/v1/bookings/{moved['id']}/fulfil", coord)
    late = post("/api/v1/bookings", cd, 201, slot_id=free[2], patient_id=w["bateer"])

    # the referral: unlinked study, received, accepted, contact date, booked ... outcome
    post(
        "/api/v1/referrals",
        cd,
        201,
        patient_id=w["bateer"],
        to_institution_id=w["baotou_id"],
        direction="up",
        reason="需上级医院进一步诊治",
        diagnosis_code="I20.9",
        confirm_duplicate=True,  # the world's referral to the same hospital is still open
    )
    r = f"/api/v1/referrals/{w['referral_id']}"
    _ok(client.delete(f"{r}/studies/{w['study_uid']}", headers=cd))
    post(f"{r}/receive", receiver)
    post(f"{r}/accept", receiver)
    post(f"{r}/contact-by", receiver, contact_by=future, reason="等待床位")
    post(f"{r}/book", receiver, appointment_at=future)
    post(f"{r}/arrive", receiver)
    post(f"{r}/complete", receiver)
    post(f"{r}/outcome", receiver, summary="冠脉造影未见明显狭窄")
    # its cross-region filing: refused by the agency, resubmitted by the referrer
    referrals_service.send_due_filings(
        session=session, now=clock.at, settings=get_settings(), adapter=_RefusingAgency()
    )
    session.commit()
    post(f"{r}/filing/resubmit", cd)

    # family doctors: follow-up, bed visit and discharge, home visit, contract life
    fu = session.execute(
        select(FollowUp).where(FollowUp.contract_id == uuid.UUID(w["contract_id"]))
    ).scalars()
    post(f"{_FAMILY}/follow-ups/{next(iter(fu)).id}/done", fd, notes="血压平稳")
    post(f"{_FAMILY}/home-beds/{w['bed_id']}/visits", fd, notes="换药")
    post(f"{_FAMILY}/home-beds/{w['bed_id']}/discharge", fd, summary="伤口愈合")
    post(f"{_FAMILY}/home-visits/{w['visit_id']}/schedule", fd, scheduled_at=future)
    post(f"{_FAMILY}/home-visits/{w['visit_id']}/done", fd)
    contract = f"{_FAMILY}/contracts/{w['contract_id']}"
    post(f"{contract}/renew", fd, 201, consent=CONTRACT_CONSENT)
    post(f"{contract}/terminate", fd, reason="居民迁居")
    later = (clock.at + timedelta(days=40)).date().isoformat()
    signed = post(
        f"{_FAMILY}/contracts",
        fd,
        201,
        patient_id=str(new_patient(session).id),
        team_id=w["team_id"],
        consent=CONTRACT_CONSENT,
        term_start=later,
    )
    post(f"{_FAMILY}/contracts/{signed['id']}/confirm", fd)

    # last: a no-show is recorded once the appointment has begun
    clock.advance(days=60)
    coord = {"Authorization": f"Bearer {_token(session, _user(session, 'coordinator'))}"}
    post(f"/api/v1/bookings/{late['id']}/noshow", coord)


def _patient_of(call: Call, world: dict[str, str]) -> str:
    """The patient a write's response is about."""
    body = call.body if isinstance(call.body, dict) else {}
    if call.route == "POST /api/v1/patients":
        return str(body["id"])
    for key in ("patient_id",):
        if body.get(key):
            return str(body[key])
    study = body.get("study")
    if isinstance(study, dict) and study.get("patient_id"):
        return str(study["patient_id"])
    if "/family-doctors/" in call.route:
        return world["resident"]  # a follow-up of the resident's contract
    return world["bateer"]  # opinions, consent, rooms and links of the world's consultations


def test_every_write_is_audited(
    client: TestClient,
    session: Session,
    login: Login,
    clock: Any,
    world: dict[str, str],
    calls: list[Call],
    make_rule: Callable[..., Any],  # noqa: F811
    new_doctor: Callable[..., User],  # noqa: F811
) -> None:
    receiver = {"Authorization": f"Bearer {world['receiver_token']}"}
    _walk_writes(client, session, login, world, receiver, clock, make_rule, new_doctor)
    walked = {c.route for c in calls if c.route in WRITES and 200 <= c.status < 300}
    assert not sorted(WRITES.keys() - walked), (
        f"write routes the walk did not call successfully: {sorted(WRITES.keys() - walked)}"
    )
    failures = []
    for call in calls:
        if call.route not in WRITES or not 200 <= call.status < 300:
            continue
        patient = _patient_of(call, world)
        rows = _rows(session, call.request_id)
        if not any(patient in named for _, named in rows):
            actions = sorted({f"{e.action} {e.object_type}" for e, _ in rows})
            failures.append(f"{call.route}: no audit row names patient {patient}: {actions}")
    assert not failures, "\n".join(failures)
