"""The consultation workflow as data (see docs/consultations.md for the diagram).

    draft -> submitted -> accepted -> scheduled -> in_session -> reported -> closed
    submitted -> redirected -> submitted (another hospital/specialist)
    submitted|accepted -> declined;  draft|submitted|accepted|scheduled -> cancelled
    submitted -> expired (nobody accepted in time)

Service classes without a live session (imaging, ECG, pathology diagnosis ...) use
`ASYNC`, where `report` goes from accepted straight to reported.

The fee of a request has its own machine, `PAYMENT`: set on submission to unpaid (or
waived when there is no fee), unpaid -> paid (charge) -> refunded (cancel, decline, expiry).
"""

from __future__ import annotations

from telemed.core.states import StateMachine

STATES = (
    "draft",
    "submitted",
    "redirected",
    "accepted",
    "scheduled",
    "in_session",
    "reported",
    "closed",
    "declined",
    "cancelled",
    "expired",
)
OPEN_STATES = ("submitted", "accepted", "scheduled", "in_session")
TERMINAL_STATES = ("closed", "declined", "cancelled", "expired")

_COMMON: dict[str, tuple[set[str], str]] = {
    "submit": ({"draft"}, "submitted"),
    "accept": ({"submitted"}, "accepted"),
    "decline": ({"submitted", "accepted"}, "declined"),
    "redirect": ({"submitted"}, "redirected"),
    "resubmit": ({"redirected"}, "submitted"),
    "cancel": ({"draft", "submitted", "accepted", "scheduled"}, "cancelled"),
    "expire": ({"submitted"}, "expired"),
    "close": ({"reported"}, "closed"),
}

LIVE = StateMachine(
    "consultation",
    {
        **_COMMON,
        "schedule": ({"accepted"}, "scheduled"),
        "start_session": ({"scheduled"}, "in_session"),
        "report": ({"in_session"}, "reported"),
    },
)

ASYNC = StateMachine("consultation", {**_COMMON, "report": ({"accepted"}, "reported")})


def machine_for(live_session: bool) -> StateMachine:
    """The workflow of a request: with or without a live session."""
    return LIVE if live_session else ASYNC


PAYMENT_STATES = ("unpaid", "waived", "paid", "refunded")
PAYMENT = StateMachine(
    "payment",
    {
        "charge": ({"unpaid"}, "paid"),
        "refund": ({"paid"}, "refunded"),
    },
)
