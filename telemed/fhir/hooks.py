"""What the FHIR server registers at start (called once by `telemed.wiring`): its resource
handlers, and the OperationOutcome rendering of every problem answered under its prefix."""

from __future__ import annotations

from telemed.core.errors import register_problem_renderer
from telemed.fhir import PREFIX, resources
from telemed.fhir.outcome import from_problem

__all__ = ["register_hooks"]


def register_hooks() -> None:
    """Register the handlers and the problem renderer (idempotent)."""
    register_problem_renderer(PREFIX, from_problem)
    resources.register_all()
