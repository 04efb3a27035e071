"""Business-hours clock: how many seconds of a time span fall inside a weekly schedule.

SPEC section 4. A :class:`Schedule` is a weekly pattern of open intervals, an IANA time zone and
an optional holiday calendar (country and subdivision of the ``holidays`` package). A duration
"in business hours" counts only the seconds inside open intervals, skipping holidays.

Semantics (the single rule everything else follows)
---------------------------------------------------
A real instant ``t`` (UTC) is *open* when its local wall-clock reading in ``schedule.timezone``,
``(local date D, local time of day s)``, satisfies

* ``D`` is not a holiday of the schedule's calendar, and
* either ``s`` lies in ``[start, end)`` of an interval listed for ``D``'s ISO weekday, or ``s``
  lies in the after-midnight part of an overnight interval listed for the day before ``D``.

``business_seconds(start, end)`` is the number of real (elapsed) seconds in ``[start, end)`` that
are open. Consequences, written down so nobody has to rediscover them:

* Weekly intervals are ``["HH:MM", "HH:MM"]`` in local wall-clock time, ISO weekday keys 1..7
  (1 = Monday). ``"24:00"`` is allowed as an end. An interval whose end <= start is *overnight*:
  ``["22:00", "02:00"]`` on Friday is Friday 22:00-24:00 plus Saturday 00:00-02:00 (so
  ``["00:00", "00:00"]`` is a full 24 hours). Overlapping or touching intervals are merged, a
  second counts once however many intervals contain it.
* Holidays close their whole local calendar day, 00:00-24:00, including the after-midnight part
  of an overnight interval spilling into the holiday. An overnight interval that *starts* on a
  holiday still opens the after-midnight part on the following (non-holiday) day. Holidays are
  ``holidays.country_holidays(country, subdiv=subdiv, years=...)`` (the package's default,
  public, categories); no country means no holidays.
* Daylight-saving time: counting is in real elapsed seconds. On a spring-forward day the
  skipped local hour does not exist, so nothing in it is counted: America/New_York 2026-03-08
  01:00-03:00 holds 3600 s, a 00:00-24:00 day holds 23 h. A local time inside the gap is
  therefore effectively moved *forward to the transition*: an interval 02:30-04:00 on that day
  opens at 03:00 EDT (the first real instant whose wall clock is inside the interval). On a
  fall-back day both occurrences of the repeated hour are open if the wall clock is inside an
  interval, each real second once: 2026-11-01 01:00-03:00 holds 3 h, 00:00-24:00 holds 25 h,
  00:00-01:30 holds 2 h (00:00-01:30 EDT, then 01:00-01:30 EST again), 01:30-03:00 holds 2 h
  (01:30-02:00 EDT, then 01:30-03:00 EST). This equals converting each interval's ends with
  zoneinfo (fold=0) except when an interval start or end lies inside the gap or inside the
  repeated hour; the wall-clock rule above wins there.

Algorithm
---------
For a schedule and a range of whole years, the open intervals are built once (cached) as local
"wall-clock epoch" pieces per day (holidays removed, overlaps merged), then mapped to sorted,
disjoint UTC intervals ``open_start[i]``, ``open_end[i]`` by intersecting each piece with the
zone's constant-offset segments (transitions found from zoneinfo by hourly sampling and
bisection, cached per zone and year). With ``cum[i]`` = open seconds before interval ``i``,
``F(t) = cum[i] + clip(t - open_start[i], 0, open_end[i] - open_start[i])`` where
``i = searchsorted(open_start, t, 'right') - 1`` and the answer is ``F(end) - F(start)``:
two binary searches per row, millions of rows per second.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import numpy as np

__all__ = [
    "DEFAULT_WEEKLY",
    "Schedule",
    "ScheduleError",
    "business_seconds",
    "business_seconds_between",
    "reference_business_seconds",
    "validate_weekly",
]

DAY = 86_400
DEFAULT_WEEKLY: dict[int, list[tuple[str, str]]] = {
    weekday: [("09:00", "18:00")] for weekday in range(1, 6)
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)
_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_WEEKDAY_NAMES = ("", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Timestamps must fall in these UTC years (the holidays package and datetime both need room).
_MIN_YEAR, _MAX_YEAR = 1800, 2999

_Weekly = tuple[tuple[int, tuple[tuple[int, int], ...]], ...]


class ScheduleError(ValueError):
    """A schedule (weekly pattern, time zone or holiday calendar) is invalid.

    The message is meant for the person who entered the schedule.
    """


# --------------------------------------------------------------------------------------------
# Validation and normalisation
# --------------------------------------------------------------------------------------------


def _parse_time(text: object, *, where: str, is_end: bool) -> int:
    if not isinstance(text, str):
        raise ScheduleError(
            f'{where}: time {json.dumps(text, default=str)} must be a "HH:MM" string'
        )
    match = _TIME_RE.match(text)
    if match:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if hours < 24 and minutes < 60:
            return hours * 3600 + minutes * 60
        if hours == 24 and minutes == 0:
            if is_end:
                return DAY
            raise ScheduleError(f'{where}: "24:00" is only allowed as an end, start at "00:00"')
    raise ScheduleError(
        f'{where}: bad time "{text}", use HH:MM (00:00 to 23:59, or 24:00 as an end)'
    )


def _parse_weekday(key: object) -> int:
    if isinstance(key, bool):
        raise ScheduleError(f'weekday "{key}" is not 1..7 (ISO weekday, 1 = Monday .. 7 = Sunday)')
    if isinstance(key, int):
        weekday = key
    elif isinstance(key, str) and key.strip().isdigit():
        weekday = int(key.strip())
    else:
        raise ScheduleError(f'weekday "{key}" is not 1..7 (ISO weekday, 1 = Monday .. 7 = Sunday)')
    if not 1 <= weekday <= 7:
        raise ScheduleError(f'weekday "{key}" is not 1..7 (ISO weekday, 1 = Monday .. 7 = Sunday)')
    return weekday


def _merge_pairs(pairs: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for start, end in sorted(pairs):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


def _normalise_weekly(weekly: object) -> _Weekly:
    """Validate a user-facing weekly pattern and return the normalised, hashable form."""
    if weekly is None:
        weekly = DEFAULT_WEEKLY
    if isinstance(weekly, (str, bytes)):
        try:
            weekly = json.loads(weekly)
        except ValueError as exc:
            raise ScheduleError(f"weekly schedule is not valid JSON: {exc}") from None
        if weekly is None:
            weekly = DEFAULT_WEEKLY
    if not isinstance(weekly, Mapping):
        raise ScheduleError(
            'weekly schedule must be an object mapping ISO weekday ("1" = Monday .. "7" = Sunday) '
            'to a list of ["HH:MM", "HH:MM"] intervals, e.g. {"1": [["09:00", "18:00"]]}'
        )
    by_day: dict[int, list[tuple[int, int]]] = {}
    for key, intervals in weekly.items():
        weekday = _parse_weekday(key)
        if weekday in by_day:
            raise ScheduleError(f'weekday "{key}" is given more than once')
        where_day = f"weekday {weekday} ({_WEEKDAY_NAMES[weekday]})"
        if intervals is None:
            intervals = []
        if isinstance(intervals, (str, bytes)) or not isinstance(intervals, Sequence):
            raise ScheduleError(
                f'{where_day}: expected a list of ["HH:MM", "HH:MM"] intervals, '
                f"got {json.dumps(intervals, default=str)}"
            )
        pairs: list[tuple[int, int]] = []
        for position, interval in enumerate(intervals, start=1):
            where = f"{where_day}, interval {position}"
            if (
                isinstance(interval, (str, bytes))
                or not isinstance(interval, Sequence)
                or len(interval) != 2
            ):
                raise ScheduleError(
                    f'{where}: expected ["HH:MM", "HH:MM"] (start, end), '
                    f"got {json.dumps(interval, default=str)}"
                )
            start = _parse_time(interval[0], where=where, is_end=False)
            end = _parse_time(interval[1], where=where, is_end=True)
            if end <= start:  # overnight: continues into the next day
                end += DAY
            pairs.append((start, end))
        by_day[weekday] = pairs
    return tuple(
        (weekday, _merge_pairs(by_day[weekday])) for weekday in sorted(by_day) if by_day[weekday]
    )


def validate_weekly(weekly: Mapping[str | int, Sequence[Sequence[str]]] | str | None) -> None:
    """Raise :class:`ScheduleError` if ``weekly`` is not a valid weekly pattern.

    Same rules as :meth:`Schedule.from_weekly`; ``None`` (the default pattern) is valid.
    """
    _normalise_weekly(weekly)


@lru_cache(maxsize=1)
def _supported_countries() -> dict[str, tuple[str, ...]]:
    return {code: tuple(subdivs) for code, subdivs in holidays.list_supported_countries().items()}


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _check_timezone(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ScheduleError('time zone is required, an IANA name such as "America/Sao_Paulo"')
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(
            f'unknown time zone "{name}", use an IANA name such as "America/Sao_Paulo"'
        ) from None
    return name


def _check_holidays(country: object, subdiv: object) -> tuple[str | None, str | None]:
    if country is None or country == "":
        if subdiv not in (None, ""):
            raise ScheduleError(f'holiday subdivision "{subdiv}" given without a holiday country')
        return None, None
    if not isinstance(country, str):
        raise ScheduleError(f'holiday country "{country}" must be a code such as "BR"')
    supported = _supported_countries()
    code = country.strip().upper()
    if code not in supported:
        raise ScheduleError(
            f'unknown holiday country "{country}", use an ISO 3166-1 alpha-2 code supported by '
            'the holidays package, such as "BR"'
        )
    if subdiv is None or subdiv == "":
        return code, None
    if not isinstance(subdiv, str):
        raise ScheduleError(f'holiday subdivision "{subdiv}" must be a code such as "SP"')
    by_upper = {name.upper(): name for name in supported[code]}
    canonical = by_upper.get(subdiv.strip().upper())
    if canonical is None:
        known = ", ".join(supported[code]) or "none"
        raise ScheduleError(
            f'unknown holiday subdivision "{subdiv}" for country {code} (known: {known})'
        )
    return code, canonical


def _check_normalised_weekly(weekly: object) -> None:
    message = (
        "Schedule.weekly must be the normalised form, a tuple of (weekday, ((start, end), ...)); "
        "build schedules with Schedule.from_weekly"
    )
    if not isinstance(weekly, tuple):
        raise ScheduleError(message)
    for item in weekly:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], tuple)):
            raise ScheduleError(message)
        weekday, pairs = item
        if not (isinstance(weekday, int) and 1 <= weekday <= 7):
            raise ScheduleError(message)
        for pair in pairs:
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise ScheduleError(message)
            start, end = pair
            if not (
                isinstance(start, int)
                and isinstance(end, int)
                and 0 <= start < DAY
                and start < end < 2 * DAY
            ):
                raise ScheduleError(message)


def _format_time(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


@dataclass(frozen=True)
class Schedule:
    """A weekly business-hours schedule in a time zone, with an optional holiday calendar.

    ``weekly`` is normalised and hashable: ``((weekday, ((start, end), ...)), ...)`` sorted by ISO
    weekday (closed weekdays are omitted), each interval in seconds after that weekday's local
    midnight, sorted and merged. An overnight interval has ``end > 86400`` (up to 172800):
    ``["22:00", "02:00"]`` is ``(79200, 93600)``. Build it with :meth:`from_weekly`.
    """

    timezone: str
    weekly: _Weekly
    holiday_country: str | None = None
    holiday_subdiv: str | None = None

    def __post_init__(self) -> None:
        _check_timezone(self.timezone)
        _check_normalised_weekly(self.weekly)
        country, subdiv = _check_holidays(self.holiday_country, self.holiday_subdiv)
        object.__setattr__(self, "holiday_country", country)
        object.__setattr__(self, "holiday_subdiv", subdiv)

    @classmethod
    def from_weekly(
        cls,
        timezone: str,
        weekly: Mapping[str | int, Sequence[Sequence[str]]] | str | None,
        holiday_country: str | None = None,
        holiday_subdiv: str | None = None,
    ) -> Schedule:
        """Build a validated schedule.

        ``weekly`` is a dict or JSON text such as ``{"1": [["09:00", "18:00"]], ...}`` with ISO
        weekday keys 1..7 (str or int); ``None`` means :data:`DEFAULT_WEEKLY` (Mon-Fri 09-18).
        A weekday that is missing or has an empty list is closed. An interval whose end <= start
        is overnight and continues into the next day (``["22:00", "02:00"]`` on Friday = Fri
        22:00-24:00 + Sat 00:00-02:00); ``"24:00"`` is allowed as an end. The time zone must be
        known to zoneinfo and the holiday country/subdivision supported by the ``holidays``
        package (codes are case-insensitive and stored upper-case). Raises
        :class:`ScheduleError` with a message for the user.
        """
        return cls(
            timezone=_check_timezone(timezone),
            weekly=_normalise_weekly(weekly),
            holiday_country=holiday_country,
            holiday_subdiv=holiday_subdiv,
        )

    def to_weekly(self) -> dict[str, list[list[str]]]:
        """The weekly pattern in its user-facing JSON form (inverse of :meth:`from_weekly`)."""
        return {
            str(weekday): [
                [_format_time(start), _format_time(end if end <= DAY else end - DAY)]
                for start, end in pairs
            ]
            for weekday, pairs in self.weekly
        }

    @property
    def is_empty(self) -> bool:
        """True when the schedule has no open interval at all (every duration is 0)."""
        return not self.weekly


# --------------------------------------------------------------------------------------------
# Interval tables
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _holiday_days(country: str, subdiv: str | None, year: int) -> frozenset[int]:
    """Holidays of one year, as day numbers since 1970-01-01."""
    calendar = holidays.country_holidays(country, subdiv=subdiv, years=year)
    return frozenset((day - _EPOCH_DATE).days for day in calendar)


def _offset_at(zone: ZoneInfo, t: int) -> int:
    offset = (_EPOCH + timedelta(seconds=t)).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@lru_cache(maxsize=1024)
def _offset_segments_for_year(zone_name: str, year: int) -> tuple[tuple[int, int], ...]:
    """Constant-offset segments of one UTC year: ((segment_start_utc, offset_seconds), ...).

    Transitions are found by sampling the offset every hour and bisecting to the exact second
    (so two transitions less than an hour apart would be missed; tzdata has none).
    """
    zone = _zone(zone_name)
    lo = int((datetime(year, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())
    hi = int((datetime(year + 1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())
    samples = list(range(lo, hi, 3600)) + [hi - 1]
    segments = [(lo, _offset_at(zone, lo))]
    previous_t, previous_offset = lo, segments[0][1]
    for t in samples[1:]:
        offset = _offset_at(zone, t)
        if offset != previous_offset:
            left, right = previous_t, t  # offset(left) is the old one, offset(right) the new one
            while right - left > 1:
                middle = (left + right) // 2
                if _offset_at(zone, middle) == previous_offset:
                    left = middle
                else:
                    right = middle
            segments.append((right, offset))
        previous_t, previous_offset = t, offset
    return tuple(segments)


def _year_start(year: int) -> int:
    return (date(year, 1, 1) - _EPOCH_DATE).days


def _local_pieces(schedule: Schedule, first_day: int, last_day: int) -> tuple[np.ndarray, ...]:
    """Open pieces in local wall-clock epoch seconds for local days first_day..last_day.

    Returns merged, sorted, disjoint (start, end) arrays. The day after last_day receives the
    spill of last_day's overnight intervals.
    """
    days = np.arange(first_day, last_day + 2, dtype=np.int64)
    closed = np.zeros(days.shape, dtype=bool)
    if schedule.holiday_country:
        first_year = (_EPOCH_DATE + timedelta(days=int(days[0]))).year
        last_year = (_EPOCH_DATE + timedelta(days=int(days[-1]))).year
        holiday_days: set[int] = set()
        for year in range(first_year, last_year + 1):
            holiday_days |= _holiday_days(schedule.holiday_country, schedule.holiday_subdiv, year)
        closed = np.isin(days, np.fromiter(holiday_days, dtype=np.int64, count=len(holiday_days)))
    weekdays = (days + 3) % 7 + 1  # 1970-01-01 was a Thursday (ISO 4)
    own = days[:-1]  # days whose own intervals we generate
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    for weekday, pairs in schedule.weekly:
        selected = weekdays[:-1] == weekday
        for start, end in pairs:
            # The part before midnight, on the interval's own day.
            same_day = selected & ~closed[:-1]
            base = own[same_day] * DAY
            starts.append(base + start)
            ends.append(base + min(end, DAY))
            if end > DAY:  # the part after midnight, on the next day, unless that is a holiday
                next_day = selected & ~closed[1:]
                base = (own[next_day] + 1) * DAY
                starts.append(base)
                ends.append(base + (end - DAY))
    if not starts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    a = np.concatenate(starts)
    b = np.concatenate(ends)
    keep = b > a
    a, b = a[keep], b[keep]
    if a.size == 0:
        return a, b
    order = np.argsort(a, kind="stable")
    a, b = a[order], b[order]
    running_end = np.maximum.accumulate(b)
    new_group = np.empty(a.shape, dtype=bool)
    new_group[0] = True
    new_group[1:] = a[1:] > running_end[:-1]
    group_starts = np.flatnonzero(new_group)
    return a[group_starts], np.maximum.reduceat(b, group_starts)


@lru_cache(maxsize=256)
def _table(schedule: Schedule, first_year: int, last_year: int) -> tuple[np.ndarray, ...]:
    """Sorted disjoint UTC open intervals and the open seconds before each one.

    Complete for every instant whose UTC year is in first_year..last_year.
    """
    # Local days: padded so every instant of those UTC years (offsets are within +-26 h) has
    # its own local day and the previous day's overnight spill in the table.
    first_day = _year_start(first_year) - 3
    last_day = _year_start(last_year + 1) + 2
    local_start, local_end = _local_pieces(schedule, first_day, last_day)
    segments: list[tuple[int, int]] = []
    for year in range(first_year - 1, last_year + 2):
        segments.extend(_offset_segments_for_year(schedule.timezone, year))
    bounds = [start for start, _ in segments] + [
        int((datetime(last_year + 2, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())
    ]
    out_start: list[np.ndarray] = []
    out_end: list[np.ndarray] = []
    for index, (segment_start, offset) in enumerate(segments):
        segment_end = bounds[index + 1]
        # Local wall-clock range covered by this UTC segment.
        lo_local, hi_local = segment_start + offset, segment_end + offset
        first = np.searchsorted(local_end, lo_local, side="right")
        last = np.searchsorted(local_start, hi_local, side="left")
        if first >= last:
            continue
        lo = np.maximum(local_start[first:last] - offset, segment_start)
        hi = np.minimum(local_end[first:last] - offset, segment_end)
        keep = hi > lo
        out_start.append(lo[keep])
        out_end.append(hi[keep])
    if out_start:
        open_start = np.concatenate(out_start)
        open_end = np.concatenate(out_end)
    else:
        open_start = open_end = np.zeros(0, dtype=np.int64)
    if open_start.size:
        # Join intervals that touch (e.g. a 24 h schedule, or across an offset change).
        new_group = np.empty(open_start.shape, dtype=bool)
        new_group[0] = True
        new_group[1:] = open_start[1:] > open_end[:-1]
        group_starts = np.flatnonzero(new_group)
        group_ends = np.r_[group_starts[1:] - 1, open_start.size - 1]
        open_start, open_end = open_start[group_starts], open_end[group_ends]
    lengths = open_end - open_start
    cum = np.zeros(open_start.shape, dtype=np.int64)
    if lengths.size > 1:
        np.cumsum(lengths[:-1], out=cum[1:])
    for array in (open_start, open_end, cum):
        array.setflags(write=False)
    return open_start, open_end, cum


def _utc_year(t: int) -> int:
    return (_EPOCH + timedelta(seconds=int(t))).year


def _as_epoch_seconds(values: object, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind == "M":
        return array.astype("datetime64[s]").astype(np.int64)
    if array.dtype.kind in "iub":
        return array.astype(np.int64, copy=False)
    raise TypeError(f"{name} must be integer UTC epoch seconds (or datetime64), got {array.dtype}")


# --------------------------------------------------------------------------------------------
# Public computations
# --------------------------------------------------------------------------------------------


def business_seconds(schedule: Schedule, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Open seconds of ``schedule`` inside each ``[starts[k], ends[k])``, vectorised.

    ``starts``/``ends`` are int64 UTC epoch seconds (datetime64 arrays are accepted too) of the
    same (or broadcastable) shape; the result is an int64 array of that shape. Where
    ``end <= start`` the result is 0. See the module docstring for the exact semantics.
    """
    s = _as_epoch_seconds(starts, "starts")
    e = _as_epoch_seconds(ends, "ends")
    s, e = np.broadcast_arrays(s, e)
    result = np.zeros(s.shape, dtype=np.int64)
    valid = e > s
    if schedule.is_empty or not valid.any():
        return result
    big = np.iinfo(np.int64).max
    lowest = int(np.min(np.where(valid, s, big)))
    highest = int(np.max(np.where(valid, e, -big)))
    try:
        first_year, last_year = _utc_year(lowest), _utc_year(highest)
    except (OverflowError, ValueError):
        first_year, last_year = 0, 0
    if first_year < _MIN_YEAR or last_year > _MAX_YEAR:
        raise ValueError(
            f"timestamps must fall in the years {_MIN_YEAR}..{_MAX_YEAR}, got {lowest}..{highest}"
        )
    open_start, open_end, cum = _table(schedule, first_year, last_year)
    if open_start.size == 0:
        return result
    lo, hi = open_start[0], open_end[-1]  # F is 0 before lo and constant after hi

    def cumulative(t: np.ndarray) -> np.ndarray:
        t = np.clip(t, lo, hi)
        i = np.searchsorted(open_start, t, side="right") - 1
        np.maximum(i, 0, out=i)
        return cum[i] + np.minimum(t - open_start[i], open_end[i] - open_start[i]).clip(min=0)

    return np.where(valid, cumulative(e) - cumulative(s), 0)


