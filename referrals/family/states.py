"""State machines of the family-doctor service (transitions as data, see DESIGN.md).

contract:    pending -> active -> expired;  pending|active -> terminated
home bed:    admitted -> discharged (visits are recorded while admitted)
home visit:  requested -> scheduled -> done;  requested|scheduled -> cancelled
"""

from __future__ import annotations

from telemed.core.errors import Conflict, InvalidTransition
from telemed.core.states import StateMachine

CONTRACT = StateMachine(
    "contract",
    {
        "activate": ({"pending"}, "active"),
        "expire": ({"active"}, "expired"),
        "terminate": ({"pending", "active"}, "terminated"),
    },
)

HOME_BED = StateMachine(
    "home sick bed",
    {
        "visit": ({"admitted"}, "admitted"),
        "discharge": ({"admitted"}, "discharged"),
    },
)

HOME_VISIT = StateMachine(
    "home visit",
    {
        "schedule": ({"requested"}, "scheduled"),
        "done": ({"scheduled"}, "done"),
        "cancel": ({"requested", "scheduled"}, "cancelled"),
    },
)
# Home visits the team still has to carry out (its worklist), and those it may book for.
HOME_VISIT_OPEN = ("requested", "scheduled")


def next_or(machine: StateMachine, current: str, action: str, refusal: Conflict) -> str:
    """The state after `action`; where the machine forbids it, `refusal` (the 409 with the
    domain's own code and message) instead of the generic `invalid_transition`."""
    try:
        return machine.next(current, action)
    except InvalidTransition:
        raise refusal from None
