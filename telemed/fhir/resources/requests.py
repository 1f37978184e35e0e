"""ServiceRequest and Task: referrals and remote consultations, one search over both.

Visibility is the REST API's: referrals through `referrals.service.get_referral` and
`list_for_user`, consultations through `consultations.service.read` and `worklist`; lists
are audited as the REST lists are. Referrals come first in a search, then consultations.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import col

from referrals import fhir as referral_fhir
from referrals import service as referral_service
from referrals.models import Referral
from telemed.consultations import fhir as consultation_fhir
from telemed.consultations import service as consultation_service
from telemed.consultations.models import Consultation
from telemed.core import audit
from telemed.core.errors import Invalid
from telemed.core.pagination import PageParams, paginate
from telemed.fhir.registry import (
    Context,
    Handler,
    Include,
    Page,
    Resource,
    SearchParam,
    date_range,
    reference,
    referenced,
    token,
)
from telemed.fhir.resources.loading import CONSULTATION, REFERRAL, load
from telemed.fhir.resources.writes import create_service_request, patch_task, update_task


@dataclass
class Filters:
    """A search's conditions on each source (None: that source is excluded)."""

    referral: list[Any] | None
    consultation: list[Any] | None


def _maybe_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _in_states(mapping: dict[str, str], codes: list[str]) -> list[str]:
    wanted = {token(c) for v in codes for c in v.split(",")}
    return [state for state, code in mapping.items() if code in wanted]


def _org_or_practitioner(value: str, param: str) -> tuple[str, uuid.UUID]:
    kind = "Practitioner" if value.startswith("Practitioner/") else "Organization"
    if not value.startswith(("Practitioner/", "Organization/")):
        raise Invalid(f"{param} must be Organization/<id> or Practitioner/<id>", field=param)
    return kind, reference(value, kind, param)


def filters(params: dict[str, list[str]], *, task: bool) -> Filters:
    """Translate the search parameters into conditions on Referral and Consultation."""
    r: list[Any] = []
    c: list[Any] = []
    kinds = {REFERRAL, CONSULTATION}
    for value in params.get("category", []):
        kinds &= {token(v) for v in value.split(",")}
    for value in params.get("_id", []):
        ids = [_maybe_uuid(v) for v in value.split(",")]  # not a UUID: not one of ours
        r.append(col(Referral.id).in_([i for i in ids if i]))
        c.append(col(Consultation.id).in_([i for i in ids if i]))
    for value in params.get("focus", []):
        ids = [reference(v, "ServiceRequest", "focus") for v in value.split(",")]
        r.append(col(Referral.id).in_(ids))
        c.append(col(Consultation.id).in_(ids))
    for value in params.get("patient", []) + params.get("subject", []):
        pid = reference(value, "Patient", "patient")
        r.append(col(Referral.patient_id) == pid)
        c.append(col(Consultation.patient_id) == pid)
    for value in params.get("status", []):
        r_map = referral_fhir.TASK_STATUS if task else referral_fhir.SERVICE_REQUEST_STATUS
        c_map = consultation_fhir.TASK_STATUS if task else consultation_fhir.SERVICE_REQUEST_STATUS
        r.append(col(Referral.status).in_(_in_states(r_map, [value])))
        c.append(col(Consultation.state).in_(_in_states(c_map, [value])))
    dates = params.get("authored-on" if task else "authored", [])
    if dates:
        lo, hi = date_range(dates, "authored")
        r_at = func.coalesce(Referral.requested_at, Referral.created_at) if not task else None
        r_col = r_at if r_at is not None else col(Referral.created_at)
        c_col = (
            func.coalesce(Consultation.submitted_at, Consultation.created_at)
            if not task
            else col(Consultation.created_at)
        )
        if lo is not None:
            r.append(r_col >= lo)
            c.append(c_col >= lo)
        if hi is not None:
            r.append(r_col < hi)
            c.append(c_col < hi)
    for value in params.get("requester", []):
        kind, uid = _org_or_practitioner(value, "requester")
        if kind == "Organization":
            r.append(col(Referral.from_institution_id) == uid)
            c.append(col(Consultation.requesting_institution_id) == uid)
        else:
            r.append(col(Referral.from_doctor_id) == uid)
            c.append(col(Consultation.requesting_doctor_id) == uid)
    for value in params.get("owner" if task else "performer", []):
        kind, uid = _org_or_practitioner(value, "performer")
        if kind == "Organization":
            r.append(col(Referral.to_institution_id) == uid)
            c.append(col(Consultation.receiving_institution_id) == uid)
        else:
            r.append(col(Referral.to_specialist_id) == uid)
            c.append(col(Consultation.assigned_specialist_id) == uid)
    return Filters(
        referral=r if REFERRAL in kinds else None,
        consultation=c if CONSULTATION in kinds else None,
    )


