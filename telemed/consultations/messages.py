"""What a consultation tells its people: notification texts, one per message code.

A step names the code and its parameters (`notify(..., "incoming", now, urgency=...)`);
the notification's kind is `consultation.<kind>`, its code `consultation.<code>`, its title
rendered in each recipient's language from CATALOGUE (zh-CN when none is chosen). The
urgency and the service class are parameters by code (`Term`), named per language.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from telemed.consultations import policy
from telemed.consultations.models import Consultation
from telemed.consultations.service_classes import SERVICE_CLASSES
from telemed.core import notifications
from telemed.core.i18n import Catalogue, Message, Term, mongolian, render
from telemed.identity import service as identity_service
from telemed.identity.models import Role, User

_M = mongolian

# code -> the notification's kind (two breaches share one kind)
KINDS: dict[str, str] = {
    "incoming": "incoming",
    "accepted": "accepted",
    "session_now": "session_now",
    "scheduled": "scheduled",
    "declined": "declined",
    "redirected": "redirected",
    "cancelled": "cancelled",
    "acknowledged": "acknowledged",
    "reported": "reported",
    "amended": "amended",
    "expired": "expired",
    "accept_breach": "sla_breach",
    "report_breach": "sla_breach",
}


def _texts(zh: str, en: str) -> dict[str, Message]:
    return {"zh-CN": Message(zh), "en": Message(en)}


CATALOGUE: Catalogue = {
    "consultation.incoming": _texts(
        "[{urgency}] 新的{service}申请", "[{urgency}] New {service} request"
    ),
    "consultation.accepted": _texts("会诊申请已接收", "The consultation request is accepted"),
    "consultation.session_now": _texts(
        "急诊会诊：请立即进入会诊室", "Emergency consultation: please enter the room now"
    ),
    "consultation.scheduled": _texts("会诊时间已确定", "The consultation time is set"),
    "consultation.declined": _texts("会诊申请被拒绝", "The consultation request was declined"),
    "consultation.redirected": _texts(
        "会诊申请已转至其他医院/专家",
        "The consultation request was redirected to another hospital or specialist",
    ),
    "consultation.cancelled": _texts("会诊申请已撤销", "The consultation request was withdrawn"),
    "consultation.acknowledged": _texts(
        "会诊意见已被确认接收", "The opinion was acknowledged by the requester"
    ),
    "consultation.reported": _texts("会诊意见已签发", "The opinion is signed"),
    "consultation.amended": _texts(
        "会诊意见已更正（新版本）", "The opinion was corrected (a new version)"
    ),
    "consultation.expired": _texts(
        "会诊申请已过期，请重新申请", "The consultation request expired; please request again"
    ),
    "consultation.accept_breach": _texts(
        "会诊申请超时未接收（{urgency}），请协调处理",
        "A consultation request ({urgency}) was not accepted in time; please coordinate",
    ),
    "consultation.report_breach": _texts("会诊意见超时未出具", "A consultation opinion is overdue"),
}

# The names of the codes a text is filled with, per language.
URGENCY_NAMES: dict[str, dict[str, str]] = {
    "zh-CN": {"emergency": "急", "urgent": "加急", "routine": "常规"},
    "en": {"emergency": "emergency", "urgent": "urgent", "routine": "routine"},
}
SERVICE_NAMES: dict[str, dict[str, str]] = {
    "zh-CN": {str(k): v.name_zh for k, v in SERVICE_CLASSES.items()},
    "en": {str(k): v.name_en for k, v in SERVICE_CLASSES.items()},
}


def urgency_term(urgency: str) -> Term:
    """An urgency as a message parameter (急 / emergency)."""
    return Term(URGENCY_NAMES, urgency)


def service_term(service_class: str) -> Term:
    """A service class as a message parameter (远程影像诊断 / its English name)."""
    return Term(SERVICE_NAMES, service_class)


def notify(
    session: Session,
    user_ids: set[uuid.UUID],
    c: Consultation,
    code: str,
    now: datetime,
    **params: Any,
) -> None:
    """Queue message `code` about `c` for each of `user_ids` (in a stable order), each in
    the recipient's language. Each carries its link (`{"kind": "consultation", "id": …}`)
    and, for a recipient who may read the request, its `patient_id`: the inbox shows the
    name as the consultation list does, through the authorized and audited patient read."""
    full = f"consultation.{code}"
    languages = identity_service.user_languages(session=session, user_ids=user_ids)
    readers = _readers(session, user_ids, c)
    for uid in sorted(user_ids, key=str):
        text = render(CATALOGUE, full, languages.get(uid), **params)
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
            kind=f"consultation.{KINDS[code]}",
            code=full,
            params=params,
            title=text.title,
            body=text.body,
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
