"""Who may be texted, and the template parameters of each notification kind.

A patient's phone is used only after the patient consented to SMS (`patient.sms_consent_at`);
staff are texted on the work phone of their account.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session

from scheduling.models import Booking
from scheduling.waitlist import WAITLIST_OFFER_MINUTES
from telemed.core.clock import to_shanghai
from telemed.core.notifications import Notification
from telemed.core.sms import TEMPLATES, SmsError
from telemed.identity.models import Patient, User
from telemed.network.models import Institution

__all__ = ["consented_phone", "params_for"]


def consented_phone(session: Session, user_id: uuid.UUID) -> str | None:
    """The number to text a user on, or None (no phone, or a patient without SMS consent)."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    if user.patient_id is not None:
        patient = session.get(Patient, user.patient_id)
        if patient is None or patient.sms_consent_at is None:
            return None
        return patient.phone or None
    return user.phone or None


def _booking_params(session: Session, n: Notification) -> dict[str, str]:
    booking = session.get(Booking, uuid.UUID(n.data["booking_id"]))
    if booking is None:
        return {"time": "", "place": ""}
    place = session.get(Institution, booking.institution_id)
    return {
        "time": f"{to_shanghai(booking.start_at):%m月%d日 %H:%M}",
        "place": place.name_zh if place else "",
    }


def params_for(session: Session, n: Notification) -> dict[str, str]:
    """The parameters of the kind's template, from the notification's data."""
    template = TEMPLATES.get(n.kind)
    if template is None:
        raise SmsError(f"no SMS template for {n.kind!r}", retryable=False)
    values: dict[str, str] = {}
    if "booking_id" in n.data:
        values.update(_booking_params(session, n))
    if n.kind == "waitlist.offer":
        values["minutes"] = str(WAITLIST_OFFER_MINUTES)
    for key in ("term_end", "contact_by"):
        if key in n.data:
            values["date"] = f"{date.fromisoformat(str(n.data[key])[:10]):%Y年%m月%d日}"
    return {name: values.get(name, "") for name in template.params}
