"""The payment order's life as data (docs/payments.md has the diagram).

    created -> paying -> paid -> refunding -> refunded
       |         |                  |  ^
       |         |                  v  | retry_refund
       |         |             refund_failed
       +---------+-> closed (expired, or the subject cancelled before payment)
       +---------+-> failed (the provider reports the payment failed)

An order whose own share is nothing (all borne by insurance) is `paid` on creation.
"""

from __future__ import annotations

from telemed.core.states import StateMachine

STATES = (
    "created",
    "paying",
    "paid",
    "refunding",
    "refund_failed",
    "refunded",
    "closed",
    "failed",
)

ORDER = StateMachine(
    "payment_order",
    {
        "start": ({"created", "paying"}, "paying"),
        "pay": ({"created", "paying"}, "paid"),
        "close": ({"created", "paying"}, "closed"),
        "fail": ({"created", "paying"}, "failed"),
        "refund": ({"paid"}, "refunding"),
        "refund_succeeded": ({"refunding", "refund_failed"}, "refunded"),
        "refund_fail": ({"refunding"}, "refund_failed"),
        "retry_refund": ({"refund_failed"}, "refunding"),
    },
)
