"""CarePlan: a referral's care plan on a family-doctor team's worklist (`CarePlanTask`: a
downward referral's care plan, or an upward referral's outcome recommendations).

A care plan is shown to whom its referral is shown (`referrals.service.get_referral` on
read, `list_for_user` on search: the REST API's rules) and every read is audited
(`care_plan`, naming the patient).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from referrals import fhir as referral_fhir
from referrals import service as referral_service
from referrals.models import CarePlanTask, Referral
from telemed.core import audit
from telemed.core.errors import NotFound
from telemed.core.pagination import PageParams, paginate
from telemed.fhir.registry import (
    Context,
    Handler,
    Page,
    Resource,
    SearchParam,
    ident,
    reference,
    token,
)

STATUS = {"active": False, "completed": True}  # CarePlan.status -> done


def read_care_plan(ctx: Context, id: str) -> Resource:
    plan = ctx.session.get(CarePlanTask, ident(id, "CarePlan"))
    if plan is None:
        raise NotFound(f"CarePlan/{id} not found")
    referral_service.get_referral(session=ctx.session, referral_id=plan.referral_id, user=ctx.user)
    audit.read(
        ctx.session,
        ctx.user,
        object_type="care_plan",
        object_id=plan.id,
        patient_ids=[plan.patient_id],
    )
    return referral_fhir.care_plan(plan)


def search_care_plans(ctx: Context, params: dict[str, list[str]], count: int, offset: int) -> Page:
    visible = (
        referral_service.list_for_user(session=ctx.session, user=ctx.user)
        .order_by(None)
        .with_only_columns(col(Referral.id))
    )
    where: list[Any] = [col(CarePlanTask.referral_id).in_(visible.scalar_subquery())]
    for value in params.get("patient", []):
        where.append(col(CarePlanTask.patient_id) == reference(value, "Patient", "patient"))
    for value in params.get("based-on", []):
        where.append(
            col(CarePlanTask.referral_id) == reference(value, "ServiceRequest", "based-on")
        )
    for value in params.get("status", []):
        done = {STATUS[c] for c in (token(v) for v in value.split(",")) if c in STATUS}
        if done == {True}:
            where.append(col(CarePlanTask.done_at).is_not(None))
        elif done == {False}:
            where.append(col(CarePlanTask.done_at).is_(None))
        elif not done:
            where.append(col(CarePlanTask.id).is_(None))  # no such status: nothing
    stmt = (
        select(CarePlanTask)
        .where(*where)
        .order_by(col(CarePlanTask.created_at).desc(), col(CarePlanTask.id))
    )
    rows, total = paginate(ctx.session, stmt, PageParams(limit=count, offset=offset))
    if rows:
        audit.read(
            ctx.session,
            ctx.user,
            object_type="care_plan",
            object_ids=[p.id for p in rows],
            patient_ids=[p.patient_id for p in rows],
        )
    return Page(
        resources=[referral_fhir.care_plan(p) for p in rows],
        total=total,
        more=offset + count < total,
    )


HANDLERS: tuple[Handler, ...] = (
    Handler(
        type="CarePlan",
        documentation="A referral's care plan for the family-doctor team (a downward "
        "referral's, category care-plan-source|down_referral, or an upward referral's "
        "outcome recommendations, |outcome); shown to whom the referral is shown.",
        read=read_care_plan,
        search=search_care_plans,
        params=(
            SearchParam("patient", "reference", "Patient/<id>"),
            SearchParam("based-on", "reference", "ServiceRequest/<referral id>"),
            SearchParam("status", "token", "active (open) or completed (done)"),
        ),
    ),
)
