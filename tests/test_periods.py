"""Period resolution (SPEC 3): presets, custom bounds, bad input, the previous period."""

import re
from datetime import UTC, date, datetime

import pytest
from tablero.errors import BadUserInput
from tablero.periods import PeriodInput, PeriodPreset, resolve_period

TZ = "America/Sao_Paulo"  # UTC-03:00 all year (no DST since 2019)
# Wednesday 2026-11-25 12:00 local
AS_OF = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def resolve(preset, start=None, end=None, as_of=AS_OF):
    return resolve_period(PeriodInput(preset=preset, start=start, end=end), TZ, as_of)


@pytest.mark.parametrize(
    "preset, start, end, previous_start, previous_end",
    [
        ("TODAY", date(2026, 11, 25), date(2026, 11, 25), date(2026, 11, 24), date(2026, 11, 24)),
        ("YESTERDAY", date(2026, 11, 24), date(2026, 11, 24), date(2026, 11, 23), date(2026, 11, 23)),
        ("LAST_7_DAYS", date(2026, 11, 19), date(2026, 11, 25), date(2026, 11, 12), date(2026, 11, 18)),
        ("LAST_15_DAYS", date(2026, 11, 11), date(2026, 11, 25), date(2026, 10, 27), date(2026, 11, 10)),
        ("LAST_30_DAYS", date(2026, 10, 27), date(2026, 11, 25), date(2026, 9, 27), date(2026, 10, 26)),
        ("LAST_45_DAYS", date(2026, 10, 12), date(2026, 11, 25), date(2026, 8, 28), date(2026, 10, 11)),
        ("LAST_60_DAYS", date(2026, 9, 27), date(2026, 11, 25), date(2026, 7, 29), date(2026, 9, 26)),
        ("LAST_90_DAYS", date(2026, 8, 28), date(2026, 11, 25), date(2026, 5, 30), date(2026, 8, 27)),
        # the day after 2026-05-25 .. today: 184 days; the previous period has 184 days too
        ("LAST_6_MONTHS", date(2026, 5, 26), date(2026, 11, 25), date(2025, 11, 23), date(2026, 5, 25)),
    ],
)
def test_presets(preset, start, end, previous_start, previous_end):
    period = resolve(PeriodPreset[preset])
    assert (period.current.start, period.current.end) == (start, end)
    assert (period.previous.start, period.previous.end) == (previous_start, previous_end)
    assert period.previous.days == period.current.days


def test_bounds_are_local_midnights_and_clipped_at_as_of():
    period = resolve(PeriodPreset.LAST_7_DAYS)
    # 2026-11-19 00:00 -03:00 == 03:00 UTC
    assert period.current.start_ts == int(datetime(2026, 11, 19, 3, tzinfo=UTC).timestamp())
    # clipped at asOf (+1 s, half-open) so a past dashboard is reproduced exactly
    assert period.current.end_ts == int(AS_OF.timestamp()) + 1
    # the previous period is whole days: 2026-11-12 00:00 .. 2026-11-19 00:00 local
    assert period.previous.end_ts == period.current.start_ts


def test_custom_inclusive_bounds():
    period = resolve(PeriodPreset.CUSTOM, date(2026, 1, 1), date(2026, 1, 31))
    assert period.current.days == 31
    assert (period.previous.start, period.previous.end) == (date(2025, 12, 1), date(2025, 12, 31))
    assert period.current.end_ts == int(datetime(2026, 2, 1, 3, tzinfo=UTC).timestamp())


def test_custom_of_366_days_is_allowed():
    assert resolve(PeriodPreset.CUSTOM, date(2024, 1, 1), date(2024, 12, 31)).current.days == 366


@pytest.mark.parametrize(
    "preset, start, end, message",
    [
        (PeriodPreset.CUSTOM, date(2026, 2, 1), date(2026, 1, 1), "starts (2026-02-01) after"),
        (PeriodPreset.CUSTOM, date(2025, 1, 1), date(2026, 1, 2), "at most 366 days"),
        (PeriodPreset.CUSTOM, None, date(2026, 1, 2), "needs both start and end"),
        (PeriodPreset.LAST_7_DAYS, date(2026, 1, 1), None, "only used with preset CUSTOM"),
    ],
)
def test_bad_periods(preset, start, end, message):
    with pytest.raises(BadUserInput, match=re.escape(message)):
        resolve(preset, start, end)


@pytest.mark.parametrize("as_of", [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)])
def test_as_of_out_of_range_is_bad_user_input(as_of):
    with pytest.raises(BadUserInput, match="asOf must be between"):
        resolve(PeriodPreset.LAST_7_DAYS, as_of=as_of)


def test_custom_dates_out_of_range_are_bad_user_input():
    with pytest.raises(BadUserInput, match="end must be between"):
        resolve(PeriodPreset.CUSTOM, date(2026, 1, 1), date(9999, 12, 31))


def test_today_follows_the_organization_time_zone():
    # 02:30 UTC on the 26th is still the 25th (23:30) in Sao Paulo
    late = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    assert resolve(PeriodPreset.TODAY, as_of=late).current.start == date(2026, 11, 25)


def test_report_filters_remember_computes_once_per_request_and_shares_with_copies():
    """ReportFilters.remember: a request's shared lookup runs once, its copies without a
    dimension (without()) share it, and another request's filters compute their own."""
    from datetime import UTC, datetime

    from tablero import ReportFilters, resolve_period

    period = resolve_period(None, "America/Sao_Paulo", datetime(2026, 11, 25, 15, tzinfo=UTC))
    calls = []

    def lookup():
        calls.append(1)
        return len(calls)

    f = ReportFilters(1, "America/Sao_Paulo", period, channel="SMS")
    assert f.remember("reasons", lookup) == 1
    assert f.remember("reasons", lookup) == 1
    assert f.without("channel").remember("reasons", lookup) == 1
    assert f.remember("other", lookup) == 2
    other_request = ReportFilters(1, "America/Sao_Paulo", period, channel="SMS")
    assert other_request == f  # the memo is not part of the filters' identity
    assert other_request.remember("reasons", lookup) == 3


def test_report_filters_remember_makes_a_second_thread_wait_for_the_first_compute():
    """Two worker threads of one report asking for the same key: one computes, the other waits
    for its value (the funnels share one campaign reach); an error is not remembered."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    from tablero import ReportFilters, resolve_period

    period = resolve_period(None, "America/Sao_Paulo", datetime(2026, 11, 25, 15, tzinfo=UTC))
    f = ReportFilters(1, "America/Sao_Paulo", period)
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow_lookup():
        calls.append(1)
        started.set()
        release.wait(5)
        return "reach"

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(f.remember, "reach", slow_lookup)
        started.wait(5)
        second = pool.submit(f.remember, "reach", slow_lookup)
        release.set()
        assert (first.result(5), second.result(5)) == ("reach", "reach")
    assert len(calls) == 1

    def failing():
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        f.remember("broken", failing)
    assert f.remember("broken", lambda: "retried") == "retried"
