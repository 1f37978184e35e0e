"""The insurance interface for cross-region treatment filing (异地就医备案), behind an adapter.

`AgencyAdapter` submits to the agency (2501 转院备案, 2502 撤销, referrals.agency);
`LocalFilingAdapter` numbers complete filings locally, for development and test when no
agency is configured (`make run` starts the local fake agency instead: referrals.fake_agency).
An adapter answers accepted or rejected, or raises `AgencyUnavailable` (try again later).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from referrals.agency import (
    REVOKE_FILING,
    TRANSFER_FILING,
    AgencyAnswer,
    AgencyClient,
    AgencyUnavailable,
    envelope,
)
from telemed.core.settings import FilingAgencySettings, Settings

__all__ = [
    "AgencyAdapter",
    "AgencyUnavailable",
    "FilingRequest",
    "FilingResult",
    "InsuranceAdapter",
    "LocalFilingAdapter",
    "build_adapter",
    "default_adapter",
    "set_adapter",
]

log = logging.getLogger("telemed.referrals.filing")


@dataclass(frozen=True)
class FilingRequest:
    """What a filing sends: the facts of the referral, who sends it and the message id."""

    msgid: str
    psn_no: str
    insutype: str
    insured_admdvs: str
    treatment_admdvs: str
    diag_code: str
    diag_name: str
    condition: str
    reflin_medins_no: str
    reflin_medins_name: str
    reason: str
    refl_date: date
    begndate: date
    enddate: date
    opter: str
    opter_name: str
    now: datetime
    filing_number: str | None = None  # for a revocation
    memo: str = ""


@dataclass(frozen=True)
class FilingResult:
    """The agency's decision: its reference when accepted, its code and words when not."""

    outcome: Literal["accepted", "rejected"]
    reference: str | None
    message: str
    code: str | None = None
    agency_msgid: str | None = None
    reply: dict[str, Any] = field(default_factory=dict)


class InsuranceAdapter(Protocol):
    def file(self, request: FilingRequest) -> FilingResult:
        """Submit a filing (raises AgencyUnavailable when there is no answer)."""

    def revoke(self, request: FilingRequest) -> FilingResult:
        """Withdraw an accepted filing (raises AgencyUnavailable when there is no answer)."""


class AgencyAdapter:
    """The agency's interface over HTTP (referrals.agency)."""

    def __init__(self, settings: FilingAgencySettings, client: AgencyClient | None = None):
        self._settings = settings
        self._client = client or AgencyClient(settings)

    def file(self, request: FilingRequest) -> FilingResult:
        refmedin = {
            "psn_no": request.psn_no,
            "insutype": request.insutype,
            "tel": "",
            "addr": "",
            "insu_optins": request.insured_admdvs,
            "diag_code": request.diag_code,
            "diag_name": request.diag_name[:100],
            "dise_cond_dscr": request.condition[:2000],
            "reflin_medins_no": request.reflin_medins_no,
            "reflin_medins_name": request.reflin_medins_name[:200],
            "mdtrtarea_admdvs": request.treatment_admdvs,
            "hosp_agre_refl_flag": "1",
            "refl_date": request.refl_date.isoformat(),
            "refl_rea": request.reason[:100],
            "refl_opnn": "",
            "begndate": request.begndate.isoformat(),
            "enddate": request.enddate.isoformat(),
        }
        answer = self._send(TRANSFER_FILING, request, {"refmedin": refmedin})
        if not answer.ok:
            return _decided(answer, None)
        result = answer.output.get("result") or {}
        reference = result.get("trt_dcla_detl_sn") if isinstance(result, dict) else None
        if not reference:  # accepted without a number: nothing to settle against
            raise AgencyUnavailable(f"{TRANSFER_FILING}: accepted without trt_dcla_detl_sn")
        return _decided(answer, str(reference))

    def revoke(self, request: FilingRequest) -> FilingResult:
        data = {
            "psn_no": request.psn_no,
            "trt_dcla_detl_sn": request.filing_number or "",
            "memo": request.memo[:500],
        }
        answer = self._send(REVOKE_FILING, request, {"data": data})
        return _decided(answer, request.filing_number)

    def _send(self, infno: str, request: FilingRequest, data: dict[str, Any]) -> AgencyAnswer:
        body = envelope(
            infno=infno,
            msgid=request.msgid,
            insuplc_admdvs=request.insured_admdvs,
            opter=request.opter,
            opter_name=request.opter_name,
            now=request.now,
            data=data,
            settings=self._settings,
        )
        return self._client.call(body)


def _decided(answer: AgencyAnswer, reference: str | None) -> FilingResult:
    """The agency's answer as a decision: `infcode` 0 accepted, any other rejected."""
    return FilingResult(
        "accepted" if answer.ok else "rejected",
        reference if answer.ok else None,
        answer.err_msg or ("" if answer.ok else "refused"),
        str(answer.infcode),
        answer.inf_refmsgid,
        answer.raw,
    )


class LocalFilingAdapter:
    """No agency configured (development and test): accepts complete filings, numbered here."""

    def file(self, request: FilingRequest) -> FilingResult:
        missing = [
            name
            for name in ("insured_admdvs", "treatment_admdvs", "diag_code")
            if not getattr(request, name)
        ]
        if missing:
            return FilingResult(
                "rejected", None, f"incomplete filing: {', '.join(missing)}", "incomplete"
            )
        ref = f"YDBA-{request.treatment_admdvs}-{request.msgid[-16:]}"
        return FilingResult("accepted", ref, "filed locally (no agency interface configured)")

    def revoke(self, request: FilingRequest) -> FilingResult:
        return FilingResult("accepted", request.filing_number, "revoked locally")


class _NoAgency:
    """Production without an agency: nothing is sent; filings wait `submitted`."""

    def file(self, request: FilingRequest) -> FilingResult:
        raise AgencyUnavailable(
            "no filing agency configured (TELEMED_REFERRALS__FILING_AGENCY__URL)"
        )

    revoke = file


_adapter: InsuranceAdapter | None = None
_said_local = False


def build_adapter(settings: Settings) -> InsuranceAdapter:
    """The adapter the settings call for: the agency when its URL is set; else the local
    numbering outside production (said once in the log), nothing in production."""
    global _said_local
    agency = settings.referrals.filing_agency
    if agency.url:
        return AgencyAdapter(agency)
    if settings.env == "production":
        return _NoAgency()
    if not _said_local:
        log.warning("no filing agency configured: cross-region filings are numbered locally")
        _said_local = True
    return LocalFilingAdapter()


def default_adapter(settings: Settings) -> InsuranceAdapter:
    """The installed adapter (tests), else the one these settings call for."""
    return _adapter if _adapter is not None else build_adapter(settings)


def set_adapter(adapter: InsuranceAdapter | None) -> None:
    """Install an adapter for every call (None: back to the settings' own)."""
    global _adapter
    _adapter = adapter
