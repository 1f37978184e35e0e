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


class UtilizationRow(BaseModel):
    """One hospital, specialty and ISO week (Asia/Shanghai): capacity and what became of it."""

    week: str = Field(description="ISO week, e.g. 2026-W49")
    week_start: date = Field(description="its Monday, Asia/Shanghai")
    institution_id: str
    institution_code: str
    institution_name_zh: str
    institution_name_en: str
    league_code: str
    tier: str
    specialty_code: str = Field(description="'' when a referral named no department")
    specialty_name_zh: str = Field(description="the hospital's department name, else ''")
    offered: int = Field(description="places of active slots starting in the week")
    booked: int = Field(description="of them booked: booked, arrived, fulfilled or no-show")
    used: int = Field(description="of them attended: arrived or fulfilled")
    noshows: int
    booked_share: float | None = Field(description="booked of offered, 0..1")
    consultations_accepted: int
    consultations_declined: int
    consultations_redirected: int = Field(description="sent on by this hospital's coordinator")
    median_accept_minutes: float | None = Field(
        description="submission to acceptance, requests accepted in the week"
    )
    median_report_minutes: float | None = Field(
        description="acceptance to signed report, requests reported in the week"
    )
    referrals_up: int = Field(description="upward referrals received, sent in the week")
    referrals_down: int = Field(description="downward referrals received, sent in the week")
    referrals_completed: int = Field(description="of those, completed or closed")
    referrals_closed: int
    closure_rate: float | None = Field(description="closed of completed, 0..1")


class UtilizationTotals(BaseModel):
    """The rows added up (medians do not add up and are left out)."""

    offered: int
    booked: int
    used: int
    noshows: int
    booked_share: float | None
    consultations_accepted: int
    consultations_declined: int
    consultations_redirected: int
    referrals_up: int
    referrals_down: int
    referrals_completed: int
    referrals_closed: int
    closure_rate: float | None


class OverloadRule(BaseModel):
    """When a specialist counts as overloaded in the current week."""

    booked_share: float = Field(description="booked of offered at least this ...")
    min_offered: int = Field(description="... with at least this many places offered")
    open_worklist: int = Field(description="or at least this many open requests")


class OverloadedSpecialist(BaseModel):
    specialist_id: str
    name: str
    title: str | None
    institution_id: str
    institution_name_zh: str
    league_code: str
    specialty_code: str
    offered: int
    booked: int
    booked_share: float | None
    open_worklist: int
    reasons: list[str] = Field(description="booked_share and/or open_worklist")


class AllianceOutside(BaseModel):
    """Work the alliance's member hospitals sent to hospitals outside the alliance."""

    alliance_code: str
    name_zh: str
    kind: str
    league_code: str
    specialty_code: str | None
    consultations: int
    consultations_outside: int
    referrals: int
    referrals_outside: int
    outside_share: float | None = Field(description="(outside) of (all), both kinds, 0..1")


class UtilizationDashboard(BaseModel):
    from_week: str
    to_week: str
    weeks: list[str]
    current_week: str = Field(description="the ISO week of now: the overloaded list's week")
    timezone: str
    generated_at: datetime
    league: str | None
    alliance: str | None
    overload_rule: OverloadRule
    totals: UtilizationTotals
    rows: list[UtilizationRow]
    overloaded: list[OverloadedSpecialist]
    outside: list[AllianceOutside]
