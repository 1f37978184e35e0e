"""The resource handlers, one module per group; importing them registers them."""

from __future__ import annotations


def load() -> None:
    """Register every handler (idempotent: modules import once)."""
    from telemed.fhir.resources import (  # noqa: F401
        careplans,
        consents,
        directory,
        locations,
        patients,
        reports,
        requests,
        scheduling,
    )
