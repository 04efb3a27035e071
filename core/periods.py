"""Periods (SPEC section 3): presets and custom ranges, resolved in the organization's time zone.

A period is a range of whole local calendar days ``[start, end]`` (inclusive). It becomes the
half-open UTC instant range ``[start_ts, end_ts)`` from local midnight of ``start`` to local
midnight after ``end``, clipped at the ``asOf`` instant so a past dashboard reproduces exactly.

* ``LAST_N_DAYS``: the N calendar days ending today, today included.
* ``LAST_6_MONTHS``: from the day after the same date six months ago, to today.
* ``CUSTOM``: ``start`` and ``end`` dates, inclusive, ``start <= end``, at most 366 days.
* The previous period has the same number of days and ends the day before the period starts.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import strawberry

from .errors import BadUserInput

MAX_CUSTOM_DAYS = 366


@strawberry.enum(description="A period preset; CUSTOM uses start and end dates.")
class PeriodPreset(enum.Enum):
    TODAY = "TODAY"
    YESTERDAY = "YESTERDAY"
    LAST_7_DAYS = "LAST_7_DAYS"
    LAST_15_DAYS = "LAST_15_DAYS"
    LAST_30_DAYS = "LAST_30_DAYS"
    LAST_45_DAYS = "LAST_45_DAYS"
    LAST_60_DAYS = "LAST_60_DAYS"
    LAST_90_DAYS = "LAST_90_DAYS"
    LAST_6_MONTHS = "LAST_6_MONTHS"
    CUSTOM = "CUSTOM"


_LAST_N = {
    PeriodPreset.LAST_7_DAYS: 7,
    PeriodPreset.LAST_15_DAYS: 15,
    PeriodPreset.LAST_30_DAYS: 30,
    PeriodPreset.LAST_45_DAYS: 45,
    PeriodPreset.LAST_60_DAYS: 60,
    PeriodPreset.LAST_90_DAYS: 90,
}

DEFAULT_PRESET = PeriodPreset.LAST_30_DAYS


@strawberry.input(description="A preset, or CUSTOM with start and end dates (inclusive).")
class PeriodInput:
    preset: PeriodPreset = PeriodPreset.LAST_30_DAYS
    start: date | None = strawberry.field(default=None, description="CUSTOM only: first day.")
    end: date | None = strawberry.field(default=None, description="CUSTOM only: last day.")


def local_midnight(day: date, tz: ZoneInfo) -> int:
    """UTC epoch seconds of 00:00 local time on ``day``."""
    return int(datetime.combine(day, time(0), tzinfo=tz).timestamp())


@dataclass(frozen=True)
class DateRange:
    """Whole local days ``[start, end]`` and their UTC instants ``[start_ts, end_ts)``."""

    start: date
    end: date
    start_ts: int
    end_ts: int
    timezone: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def of(cls, start: date, end: date, timezone: str, as_of_ts: int | None = None) -> DateRange:
        tz = ZoneInfo(timezone)
        end_ts = local_midnight(end + timedelta(days=1), tz)
        if as_of_ts is not None:
            end_ts = min(end_ts, as_of_ts + 1)
        start_ts = local_midnight(start, tz)
        return cls(start, end, start_ts, max(start_ts, end_ts), timezone)


@dataclass(frozen=True)
class Period:
    """A resolved period and the previous period of equal length."""

    preset: PeriodPreset
    current: DateRange
    previous: DateRange
    as_of_ts: int
    today: date

    def shifted(self, current: DateRange) -> Period:
        return replace(self, current=current)


def _months_back(day: date, months: int) -> date:
    month_index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def preset_dates(preset: PeriodPreset, today: date) -> tuple[date, date]:
    if preset is PeriodPreset.TODAY:
        return today, today
    if preset is PeriodPreset.YESTERDAY:
        day = today - timedelta(days=1)
        return day, day
    if preset in _LAST_N:
        return today - timedelta(days=_LAST_N[preset] - 1), today
    if preset is PeriodPreset.LAST_6_MONTHS:
        return _months_back(today, 6) + timedelta(days=1), today
    raise BadUserInput(f"preset {preset.value} needs start and end dates")


MIN_YEAR, MAX_YEAR = 1971, 2999


def check_as_of(as_of: datetime) -> None:
    """``asOf`` must carry an offset and lie in a sensible range (else ``BAD_USER_INPUT``)."""
    if as_of.tzinfo is None:
        raise BadUserInput("asOf must carry a time zone offset, e.g. 2026-11-25T12:00:00-03:00")
    if not MIN_YEAR <= as_of.year <= MAX_YEAR:
        raise BadUserInput(f"asOf must be between the years {MIN_YEAR} and {MAX_YEAR}")


def _check_date(name: str, day: date) -> None:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise BadUserInput(f"{name} must be between the years {MIN_YEAR} and {MAX_YEAR}")


def resolve_period(
    period: PeriodInput | None,
    timezone: str,
    as_of: datetime,
    *,
    allowed: frozenset[PeriodPreset] | None = None,
) -> Period:
    """Turn a :class:`PeriodInput` into concrete ranges; bad input raises ``BAD_USER_INPUT``."""
    period = period or PeriodInput()
    preset = period.preset
    if allowed is not None and preset not in allowed:
        names = ", ".join(p.value for p in PeriodPreset if p in allowed)
        raise BadUserInput(f"preset {preset.value} is not offered here; use one of {names}")
    check_as_of(as_of)
    tz = ZoneInfo(timezone)
    as_of_ts = int(as_of.timestamp())
    today = as_of.astimezone(tz).date()
    if preset is PeriodPreset.CUSTOM:
        if period.start is None or period.end is None:
            raise BadUserInput("a CUSTOM period needs both start and end dates (YYYY-MM-DD)")
        start, end = period.start, period.end
        _check_date("start", start)
        _check_date("end", end)
        if start > end:
            raise BadUserInput(f"the period starts ({start}) after it ends ({end})")
        days = (end - start).days + 1
        if days > MAX_CUSTOM_DAYS:
            raise BadUserInput(
                f"a custom period covers at most {MAX_CUSTOM_DAYS} days; {start}..{end} is {days}"
            )
    else:
        if period.start is not None or period.end is not None:
            raise BadUserInput("start and end are only used with preset CUSTOM")
        start, end = preset_dates(preset, today)
    current = DateRange.of(start, end, timezone, as_of_ts)
    length = current.days
    previous_end = start - timedelta(days=1)
    previous = DateRange.of(previous_end - timedelta(days=length - 1), previous_end, timezone)
    return Period(preset, current, previous, as_of_ts, today)


def trailing_days(days: int, timezone: str, as_of: datetime) -> Period:
    """The ``days`` calendar days ending on ``as_of``'s local date (e.g. the home page's 30 days)."""
    check_as_of(as_of)
    tz = ZoneInfo(timezone)
    today = as_of.astimezone(tz).date()
    as_of_ts = int(as_of.timestamp())
    start = today - timedelta(days=days - 1)
    current = DateRange.of(start, today, timezone, as_of_ts)
    previous_end = start - timedelta(days=1)
    previous = DateRange.of(previous_end - timedelta(days=days - 1), previous_end, timezone)
    return Period(PeriodPreset.CUSTOM, current, previous, as_of_ts, today)
