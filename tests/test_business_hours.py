"""Business-hours clock (SPEC section 4): hand-computed cases, DST, holidays, validation, and a
randomised comparison of the vectorised clock against the slow reference walk."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pytest
from tablero.business_hours import (
    DEFAULT_WEEKLY,
    Schedule,
    ScheduleError,
    business_seconds,
    business_seconds_between,
    reference_business_seconds,
    validate_weekly,
)

H = 3600
SP_TZ = "America/Sao_Paulo"
NY_TZ = "America/New_York"
EVERY_DAY = {day: [["00:00", "24:00"]] for day in range(1, 8)}


def at(text: str, tz: str = SP_TZ) -> int:
    """Epoch seconds of a local wall-clock time, e.g. at("2026-03-02 10:00")."""
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp())


def both(schedule: Schedule, start: int, end: int) -> int:
    """The fast clock's answer, after checking that the reference walk agrees with it."""
    fast = business_seconds_between(schedule, start, end)
    assert fast == reference_business_seconds(schedule, start, end)
    return fast


@pytest.fixture(scope="module")
def office() -> Schedule:
    """Mon-Fri 09:00-18:00 in Sao Paulo, no holidays."""
    return Schedule.from_weekly(SP_TZ, None)


@pytest.fixture(scope="module")
def office_br() -> Schedule:
    return Schedule.from_weekly(SP_TZ, None, "BR")


@pytest.fixture(scope="module")
def office_br_sp() -> Schedule:
    return Schedule.from_weekly(SP_TZ, None, "BR", "SP")


@pytest.fixture(scope="module")
def night_shift() -> Schedule:
    """Mon-Fri 22:00-02:00 (into the next morning), Sao Paulo, BR holidays."""
    return Schedule.from_weekly(SP_TZ, {d: [["22:00", "02:00"]] for d in range(1, 6)}, "BR")


# --- plain weekdays --------------------------------------------------------------------------


def test_default_weekly_is_monday_to_friday_nine_to_six(office):
    assert DEFAULT_WEEKLY == {d: [("09:00", "18:00")] for d in range(1, 6)}
    assert office.weekly == tuple((d, ((9 * H, 18 * H),)) for d in range(1, 6))


def test_inside_hours(office):
    # Monday 2026-03-02 10:00 -> 12:30: all inside 09-18.
    assert both(office, at("2026-03-02 10:00"), at("2026-03-02 12:30")) == 2 * H + 30 * 60


def test_out_of_hours_evening_to_next_morning(office):
    # Monday 18:30 -> Tuesday 08:00: nothing open.
    assert both(office, at("2026-03-02 18:30"), at("2026-03-03 08:00")) == 0
    # Monday 17:00 -> Tuesday 10:00: 17-18 + 09-10.
    assert both(office, at("2026-03-02 17:00"), at("2026-03-03 10:00")) == 2 * H


def test_across_a_weekend(office):
    # Friday 2026-03-06 17:00 -> Monday 2026-03-09 10:00: Fri 17-18 (1 h) + Mon 09-10 (1 h).
    assert both(office, at("2026-03-06 17:00"), at("2026-03-09 10:00")) == 2 * H


def test_a_whole_week(office):
    # Monday 00:00 -> next Monday 00:00: 5 days x 9 h.
    assert both(office, at("2026-03-02 00:00"), at("2026-03-09 00:00")) == 45 * H


# --- holidays --------------------------------------------------------------------------------


def test_the_holidays_package_has_the_dates_used_here():
    br = holidays.country_holidays("BR", years=2026)
    br_sp = holidays.country_holidays("BR", subdiv="SP", years=2026)
    assert "2026-09-07" in br  # Independência (Monday)
    assert "2026-11-20" in br  # Dia da Consciência Negra, national since 2024 (Friday)
    assert "2026-07-09" not in br  # Revolução Constitucionalista: São Paulo state only
    assert "2026-07-09" in br_sp


def test_national_holiday_monday(office, office_br):
    # Friday 2026-09-04 17:00 -> Tuesday 2026-09-08 10:00.
    start, end = at("2026-09-04 17:00"), at("2026-09-08 10:00")
    # Without holidays: Fri 1 h + Mon 9 h + Tue 1 h.
    assert both(office, start, end) == 11 * H
    # Monday 7 September is Independência: Fri 1 h + Tue 1 h.
    assert both(office_br, start, end) == 2 * H


