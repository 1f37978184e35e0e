"""The CapabilityStatement, generated from the handler registry."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from telemed import __version__
from telemed.fhir.registry import REGISTRY

PAGING = (
    "Searches page with _count (1-200, default 20) and _offset; Bundle.link next/previous "
    "carry the same parameters; Bundle.total is always given. _summary=count (or _count=0) "
    "answers the total only. _include/_revinclude as listed per resource. Unknown search "
    "parameters are refused (400)."
)


def capability_statement(*, base: str, date: str) -> dict[str, Any]:
    """What this server implements: exactly the registered handlers."""
    entries = []
    for h in sorted(REGISTRY.values(), key=lambda h: h.type):
        entry: dict[str, Any] = {
            "type": h.type,
            "documentation": h.documentation,
            "interaction": [{"code": code} for code in h.interactions()],
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
        }
        if h.create is not None:
            entry["conditionalCreate"] = True
        if h.search is not None:
            if h.includes:
                entry["searchInclude"] = [i.value for i in h.includes]
            if h.revincludes:
                entry["searchRevInclude"] = [i.value for i in h.revincludes]
            entry["searchParam"] = [
                {"name": p.name, "type": p.type, "documentation": p.documentation} for p in h.params
            ]
        entries.append(entry)
    body = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "telemed",
        "kind": "instance",
        "software": {"name": "telemed", "version": __version__},
        "implementation": {"description": "telemed FHIR R4 server", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": PAGING,
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "OAuth",
                                }
                            ],
                            "text": "Bearer token from POST /api/v1/auth/token",
                        }
                    ],
                    "description": "Authorization: Bearer <token> on every request but "
                    "/metadata and $bulk-publish; each object is shown to whom the REST API "
                    "shows it, and every read of patient data is audited.",
                },
                "resource": entries,
            }
        ],
    }
    return CapabilityStatement.model_validate(body).model_dump(mode="json", exclude_none=True)
