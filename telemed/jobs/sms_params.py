"""Who may be texted, in which language, and the template parameters of each kind.

A patient's phone is used only after the patient consented to SMS (`patient.sms_consent_at`).
Every template speaks to the patient, so staff are never texted (they read their messages
in the app). A patient who chose a language is texted in it where its template exists
(`telemed.core.sms.template_language`); times and dates are then written its way.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlmodel import Session

from referrals.models import Referral
from scheduling.models import Booking
from scheduling.waitlist import WAITLIST_OFFER_MINUTES
from telemed.core.clock import to_shanghai
from telemed.core.i18n import DEFAULT_LANGUAGE, format_day, format_moment
from telemed.core.notifications import Notification
from telemed.core.settings import SmsSettings
from telemed.core.sms import TEMPLATES, SmsError, template_language
from telemed.identity.models import Patient, User
from telemed.network.models import Institution

__all__ = ["consented_phone", "language_for", "params_for", "recipient"]


def recipient(session: Session, n: Notification) -> Patient | None:
    """The patient an SMS is addressed to: its `patient_id`; for a row queued before core
    0022 (addressed to an account), the patient of that active account."""
    if n.patient_id is not None:
        return session.get(Patient, n.patient_id)
    user = session.get(User, n.user_id) if n.user_id is not None else None
    if user is None or not user.is_active or user.patient_id is None:
        return None  # staff are never texted
    return session.get(Patient, user.patient_id)


def consented_phone(session: Session, n: Notification) -> str | None:
    """The number to text the notification's patient on, or None (no such patient, no
    phone, or no SMS consent)."""
    patient = recipient(session, n)
    if patient is None or patient.sms_consent_at is None:
        return None
    return patient.phone or None


def language_for(session: Session, n: Notification, *, sms: SmsSettings | None) -> str:
    """The language to text the notification in: the patient's, where its template (and
    provider code) exists; else Chinese. Without settings: Chinese."""
    patient = recipient(session, n) if sms is not None else None
    if sms is None or patient is None:
        return DEFAULT_LANGUAGE
    return template_language(sms, n.kind, patient.preferred_language)


def _time(value: datetime, language: str) -> str:
    if language == DEFAULT_LANGUAGE:
        return f"{to_shanghai(value):%m月%d日 %H:%M}"
    return format_moment(value, language)


def _day(value: date, language: str) -> str:
    return f"{value:%Y年%m月%d日}" if language == DEFAULT_LANGUAGE else format_day(value, language)


def _booking_params(session: Session, n: Notification, language: str) -> dict[str, str]:
    booking = session.get(Booking, uuid.UUID(n.data["booking_id"]))
    if booking is None:
        return {}
    place = session.get(Institution, booking.institution_id)
    return {
        "time": _time(booking.start_at, language),
        "place": place.name_zh if place else "",
    }


def _referral_params(session: Session, n: Notification, language: str) -> dict[str, str]:
    # The referral as it is now (a later change is what the patient should hear).
    r = session.get(Referral, uuid.UUID(n.data["referral_id"]))
    if r is None:
        return {}
    place = session.get(Institution, r.to_institution_id)
    values = {"place": place.name_zh if place else ""}
    if r.contact_by is not None:
        values["date"] = _day(to_shanghai(r.contact_by).date(), language)
    if r.appointment_at is not None:
        values["time"] = _time(r.appointment_at, language)
    return values


def params_for(
    session: Session, n: Notification, *, sms: SmsSettings | None = None
) -> dict[str, str]:
    """The parameters of the kind's template, from the notification's data, written in
    the language it is texted in (`language_for`)."""
    template = TEMPLATES.get(n.kind)
    if template is None:
        raise SmsError(f"no SMS template for {n.kind!r}", retryable=False)
    language = language_for(session, n, sms=sms)
    values: dict[str, str] = {}
    if "referral_id" in n.data:
        values.update(_referral_params(session, n, language))
    if "booking_id" in n.data:
        values.update(_booking_params(session, n, language))
    if n.kind == "waitlist.offer":
        values["minutes"] = str(WAITLIST_OFFER_MINUTES)
    if "term_end" in n.data:
        values["date"] = _day(date.fromisoformat(str(n.data["term_end"])), language)
    missing = [name for name in template.params if not values.get(name)]
    if missing:  # a text with a hole is not sent: the admin sees it as a dead letter
        raise SmsError(f"no value for {', '.join(missing)} of {n.kind!r}", retryable=False)
    return {name: values[name] for name in template.params}
