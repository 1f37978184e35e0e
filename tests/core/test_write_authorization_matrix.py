# ruff: noqa: F811 (fixtures imported from other test packages are parameters here)
"""Every write route of imaging, consultations, referrals (family doctors included) and
scheduling, tried by the owner, a participant, a doctor of another hospital, the patient
and another patient: each refused caller gets the status in `MATRIX`, and nothing changed
in the database (every table but the audit log, read back before and after each call);
a 404 on an object that exists left a refusal row in the audit log.

The table is walked against the app's OpenAPI: a new POST/PUT/PATCH/DELETE route under
these prefixes without an entry fails `test_every_write_route_has_an_entry`. A caller
marked `OK` is one the route serves (its success is tested with the domain); it is not
called here, so the world stays as built for the others. `MATRIX_DISCOVER=1 pytest -s`
prints what every caller gets (OK callers included) when an entry is written.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from dicom.models import StudyLink
from referrals import service as referrals_service
from referrals.family import contracts, home_beds, home_visits
from referrals.models import CarePlanTask, FollowUp
from scheduling import service as scheduling_service
from scheduling.schemas import WaitlistCreate
from telemed.core import clock as core_clock
from telemed.core.audit import REFUSED, AuditEvent
from telemed.core.settings import get_settings
from telemed.identity import service as identity_service
from telemed.identity.models import Role, User
from telemed.network.models import DicomAE
from telemed.training import service as training_service
from tests.consultations.conftest import demo_patient, make_request, users  # noqa: F401
from tests.dicom.conftest import demo_user, indexed_study  # noqa: F401
from tests.referrals.conftest import (
    CONSENT,
    demo_team,
    league_hospital,
    new_patient,
    staff_of,
    up_referral,
)
from tests.scheduling.conftest import make_rule, new_doctor, slots_of  # noqa: F401
from tests.training.conftest import published_course

PREFIXES = (
    "/api/v1/studies",
    "/api/v1/dicom",
    "/api/v1/network/aes",
    "/dicom-web",
    "/api/v1/consultations",
    "/api/v1/referrals",
    "/api/v1/family-doctors",
    "/api/v1/slots",
    "/api/v1/bookings",
    "/api/v1/schedules",
    "/api/v1/holidays",
    "/api/v1/waitlist",
    "/api/v1/training",
)
CALLERS = ("owner", "participant", "other_doctor", "patient", "other_patient")
OK = "ok"  # the route serves this caller: not called here


@dataclass
class World:
    ids: dict[str, Any]
    callers: dict[str, dict[str, User]]  # group -> caller -> user
    tokens: dict[uuid.UUID, dict[str, str]] = field(default_factory=dict)


Request = Callable[[World], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Entry:
    group: str
    request: Request
    expect: dict[str, int | str]
    problem_json: bool = True  # STOW-RS answers refusals in DICOM JSON (PS3.18)
    # callers whose 404 is about something missing, not hidden from them (no refusal row)
    missing: frozenset[str] = frozenset()


def _at(path: str, **body: Any) -> Request:
    """A request to `path` (formatted with the world's ids) with a JSON body (`{}` if none)."""

    def build(w: World) -> tuple[str, dict[str, Any]]:
        payload = {k: (v(w) if callable(v) else v) for k, v in body.items()}
        return path.format(**w.ids), {"json": payload}

    return build


def _raw(path: str, **kw: Any) -> Request:
    return lambda w: (path.format(**w.ids), dict(kw))


def _future(days: int) -> str:
    return (core_clock.now() + timedelta(days=days)).isoformat()


def _id(key: str) -> Callable[[World], str]:
    return lambda w: str(w.ids[key])


C, D, R, F, S = "consultation", "study", "referral", "family", "scheduling"
T = "training"
N = 404
X = 403
# The refusals each caller gets. Outsiders are 404 (the object does not exist for them)
# where the route names an object, 403 where it names none (a patient creating a request).
MATRIX: dict[tuple[str, str], Entry] = {
    # ---------------------------------------------------------------- imaging
    ("POST", "/api/v1/studies/{study_uid}/links"): Entry(
        D,
        _at("/api/v1/studies/{study}/links", target_type="consultation", target_id=_id("other_c")),
        {"owner": OK, "participant": X, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("DELETE", "/api/v1/studies/{study_uid}/links/{target_type}/{target_id}"): Entry(
        D,
        _raw("/api/v1/studies/{study}/links/consultation/{c}"),
        {"owner": OK, "participant": X, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/network/aes/{ae_id}/echo"): Entry(
        D,
        _raw("/api/v1/network/aes/{ae}/echo"),
        {"owner": OK, "participant": X, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/studies/{study_uid}/send"): Entry(
        D,
        _at("/api/v1/studies/{study}/send", ae_id=_id("ae")),
        {"owner": 422, "participant": X, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/studies/{study_uid}/priors/{prior_uid}/retrieve"): Entry(
        D,
        _raw("/api/v1/studies/{study}/priors/1.2.826.0.1.3680043.8.498.1/retrieve"),
        {"owner": 409, "participant": 409, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/studies/{study_uid}/measurements"): Entry(
        D,
        _at(
            "/api/v1/studies/{study}/measurements",
            key_images=[{"series_uid": "1.2.3", "sop_instance_uid": "1.2.3.4"}],
        ),
        {"owner": 422, "participant": 422, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/studies/{study_uid}/deidentify"): Entry(
        D,
        _raw("/api/v1/studies/{study}/deidentify"),
        {"owner": N, "participant": N, "other_doctor": N, "patient": X, "other_patient": X},
        missing=frozenset({"owner", "participant"}),  # visible, not in the archive
    ),
    ("POST", "/dicom-web/studies"): Entry(
        D,
        _raw("/dicom-web/studies", content=b"x", headers={"Content-Type": "application/dicom"}),
        {"owner": 409, "participant": 409, "other_doctor": 409, "patient": X, "other_patient": X},
        problem_json=False,
    ),
    ("POST", "/dicom-web/studies/{study_uid}"): Entry(
        D,
        _raw(
            "/dicom-web/studies/{study}",
            content=b"x",
            headers={"Content-Type": "application/dicom"},
        ),
        {"owner": 409, "participant": 409, "other_doctor": 409, "patient": X, "other_patient": X},
        problem_json=False,
    ),
    ("POST", "/api/v1/dicom/reconciliation/{study_uid}/assign"): Entry(
        D,
        _at(
            "/api/v1/dicom/reconciliation/{study}/assign",
            patient_id=_id("patient"),
            confirm_mismatch=True,
        ),
        {"owner": 409, "participant": N, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    # ---------------------------------------------------------------- consultations
    ("PUT", "/api/v1/consultations/fees"): Entry(
        C,
        _at(
            "/api/v1/consultations/fees",
            service_class="imaging_diagnosis",
            tier="regional",
            amount_cents=100,
        ),
        {"owner": X, "participant": X, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/consultations/proposals"): Entry(
        C,
        _at(
            "/api/v1/consultations/proposals",
            service_class="imaging_diagnosis",
            wanted_specialty="radiology",
        ),
        {"owner": OK, "participant": OK, "other_doctor": OK, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/consultations"): Entry(
        C,
        _at(
            "/api/v1/consultations",
            patient_id=_id("patient"),
            service_class="imaging_diagnosis",
            summary="s",
            question="q",
            wanted_specialty="radiology",
        ),
        {"owner": OK, "participant": OK, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("PATCH", "/api/v1/consultations/{consultation_id}"): Entry(
        C,
        _at("/api/v1/consultations/{c}", question="changed"),
        {"owner": 409, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/consent"): Entry(
        C,
        _at(
            "/api/v1/consultations/{c}/consent",
            given_by="x",
            method="verbal",
            given_at="2026-11-01T08:00:00+00:00",
        ),
        {"owner": 409, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/documents"): Entry(
        C,
        _raw(
            "/api/v1/consultations/{c}/documents",
            data={"kind": "report"},
            files={"file": ("a.pdf", b"%PDF-1.4 x", "application/pdf")},
        ),
        {"owner": OK, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/studies"): Entry(
        C,
        _at("/api/v1/consultations/{c}/studies", study_uid=_id("other_study")),
        {"owner": N, "participant": N, "other_doctor": N, "patient": N, "other_patient": N},
    ),
    ("DELETE", "/api/v1/consultations/{consultation_id}/studies/{study_uid}"): Entry(
        C,
        _raw("/api/v1/consultations/{c}/studies/{study}"),
        {"owner": OK, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/submit"): Entry(
        C,
        _raw("/api/v1/consultations/{c}/submit"),
        {"owner": 409, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/accept"): Entry(
        C,
        _at("/api/v1/consultations/{c}/accept"),
        {"owner": X, "participant": OK, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/decline"): Entry(
        C,
        _at("/api/v1/consultations/{c}/decline", reason="busy"),
        {"owner": X, "participant": OK, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/redirect"): Entry(
        C,
        _at("/api/v1/consultations/{c}/redirect", reason="elsewhere"),
        {"owner": X, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/schedule"): Entry(
        C,
        _at("/api/v1/consultations/{c}/schedule", slot_id=_id("free_slot")),
        {"owner": X, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/start"): Entry(
        C,
        _raw("/api/v1/consultations/{c}/start"),
        {"owner": 409, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/cancel"): Entry(
        C,
        _at("/api/v1/consultations/{c}/cancel", reason="r"),
        {"owner": OK, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/acknowledge"): Entry(
        C,
        _raw("/api/v1/consultations/{c}/acknowledge"),
        {"owner": 409, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/payments"): Entry(
        C,
        _raw("/api/v1/consultations/{c}/payments"),
        {"owner": OK, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("PUT", "/api/v1/consultations/{consultation_id}/opinion"): Entry(
        C,
        _at("/api/v1/consultations/{c}/opinion", findings="f", impression="i"),
        {"owner": X, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("PUT", "/api/v1/consultations/{consultation_id}/opinion/annotations"): Entry(
        C,
        _at("/api/v1/consultations/{c}/opinion/annotations", items=[]),
        {"owner": X, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/opinion/sign"): Entry(
        C,
        _at("/api/v1/consultations/{c}/opinion/sign", password="telemed-demo"),
        {"owner": X, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/consultations/{consultation_id}/opinion/corrections"): Entry(
        C,
        _at(
            "/api/v1/consultations/{c}/opinion/corrections",
            findings="f",
            impression="i",
            reason="r",
            password="telemed-demo",
        ),
        {"owner": X, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    # ---------------------------------------------------------------- scheduling
    ("POST", "/api/v1/slots/{slot_id}/hold"): Entry(
        S,
        _at("/api/v1/slots/{free_slot}/hold", patient_id=_id("patient")),
        {"owner": OK, "participant": OK, "other_doctor": X, "patient": OK, "other_patient": X},
    ),
    ("POST", "/api/v1/bookings"): Entry(
        S,
        _at(
            "/api/v1/bookings",
            slot_id=_id("free_slot"),
            patient_id=_id("patient"),
            reference_type="consultation",
            reference_id=_id("c"),
        ),
        {"owner": OK, "participant": OK, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/bookings/{booking_id}/cancel"): Entry(
        S,
        _at("/api/v1/bookings/{booking}/cancel", reason="r"),
        {"owner": OK, "participant": OK, "other_doctor": N, "patient": OK, "other_patient": N},
    ),
    ("POST", "/api/v1/bookings/{booking_id}/reschedule"): Entry(
        S,
        _at("/api/v1/bookings/{booking}/reschedule", slot_id=_id("free_slot")),
        {"owner": OK, "participant": OK, "other_doctor": N, "patient": OK, "other_patient": N},
    ),
    ("POST", "/api/v1/bookings/{booking_id}/arrive"): Entry(
        S,
        _raw("/api/v1/bookings/{booking}/arrive"),
        {"owner": X, "participant": OK, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/bookings/{booking_id}/noshow"): Entry(
        S,
        _raw("/api/v1/bookings/{booking}/noshow"),
        {"owner": X, "participant": OK, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/bookings/{booking_id}/fulfil"): Entry(
        S,
        _raw("/api/v1/bookings/{booking}/fulfil"),
        {"owner": X, "participant": OK, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/schedules"): Entry(
        S,
        _at(
            "/api/v1/schedules",
            specialist_id=_id("slot_specialist"),
            weekdays=[0],
            start_time="10:00",
            end_time="11:00",
        ),
        {"owner": X, "participant": OK, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("PATCH", "/api/v1/schedules/{rule_id}"): Entry(
        S,
        _at("/api/v1/schedules/{rule}", capacity=3),
        {"owner": X, "participant": OK, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("DELETE", "/api/v1/schedules/{rule_id}"): Entry(
        S,
        _raw("/api/v1/schedules/{rule}"),
        {"owner": X, "participant": OK, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/schedules/exceptions"): Entry(
        S,
        _at(
            "/api/v1/schedules/exceptions",
            specialist_id=_id("slot_specialist"),
            kind="leave",
            start_at=_future(40),
            end_at=_future(41),
        ),
        {"owner": X, "participant": OK, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/schedules/materialize"): Entry(
        S,
        _raw("/api/v1/schedules/materialize"),
        {"owner": X, "participant": OK, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/holidays"): Entry(
        S,
        _at("/api/v1/holidays", day="2027-10-01", kind="off"),
        {"owner": X, "participant": X, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/waitlist"): Entry(
        S,
        _at(
            "/api/v1/waitlist",
            specialty_code="cardiology",
            start_at=_future(1),
            end_at=_future(9),
            patient_id=_id("other_patient_id"),
        ),
        {"owner": X, "participant": X, "other_doctor": X, "patient": X, "other_patient": OK},
    ),
    ("POST", "/api/v1/waitlist/{entry_id}/cancel"): Entry(
        S,
        _raw("/api/v1/waitlist/{entry}/cancel"),
        {"owner": OK, "participant": N, "other_doctor": N, "patient": OK, "other_patient": N},
    ),
    # ---------------------------------------------------------------- referrals
    ("POST", "/api/v1/referrals/jobs/run"): Entry(
        R,
        _raw("/api/v1/referrals/jobs/run"),
        {"owner": X, "participant": X, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/referrals"): Entry(
        R,
        _at(
            "/api/v1/referrals",
            patient_id=_id("referral_patient"),
            to_institution_id=_id("league"),
            direction="up",
            reason="r",
            diagnosis_code="I20.9",
        ),
        {"owner": OK, "participant": 422, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/referrals/{referral_id}/book"): Entry(
        R,
        _at("/api/v1/referrals/{r}/book", appointment_at=_future(10)),
        {"owner": 409, "participant": 409, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/referrals/{referral_id}/complete"): Entry(
        R,
        _at("/api/v1/referrals/{r}/complete"),
        {"owner": X, "participant": 409, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/referrals/{referral_id}/outcome"): Entry(
        R,
        _at("/api/v1/referrals/{r}/outcome", summary="s"),
        {"owner": X, "participant": 409, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/referrals/{referral_id}/contact-by"): Entry(
        R,
        _at("/api/v1/referrals/{r}/contact-by", contact_by=_future(3), reason="r"),
        {"owner": X, "participant": OK, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/referrals/{referral_id}/studies"): Entry(
        R,
        _at("/api/v1/referrals/{r}/studies", study_uid=_id("other_study")),
        {"owner": N, "participant": N, "other_doctor": N, "patient": N, "other_patient": N},
    ),
    ("DELETE", "/api/v1/referrals/{referral_id}/studies/{study_uid}"): Entry(
        R,
        _raw("/api/v1/referrals/{r}/studies/{study}"),
        {"owner": OK, "participant": X, "other_doctor": N, "patient": N, "other_patient": N},
    ),
    ("POST", "/api/v1/referrals/{referral_id}/filing/{action}"): Entry(
        R,
        _at("/api/v1/referrals/{r}/filing/revoke", memo="m"),
        {"owner": OK, "participant": X, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    ("POST", "/api/v1/referrals/{referral_id}/{action}"): Entry(
        R,
        _at("/api/v1/referrals/{r}/accept"),
        {"owner": X, "participant": 409, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    # ---------------------------------------------------------------- family doctors
    ("POST", "/api/v1/family-doctors/teams"): Entry(
        F,
        _at(
            "/api/v1/family-doctors/teams",
            institution_id=_id("township"),
            name="t",
            lead_doctor_id=_id("fd"),
        ),
        {"owner": OK, "participant": X, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/family-doctors/teams/{team_id}/members"): Entry(
        F,
        _at(
            "/api/v1/family-doctors/teams/{team}/members", user_id=_id("other_doctor"), role="nurse"
        ),
        {"owner": OK, "participant": X, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/family-doctors/contracts"): Entry(
        F,
        _at(
            "/api/v1/family-doctors/contracts",
            patient_id=_id("contract_patient"),
            team_id=_id("team"),
            consent=CONSENT,
        ),
        {"owner": 409, "participant": X, "other_doctor": X, "patient": 409, "other_patient": N},
    ),
    ("POST", "/api/v1/family-doctors/contracts/{contract_id}/confirm"): Entry(
        F,
        _raw("/api/v1/family-doctors/contracts/{contract}/confirm"),
        {"owner": 409, "participant": N, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/family-doctors/contracts/{contract_id}/renew"): Entry(
        F,
        _at("/api/v1/family-doctors/contracts/{contract}/renew"),
        {"owner": OK, "participant": N, "other_doctor": N, "patient": OK, "other_patient": N},
    ),
    ("POST", "/api/v1/family-doctors/contracts/{contract_id}/terminate"): Entry(
        F,
        _at("/api/v1/family-doctors/contracts/{contract}/terminate", reason="r"),
        {"owner": OK, "participant": N, "other_doctor": N, "patient": OK, "other_patient": N},
    ),
    ("POST", "/api/v1/family-doctors/follow-ups/{follow_up_id}/done"): Entry(
        F,
        _at("/api/v1/family-doctors/follow-ups/{follow_up}/done"),
        {"owner": OK, "participant": N, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/family-doctors/care-plans/{task_id}/done"): Entry(
        F,
        _raw("/api/v1/family-doctors/care-plans/{care_plan}/done"),
        {"owner": OK, "participant": N, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/family-doctors/home-beds"): Entry(
        F,
        _at(
            "/api/v1/family-doctors/home-beds",
            patient_id=_id("contract_patient"),
            diagnosis_code="I10",
        ),
        {"owner": 409, "participant": N, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/family-doctors/home-beds/{bed_id}/visits"): Entry(
        F,
        _at("/api/v1/family-doctors/home-beds/{bed}/visits"),
        {"owner": OK, "participant": N, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/family-doctors/home-beds/{bed_id}/discharge"): Entry(
        F,
        _at("/api/v1/family-doctors/home-beds/{bed}/discharge", summary="s"),
        {"owner": OK, "participant": N, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/family-doctors/home-visits"): Entry(
        F,
        _at("/api/v1/family-doctors/home-visits", patient_id=_id("contract_patient"), reason="r"),
        {"owner": OK, "participant": N, "other_doctor": N, "patient": OK, "other_patient": N},
    ),
    ("POST", "/api/v1/family-doctors/home-visits/{visit_id}/schedule"): Entry(
        F,
        _at("/api/v1/family-doctors/home-visits/{visit}/schedule", scheduled_at=_future(2)),
        {"owner": OK, "participant": N, "other_doctor": N, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/family-doctors/home-visits/{visit_id}/{outcome}"): Entry(
        F,
        _raw("/api/v1/family-doctors/home-visits/{visit}/done"),
        {"owner": OK, "participant": N, "other_doctor": N, "patient": X, "other_patient": N},
    ),
    # ---------------------------------------------------------------- training
    # owner: the coordinator of the course's hospital; participant: an enrolled county doctor
    ("POST", "/api/v1/training/courses"): Entry(
        T,
        _at(
            "/api/v1/training/courses",
            title="t",
            speaker_id=_id("speaker"),
            specialty_code="cardiology",
            target_tiers=["county"],
            starts_at=_future(3),
            ends_at=_future(4),
            capacity=5,
        ),  # fmt: skip
        {"owner": OK, "participant": X, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/training/courses/{course_id}/transitions"): Entry(
        T,
        _at("/api/v1/training/courses/{course}/transitions", action="cancel"),
        {"owner": OK, "participant": X, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/training/courses/{course_id}/enrolment"): Entry(
        T,
        _at("/api/v1/training/courses/{course}/enrolment"),
        # a county doctor of another county is targeted too: the catalogue is the network's
        {"owner": X, "participant": 409, "other_doctor": OK, "patient": X, "other_patient": X},
    ),
    ("DELETE", "/api/v1/training/courses/{course_id}/enrolment"): Entry(
        T,
        _raw("/api/v1/training/courses/{course}/enrolment"),
        {"owner": N, "participant": OK, "other_doctor": N, "patient": N, "other_patient": N},
        missing=frozenset({"owner", "other_doctor", "patient", "other_patient"}),
    ),
    ("POST", "/api/v1/training/courses/{course_id}/attendance"): Entry(
        T,
        _at("/api/v1/training/courses/{course}/attendance", event="join"),
        {"owner": N, "participant": OK, "other_doctor": N, "patient": N, "other_patient": N},
        missing=frozenset({"owner", "other_doctor", "patient", "other_patient"}),
    ),
    ("POST", "/api/v1/training/courses/{course_id}/room"): Entry(
        T,
        _raw("/api/v1/training/courses/{course}/room"),
        # the lecture's live room: its speaker or managers; an enrolled doctor only enters it
        {"owner": OK, "participant": X, "other_doctor": X, "patient": X, "other_patient": X},
    ),
    ("POST", "/api/v1/training/courses/{course_id}/progress"): Entry(
        T,
        _at("/api/v1/training/courses/{course}/progress", position_seconds=10),
        {"owner": N, "participant": 409, "other_doctor": N, "patient": N, "other_patient": N},
        missing=frozenset({"owner", "other_doctor", "patient", "other_patient"}),
    ),
}


def _write_routes(app: Any) -> set[tuple[str, str]]:
    spec = app.openapi()
    return {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        if path.startswith(PREFIXES)
        for method in ops
        if method.upper() in ("POST", "PUT", "PATCH", "DELETE")
    }


def test_every_write_route_has_an_entry(app: Any) -> None:
    routes = _write_routes(app)
    missing = sorted(routes - set(MATRIX))
    assert not missing, f"write routes without an authorization matrix entry: {missing}"
    stale = sorted(set(MATRIX) - routes)
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"
    for key, entry in MATRIX.items():
        assert set(entry.expect) == set(CALLERS), key


def _snapshot(session: Session) -> dict[str, tuple[int, int]]:
    """Per table: row count and the newest row version's transaction id (any insert or
    update that persisted raises it, a delete lowers the count)."""
    tables = session.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN"
            " ('audit_event', 'audit_event_patient', 'alembic_version')"
        )
    ).scalars()
    out: dict[str, tuple[int, int]] = {}
    for t in tables:
        count, newest = session.execute(
            text(f'SELECT count(*), coalesce(max(xmin::text::bigint), 0) FROM "{t}"')  # noqa: S608
        ).one()
        out[t] = (int(count), int(newest))
    return out


def _token(session: Session, user: User) -> dict[str, str]:
    token, _ = identity_service.issue_token(
        session=session, user=user, now=core_clock.now(), settings=get_settings()
    )
    return {"Authorization": f"Bearer {token}"}


def _build_world(
    session: Session,
    client: Any,
    login: Any,
    make_request: Any,
    make_rule: Any,
    indexed_study: Any,
    clock: Any,
) -> World:
    def user(name: str) -> User:
        return session.execute(select(User).where(User.username == name)).scalar_one()

    county, spec2, fd = user("county-doctor"), user("specialist2"), user("family-doctor")
    coordinator = user("coordinator")
    outsider = session.execute(
        select(User)
        .where(User.role == Role.COUNTY_DOCTOR, User.institution_id != county.institution_id)
        .order_by(User.username)
        .limit(1)
    ).scalar_one()
    demo = user("patient")
    other_p = new_patient(session, with_user=True)
    other_patient = session.execute(select(User).where(User.patient_id == other_p.id)).scalar_one()

    # Imaging + consultations: county-doctor asks specialist2; the study is linked to it.
    c = make_request()
    other_c = make_request()
    study = indexed_study("county-doctor", patient_id=demo.patient_id)
    other_study = indexed_study(outsider.username)
    r = client.post(
        f"/api/v1/consultations/{c['id']}/studies",
        json={"study_uid": study},
        headers=login("county-doctor"),
    )
    assert r.status_code == 201, r.text
    ae = session.execute(select(DicomAE).where(DicomAE.ae_title == "DEMO_COUNTY")).scalar_one()

    # Scheduling: a rule of the coordinator's hospital, a booking by county-doctor.
    rule = make_rule(capacity=1)
    slots = slots_of(session, rule)
    booking = scheduling_service.book(
        session=session,
        slot_id=slots[0].id,
        by=county,
        patient_id=demo.patient_id,
        now=core_clock.now(),
    )
    entry = scheduling_service.join_waitlist(
        session=session,
        data=WaitlistCreate(
            specialty_code=slots[1].specialty_code,
            start_at=slots[1].start_at - timedelta(days=1),
            end_at=slots[1].end_at + timedelta(days=1),
            patient_id=demo.patient_id,
        ),
        by=county,
        now=core_clock.now(),
    )

    # Referrals: county-doctor refers a resident up to the league hospital (submitted).
    ref_patient = new_patient(session, with_user=True)
    ref_patient.institution_id = county.institution_id
    session.flush()
    referral = up_referral(session, clock, patient=ref_patient)
    referrals_service.transition(
        session=session,
        referral_id=referral.id,
        action="submit",
        by=county,
        now=clock.at,
        settings=get_settings(),
    )
    receiver = staff_of(session, league_hospital(session))[0]
    rr = client.post(
        f"/api/v1/referrals/{referral.id}/studies",
        json={"study_uid": study},
        headers=login("county-doctor"),
    )
    assert rr.status_code == 200, rr.text
    ref_user = session.execute(select(User).where(User.patient_id == ref_patient.id)).scalar_one()

    # Family doctors: the demo team, a contracted resident with a bed, a visit, follow-ups.
    team = demo_team(session)
    resident = new_patient(session, with_user=True)
    resident.institution_id = fd.institution_id
    session.flush()
    contract = contracts.sign_contract(
        session=session, patient_id=resident.id, team_id=team.id, package_codes=["hypertension"],
        by=fd, now=clock.at, settings=get_settings(), consent=CONSENT,
    )  # fmt: skip
    if contract.status == "pending":
        contracts.confirm(
            session=session, contract=contract, by=user_of(session, resident.id), now=clock.at
        )
    bed = home_beds.admit_home_bed(
        session=session, patient_id=resident.id, by=fd, now=clock.at, diagnosis_code="I10",
        reason="r", visit_interval_days=7, planned_services=[],
    )  # fmt: skip
    visit = home_visits.request_home_visit(
        session=session,
        patient_id=resident.id,
        by=fd,
        now=clock.at,
        reason="r",
        preferred_date=None,
    )
    follow_up = (
        session.execute(select(FollowUp).where(FollowUp.contract_id == contract.id))
        .scalars()
        .first()
    )
    care = CarePlanTask(
        team_id=team.id, patient_id=resident.id, referral_id=referral.id, source="outcome",
        plan="p", created_at=clock.at,
    )  # fmt: skip
    session.add(care)
    session.flush()
    resident_user = session.execute(select(User).where(User.patient_id == resident.id)).scalar_one()
    course = published_course(session, starts_at=clock.at + timedelta(days=2))
    training_service.enrol(session=session, course=course, by=county, now=clock.at)

    ids = {
        "c": c["id"], "other_c": other_c["id"], "study": study, "other_study": other_study,
        "ae": ae.id, "patient": demo.patient_id, "other_patient_id": other_p.id,
        "free_slot": slots[1].id, "booking": booking.id, "rule": rule.id,
        "slot_specialist": rule.specialist_id, "entry": entry.id, "r": referral.id,
        "league": league_hospital(session).id, "referral_patient": ref_patient.id,
        "township": fd.institution_id, "fd": fd.id, "other_doctor": outsider.id,
        "team": team.id, "contract": contract.id, "contract_patient": resident.id,
        "follow_up": follow_up.id if follow_up else uuid.uuid4(), "care_plan": care.id,
        "bed": bed.id, "visit": visit.id, "course": course.id, "speaker": user("specialist").id,
    }  # fmt: skip
    base = {"other_doctor": outsider, "other_patient": other_patient}
    callers = {
        D: {**base, "owner": county, "participant": spec2, "patient": demo},
        C: {**base, "owner": county, "participant": spec2, "patient": demo},
        S: {**base, "owner": county, "participant": coordinator, "patient": demo},
        R: {**base, "owner": county, "participant": receiver, "patient": ref_user},
        F: {**base, "owner": fd, "participant": spec2, "patient": resident_user},
        T: {**base, "owner": coordinator, "participant": county, "patient": demo},
    }
    session.commit()  # releases the test's savepoint: a refused request rolls back to here
    return World(ids=ids, callers=callers)


def _refusal_recorded(session: Session, request_id: str, user: User) -> bool:
    """A 404 on an object that exists was recorded as a refusal (it survived the rollback)."""
    return (
        session.execute(
            select(AuditEvent.id).where(
                AuditEvent.request_id == request_id,
                AuditEvent.action == REFUSED,
                AuditEvent.actor_id == user.id,
            )
        ).first()
        is not None
    )


def user_of(session: Session, patient_id: uuid.UUID) -> User:
    return session.execute(select(User).where(User.patient_id == patient_id)).scalar_one()


def test_refused_writes_answer_as_the_matrix_says_and_change_nothing(
    session: Session,
    client: Any,
    login: Any,
    make_request: Any,
    make_rule: Any,
    indexed_study: Any,
    clock: Any,
) -> None:
    world = _build_world(session, client, login, make_request, make_rule, indexed_study, clock)
    links_before = session.execute(select(StudyLink.id)).all()
    discover = os.environ.get("MATRIX_DISCOVER") == "1"
    tokens = {(g, k): _token(session, u) for g, cs in world.callers.items() for k, u in cs.items()}
    session.commit()
    failures: list[str] = []
    for (method, route), entry in sorted(MATRIX.items()):
        url, kw = entry.request(world)
        for caller in CALLERS:
            want = entry.expect[caller]
            if want == OK and not discover:
                continue
            caller_user = world.callers[entry.group][caller]
            before = _snapshot(session)
            rid = uuid.uuid4().hex
            headers = {
                **tokens[(entry.group, caller)],
                **kw.get("headers", {}),
                "X-Request-ID": rid,
            }
            args = {k: v for k, v in kw.items() if k != "headers"}
            resp = client.request(method, url, headers=headers, **args)
            after = _snapshot(session)
            changed = sorted(t for t in after if after[t] != before.get(t))
            if discover:
                print("DISCOVER", method, route, caller, resp.status_code, resp.text[:120], changed)
                continue
            if resp.status_code != want:
                failures.append(
                    f"{method} {route} as {caller}: {resp.status_code} != {want}: {resp.text[:200]}"
                )
            elif entry.problem_json and not resp.headers.get("content-type", "").startswith(
                "application/problem+json"
            ):
                failures.append(f"{method} {route} as {caller}: not problem+json")
            if changed:
                failures.append(f"{method} {route} as {caller}: changed {changed}")
            hidden = want == N and "{" in route and caller not in entry.missing
            if hidden and not _refusal_recorded(session, rid, caller_user):
                failures.append(f"{method} {route} as {caller}: 404 without a refusal row")
    assert not discover, "discovery run"
    assert not failures, "\n".join(failures)
    assert session.execute(select(StudyLink.id)).all() == links_before
