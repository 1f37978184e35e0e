"""The insurance interface for cross-region treatment filing (异地就医备案), behind an adapter.

No agency interface is contracted yet: `LocalFilingAdapter` accepts every complete
filing and numbers it locally, so the workflow and its data are real while the
transport is not. A real adapter implements `InsuranceAdapter.file`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from referrals.models import CrossRegionFiling


@dataclass(frozen=True)
class FilingResult:
    accepted: bool
    reference: str | None
    message: str


class InsuranceAdapter(Protocol):
    def file(self, filing: CrossRegionFiling) -> FilingResult:
        """Submit a filing to the medical insurance agency; return its answer."""


class LocalFilingAdapter:
    """Stand-in until the agency interface is contracted: accepts complete filings."""

    def file(self, filing: CrossRegionFiling) -> FilingResult:
        missing = [
            name
            for name in ("insured_league_code", "treatment_league_code", "diagnosis_code")
            if not getattr(filing, name)
        ]
        if missing:
            return FilingResult(False, None, f"incomplete filing: {', '.join(missing)}")
        ref = f"YDBA-{filing.treatment_league_code}-{filing.id.hex[:12].upper()}"
        return FilingResult(True, ref, "filed locally (no agency interface configured)")


_adapter: InsuranceAdapter = LocalFilingAdapter()


def default_adapter() -> InsuranceAdapter:
    return _adapter


def set_adapter(adapter: InsuranceAdapter | None) -> None:
    """Install the agency adapter (None restores the local one)."""
    global _adapter
    _adapter = adapter if adapter is not None else LocalFilingAdapter()