def test_consciencia_negra(office, office_br):
    # Thursday 2026-11-19 17:00 -> Monday 2026-11-23 10:00; Friday the 20th is a holiday.
    start, end = at("2026-11-19 17:00"), at("2026-11-23 10:00")
    assert both(office, start, end) == 11 * H  # Thu 1 h + Fri 9 h + Mon 1 h
    assert both(office_br, start, end) == 2 * H  # Thu 1 h + Mon 1 h


def test_state_holiday_needs_the_subdivision(office_br, office_br_sp):
    # Wednesday 2026-07-08 17:00 -> Friday 2026-07-10 10:00; Thursday the 9th is a SP holiday.
    start, end = at("2026-07-08 17:00"), at("2026-07-10 10:00")
    assert both(office_br, start, end) == 11 * H  # Wed 1 h + Thu 9 h + Fri 1 h
    assert both(office_br_sp, start, end) == 2 * H  # Wed 1 h + Fri 1 h


def test_holiday_codes_are_case_insensitive():
    schedule = Schedule.from_weekly(SP_TZ, None, "br", "sp")
    assert (schedule.holiday_country, schedule.holiday_subdiv) == ("BR", "SP")


# --- overnight intervals ---------------------------------------------------------------------


def test_overnight_interval_is_normalised_past_midnight(night_shift):
    assert dict(night_shift.weekly)[5] == ((22 * H, 26 * H),)
    assert night_shift.to_weekly()["5"] == [["22:00", "02:00"]]


def test_overnight_across_midnight(night_shift):
    # Thursday 2026-03-05 23:00 -> Friday 01:30: 23:00-01:30 all inside Thu 22:00-02:00.
    assert both(night_shift, at("2026-03-05 23:00"), at("2026-03-06 01:30")) == 2 * H + 30 * 60
    # Friday 21:00 -> Saturday 03:00: the Friday shift runs Fri 22:00 - Sat 02:00.
    assert both(night_shift, at("2026-03-06 21:00"), at("2026-03-07 03:00")) == 4 * H
    # Saturday 21:00 -> Sunday 03:00: no shift starts on Saturday.
    assert both(night_shift, at("2026-03-07 21:00"), at("2026-03-08 03:00")) == 0


def test_overnight_spilling_into_a_holiday(night_shift):
    # Thursday 2026-11-19 21:00 -> Friday 2026-11-20 03:00. The Thursday shift is 22:00-02:00,
    # but Friday the 20th is a holiday, which closes its whole day: only Thu 22:00-24:00 counts.
    assert both(night_shift, at("2026-11-19 21:00"), at("2026-11-20 03:00")) == 2 * H
    no_holidays = Schedule.from_weekly(SP_TZ, {d: [["22:00", "02:00"]] for d in range(1, 6)})
    assert both(no_holidays, at("2026-11-19 21:00"), at("2026-11-20 03:00")) == 4 * H


def test_overnight_starting_on_a_holiday_opens_after_midnight(night_shift):
    # Friday 2026-11-20 (holiday) 21:00 -> Saturday 03:00: Fri 22-24 closed, Sat 00-02 open.
    assert both(night_shift, at("2026-11-20 21:00"), at("2026-11-21 03:00")) == 2 * H


def test_sunday_overnight_spills_into_monday():
    schedule = Schedule.from_weekly(SP_TZ, {"7": [["20:00", "08:00"]]})
    # Sunday 2026-03-08 12:00 -> Monday 12:00: Sun 20:00 -> Mon 08:00.
    assert both(schedule, at("2026-03-08 12:00"), at("2026-03-09 12:00")) == 12 * H


def test_equal_start_and_end_is_a_full_day_from_that_time():
    schedule = Schedule.from_weekly(SP_TZ, {"1": [["09:00", "09:00"]]})
    # Monday 2026-03-02 09:00 -> Tuesday 09:00 is open; a week holds exactly 24 h.
    assert both(schedule, at("2026-03-02 00:00"), at("2026-03-09 00:00")) == 24 * H
    assert schedule.to_weekly() == {"1": [["09:00", "09:00"]]}


def test_overlapping_intervals_count_once():
    schedule = Schedule.from_weekly(
        SP_TZ, {"1": [["09:00", "12:00"], ["11:00", "14:00"]], "7": [["23:00", "10:00"]]}
    )
    # Monday 2026-03-02: Sun spill 00:00-10:00 and 09:00-14:00 overlap: 00:00-14:00 = 14 h.
    assert dict(schedule.weekly)[1] == ((9 * H, 14 * H),)
    assert both(schedule, at("2026-03-02 00:00"), at("2026-03-03 00:00")) == 14 * H


