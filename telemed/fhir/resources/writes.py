"""Writes a partner system needs: create a ServiceRequest (referral or consultation),
move a Task (accept, reject, complete ...). Each goes through the domain's own service
function: the same validation, consent, tier policy, authorization and state machine."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from referrals import fhir as referral_fhir
from referrals import service as referral_service
from referrals.models import Referral
from referrals.schemas import ReferralCreate
from referrals.states import REFERRAL
from telemed.consultations import fhir as consultation_fhir
from telemed.consultations import service as consultation_service
from telemed.consultations.models import Consultation
from telemed.consultations.schemas import AcceptBody, ConsultationCreate
from telemed.core import idempotency
from telemed.core.errors import Invalid, InvalidTransition
from telemed.fhir.registry import Context, Resource, reference
from telemed.fhir.resources.loading import load

# ---------------------------------------------------------------- reading a resource


def _codes(concept: dict[str, Any] | None, system: str) -> list[str]:
    return [
        c["code"]
        for c in (concept or {}).get("coding", [])
        if c.get("system") == system and c.get("code")
    ]


def _kind(body: Resource) -> str:
    for cat in body.get("category", []):
        if _codes(cat, referral_fhir.REFERRAL_CATEGORY[0]) == [referral_fhir.REFERRAL_CATEGORY[1]]:
            return "referral"
        if "consultation" in _codes(cat, consultation_fhir.KIND_SYSTEM):
            return "consultation"
    raise Invalid(
        "category must be SNOMED 3457005 (referral) or request-kind|consultation",
        field="category",
        code="unknown_request_kind",
    )


def _ref(value: dict[str, Any] | None, kind: str, field: str) -> uuid.UUID | None:
    text = (value or {}).get("reference")
    if not text:
        return None
    return reference(text, kind, field)


def _performers(body: Resource) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    org = doctor = None
    for p in body.get("performer", []):
        ref = str(p.get("reference", ""))
        if ref.startswith("Organization/"):
            org = reference(ref, "Organization", "performer")
        elif ref.startswith("Practitioner/"):
            doctor = reference(ref, "Practitioner", "performer")
    return org, doctor


_URGENCY = {"routine": "routine", "urgent": "urgent", "asap": "urgent", "stat": "emergency"}


def _validated(model: Any, data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise Invalid(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors
        ) from None


def _referral_create(body: Resource) -> ReferralCreate:
    reason = (body.get("reasonCode") or [{}])[0]
    icd = _codes(reason, referral_fhir.ICD10_SYSTEM)
    icd_display = next(
        (
            c.get("display", "")
            for c in reason.get("coding", [])
            if c.get("system") == referral_fhir.ICD10_SYSTEM
        ),
        "",
    )
    directions = _codes(body.get("code"), referral_fhir.DIRECTION_SYSTEM)
    org, doctor = _performers(body)
    notes = [n.get("text", "") for n in body.get("note", [])]
    return _validated(
        ReferralCreate,
        {
            "patient_id": _ref(body.get("subject"), "Patient", "subject"),
            "to_institution_id": org,
            "to_specialist_id": doctor,
            "direction": directions[0] if directions else None,
            "urgency": _URGENCY.get(body.get("priority", "routine"), "routine"),
            "reason": reason.get("text") or icd_display,
            "diagnosis_code": icd[0] if icd else None,
            "diagnosis_text": icd_display or "",
            "clinical_summary": "\n".join(n for n in notes if n),
            "care_plan": body.get("patientInstruction"),
        },
    )


def _consent(body: Resource) -> dict[str, Any] | None:
    for c in body.get("contained", []):
        if c.get("resourceType") != "Consent":
            continue
        who = (c.get("performer") or [{}])[0].get("display")
        return {
            "given_by": who,
            "method": "signed_form" if c.get("sourceAttachment") else "verbal",
            "given_at": c.get("dateTime"),
            "note": "FHIR Consent",
        }
    return None


def _consultation_create(body: Resource) -> ConsultationCreate:
    classes = _codes(body.get("code"), consultation_fhir.SERVICE_CLASS_SYSTEM)
    specialties = _codes(body.get("performerType"), consultation_fhir.SPECIALTY_SYSTEM)
    org, doctor = _performers(body)
    notes = [n.get("text", "") for n in body.get("note", [])]
    return _validated(
        ConsultationCreate,
        {
            "patient_id": _ref(body.get("subject"), "Patient", "subject"),
            "service_class": classes[0] if classes else None,
            "urgency": _URGENCY.get(body.get("priority", "routine"), "routine"),
            "summary": "\n".join(n for n in notes if n),
            "question": (body.get("reasonCode") or [{}])[0].get("text"),
            "wanted_specialty": specialties[0] if specialties else None,
            "chosen_institution_id": org,
            "chosen_specialist_id": doctor,
            "consent": _consent(body),
        },
    )


# ---------------------------------------------------------------- create


def _idempotency_key(ctx: Context) -> str | None:
    """`Idempotency-Key`, or `If-None-Exist: identifier=<system>|<value>` used as one."""
    if ctx.headers.get("idempotency-key"):
        return ctx.headers["idempotency-key"]
    cond = ctx.headers.get("if-none-exist")
    if not cond:
        return None
    name, _, value = cond.partition("=")
    if name.strip() != "identifier" or not value.strip():
        raise Invalid("If-None-Exist supports identifier=<system>|<value>", field="If-None-Exist")
    return "identifier=" + value.strip()


def _view(kind: str, obj: Any) -> Resource:
    if kind == "referral":
        return referral_fhir.service_request(obj)
    return consultation_fhir.service_request(obj)


def create_service_request(ctx: Context, body: Resource) -> tuple[Resource, bool]:
    """A referral or consultation from a partner system; `status: active` submits it too
    (`draft` keeps it a draft). A repeated key returns the first one (200)."""
    kind = _kind(body)
    status = body.get("status", "active")
    if status not in ("draft", "active"):
        raise Invalid("status must be draft or active", field="status")
    data = _referral_create(body) if kind == "referral" else _consultation_create(body)

    def work() -> Referral | Consultation:
        if isinstance(data, ReferralCreate):
            made = referral_service.create_referral(
                session=ctx.session, data=data, by=ctx.user, now=ctx.now, settings=ctx.settings
            )
            if status != "active":
                return made
            return referral_service.transition(
                session=ctx.session,
                referral_id=made.id,
                action="submit",
                by=ctx.user,
                now=ctx.now,
                settings=ctx.settings,
            )
        drafted = consultation_service.create(
            session=ctx.session, by=ctx.user, data=data, now=ctx.now
        )
        if status != "active":
            return drafted
        return consultation_service.submit(
            session=ctx.session,
            consultation_id=drafted.id,
            by=ctx.user,
            now=ctx.now,
            settings=ctx.settings,
        )

    out = idempotency.once(
        session=ctx.session,
        scope="fhir.ServiceRequest",
        user_id=ctx.user.id,
        key=_idempotency_key(ctx),
        payload=body,
        now=ctx.now,
        status_code=201,
        work=work,
        dump=lambda obj: {"id": str(obj.id), "kind": kind},
    )
    if isinstance(out, idempotency.Replay):
        return _view(out.response["kind"], load(ctx, out.response["id"], "x")), False
    return _view(kind, out), True


# ---------------------------------------------------------------- Task status


def _reason(body: Resource) -> str | None:
    return (body.get("statusReason") or {}).get("text")


def _referral_action(r: Referral, wanted: str) -> str:
    """The referral action from its state to a state shown as `wanted` (booking a slot
    goes through Appointment, not here)."""
    for action, (sources, target) in REFERRAL.transitions.items():
        if r.status in sources and referral_fhir.TASK_STATUS[target] == wanted:
            return action
    raise InvalidTransition(entity="referral", current=r.status, action=f"Task.status={wanted}")


def _business(body: Resource) -> str | None:
    """The exact state asked for in businessStatus (code, else text), if any."""
    concept = body.get("businessStatus") or {}
    codes = [c.get("code") for c in concept.get("coding", []) if c.get("code")]
    return codes[0] if codes else concept.get("text")


def _move_referral(ctx: Context, r: Referral, wanted: str, body: Resource) -> Resource:
    reason = _reason(body)
    business = _business(body)
    if referral_fhir.TASK_STATUS[r.status] == wanted:
        # the same Task.status: a step inside it only when businessStatus names it
        # (completed -> closed); otherwise nothing to do
        if not business or business == r.status:
            return referral_fhir.task(r)
        action = next(
            (
                a
                for a, (sources, target) in REFERRAL.transitions.items()
                if r.status in sources and target == business
            ),
            None,
        )
        if action is None:
            raise InvalidTransition(entity="referral", current=r.status, action=business)
    else:
        action = _referral_action(r, wanted)
    extra: dict[str, Any] = {}
    if action == "book":
        # `ready` = booked for a time (executionPeriod.start); a slot is booked through
        # Appointment (POST Appointment with basedOn this ServiceRequest).
        start = (body.get("executionPeriod") or {}).get("start")
        if not start:
            raise Invalid("Task.status=ready needs executionPeriod.start", field="executionPeriod")
        try:
            extra["appointment_at"] = datetime.fromisoformat(start)
        except ValueError:
            raise Invalid(
                "executionPeriod.start is not a dateTime", field="executionPeriod"
            ) from None
    r = referral_service.transition(
        session=ctx.session,
        referral_id=r.id,
        action=action,
        by=ctx.user,
        now=ctx.now,
        settings=ctx.settings,
        reason=reason,
        **extra,
    )
    return referral_fhir.task(r)


def _move_consultation(ctx: Context, c: Consultation, wanted: str, body: Resource) -> Resource:
    reason, business = _reason(body), _business(body)
    if consultation_fhir.TASK_STATUS[c.state] == wanted and business in (None, c.state):
        return consultation_fhir.task(c)
    svc = consultation_service
    common: dict[str, Any] = {
        "session": ctx.session,
        "consultation_id": c.id,
        "by": ctx.user,
        "now": ctx.now,
    }
    if wanted == "requested" and c.state == "draft":
        c = svc.submit(**common, settings=ctx.settings)
    elif wanted == "accepted" and c.state in ("submitted", "redirected"):
        c = svc.accept(**common, data=AcceptBody(), settings=ctx.settings)
    elif wanted == "rejected" and c.state in ("submitted", "redirected"):
        c = svc.decline(**common, reason=reason or "")
    elif wanted == "cancelled":
        if not (reason or "").strip():
            raise Invalid("a reason is required", field="statusReason")
        c = svc.cancel(**common, reason=reason or "")
    elif wanted == "completed" and c.state == "reported" and business == "closed":
        c = svc.acknowledge(**common)
    else:
        raise InvalidTransition(
            entity="consultation", current=c.state, action=f"Task.status={wanted}"
        )
    return consultation_fhir.task(c)


def update_task(ctx: Context, id: str, body: Resource) -> Resource:
    """PUT Task: only `status` (with `statusReason.text`, and `businessStatus` for a step
    inside one status: completed -> closed) may change; the change is the matching workflow
    action, 409 invalid_transition when there is none from here."""
    wanted = body.get("status")
    if not isinstance(wanted, str):
        raise Invalid("status is required", field="status")
    found = load(ctx, id, "Task")
    if isinstance(found, Referral):
        return _move_referral(ctx, found, wanted, body)
    return _move_consultation(ctx, found, wanted, body)


def patch_task(ctx: Context, id: str, body: Any) -> Resource:
    """PATCH Task: a JSON Patch (`replace /status`, `/statusReason`, `/businessStatus`) or a
    JSON object with `status` (and those), applied as PUT would."""
    if isinstance(body, list):
        merged: dict[str, Any] = {}
        for op in body:
            if not isinstance(op, dict) or op.get("op") not in ("replace", "add"):
                raise Invalid("only replace/add operations are supported", field="op")
            path = op.get("path")
            if path == "/status":
                merged["status"] = op.get("value")
            elif path == "/statusReason":
                merged["statusReason"] = op.get("value")
            elif path == "/statusReason/text":
                merged["statusReason"] = {"text": op.get("value")}
            elif path == "/businessStatus":
                merged["businessStatus"] = op.get("value")
            else:
                raise Invalid(f"{path} cannot be changed", field="path")
        body = merged
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON Patch or a JSON object", field="body")
    return update_task(ctx, id, body)
