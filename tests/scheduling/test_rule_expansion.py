"""Rule expansion in Asia/Shanghai, stored as UTC, across public holidays and 调休."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from scheduling.holidays import Calendar, DayKind, builtin_kind
from scheduling.models import Holiday, ScheduleRule
from scheduling.rules import expand, reserved_for_index
from tests.scheduling.conftest import slots_of


def _rule(**kw: object) -> ScheduleRule:
    base: dict[str, object] = {
        "institution_id": None,
        "specialty_code": "cardiology",
        "service_class": "outpatient",
        "weekdays": "0,1,2,3,4",
        "start_time": time(8, 0),
        "end_time": time(9, 0),
        "slot_minutes": 30,
        "capacity": 1,
        "valid_from": date(2026, 1, 1),
    }
    base.update(kw)
    return ScheduleRule(**base)  # type: ignore[arg-type]


def _days(slots: list) -> list[date]:  # type: ignore[type-arg]
    return sorted({s.start_at.date() for s in slots})


def test_spring_festival_2026_has_no_slots_and_adjusted_saturdays_run_monday_pattern():
    # 2026 春节: 15-23 Feb off; Sat 14 Feb and Sat 28 Feb are working days (调休).
    assert builtin_kind(date(2026, 2, 16))[0] == DayKind.HOLIDAY
    assert builtin_kind(date(2026, 2, 14))[0] == DayKind.ADJUSTED_WORKDAY
    slots = expand(
        _rule(), first_day=date(2026, 2, 9), last_day=date(2026, 3, 1), calendar=Calendar()
    )
    days = _days(slots)
    assert date(2026, 2, 14) in days and date(2026, 2, 28) in days
    assert not any(date(2026, 2, 15) <= d <= date(2026, 2, 23) for d in days)
    assert date(2026, 2, 21) not in days  # an ordinary Saturday of the holiday
    assert date(2026, 2, 24) in days
    # 08:00 in Shanghai is 00:00 UTC, stored aware
    first = slots[0]
    assert first.start_at == datetime(2026, 2, 9, 0, 0, tzinfo=UTC)
    assert first.end_at == datetime(2026, 2, 9, 0, 30, tzinfo=UTC)


def test_adjusted_workday_runs_only_rules_with_monday():
    tue_only = expand(
        _rule(weekdays="1"),
        first_day=date(2026, 2, 14),
        last_day=date(2026, 2, 14),
        calendar=Calendar(),
    )
    assert tue_only == []


def test_national_day_week_and_rules_ignoring_holidays():
    slots = expand(
        _rule(), first_day=date(2026, 9, 28), last_day=date(2026, 10, 11), calendar=Calendar()
    )
    days = _days(slots)
    assert not any(date(2026, 10, 1) <= d <= date(2026, 10, 7) for d in days)
    assert date(2026, 10, 10) in days  # Saturday worked (调休)
    always = expand(
        _rule(follow_holidays=False),
        first_day=date(2026, 10, 1),
        last_day=date(2026, 10, 2),
        calendar=Calendar(),
    )
    assert len(always) == 4


def test_operator_rows_override_the_builtin_calendar():
    cal = Calendar(
        {
            date(2027, 1, 1): Holiday(day=date(2027, 1, 1), kind="off", name="元旦"),
            date(2027, 1, 9): Holiday(day=date(2027, 1, 9), kind="workday", name="调休"),
        }
    )
    slots = expand(_rule(), first_day=date(2026, 12, 31), last_day=date(2027, 1, 10), calendar=cal)
    days = _days(slots)
    assert date(2027, 1, 1) not in days
    assert date(2027, 1, 9) in days  # a Saturday made a working day


def test_leave_removes_slots_and_extra_session_adds_them():
    leave = [(datetime(2026, 3, 2, 0, 0, tzinfo=UTC), datetime(2026, 3, 2, 0, 30, tzinfo=UTC))]
    extra = [(datetime(2026, 3, 7, 1, 0, tzinfo=UTC), datetime(2026, 3, 7, 2, 0, tzinfo=UTC))]
    slots = expand(
        _rule(),
        first_day=date(2026, 3, 2),
        last_day=date(2026, 3, 7),
        calendar=Calendar(),
        leave=leave,
        extra=extra,
    )
    starts = {s.start_at for s in slots}
    assert datetime(2026, 3, 2, 0, 0, tzinfo=UTC) not in starts
    assert datetime(2026, 3, 2, 0, 30, tzinfo=UTC) in starts
    assert datetime(2026, 3, 7, 1, 30, tzinfo=UTC) in starts  # Saturday extra session


def test_reserved_share_is_spread_over_the_session():
    assert [reserved_for_index(i, 1, 0.2) for i in range(10)] == [0, 0, 0, 0, 1] * 2
    assert sum(reserved_for_index(i, 5, 0.2) for i in range(4)) == 4


def test_materialized_slots_are_utc_and_skip_the_holiday(session, clock, make_rule):
    # clock: 2026-12-01 09:00 Shanghai; 2027 holidays entered by an operator
    session.add(Holiday(day=date(2026, 12, 14), kind="off", name="test day off"))
    session.flush()
    rule = make_rule(start_time=time(10, 0), end_time=time(10, 30))
    slots = slots_of(session, rule)
    assert slots and all(s.start_at.hour == 2 and s.start_at.tzinfo is not None for s in slots)
    assert date(2026, 12, 14) not in {s.start_at.date() for s in slots}
    assert date(2026, 12, 15) in {s.start_at.date() for s in slots}
    assert max(s.start_at for s in slots).date() <= date(2026, 12, 29)  # 28-day horizon


def test_past_the_builtin_calendar_fixed_statutory_days_are_off_and_the_year_is_flagged() -> None:
    from scheduling.holidays import BUILTIN_LAST_YEAR

    year = BUILTIN_LAST_YEAR + 1
    assert builtin_kind(date(year, 1, 1))[0] == DayKind.HOLIDAY
    assert builtin_kind(date(year, 5, 2))[0] == DayKind.HOLIDAY
    assert builtin_kind(date(year, 10, 3))[0] == DayKind.HOLIDAY
    assert builtin_kind(date(year, 10, 4))[0] in (DayKind.WORKDAY, DayKind.WEEKEND)
    cal = Calendar()
    assert cal.uncovered_years(date(year - 1, 12, 20), date(year, 1, 17)) == [year]
    entered = Holiday(day=date(year, 2, 6), kind="off", name="春节")
    assert (
        Calendar({entered.day: entered}).uncovered_years(date(year - 1, 12, 20), date(year, 1, 17))
        == []
    )
