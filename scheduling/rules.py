"""Rule expansion: weekly patterns in Asia/Shanghai -> UTC slot times, holidays and leave applied.

Policy for the China calendar (documented in docs/scheduling.md): with `follow_holidays`,
a rule makes no slots on statutory days off, and on an adjusted working weekend (调休上班)
the day runs the Monday pattern (ADJUSTED_WORKDAY_AS), as hospitals usually announce.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from scheduling.holidays import Calendar, DayKind
from scheduling.models import ScheduleRule
from telemed.core.clock import SHANGHAI, as_utc

ADJUSTED_WORKDAY_AS = 0  # Monday


@dataclass(frozen=True)
class SlotTime:
    start_at: datetime  # UTC
    end_at: datetime  # UTC
    reserved: int
    release_at: datetime  # UTC


def parse_weekdays(text: str) -> set[int]:
    """'0,2,4' -> {0, 2, 4} (Monday = 0)."""
    return {int(p) for p in text.split(",") if p.strip() != ""}


def reserved_for_index(index: int, capacity: int, share: float) -> int:
    """Reserved places of the `index`-th slot of a session: the share spread evenly over the day."""
    # Integer arithmetic on per-mille so 0.2 * 5 is exactly 1.
    per_mille = round(share * 1000)
    hi = ((index + 1) * capacity * per_mille) // 1000
    lo = (index * capacity * per_mille) // 1000
    return min(capacity, hi - lo)


def _session_slots(
    rule: ScheduleRule, start_local: datetime, end_local: datetime
) -> list[SlotTime]:
    out: list[SlotTime] = []
    step = timedelta(minutes=rule.slot_minutes)
    at = start_local
    i = 0
    while at + step <= end_local:
        start_utc = as_utc(at)
        out.append(
            SlotTime(
                start_at=start_utc,
                end_at=as_utc(at + step),
                reserved=reserved_for_index(i, rule.capacity, rule.reserved_share),
                release_at=start_utc - timedelta(hours=rule.release_hours_before),
            )
        )
        at += step
        i += 1
    return out


def runs_on(rule: ScheduleRule, day: date, calendar: Calendar) -> bool:
    """True when the weekly pattern of `rule` makes slots on `day`."""
    if day < rule.valid_from or (rule.valid_to is not None and day > rule.valid_to):
        return False
    weekdays = parse_weekdays(rule.weekdays)
    if not rule.follow_holidays:
        return day.weekday() in weekdays
    kind, _ = calendar.kind(day)
    if kind == DayKind.HOLIDAY:
        return False
    if kind == DayKind.ADJUSTED_WORKDAY:
        return ADJUSTED_WORKDAY_AS in weekdays
    return day.weekday() in weekdays


def expand(
    rule: ScheduleRule,
    *,
    first_day: date,
    last_day: date,
    calendar: Calendar,
    leave: Iterable[tuple[datetime, datetime]] = (),
    extra: Iterable[tuple[datetime, datetime]] = (),
) -> list[SlotTime]:
    """Slot times of `rule` for local days first_day..last_day, minus leave, plus extra sessions."""
    slots: list[SlotTime] = []
    day = first_day
    while day <= last_day:
        if runs_on(rule, day, calendar):
            start = datetime.combine(day, rule.start_time, SHANGHAI)
            end = datetime.combine(day, rule.end_time, SHANGHAI)
            slots.extend(_session_slots(rule, start, end))
        day += timedelta(days=1)
    for start, end in extra:
        slots.extend(_session_slots(rule, start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)))
    windows = list(leave)
    if windows:
        slots = [s for s in slots if not any(s.start_at < e and s.end_at > b for b, e in windows)]
    unique = {(s.start_at, s.end_at): s for s in slots}
    return sorted(unique.values(), key=lambda s: s.start_at)


def local_time(value: str) -> time:
    """'08:30' -> time(8, 30)."""
    hh, mm = value.split(":")[:2]
    return time(int(hh), int(mm))
