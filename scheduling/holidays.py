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

# The package names its days in English: each one's code, and the code's name per language.
_PACKAGE_CODES = {
    "New Year's Day": "new_year",
    "Spring Festival": "spring_festival",
    "Tomb-sweeping Day": "qingming",
    "Labour Day": "labour_day",
    "Dragon Boat Festival": "dragon_boat",
    "Mid-autumn Festival": "mid_autumn",
    "National Day": "national_day",
    "Anti-Fascist 70th Day": "victory_day_70",
}
HOLIDAY_NAMES: dict[str, dict[str, str]] = {
    "zh-CN": {
        "new_year": "元旦",
        "spring_festival": "春节",
        "qingming": "清明节",
        "labour_day": "劳动节",
        "dragon_boat": "端午节",
        "mid_autumn": "中秋节",
        "national_day": "国庆节",
        "victory_day_70": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
        "provisional": "{name}（法定，待当年通知）",
    },
    "en": {
        "new_year": "New Year's Day",
        "spring_festival": "Spring Festival",
        "qingming": "Tomb-sweeping Day",
        "labour_day": "Labour Day",
        "dragon_boat": "Dragon Boat Festival",
        "mid_autumn": "Mid-autumn Festival",
        "national_day": "National Day",
        "victory_day_70": "70th anniversary of the victory of the War of Resistance",
        "provisional": "{name} (statutory; awaiting this year's notice)",
    },
}


def holiday_code(package_name: str) -> str:
    """The code of a day the package names (its English name itself when unknown)."""
    return _PACKAGE_CODES.get(package_name, package_name)


def holiday_name(code: str, language: str | None) -> str:
    """A built-in day's name in `language` (zh-CN when none or missing); a code ending in
    `.provisional` is a fixed-date statutory day past the package's years."""
    names = HOLIDAY_NAMES.get(language or "zh-CN", {})
    base, _, provisional = code.partition(".")
    name = names.get(base) or HOLIDAY_NAMES["zh-CN"].get(base, base)
    if provisional:
        template = names.get("provisional") or HOLIDAY_NAMES["zh-CN"]["provisional"]
        return template.format(name=name)
    return name


# Fixed-date statutory days off (《全国年节及纪念日放假办法》, 2024 revision), by code.
FIXED_STATUTORY = {
    (1, 1): "new_year",
    (5, 1): "labour_day",
    (5, 2): "labour_day",
    (10, 1): "national_day",
    (10, 2): "national_day",
    (10, 3): "national_day",
}


def builtin_kind(day: date) -> tuple[DayKind, str]:
    """Kind of `day` by the built-in calendar and the code of its holiday (`holiday_name`
    names it per language; "" for an ordinary day); past the package's last year, the
    fixed-date statutory days are holidays (provisionally: `<code>.provisional`) and other
    days are plain weekdays/weekends."""
    if day.year > BUILTIN_LAST_YEAR and (day.month, day.day) in FIXED_STATUTORY:
        return DayKind.HOLIDAY, f"{FIXED_STATUTORY[(day.month, day.day)]}.provisional"
    if day in _HOLIDAYS:
        # The package lists weekend days of a holiday too; they are days off either way.
        return DayKind.HOLIDAY, holiday_code(_HOLIDAYS[day])
    if day in _WORKDAYS and day.weekday() >= 5:
        return DayKind.ADJUSTED_WORKDAY, holiday_code(_WORKDAYS[day])
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
        """The day's kind and its holiday: a built-in day's code, an operator row's name."""
        row = self.overrides.get(day)
        if row is not None:
            if row.kind == "off":
                return DayKind.HOLIDAY, row.name
            return (DayKind.ADJUSTED_WORKDAY if day.weekday() >= 5 else DayKind.WORKDAY), row.name
        return builtin_kind(day)

    def day(self, day: date, language: str | None) -> tuple[DayKind, str, str]:
        """The day's kind, its holiday's code ("" for an operator's row, which has only
        the name it was entered with) and its name in `language`."""
        kind, named = self.kind(day)
        if day in self.overrides or not named:
            return kind, "", named
        return kind, named, holiday_name(named, language)