# --- daylight saving time --------------------------------------------------------------------


def test_spring_forward_day_is_23_hours():
    schedule = Schedule.from_weekly(NY_TZ, EVERY_DAY)
    # 2026-03-08: clocks jump 02:00 EST -> 03:00 EDT. Wall clock says 24 h, real time is 23 h.
    start, end = at("2026-03-08 00:00", NY_TZ), at("2026-03-09 00:00", NY_TZ)
    assert end - start == 23 * H
    assert both(schedule, start, end) == 23 * H
    # Saturday 12:00 EST -> Monday 12:00 EDT: 48 wall-clock hours, 47 real ones.
    assert both(schedule, at("2026-03-07 12:00", NY_TZ), at("2026-03-09 12:00", NY_TZ)) == 47 * H


def test_fall_back_day_is_25_hours():
    schedule = Schedule.from_weekly(NY_TZ, EVERY_DAY)
    # 2026-11-01: clocks go back 02:00 EDT -> 01:00 EST; 01:00-02:00 happens twice.
    start, end = at("2026-11-01 00:00", NY_TZ), at("2026-11-02 00:00", NY_TZ)
    assert end - start == 25 * H
    assert both(schedule, start, end) == 25 * H


def test_one_to_three_on_dst_sundays():
    schedule = Schedule.from_weekly(NY_TZ, {"7": [["01:00", "03:00"]]})
    # Spring forward: 01:00 EST -> 03:00 EDT is one real hour.
    assert both(schedule, at("2026-03-08 00:00", NY_TZ), at("2026-03-09 00:00", NY_TZ)) == H
    # Fall back: 01:00 EDT -> 01:00 EST -> 03:00 EST is three real hours.
    assert both(schedule, at("2026-11-01 00:00", NY_TZ), at("2026-11-02 00:00", NY_TZ)) == 3 * H
    # An ordinary Sunday in between: two hours.
    assert both(schedule, at("2026-06-07 00:00", NY_TZ), at("2026-06-08 00:00", NY_TZ)) == 2 * H


def test_interval_starting_in_the_spring_forward_gap():
    # 02:30 does not exist on 2026-03-08; the first real instant whose wall clock is in
    # 02:30-04:00 is 03:00 EDT, so the interval holds 03:00-04:00 EDT = 1 h.
    schedule = Schedule.from_weekly(NY_TZ, {"7": [["02:30", "04:00"]]})
    assert both(schedule, at("2026-03-08 00:00", NY_TZ), at("2026-03-09 00:00", NY_TZ)) == H


def test_interval_ending_or_starting_in_the_repeated_hour():
    # 00:00-01:30 on 2026-11-01: 00:00-01:30 EDT (1.5 h) and again 01:00-01:30 EST (0.5 h).
    schedule = Schedule.from_weekly(NY_TZ, {"7": [["00:00", "01:30"]]})
    assert both(schedule, at("2026-11-01 00:00", NY_TZ), at("2026-11-02 00:00", NY_TZ)) == 2 * H
    # 01:30-03:00 on 2026-11-01: 01:30-02:00 EDT (0.5 h), then 01:30-03:00 EST (1.5 h).
    schedule = Schedule.from_weekly(NY_TZ, {"7": [["01:30", "03:00"]]})
    assert both(schedule, at("2026-11-01 00:00", NY_TZ), at("2026-11-02 00:00", NY_TZ)) == 2 * H


def test_sao_paulo_has_no_dst_since_2019():
    schedule = Schedule.from_weekly(SP_TZ, EVERY_DAY)
    # 2026-11-01 (first Sunday of November) is an ordinary 24 h day.
    assert both(schedule, at("2026-11-01 00:00"), at("2026-11-02 00:00")) == 24 * H
    # 2018-11-04 was Brazil's last spring-forward day: 23 h. The zone's history is honoured.
    assert both(schedule, at("2018-11-04 00:00"), at("2018-11-05 00:00")) == 23 * H


# --- edge cases ------------------------------------------------------------------------------


def test_end_not_after_start_is_zero(office):
    t = at("2026-03-02 10:00")
    assert business_seconds_between(office, t, t) == 0
    assert business_seconds_between(office, t + H, t) == 0
    assert reference_business_seconds(office, t + H, t) == 0
    result = business_seconds(office, np.array([t, t + H, t]), np.array([t, t, t + H]))
    assert result.tolist() == [0, 0, H]


