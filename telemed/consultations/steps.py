"""The prologue and epilogue every consultation step shares.

`step` loads the request the caller may see (404 otherwise), takes its row lock, checks
the caller's relation against `policy.ACTIONS` (403) and that the action is possible in
the current state (409, by the machine of `states.py` or a list of states); `transition`
applies one action of that machine, logs who, when and why, and audits it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from telemed.consultations import policy
from telemed.consultations.models import Consultation, ConsultationTransition
from telemed.consultations.states import STATES, machine_for
from telemed.core import audit
from telemed.core.db import get_or_404
from telemed.core.errors import InvalidTransition, NotFound
from telemed.identity.models import User


def get_consultation(*, session: Session, consultation_id: uuid.UUID) -> Consultation:
    """The request, or 404."""
    c = get_or_404(session, Consultation, consultation_id, "consultation")
    return c


def locked(session: Session, consultation_id: uuid.UUID) -> Consultation:
    """The request with its row locked for this transaction: concurrent transitions queue."""
    c = session.execute(
        select(Consultation)
        .where(Consultation.id == consultation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if c is None:
        raise NotFound(f"consultation {consultation_id} not found")
    return c


def load_visible(
    *, session: Session, user: User, consultation_id: uuid.UUID, lock: bool = False
) -> Consultation:
    """The request if `user` takes part in it, else 404 (no existence leak)."""
    c = locked(session, consultation_id) if lock else session.get(Consultation, consultation_id)
    return audit.visible_or_404(
        session,
        user,
        c,
        visible=c is not None and policy.can_read(user, c),
        object_type="consultation",
        ident=consultation_id,
        reason="takes no part in this consultation",
    )


@dataclass(frozen=True)
class Rule:
    """What one step needs: the caller's permission (`policy.ACTIONS`, 403) and where it
    may be taken (409): in `states`, or where the machine allows the step's action
    (`machine`), or else wherever the transition it applies later allows."""

    may: str
    states: Collection[str] | None = None
    machine: bool = False
    state_first: bool = False  # the state before the permission: a race's loser sees 409
    lock: bool = True  # the row lock: concurrent steps on one request queue


DRAFT = ("draft",)
PAYABLE_STATES = frozenset(STATES) - {"draft", "declined", "cancelled", "expired"}
STEPS: dict[str, Rule] = {
    # the requester's draft, its consent and attachments
    "edit": Rule("edit", states=DRAFT),
    "record_consent": Rule("edit", states=DRAFT, lock=False),
    "attach": Rule("edit", states=policy.ATTACHABLE_STATES, lock=False),
    # the workflow (states.py)
    "submit": Rule("submit", machine=True),
    "accept": Rule("accept", machine=True, state_first=True),
    "schedule": Rule("schedule", machine=True),
    "decline": Rule("decline"),
    "redirect": Rule("redirect"),
    "cancel": Rule("cancel"),
    "start_session": Rule("start_session"),
    "acknowledge": Rule("acknowledge"),
    "pay": Rule("pay", states=PAYABLE_STATES),
    # the opinion: a draft during the work, signed to report, corrected afterwards
    "write_opinion": Rule("write_opinion", states=("accepted", "scheduled", "in_session")),
    "report": Rule("write_opinion", machine=True),
    "amend": Rule("write_opinion", states=("reported", "closed")),
}


def _check_state(c: Consultation, action: str, rule: Rule) -> None:
    """409 unless `action` may be taken in the request's state."""
    if rule.machine:
        machine_for(c.live_session).next(c.state, action)
    elif rule.states is not None and c.state not in rule.states:
        raise InvalidTransition(entity="consultation", current=c.state, action=action)


def step(*, session: Session, consultation_id: uuid.UUID, by: User, action: str) -> Consultation:
    """The request for step `action` of `by` (its rule in `STEPS`): visible (404),
    row-locked, `by` allowed (403) and the step possible now (409)."""
    rule = STEPS[action]
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=rule.lock)
    if rule.state_first:
        _check_state(c, action, rule)
    policy.require(by, c, rule.may)
    if not rule.state_first:
        _check_state(c, action, rule)
    return c


def record(
    session: Session,
    user: User | None,
    action: str,
    c: Consultation,
    *,
    now: datetime,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    object_type: str = "consultation",
    object_id: uuid.UUID | None = None,
) -> None:
    """Audit `action` on the request (or on one of its parts: `object_type`, `object_id`)."""
    audit.record(
        session=session,
        actor_id=user.id if user else None,
        actor_role=user.role if user else "system",
        action=action,
        object_type=object_type,
        object_id=object_id or c.id,
        patient_id=c.patient_id,
        ip=ip,
        detail=detail,
        at=now,
    )


def log(
    session: Session, c: Consultation, action: str, *, from_state: str, by: User | None, **row: Any
) -> ConsultationTransition:
    """Add one line to the request's history (`row`: at, and reason, data where given)."""
    line = ConsultationTransition(
        consultation_id=c.id,
        action=action,
        from_state=from_state,
        to_state=c.state,
        by_id=by.id if by else None,
        **row,
    )
    session.add(line)
    return line


def transition(
    session: Session,
    c: Consultation,
    action: str,
    *,
    by: User | None,
    now: datetime,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> ConsultationTransition:
    """Apply one workflow action to a locked request and log it; 409 when not allowed."""
    before = c.state
    c.state = machine_for(c.live_session).next(before, action)
    c.updated_at = now
    row = log(session, c, action, from_state=before, by=by, at=now, reason=reason, data=data or {})
    record(session, by, action, c, now=now, detail={"from": before, "to": c.state})
    session.flush()
    return row
