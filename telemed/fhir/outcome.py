"""Errors as FHIR OperationOutcome: the same problem (status, stable `code`, detail), another
representation for requests under `/fhir/R4`."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse, Response
from fhir.resources.R4B.operationoutcome import OperationOutcome

FHIR_JSON = "application/fhir+json"
CODE_SYSTEM = "https://telemed.example/problems/"

# HTTP status -> OperationOutcome.issue.code (FHIR IssueType)
_ISSUE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    412: "duplicate",
    415: "not-supported",
    422: "processing",
    429: "throttled",
    503: "transient",
}


def outcome(*, status: int, code: str, detail: str, severity: str = "error") -> dict[str, Any]:
    """A validated OperationOutcome carrying our stable `code`."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity,
                "code": _ISSUE.get(status, "exception"),
                "details": {"coding": [{"system": CODE_SYSTEM, "code": code}], "text": code},
                "diagnostics": detail,
            }
        ],
    }
    return OperationOutcome.model_validate(body).model_dump(mode="json", exclude_none=True)


def from_problem(response: JSONResponse) -> Response:
    """The problem+json response as an OperationOutcome (status and headers kept)."""
    problem = json.loads(bytes(response.body))
    body = outcome(
        status=response.status_code,
        code=str(problem.get("code", "error")),
        detail=str(problem.get("detail", "")),
    )
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-type", "content-length")
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=response.status_code,
        media_type=FHIR_JSON,
        headers=headers,
    )
