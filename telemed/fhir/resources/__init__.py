"""The resource handlers, one module per group, each listing its `HANDLERS`; nothing is
registered by importing them: `register_all()` does it (called by `telemed.fhir.hooks`)."""

from __future__ import annotations

from telemed.fhir.registry import register
from telemed.fhir.resources import (
    careplans,
    consents,
    directory,
    locations,
    patients,
    reports,
    requests,
    scheduling,
)

__all__ = ["register_all"]

# Registration order is route order (and OpenAPI's): Location first, as it always was.
GROUPS = (locations, careplans, consents, directory, patients, reports, requests, scheduling)


def register_all() -> None:
    """Register every handler (idempotent: registering the same handler again is harmless)."""
    for group in GROUPS:
        for handler in group.HANDLERS:
            register(handler)
