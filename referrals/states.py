"""The referral workflow as data (see DESIGN.md); the family-doctor machines (contracts,
home sick beds, home visits) are in `referrals.family.states`."""

from __future__ import annotations

from telemed.core.states import StateMachine

# draft -> requested -> received -> accepted -> booked -> arrived -> completed -> closed
#                          |-> rejected (with reason)
#                          |-> returned_with_advice (also after accepted, before booking)
# requested|received|accepted|booked -> cancelled
REFERRAL = StateMachine(
    "referral",
    {
        "submit": ({"draft"}, "requested"),
        "receive": ({"requested"}, "received"),
        "accept": ({"received"}, "accepted"),
        "reject": ({"received"}, "rejected"),
        "return_with_advice": ({"received", "accepted"}, "returned_with_advice"),
        "book": ({"accepted"}, "booked"),
        "arrive": ({"booked"}, "arrived"),
        "complete": ({"arrived"}, "completed"),
        "close": ({"completed"}, "closed"),
        "cancel": ({"requested", "received", "accepted", "booked"}, "cancelled"),
    },
)

# States in which a referral waits for the receiver to contact the patient.
WAITING = ("requested", "received", "accepted")
OPEN = ("requested", "received", "accepted", "booked", "arrived", "completed")
TERMINAL = ("closed", "rejected", "returned_with_advice", "cancelled")
