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

# Cross-region treatment filing (异地就医备案), sent to the insurance agency:
# submitted -> accepted -> expired (past valid_to) | revoked (2502 撤销)
#          \-> rejected (the agency's reason) -> submitted (resubmitted by staff)
# A transport failure is no transition: the filing stays `submitted` and is sent again.
FILING = StateMachine(
    "filing",
    {
        "accept": ({"submitted"}, "accepted"),
        "reject": ({"submitted"}, "rejected"),
        "resubmit": ({"rejected"}, "submitted"),
        "expire": ({"accepted"}, "expired"),
        "revoke": ({"accepted"}, "revoked"),
    },
)
