"""The course's state machine."""

from __future__ import annotations

from telemed.core.states import StateMachine

COURSE = StateMachine(
    "course",
    {
        "publish": ({"draft"}, "published"),
        "finish": ({"published"}, "finished"),
        "cancel": ({"draft", "published"}, "cancelled"),
    },
)