def _to_epoch(value: int | datetime, name: str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} is a naive datetime; give an aware datetime or epoch seconds")
        return int((value - _EPOCH).total_seconds() // 1)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"{name} must be epoch seconds (int) or an aware datetime, got {value!r}")


def business_seconds_between(schedule: Schedule, start: int | datetime, end: int | datetime) -> int:
    """Scalar :func:`business_seconds`: open seconds in ``[start, end)`` (0 when end <= start).

    ``start``/``end`` are UTC epoch seconds or aware datetimes (sub-second parts are floored).
    """
    s = _to_epoch(start, "start")
    e = _to_epoch(end, "end")
    return int(business_seconds(schedule, np.array([s]), np.array([e]))[0])


def reference_business_seconds(schedule: Schedule, start: int, end: int) -> int:
    """Slow, obviously-correct version of :func:`business_seconds_between`, for tests.

    Walks the real time line from ``start`` to ``end`` in pieces cut at every whole UTC minute;
    for each piece it converts the piece's first instant to local time with zoneinfo and asks
    directly: is the local date a holiday, and is the local time inside an interval of this
    weekday or in the after-midnight part of an overnight interval of the previous weekday?
    Every second of a piece shares its first instant's answer, which is exact whenever UTC
    offsets and transitions are whole minutes (true of every zone in use today).
    """
    if end <= start:
        return 0
    zone = ZoneInfo(schedule.timezone)
    weekly = dict(schedule.weekly)
    holiday_calendar = (
        holidays.country_holidays(schedule.holiday_country, subdiv=schedule.holiday_subdiv)
        if schedule.holiday_country
        else {}
    )
    total = 0
    t = start
    while t < end:
        piece_end = min(end, (t // 60 + 1) * 60)
        local = (_EPOCH + timedelta(seconds=t)).astimezone(zone)
        local_day = local.date()
        second_of_day = local.hour * 3600 + local.minute * 60 + local.second
        is_open = False
        if local_day not in holiday_calendar:
            for start_s, end_s in weekly.get(local_day.isoweekday(), ()):
                if start_s <= second_of_day < min(end_s, DAY):
                    is_open = True
            previous_weekday = (local_day - timedelta(days=1)).isoweekday()
            for _start_s, end_s in weekly.get(previous_weekday, ()):
                if end_s > DAY and second_of_day < end_s - DAY:
                    is_open = True
        if is_open:
            total += piece_end - t
        t = piece_end
    return total
