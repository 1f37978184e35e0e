"""State machines as data: a table of allowed transitions and one function to apply them.

CONSULTATION = StateMachine("consultation", {
    "submit": ({"draft"}, "submitted"),
    "accept": ({"submitted"}, "accepted"),
})
new_state = CONSULTATION.next(current, "accept")   # or raises InvalidTransition (409)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from telemed.core.errors import InvalidTransition


@dataclass(frozen=True)
class StateMachine:
    """Allowed transitions: action -> (source states, target state)."""

    entity: str
    transitions: Mapping[str, tuple[Iterable[str], str]]

    def next(self, current: str, action: str) -> str:
        """The state after `action`, or InvalidTransition naming the current state."""
        rule = self.transitions.get(action)
        if rule is None or current not in set(rule[0]):
            raise InvalidTransition(entity=self.entity, current=current, action=action)
        return rule[1]

    def allowed(self, current: str) -> list[str]:
        """Actions possible from `current` (for UIs and error messages)."""
        return [a for a, (src, _) in self.transitions.items() if current in set(src)]
