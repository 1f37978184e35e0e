"""Routes of referrals, and the one router of the package: it mounts the family-doctor routes
(`referrals.family.api`, `referrals.family.home_api`) and the printed documents
(`referrals.api_print`); their FHIR form: telemed.fhir."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from referrals import imaging, reports, service
from referrals.api_print import router as print_router
from referrals.deps import ReadReferral, TeamMember, VisibleReferral, read_list
from referrals.family import contracts
from referrals.family.api import router as family_router
from referrals.family.home_api import router as home_router
from referrals.family.responses import as_json, labelled, labels_of
from referrals.family.schemas import TeamWorklist
from referrals.insurance import AgencyUnavailable
from referrals.queries import team_work
from referrals.receivers import propose_receivers as receivers_for
from referrals.responses import filing_public, referral_public, referrals_public, waiting
from referrals.schemas import (
    ActionIn,
    BookIn,
    CompleteIn,
    ContactByIn,
    FilingActionIn,
    FilingPublic,
    OutcomeIn,
    ReceiverProposal,
    ReferralCreate,
    ReferralEventPublic,
    ReferralPublic,
    ReferralReport,
    StudyLinkIn,
)
from telemed.core import audit, idempotency
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import NotFound, Unavailable
from telemed.core.pagination import Page, PageDep, paginate
from telemed.identity.deps import AdminUser, ClientIP, CurrentUser, StaffUser
from telemed.identity.models import User
from telemed.identity.permissions import require_patient_read
from telemed.network.models import Institution

router = APIRouter(prefix="/api/v1", tags=["referrals"])
router.include_router(family_router)
router.include_router(home_router)
router.include_router(print_router)

# ---------------------------------------------------------------- where referrals meet teams


@router.get(
    "/family-doctors/teams/{team_id}/worklist", response_model=TeamWorklist, tags=["family doctors"]
)
def team_worklist(
    team: TeamMember, user: CurrentUser, session: SessionDep, now: NowDep
) -> TeamWorklist:
    """What the team must do: overdue follow-ups, care plans from referrals, home visits,
    home sick beds due a visit, referrals waiting at the team's institution."""
    work = team_work(session=session, team=team, now=now)
    pids = work.patient_ids()
    audit.read(session, user, object_type="team_worklist", object_id=team.id, patient_ids=pids)
    labels = labels_of(session, pids)
    return TeamWorklist(
        team_id=team.id,
        overdue_follow_ups=[
            labelled(as_json(f), f.patient_id, labels) for f in work.overdue_follow_ups
        ],
        care_plans=[labelled(as_json(p), p.patient_id, labels) for p in work.care_plans],
        home_visits=[labelled(as_json(v), v.patient_id, labels) for v in work.home_visits],
        home_beds_due=[
            labelled(
                {"bed_id": str(b.id), "patient_id": str(b.patient_id), "due_at": d.isoformat()},
                b.patient_id,
                labels,
            )
            for b, d in work.home_beds_due
        ],
        waiting_referrals=[
            labelled(waiting(r, now), r.patient_id, labels) for r in work.waiting_referrals
        ],
    )


@router.post("/family-doctors/care-plans/{task_id}/done", tags=["family doctors"])
def care_plan_done(
    task_id: uuid.UUID, user: StaffUser, session: SessionDep, now: NowDep
) -> dict[str, Any]:
    """A member of the resident's team takes up a care plan a referral handed over."""
    return as_json(service.complete_care_plan(session=session, task_id=task_id, by=user, now=now))


@router.post("/referrals/jobs/run", tags=["referrals"])
def run_jobs(
    admin: AdminUser, session: SessionDep, now: NowDep, settings: SettingsDep
) -> dict[str, int]:
    """Run the periodic jobs now: contract expiry/activation/reminders and breach escalation
    (operators call this from cron; see docs/referrals.md)."""
    out = contracts.run_contract_jobs(session=session, now=now, settings=settings)
    out["escalated"] = service.escalate_breaches(session=session, now=now)
    return out


# ---------------------------------------------------------------- referrals


