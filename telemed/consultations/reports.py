"""Reports of the consultation workload: per receiving hospital, wanted specialty and ISO
week the requests accepted, declined and redirected, the median times to accept and to
report; each specialist's open worklist; and per alliance the requests its members sent
outside it. One grouped statement per figure (medians by window functions, so PostgreSQL
and the embedded SQLite alike); the network dashboard reads them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from telemed.consultations.models import Consultation, ConsultationTransition
from telemed.consultations.states import OPEN_STATES
from telemed.core.db import local_week, minutes_between
from telemed.identity.models import User
from telemed.network.models import AllianceMember

Key = tuple[uuid.UUID, str, date]  # institution, specialty, Monday of the ISO week


@dataclass
class Workload:
    """Decisions on requests in one group, and the median minutes they took."""

    accepted: int = 0
    declined: int = 0
    redirected: int = 0
    median_accept_minutes: float | None = None
    median_report_minutes: float | None = None


def _medians(session: Session, keys: list[Any], value: Any, conds: list[Any]) -> dict[Any, float]:
    """Median of `value` per group of `keys` over the consultations matching `conds`:
    rows numbered within each group, the middle one (or two, averaged) kept."""
    part = select(
        *[k.label(f"k{i}") for i, k in enumerate(keys)],
        value.label("v"),
        func.row_number().over(partition_by=keys, order_by=value).label("rn"),
        func.count().over(partition_by=keys).label("n"),
    ).where(*conds)
    sub = part.subquery()
    ks = [sub.c[f"k{i}"] for i in range(len(keys))]
    rows = session.execute(
        select(*ks, func.avg(sub.c.v))
        .where(sub.c.rn.in_([(sub.c.n + 1) // 2, (sub.c.n + 2) // 2]))
        .group_by(*ks)
    ).all()
    return {tuple(r[: len(keys)]): round(float(r[-1]), 1) for r in rows}


def workload(
    *, session: Session, since: datetime, until: datetime, tz: str, scope: Any | None = None
) -> dict[Key, Workload]:
    """Per hospital, wanted specialty and ISO week (in `tz`) of the event, over [since, until):

    - accepted / declined: `accept` / `decline` transitions, at the receiving hospital;
    - redirected: `redirect` transitions, at the hospital whose coordinator sent it on;
    - median minutes from (first) submission to acceptance, by the week of acceptance;
    - median minutes from acceptance to the signed report, by the week of the report.
    `scope`: a SELECT of institution ids to keep."""
    t, c = ConsultationTransition, Consultation
    by = aliased(User, name="by_user")
    inst = case(
        (col(t.action) == "redirect", col(by.institution_id)),
        else_=col(c.receiving_institution_id),
    )
    week = local_week(session, col(t.at), tz)
    keys = [inst, col(c.wanted_specialty), week]
    conds: list[Any] = [
        col(t.action).in_(("accept", "decline", "redirect")),
        col(t.at) >= since,
        col(t.at) < until,
    ]
    if scope is not None:
        conds.append(inst.in_(scope))

    def n(action: str) -> Any:
        return func.count().filter(col(t.action) == action)

    out: dict[Key, Workload] = {}
    for i, spec, monday, accepted, declined, redirected in session.execute(
        select(*keys, n("accept"), n("decline"), n("redirect"))
        .select_from(t)
        .join(c, col(c.id) == t.consultation_id)
        .outerjoin(by, col(by.id) == t.by_id)
        .where(*conds)
        .group_by(*keys)
    ).all():
        if i is not None:
            out[(i, spec, monday)] = Workload(int(accepted), int(declined), int(redirected))

    def timed(at: Any, start: Any) -> dict[Any, float]:
        conds = [col(at).is_not(None), col(start).is_not(None), at >= since, at < until]
        if scope is not None:
            conds.append(col(c.receiving_institution_id).in_(scope))
        keys = [
            col(c.receiving_institution_id),
            col(c.wanted_specialty),
            local_week(session, at, tz),
        ]
        return _medians(session, keys, minutes_between(session, start, at), conds)

    for key, m in timed(col(c.accepted_at), col(c.submitted_at)).items():
        out.setdefault(key, Workload()).median_accept_minutes = m
    for key, m in timed(col(c.reported_at), col(c.accepted_at)).items():
        out.setdefault(key, Workload()).median_report_minutes = m
    return out


def open_worklist(*, session: Session, specialist_ids: Any) -> dict[uuid.UUID, int]:
    """Per specialist: open requests (submitted, accepted, scheduled, in session) that are
    theirs: assigned to them, or while unassigned proposed to or chosen as them.
    `specialist_ids`: a SELECT of user ids to count for."""
    c = Consultation
    whose = func.coalesce(
        c.assigned_specialist_id, c.proposed_specialist_id, c.chosen_specialist_id
    )
    rows = session.execute(
        select(whose, func.count())
        .where(col(c.state).in_(OPEN_STATES), whose.in_(specialist_ids))
        .group_by(whose)
    ).all()
    return {who: int(k) for who, k in rows}


def sent_outside_alliances(
    *, session: Session, since: datetime, until: datetime
) -> dict[uuid.UUID, tuple[int, int]]:
    """Per alliance: (requests its member hospitals submitted in [since, until), of them
    those received by a hospital outside the alliance). Redirected requests count where they
    are now."""
    c = Consultation
    sender = aliased(AllianceMember, name="sender")
    receiver = aliased(AllianceMember, name="receiver")
    rows = session.execute(
        select(
            col(sender.alliance_id),
            func.count(),
            func.count().filter(col(receiver.institution_id).is_(None)),
        )
        .select_from(c)
        .join(sender, col(sender.institution_id) == c.requesting_institution_id)
        .outerjoin(
            receiver,
            and_(
                col(receiver.alliance_id) == sender.alliance_id,
                col(receiver.institution_id) == c.receiving_institution_id,
            ),
        )
        .where(
            col(c.submitted_at) >= since,
            col(c.submitted_at) < until,
            col(c.receiving_institution_id).is_not(None),
        )
        .group_by(col(sender.alliance_id))
    ).all()
    return {a: (int(total), int(outside)) for a, total, outside in rows}