def test_empty_schedule_is_always_zero():
    closed = Schedule.from_weekly(SP_TZ, {})
    assert closed.is_empty
    assert Schedule.from_weekly(SP_TZ, {"6": [], "7": None}) == closed
    start, end = at("2026-01-01 00:00"), at("2027-01-01 00:00")
    assert both(closed, start, end) == 0
    assert business_seconds(closed, np.array([start]), np.array([end])).tolist() == [0]


def test_empty_arrays(office):
    result = business_seconds(office, np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert result.dtype == np.int64 and result.shape == (0,)


def test_array_spanning_several_years_and_datetime64(office_br_sp):
    starts = np.array([at("2025-12-31 17:00"), at("2027-07-08 17:00")])
    ends = np.array([at("2026-01-02 10:00"), at("2027-07-09 12:00")])
    # 2025-12-31 (Wed) 17-18 = 1 h, 2026-01-01 holiday, 2026-01-02 (Fri) 09-10 = 1 h;
    # 2027-07-08 (Thu) 17-18 = 1 h, 2027-07-09 (Fri) SP holiday.
    expected = [2 * H, H]
    assert business_seconds(office_br_sp, starts, ends).tolist() == expected
    as_datetime64 = business_seconds(
        office_br_sp, starts.astype("datetime64[s]"), ends.astype("datetime64[s]")
    )
    assert as_datetime64.tolist() == expected


def test_scalar_accepts_aware_datetimes(office):
    start = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 09:00 in Sao Paulo
    end = datetime(2026, 3, 2, 10, 30, tzinfo=ZoneInfo(SP_TZ))
    assert business_seconds_between(office, start, end) == 90 * 60
    with pytest.raises(ValueError, match="naive"):
        business_seconds_between(office, datetime(2026, 3, 2, 12), end)


def test_schedule_is_hashable_and_round_trips(office_br_sp):
    same = Schedule.from_weekly(
        SP_TZ,
        '{"1": [["09:00","18:00"]], "2": [["09:00","18:00"]],'
        ' "3": [["09:00","18:00"]], "4": [["09:00","18:00"]],'
        ' "5": [["9:00","18:00"]]}',
        "BR",
        "SP",
    )
    assert same == office_br_sp and hash(same) == hash(office_br_sp)
    assert Schedule.from_weekly(SP_TZ, office_br_sp.to_weekly(), "BR", "SP") == office_br_sp


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weekly", "message"),
    [
        ({"8": [["09:00", "18:00"]]}, 'weekday "8" is not 1..7'),
        ({"0": [["09:00", "18:00"]]}, 'weekday "0" is not 1..7'),
        ({"monday": [["09:00", "18:00"]]}, 'weekday "monday" is not 1..7'),
        ({"1": [["25:00", "26:00"]]}, 'bad time "25:00", use HH:MM'),
        ({"1": [["09:00", "18:60"]]}, 'bad time "18:60", use HH:MM'),
        ({"1": [["9am", "6pm"]]}, 'bad time "9am", use HH:MM'),
        ({"1": [["24:00", "06:00"]]}, '"24:00" is only allowed as an end'),
        ({"1": [["09:00"]]}, 'expected \\["HH:MM", "HH:MM"\\]'),
        ({"1": "09:00-18:00"}, "expected a list of"),
        ({"1": [["09:00", 18]]}, 'time 18 must be a "HH:MM" string'),
        ({1: [], "1": []}, "more than once"),
        ([["09:00", "18:00"]], "must be an object mapping ISO weekday"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_weekly_is_rejected_with_a_clear_message(weekly, message):
    with pytest.raises(ScheduleError, match=message):
        validate_weekly(weekly)
    with pytest.raises(ScheduleError, match=message):
        Schedule.from_weekly(SP_TZ, weekly)


def test_error_names_the_weekday_and_interval():
    with pytest.raises(ScheduleError, match=r"weekday 3 \(Wednesday\), interval 2"):
        validate_weekly({"3": [["09:00", "12:00"], ["13:00", "25:00"]]})


def test_valid_weekly_passes():
    validate_weekly(None)
    validate_weekly({})
    validate_weekly('{"6": [["22:00", "02:00"]], "7": [["00:00", "24:00"]]}')
    validate_weekly({5: [("18:00", "24:00")]})


def test_unknown_timezone():
    with pytest.raises(ScheduleError, match='unknown time zone "Mars/Olympus"'):
        Schedule.from_weekly("Mars/Olympus", None)
    with pytest.raises(ScheduleError, match="time zone is required"):
        Schedule.from_weekly("", None)


def test_unknown_holiday_calendar():
    with pytest.raises(ScheduleError, match='unknown holiday country "XX"'):
        Schedule.from_weekly(SP_TZ, None, "XX")
    with pytest.raises(ScheduleError, match='unknown holiday subdivision "ZZ" for country BR'):
        Schedule.from_weekly(SP_TZ, None, "BR", "ZZ")
    with pytest.raises(ScheduleError, match="without a holiday country"):
        Schedule.from_weekly(SP_TZ, None, None, "SP")


def test_schedule_error_is_a_value_error():
    assert issubclass(ScheduleError, ValueError)
    with pytest.raises(ScheduleError, match="from_weekly"):
        Schedule(timezone=SP_TZ, weekly={"1": [["09:00", "18:00"]]})  # type: ignore[arg-type]


# --- fast clock == reference walk ------------------------------------------------------------

RANDOM_SCHEDULES = {
    "office BR/SP": Schedule.from_weekly(SP_TZ, None, "BR", "SP"),
    "night shift BR": Schedule.from_weekly(
        SP_TZ, {d: [["22:00", "02:00"]] for d in range(1, 6)}, "BR"
    ),
    "split and overnight, New York, US holidays": Schedule.from_weekly(
        NY_TZ,
        {
            "1": [["08:00", "12:00"], ["13:00", "17:30"]],
            "3": [["01:30", "02:30"], ["23:00", "01:45"]],
            "5": [["00:00", "24:00"]],
            "6": [["10:00", "10:00"]],
            "7": [["00:00", "01:30"], ["02:15", "03:00"], ["22:00", "06:00"]],
        },
        "US",
    ),
    "every day 24 h, Berlin, DE/BY": Schedule.from_weekly("Europe/Berlin", EVERY_DAY, "DE", "BY"),
}

# Instants where the random intervals should cluster: DST changes and holidays.
HOT_SPOTS = [
    at("2026-03-08 02:00", NY_TZ),
    at("2026-11-01 01:30", NY_TZ),
    at("2026-03-29 02:00", "Europe/Berlin"),
    at("2026-10-25 02:30", "Europe/Berlin"),
    at("2026-11-20 00:00"),
    at("2026-07-09 00:00"),
    at("2026-12-25 00:00"),
    at("2027-01-01 00:00"),
]


def random_intervals(rng: random.Random, count: int, *, minute_aligned: bool) -> list[tuple]:
    lo, hi = at("2025-12-01 00:00"), at("2027-01-15 00:00")
    intervals = []
    for _ in range(count):
        if rng.random() < 0.4:
            start = rng.choice(HOT_SPOTS) + rng.randint(-3 * 86400, 3 * 86400)
        else:
            start = rng.randint(lo, hi)
        span = round(60 * 10 ** rng.uniform(0, np.log10(10 * 24 * 60)))  # 1 min .. 10 days
        if minute_aligned:
            start -= start % 60
            span -= span % 60
        intervals.append((start, start + span))
    return intervals


@pytest.mark.parametrize("name", list(RANDOM_SCHEDULES))
def test_random_intervals_match_the_reference(name):
    schedule = RANDOM_SCHEDULES[name]
    rng = random.Random(f"business-hours {name}")
    intervals = random_intervals(rng, 90, minute_aligned=True)
    intervals += random_intervals(rng, 10, minute_aligned=False)
    intervals.append((intervals[0][1], intervals[0][0]))  # reversed: 0
    starts = np.array([s for s, _ in intervals], dtype=np.int64)
    ends = np.array([e for _, e in intervals], dtype=np.int64)
    fast = business_seconds(schedule, starts, ends)
    expected = [reference_business_seconds(schedule, s, e) for s, e in intervals]
    mismatches = [
        (datetime.fromtimestamp(s, UTC).isoformat(), e - s, got, want)
        for (s, e), got, want in zip(intervals, fast.tolist(), expected, strict=True)
        if got != want
    ]
    assert not mismatches, mismatches
    assert sum(expected) > 0
    # Each row on its own (a different cached year range) gives the same answer.
    for (s, e), want in zip(intervals[:20], expected, strict=False):
        assert business_seconds_between(schedule, s, e) == want
