"""Mainland China public holidays and adjusted working days (法定节假日 and 调休).

Source: the `chinesecalendar` package (PyPI, maintained; it transcribes the General
Office of the State Council's yearly notice 《国务院办公厅关于{year}年部分节假日安排的通知》,
currently through 2026). It ships its data, so nothing is fetched at run time.
Operators add later years, or correct a day, in the `scheduling_holiday` table
(`POST /api/v1/holidays`); a row there overrides the package.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlmodel import Session, col, select

from scheduling.models import Holiday


class DayKind(StrEnum):
    WORKDAY = "workday"  # an ordinary Monday to Friday
    WEEKEND = "weekend"
    HOLIDAY = "holiday"  # statutory day off (法定节假日, including bridged days)
    ADJUSTED_WORKDAY = "adjusted_workday"  # weekend worked in exchange (调休上班)


def _builtin() -> tuple[dict[date, str], dict[date, str], int]:
    try:
        from chinese_calendar import constants
    except ImportError:  # pragma: no cover - the dependency is declared
        return {}, {}, 0
    holidays = {d: str(n) for d, n in constants.holidays.items()}
    workdays = {d: str(n) for d, n in constants.workdays.items()}
    last_year = max((d.year for d in holidays), default=0)
    return holidays, workdays, last_year


_HOLIDAYS, _WORKDAYS, BUILTIN_LAST_YEAR = _builtin()


def builtin_kind(day: date) -> tuple[DayKind, str]:
    """Kind of `day` by the built-in calendar (weekday/weekend past its last covered year)."""
    if day in _HOLIDAYS:
        # The package lists weekend days of a holiday too; they are days off either way.
        return DayKind.HOLIDAY, _HOLIDAYS[day]
    if day in _WORKDAYS and day.weekday() >= 5:
        return DayKind.ADJUSTED_WORKDAY, _WORKDAYS[day]
    return (DayKind.WEEKEND if day.weekday() >= 5 else DayKind.WORKDAY), ""


class Calendar:
    """Day kinds for a date range: built-in calendar overridden by operator rows."""

    def __init__(self, overrides: dict[date, Holiday] | None = None) -> None:
        self.overrides = overrides or {}

    @classmethod
    def load(cls, *, session: Session, start: date, end: date) -> Calendar:
        rows = session.execute(
            select(Holiday).where(col(Holiday.day) >= start, col(Holiday.day) <= end)
        ).scalars()
        return cls({r.day: r for r in rows})

    def kind(self, day: date) -> tuple[DayKind, str]:
        row = self.overrides.get(day)
        if row is not None:
            if row.kind == "off":
                return DayKind.HOLIDAY, row.name
            return (DayKind.ADJUSTED_WORKDAY if day.weekday() >= 5 else DayKind.WORKDAY), row.name
        return builtin_kind(day)
