"""Mainland China public holidays and adjusted working days (法定节假日 and 调休).

Source: the `chinesecalendar` package (PyPI, maintained; it transcribes the General
Office of the State Council's yearly notice 《国务院办公厅关于{year}年部分节假日安排的通知》,
currently through 2026). It ships its data, so nothing is fetched at run time.
Operators add later years, or correct a day, in the `scheduling_holiday` table
(`POST /api/v1/holidays`); a row there overrides the package.

Past the package's last year, the fixed-date statutory days of 《全国年节及纪念日放假办法》
(2024 revision: 元旦 1 Jan, 劳动节 1–2 May, 国庆节 1–3 Oct) are days off provisionally;
the lunar holidays (春节, 清明, 端午, 中秋) and the 调休 arrangements of such a year are
unknown until the State Council's notice is entered, and `uncovered_years` names the years
for which nothing was entered (the horizon job warns about them).
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


# Fixed-date statutory days off (《全国年节及纪念日放假办法》, 2024 revision).
FIXED_STATUTORY = {
    (1, 1): "元旦",
    (5, 1): "劳动节",
    (5, 2): "劳动节",
    (10, 1): "国庆节",
    (10, 2): "国庆节",
    (10, 3): "国庆节",
}


def builtin_kind(day: date) -> tuple[DayKind, str]:
    """Kind of `day` by the built-in calendar; past its last year, the fixed-date statutory
    days are holidays (provisionally) and other days are plain weekdays/weekends."""
    if day.year > BUILTIN_LAST_YEAR and (day.month, day.day) in FIXED_STATUTORY:
        return DayKind.HOLIDAY, f"{FIXED_STATUTORY[(day.month, day.day)]}（法定，待当年通知）"
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

    def uncovered_years(self, start: date, end: date) -> list[int]:
        """Years in [start, end] past the built-in calendar with no operator rows loaded."""
        entered = {d.year for d in self.overrides}
        return [
            y for y in range(start.year, end.year + 1) if y > BUILTIN_LAST_YEAR and y not in entered
        ]

    def kind(self, day: date) -> tuple[DayKind, str]:
        row = self.overrides.get(day)
        if row is not None:
            if row.kind == "off":
                return DayKind.HOLIDAY, row.name
            return (DayKind.ADJUSTED_WORKDAY if day.weekday() >= 5 else DayKind.WORKDAY), row.name
        return builtin_kind(day)
