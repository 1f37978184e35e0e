"""What a consultation tells its people: notification texts, one per message code.

A step names the code and its parameters (`notify(..., "incoming", now, urgency=...)`);
the notification's kind is `consultation.<kind>` and its title the zh-CN text below.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from telemed.consultations import policy
from telemed.consultations.models import Consultation
from telemed.core import notifications
from telemed.identity.models import Role, User


@dataclass(frozen=True)
class Message:
    """One notification: its kind (after `consultation.`) and its title, with `{params}`."""

    kind: str
    title: str


MESSAGES: dict[str, Message] = {
    "incoming": Message("incoming", "[{urgency}] 新的{service}申请"),
    "accepted": Message("accepted", "会诊申请已接收"),
    "session_now": Message("session_now", "急诊会诊：请立即进入会诊室"),
    "scheduled": Message("scheduled", "会诊时间已确定"),
    "declined": Message("declined", "会诊申请被拒绝"),
    "redirected": Message("redirected", "会诊申请已转至其他医院/专家"),
    "cancelled": Message("cancelled", "会诊申请已撤销"),
    "acknowledged": Message("acknowledged", "会诊意见已被确认接收"),
    "reported": Message("reported", "会诊意见已签发"),
    "amended": Message("amended", "会诊意见已更正（新版本）"),
    "expired": Message("expired", "会诊申请已过期，请重新申请"),
    "accept_breach": Message("sla_breach", "会诊申请超时未接收（{urgency}），请协调处理"),
    "report_breach": Message("sla_breach", "会诊意见超时未出具"),
}
URGENCY_LABELS = {"emergency": "急", "urgent": "加急", "routine": "常规"}


def notify(
    session: Session,
    user_ids: set[uuid.UUID],
    c: Consultation,
    code: str,
    now: datetime,
    **params: Any,
) -> None:
    """Queue message `code` about `c` for each of `user_ids` (in a stable order). Each
    carries its link (`{"kind": "consultation", "id": …}`) and, for a recipient who may
    read the request, its `patient_id`: the inbox shows the name as the consultation list
    does, through the authorized and audited patient read."""
    message = MESSAGES[code]
    title = message.title.format(**params)
    readers = _readers(session, user_ids, c)
    for uid in sorted(user_ids, key=str):
        data: dict[str, Any] = {
            "consultation_id": str(c.id),
            "state": c.state,
            "urgency": c.urgency,
            "link": {"kind": "consultation", "id": str(c.id)},
        }
        if uid in readers:
            data["patient_id"] = str(c.patient_id)
        notifications.enqueue(
            session=session,
            user_id=uid,
            kind=f"consultation.{message.kind}",
            title=title,
            data=data,
            now=now,
        )


def _readers(session: Session, user_ids: set[uuid.UUID], c: Consultation) -> set[uuid.UUID]:
    """Those of `user_ids` who may read `c` (and so learn whose it is)."""
    if not user_ids:
        return set()
    users = session.execute(select(User).where(col(User.id).in_(user_ids))).scalars()
    return {u.id for u in users if policy.can_read(u, c)}


def coordinators_of(*, session: Session, institution_id: uuid.UUID | None) -> set[uuid.UUID]:
    """The active coordinators of a hospital (who hears of its incoming requests)."""
    if institution_id is None:
        return set()
    return set(
        session.execute(
            select(User.id).where(
                User.role == Role.COORDINATOR,
                User.institution_id == institution_id,
                User.is_active.is_(True),  # type: ignore[attr-defined]
            )
        ).scalars()
    )
