"""API shapes of the network dashboard (aggregates only, no patient data)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class Figures(BaseModel):
    """Counts over one league (or the whole network) in the dashboard's date range."""

    hospitals: int = Field(description="network hospitals (not date-bound)")
    consultations: int = Field(description="requests submitted in the range")
    consultations_by_state: dict[str, int]
    accept_measured: int
    accepted_in_time: int
    accept_breaches: int
    report_measured: int
    reported_in_time: int
    report_breaches: int
    sla_compliance: float | None = Field(
        description="deadlines met of deadlines measured (accept and report), 0..1"
    )
    referrals: int = Field(description="referrals sent in the range (drafts not counted)")
    referrals_up: int
    referrals_down: int
    referrals_completed: int = Field(description="completed or closed")
    referrals_closed: int
    closure_rate: float | None = Field(description="closed of completed, 0..1")


class LeagueFigures(Figures):
    code: str
    name_zh: str
    name_en: str


class DayFigures(BaseModel):
    """One calendar day (Asia/Shanghai) of the range."""

    day: date
    consultations: int
    referrals: int
    sla_compliance: float | None


class NetworkDashboard(BaseModel):
    start: date = Field(description="first day, Asia/Shanghai")
    end: date = Field(description="last day (inclusive), Asia/Shanghai")
    timezone: str
    generated_at: datetime
    totals: Figures
    leagues: list[LeagueFigures]
    days: list[DayFigures]