@router.post("/referrals", response_model=ReferralPublic, status_code=201)
def create_referral(
    data: ReferralCreate,
    user: StaffUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Create a draft referral (checked against the tier policy); submit it next."""

    def work() -> ReferralPublic:
        r = service.create_referral(session=session, data=data, by=user, now=now, settings=settings)
        return referral_public(session, r, user, now)

    out = idempotency.once(
        session=session,
        scope="referral.create",
        user_id=user.id,
        key=idempotency_key,
        payload=data.model_dump(mode="json"),
        now=now,
        status_code=201,
        work=work,
        dump=lambda p: p.model_dump(mode="json"),
    )
    if isinstance(out, idempotency.Replay):
        return JSONResponse(out.response, status_code=out.status_code)
    return out


@router.get("/referrals", response_model=Page[ReferralPublic])
def list_referrals(
    user: CurrentUser,
    session: SessionDep,
    page: PageDep,
    now: NowDep,
    role: Literal["sent", "received"] | None = None,
    status: str | None = None,
    patient_id: uuid.UUID | None = None,
) -> Page[ReferralPublic]:
    """Referrals the caller sees: sent, received, their own (patients) or their residents'."""
    stmt = service.list_for_user(
        session=session, user=user, role=role, status=status, patient_id=patient_id
    )
    rows, total = paginate(session, stmt, page)
    read_list(session, user, "referral", rows)
    return Page(
        items=referrals_public(session, list(rows), user, now),
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/referrals/worklist", response_model=list[dict[str, Any]])
def referral_worklist(user: StaffUser, session: SessionDep, now: NowDep) -> list[dict[str, Any]]:
    """Referrals waiting at the caller's institution with the date the patient will be
    contacted by (breached ones flagged): no referral waits unseen."""
    if user.institution_id is None:
        return []
    rows = service.receiver_worklist(session=session, institution_id=user.institution_id)
    read_list(session, user, "referral", rows, what="worklist")
    return [waiting(r, now) for r in rows]


@router.get("/referrals/receivers", response_model=list[ReceiverProposal])
def propose_receivers(
    patient_id: uuid.UUID,
    direction: Literal["up", "down", "lateral"],
    user: StaffUser,
    session: SessionDep,
    specialty: str | None = None,
) -> list[ReceiverProposal]:
    """Candidate receivers for a referral in the order of the routing rule seen from the
    patient (docs/routing.md), each with its reason; down to the contracted team first."""
    patient = require_patient_read(session, user, patient_id)
    if user.institution_id is None:
        return []
    src = session.get(Institution, user.institution_id)
    assert src is not None
    return receivers_for(
        session=session, src=src, patient=patient, direction=direction, specialty=specialty
    )


@router.get("/referrals/reports", response_model=ReferralReport)
def referral_reports(
    user: StaffUser,
    session: SessionDep,
    now: NowDep,
    since: datetime | None = None,
    until: datetime | None = None,
    league: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> ReferralReport:
    """Aggregates (no patient data): up/down per alliance and league, acceptance times,
    closure rate, referrals waiting past their contact date."""
    return reports.referral_report(
        session=session, now=now, since=since, until=until, league_code=league
    )


@router.get("/referrals/{referral_id}", response_model=ReferralPublic)
def get_referral(
    r: ReadReferral, user: CurrentUser, session: SessionDep, now: NowDep
) -> ReferralPublic:
    """One referral the caller takes part in."""
    return referral_public(session, r, user, now)


@router.get("/referrals/{referral_id}/events", response_model=list[ReferralEventPublic])
def referral_events(r: ReadReferral, session: SessionDep) -> list[ReferralEventPublic]:
    """Where the referral stands: every transition with who, when and why."""
    return [
        ReferralEventPublic.model_validate(e, from_attributes=True)
        for e in service.events_of(session=session, referral_id=r.id)
    ]


def _act(
    action: str,
    referral_id: uuid.UUID,
    user: User,
    session: Any,
    now: datetime,
    settings: Any,
    **kw: Any,
) -> ReferralPublic:
    r = service.transition(
        session=session,
        referral_id=referral_id,
        action=action,
        by=user,
        now=now,
        settings=settings,
        **kw,
    )
    return referral_public(session, r, user, now)


# The actions of the generic route, by the name in its path.
ACTIONS = {
    "submit": "submit",
    "receive": "receive",
    "accept": "accept",
    "reject": "reject",
    "return": "return_with_advice",
    "arrive": "arrive",
    "close": "close",
    "cancel": "cancel",
}


@router.post("/referrals/{referral_id}/book", response_model=ReferralPublic)
def book_referral(
    referral_id: uuid.UUID,
    data: BookIn,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ReferralPublic:
    """Book the accepted referral into a slot (reserved capacity for the resident's own
    family doctor) or record an appointment time."""
    return _act(
        "book",
        referral_id,
        user,
        session,
        now,
        settings,
        slot_id=data.slot_id,
        appointment_at=data.appointment_at,
        idempotency_key=idempotency_key,
    )


@router.post("/referrals/{referral_id}/complete", response_model=ReferralPublic)
def complete_referral(
    referral_id: uuid.UUID,
    data: CompleteIn,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> ReferralPublic:
    """The receiver completes the visit, optionally sending the outcome with it."""
    return _act("complete", referral_id, user, session, now, settings, outcome=data.outcome)


@router.post("/referrals/{referral_id}/outcome", response_model=ReferralPublic)
def referral_outcome(
    referral_id: uuid.UUID, data: OutcomeIn, user: CurrentUser, session: SessionDep, now: NowDep
) -> ReferralPublic:
    """The receiver sends the outcome back (discharge or visit summary, recommendations)."""
    r = service.send_outcome(
        session=session, referral_id=referral_id, by=user, now=now, outcome=data
    )
    return referral_public(session, r, user, now)


@router.post("/referrals/{referral_id}/contact-by", response_model=ReferralPublic)
def referral_contact_by(
    referral_id: uuid.UUID, data: ContactByIn, user: CurrentUser, session: SessionDep, now: NowDep
) -> ReferralPublic:
    """The receiver sets by when the waiting patient will be contacted."""
    r = service.set_contact_by(
        session=session,
        referral_id=referral_id,
        by=user,
        now=now,
        contact_by=data.contact_by,
        reason=data.reason,
    )
    return referral_public(session, r, user, now)


@router.get("/referrals/{referral_id}/studies")
def referral_studies(r: VisibleReferral, user: CurrentUser, session: SessionDep) -> list[Any]:
    """Imaging studies linked to the referral (visible to its participants)."""
    audit.read(
        session, user, object_type="referral_studies", object_id=r.id, patient_ids=[r.patient_id]
    )
    return imaging.studies(session=session, referral_id=r.id)


@router.post("/referrals/{referral_id}/studies", response_model=ReferralPublic)
def link_referral_study(
    referral_id: uuid.UUID, data: StudyLinkIn, user: CurrentUser, session: SessionDep, now: NowDep
) -> ReferralPublic:
    """Attach an imaging study (who may: `dicom.policy`; referrer or receiver, while open)."""
    r = service.link_study(
        session=session, referral_id=referral_id, study_uid=data.study_uid, by=user, now=now
    )
    return referral_public(session, r, user, now)


@router.delete("/referrals/{referral_id}/studies/{study_uid}", response_model=ReferralPublic)
def unlink_referral_study(
    referral_id: uuid.UUID,
    study_uid: str,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    ip: ClientIP,
) -> ReferralPublic:
    """Unlink a study from the referral (same rule as linking); its readers lose it at once."""
    r = service.unlink_study(
        session=session, referral_id=referral_id, study_uid=study_uid, by=user, now=now, ip=ip
    )
    return referral_public(session, r, user, now)


@router.get("/referrals/{referral_id}/filing", response_model=FilingPublic)
def referral_filing(r: VisibleReferral, user: CurrentUser, session: SessionDep) -> FilingPublic:
    """The cross-region treatment filing (异地就医备案) of a referral, when it needs one:
    its state at the insurance agency, the agency's reference or reason."""
    filing = service.filing_of(session=session, referral_id=r.id)
    if filing is None:
        raise NotFound("this referral needs no cross-region filing")
    audit.read(
        session,
        user,
        object_type="referral_filing",
        object_id=filing.id,
        patient_ids=[r.patient_id],
    )
    return filing_public(filing, user, r)


@router.post("/referrals/{referral_id}/filing/{action}", response_model=FilingPublic)
def referral_filing_action(
    referral_id: uuid.UUID,
    action: Literal["resubmit", "revoke"],
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    data: FilingActionIn | None = None,
) -> FilingPublic:
    """The referrer resubmits a rejected filing (sent again by the job) or revokes an
    accepted one at the agency (2502 撤销); 503 `agency_unavailable` when it does not answer."""
    try:
        filing = service.act_on_filing(
            session=session,
            referral_id=referral_id,
            action=action,
            by=user,
            now=now,
            settings=settings,
            memo=data.memo if data else "",
        )
    except AgencyUnavailable as exc:
        raise Unavailable(
            "the insurance agency did not answer; try again later", code="agency_unavailable"
        ) from exc
    r = service.get_referral(session=session, referral_id=referral_id, user=user)
    return filing_public(filing, user, r)


# Declared last: the generic action path would shadow the named ones above.
@router.post("/referrals/{referral_id}/{action}", response_model=ReferralPublic)
def referral_action(
    referral_id: uuid.UUID,
    action: Literal["submit", "receive", "accept", "reject", "return", "arrive", "close", "cancel"],
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    data: ActionIn | None = None,
) -> ReferralPublic:
    """Move the referral on: submit, receive, accept, reject (reason), return (advice),
    arrive, close (the referrer acknowledges the outcome), cancel (reason)."""
    return _act(
        ACTIONS[action],
        referral_id,
        user,
        session,
        now,
        settings,
        reason=data.reason if data else None,
    )