def search_requests(
    ctx: Context, f: Filters, count: int, offset: int
) -> tuple[list[Referral], list[Consultation], int]:
    """One page over the caller's referrals, then their consultations (each list audited)."""
    referrals: list[Referral] = []
    r_total = 0
    if f.referral is not None:
        stmt = referral_service.list_for_user(session=ctx.session, user=ctx.user).where(*f.referral)
        referrals, r_total = paginate(ctx.session, stmt, PageParams(limit=count, offset=offset))
        audit.read(
            ctx.session,
            ctx.user,
            object_type="referral",
            patient_ids=[r.patient_id for r in referrals],
            object_ids=[r.id for r in referrals],
        )
    consultations: list[Consultation] = []
    c_total = 0
    if f.consultation is not None:
        consultations, c_total = consultation_service.worklist(
            session=ctx.session,
            user=ctx.user,
            role=consultation_service.default_role(ctx.user),
            state=None,
            limit=count - len(referrals),
            offset=max(0, offset - r_total),
            where=f.consultation,
        )
    return referrals, consultations, r_total + c_total


def _searcher(
    r_view: Callable[[Referral], Resource], c_view: Callable[[Consultation], Resource], task: bool
) -> Callable[[Context, dict[str, list[str]], int, int], Page]:
    def _search(ctx: Context, params: dict[str, list[str]], count: int, offset: int) -> Page:
        refs, cons, total = search_requests(ctx, filters(params, task=task), count, offset)
        found = [r_view(r) for r in refs] + [c_view(c) for c in cons]
        return Page(resources=found, total=total, more=offset + count < total)

    return _search


def read_service_request(ctx: Context, id: str) -> Resource:
    found = load(ctx, id, "ServiceRequest")
    if isinstance(found, Referral):
        return referral_fhir.service_request(found)
    return consultation_fhir.service_request(found)


def read_task(ctx: Context, id: str) -> Resource:
    found = load(ctx, id, "Task")
    if isinstance(found, Referral):
        return referral_fhir.task(found)
    return consultation_fhir.task(found)


_COMMON = (
    SearchParam("_id", "token", "the request's id"),
    SearchParam("patient", "reference", "Patient/<id>"),
    SearchParam("status", "token", "FHIR status code(s), comma-separated"),
    SearchParam(
        "requester", "reference", "Organization/<id> (sending institution) or Practitioner/<id>"
    ),
    SearchParam("category", "token", "referral or consultation (request-kind code)"),
)

SERVICE_REQUEST_PARAMS = (
    *_COMMON,
    SearchParam("subject", "reference", "Patient/<id> (same as patient)"),
    SearchParam("authored", "date", "authoredOn (sent at), eq/ge/gt/le/lt prefixes"),
    SearchParam(
        "performer", "reference", "Organization/<id> (receiving institution) or Practitioner/<id>"
    ),
)
TASK_PARAMS = (
    *_COMMON,
    SearchParam("focus", "reference", "ServiceRequest/<id>"),
    SearchParam("authored-on", "date", "Task.authoredOn (created at), eq/ge/gt/le/lt"),
    SearchParam(
        "owner", "reference", "Organization/<id> (receiving institution) or Practitioner/<id>"
    ),
)


HANDLERS: tuple[Handler, ...] = (
    Handler(
        type="ServiceRequest",
        documentation="Referrals (双向转诊, category SNOMED 3457005) and remote "
        "consultations (category request-kind|consultation).",
        read=read_service_request,
        search=_searcher(referral_fhir.service_request, consultation_fhir.service_request, False),
        params=SERVICE_REQUEST_PARAMS,
        includes=(
            Include(
                "ServiceRequest:patient",
                lambda ctx, requests: referenced(
                    ctx, requests, "Patient", lambda r: [r.get("subject", {})]
                ),
            ),
        ),
        create=create_service_request,
    ),
    Handler(
        type="Task",
        documentation="The workflow of a referral or consultation (same id as its "
        "ServiceRequest); businessStatus carries the exact state.",
        read=read_task,
        search=_searcher(referral_fhir.task, consultation_fhir.task, True),
        params=TASK_PARAMS,
        update=update_task,
        patch=patch_task,
    ),
)
