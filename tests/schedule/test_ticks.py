"""Cron tick computation: parsing, next/previous, backfill windows, missed-schedule recovery and DST."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from daemon.errors import FlowdError
from daemon.schedule.ticks import (
    CronError,
    CronSpec,
    due_ticks,
    next_tick,
    parse_cron,
    previous_tick,
    ticks_between,
    validate_timezone,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)  # type: ignore[misc]


def walls(spec: CronSpec, tz: str, start: datetime, end: datetime) -> list[str]:
    zone = ZoneInfo(tz)
    return [t.astimezone(zone).strftime("%m-%d %H:%M:%S%z") for t in ticks_between(spec, tz, start, end)]


# --- parsing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "with_seconds", "fields"),
    [
        ("*/5 * * * *", False, ("*/5", "*", "*", "*", "*")),
        ("  0   9 * * MON-FRI ", False, ("0", "9", "*", "*", "MON-FRI")),
        ("30 */5 * * * *", True, ("30", "*/5", "*", "*", "*", "*")),
        ("@daily", False, ("0", "0", "*", "*", "*")),
        ("@HOURLY", False, ("0", "*", "*", "*", "*")),
        ("@weekly", True, ("0", "0", "0", "*", "*", "0")),
    ],
)
def test_parse(expr: str, with_seconds: bool, fields: tuple[str, ...]) -> None:
    spec = parse_cron(expr, with_seconds=with_seconds)
    assert spec.fields == fields and spec.with_seconds is with_seconds


@pytest.mark.parametrize(
    ("expr", "with_seconds", "message"),
    [
        ("", False, "empty"),
        ("* * * *", False, "has 4 fields, expected 5 (minute hour"),
        ("0 * * * * *", False, "set withSeconds: true"),
        ("* * * * *", True, "expected 6 (second minute"),
        ("61 * * * *", False, "invalid cron expression '61 * * * *'"),
        ("0 0 31 2 *", False, "never matches"),
        ("@reboot", False, "unknown cron nickname '@reboot'"),
        ("@every 5m", False, "unknown cron nickname"),
        ("H * * * *", False, "hashed or random"),
        ("R 0 * * *", False, "hashed or random"),
        ("0 0 * FOO *", False, "invalid cron expression"),
    ],
)
def test_parse_errors(expr: str, with_seconds: bool, message: str) -> None:
    with pytest.raises(CronError) as info:
        parse_cron(expr, with_seconds=with_seconds)
    assert message in info.value.message
    assert isinstance(info.value, FlowdError) and "\n" not in info.value.message


def test_month_and_day_names_are_not_mistaken_for_hashes() -> None:
    spec = parse_cron("0 12 * MAR THU", with_seconds=False)
    assert next_tick(spec, "UTC", utc(2024, 1, 1)) == utc(2024, 3, 7, 12)


def test_validate_timezone() -> None:
    assert validate_timezone("Europe/Berlin") is None and validate_timezone("UTC") is None
    for bad in ("Mars/Olympus", "", "../etc/passwd", "Europe/"):
        error = validate_timezone(bad)
        assert error is not None and "unknown time zone" in error


def test_unknown_timezone_in_computation() -> None:
    with pytest.raises(CronError, match="unknown time zone"):
        next_tick(parse_cron("@daily"), "Nowhere/Land", utc(2024, 1, 1))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_tick(parse_cron("@daily"), "UTC", datetime(2024, 1, 1))


# --- next / previous ------------------------------------------------------------------------------------


def test_next_is_strictly_after() -> None:
    spec = parse_cron("*/15 * * * *")
    assert next_tick(spec, "UTC", utc(2024, 1, 1, 10, 0)) == utc(2024, 1, 1, 10, 15)
    assert next_tick(spec, "UTC", utc(2024, 1, 1, 9, 59, 59)) == utc(2024, 1, 1, 10, 0)
    assert previous_tick(spec, "UTC", utc(2024, 1, 1, 10, 0)) == utc(2024, 1, 1, 9, 45)
    assert previous_tick(spec, "UTC", utc(2024, 1, 1, 10, 0, 0) + timedelta.resolution) == utc(2024, 1, 1, 10)


def test_non_utc_inputs_give_utc_results() -> None:
    spec = parse_cron("0 9 * * *")
    after = datetime(2024, 6, 1, 12, tzinfo=ZoneInfo("Asia/Tokyo"))
    tick = next_tick(spec, BERLIN, after)
    assert tick == local(BERLIN, 2024, 6, 1, 9) and tick.tzinfo == UTC


def test_with_seconds() -> None:
    spec = parse_cron("*/20 30 9 * * *", with_seconds=True)
    ticks = list(ticks_between(spec, "UTC", utc(2024, 1, 1), utc(2024, 1, 2)))
    assert ticks == [utc(2024, 1, 1, 9, 30, s) for s in (0, 20, 40)]
    assert previous_tick(spec, "UTC", utc(2024, 1, 1, 9, 30, 20)) == utc(2024, 1, 1, 9, 30, 0)


@pytest.mark.parametrize(
    ("nickname", "expected"),
    [
        ("@yearly", utc(2025, 1, 1)),
        ("@annually", utc(2025, 1, 1)),
        ("@monthly", utc(2024, 6, 1)),
        ("@weekly", utc(2024, 5, 19)),  # a Sunday
        ("@daily", utc(2024, 5, 16)),
        ("@midnight", utc(2024, 5, 16)),
        ("@hourly", utc(2024, 5, 15, 13)),
    ],
)
def test_nicknames(nickname: str, expected: datetime) -> None:
    assert next_tick(parse_cron(nickname), "UTC", utc(2024, 5, 15, 12, 30)) == expected


def test_timezone_is_applied() -> None:
    spec = parse_cron("0 9 * * *")
    assert next_tick(spec, NEW_YORK, utc(2024, 1, 15)) == utc(2024, 1, 15, 14)  # EST
    assert next_tick(spec, NEW_YORK, utc(2024, 7, 15)) == utc(2024, 7, 15, 13)  # EDT


# --- ticks_between --------------------------------------------------------------------------------------


def test_ticks_between_is_half_open() -> None:
    spec = parse_cron("0 * * * *")
    ticks = list(ticks_between(spec, "UTC", utc(2024, 1, 1, 0), utc(2024, 1, 1, 3)))
    assert ticks == [utc(2024, 1, 1, 0), utc(2024, 1, 1, 1), utc(2024, 1, 1, 2)]


def test_adjacent_backfill_windows_never_share_a_tick() -> None:
    spec = parse_cron("*/7 * * * *")
    edges = [utc(2024, 1, 1) + timedelta(minutes=m) for m in (0, 7, 13, 14, 60, 61, 180)]
    windows = [list(ticks_between(spec, "UTC", a, b)) for a, b in itertools.pairwise(edges)]
    joined = [t for window in windows for t in window]
    assert joined == list(ticks_between(spec, "UTC", edges[0], edges[-1]))
    assert len(joined) == len(set(joined))


def test_empty_interval() -> None:
    spec = parse_cron("@hourly")
    assert list(ticks_between(spec, "UTC", utc(2024, 1, 1, 1), utc(2024, 1, 1, 1))) == []
    assert list(ticks_between(spec, "UTC", utc(2024, 1, 1, 2), utc(2024, 1, 1, 1))) == []


# --- DST ------------------------------------------------------------------------------------------------


def test_berlin_spring_forward_daily_at_two() -> None:
    # 2024-03-31: 02:00 CET jumps to 03:00 CEST; 02:00 does not exist that day
    spec = parse_cron("0 2 * * *")
    assert walls(spec, BERLIN, utc(2024, 3, 30), utc(2024, 4, 2)) == [
        "03-30 02:00:00+0100",
        "03-31 03:00:00+0200",
        "04-01 02:00:00+0200",
    ]


def test_berlin_spring_forward_half_past_two_fires_at_the_change() -> None:
    spec = parse_cron("30 2 * * *")
    assert next_tick(spec, BERLIN, utc(2024, 3, 30, 12)) == local(BERLIN, 2024, 3, 31, 3, 0)


def test_berlin_fall_back_daily_at_two_fires_once() -> None:
    # 2024-10-27: 03:00 CEST goes back to 02:00 CET; 02:00 happens twice
    spec = parse_cron("0 2 * * *")
    assert walls(spec, BERLIN, utc(2024, 10, 26), utc(2024, 10, 29)) == [
        "10-26 02:00:00+0200",
        "10-27 02:00:00+0200",
        "10-28 02:00:00+0100",
    ]
    second_pass = local(BERLIN, 2024, 10, 27, 2, 30, fold=1)
    assert next_tick(spec, BERLIN, local(BERLIN, 2024, 10, 27, 2, 0)) == local(BERLIN, 2024, 10, 28, 2)
    assert previous_tick(spec, BERLIN, second_pass) == local(BERLIN, 2024, 10, 27, 2, 0)


def test_new_york_spring_forward() -> None:
    # 2024-03-10: 02:00 EST jumps to 03:00 EDT
    assert walls(parse_cron("30 1 * * *"), NEW_YORK, utc(2024, 3, 9, 12), utc(2024, 3, 11, 12)) == [
        "03-10 01:30:00-0500",
        "03-11 01:30:00-0400",
    ]
    assert walls(parse_cron("30 2 * * *"), NEW_YORK, utc(2024, 3, 9, 12), utc(2024, 3, 11, 12)) == [
        "03-10 03:00:00-0400",
        "03-11 02:30:00-0400",
    ]


def test_new_york_fall_back_fixed_time_fires_once() -> None:
    # 2024-11-03: 02:00 EDT goes back to 01:00 EST; 01:30 happens twice
    spec = parse_cron("30 1 * * *")
    assert walls(spec, NEW_YORK, utc(2024, 11, 2, 12), utc(2024, 11, 4, 12)) == [
        "11-03 01:30:00-0400",
        "11-04 01:30:00-0500",
    ]
    # asked from inside the repeated hour, the next tick is the next day's
    assert next_tick(spec, NEW_YORK, local(NEW_YORK, 2024, 11, 3, 1, 10, fold=1)) == local(
        NEW_YORK, 2024, 11, 4, 1, 30
    )


def test_hourly_fall_back_fires_every_real_hour_once() -> None:
    spec = parse_cron("@hourly")
    assert walls(spec, NEW_YORK, local(NEW_YORK, 2024, 11, 3, 0), local(NEW_YORK, 2024, 11, 3, 3)) == [
        "11-03 00:00:00-0400",
        "11-03 01:00:00-0400",
        "11-03 01:00:00-0500",
        "11-03 02:00:00-0500",
    ]
    hours = list(ticks_between(spec, BERLIN, utc(2024, 10, 26, 20), utc(2024, 10, 27, 5)))
    assert hours == [utc(2024, 10, 26, 20) + timedelta(hours=h) for h in range(9)]


def test_hourly_spring_forward_fires_every_real_hour_once() -> None:
    spec = parse_cron("0 * * * *")
    hours = list(ticks_between(spec, BERLIN, utc(2024, 3, 30, 20), utc(2024, 3, 31, 5)))
    assert hours == [utc(2024, 3, 30, 20) + timedelta(hours=h) for h in range(9)]
    quarter = parse_cron("*/15 * * * *")
    ticks = list(ticks_between(quarter, NEW_YORK, utc(2024, 3, 10, 6), utc(2024, 3, 10, 8)))
    assert ticks == [utc(2024, 3, 10, 6) + timedelta(minutes=15 * q) for q in range(8)]


def test_previous_across_dst() -> None:
    spec = parse_cron("0 2 * * *")
    assert previous_tick(spec, BERLIN, utc(2024, 3, 31, 12)) == local(BERLIN, 2024, 3, 31, 3)
    hourly = parse_cron("@hourly")
    assert previous_tick(hourly, NEW_YORK, utc(2024, 11, 3, 6, 30)) == utc(2024, 11, 3, 6)
    assert previous_tick(hourly, NEW_YORK, utc(2024, 11, 3, 6, 0)) == utc(2024, 11, 3, 5)


def test_with_seconds_across_spring_forward() -> None:
    spec = parse_cron("0 */30 * * * *", with_seconds=True)
    ticks = list(ticks_between(spec, BERLIN, utc(2024, 3, 31, 0, 0), utc(2024, 3, 31, 2, 0)))
    assert ticks == [
        utc(2024, 3, 31, 0, 0),
        utc(2024, 3, 31, 0, 30),
        utc(2024, 3, 31, 1, 0),
        utc(2024, 3, 31, 1, 30),
    ]


def reference(spec: CronSpec, tz: str, start: datetime, end: datetime) -> list[datetime]:
    """Brute force, minute by minute over real time: the documented DST rules, written independently.

    croniter only lists the matching wall-clock minutes (naive calendar arithmetic, no time zones).
    """
    zone = ZoneInfo(tz)
    naive_start = start.replace(tzinfo=None) - timedelta(days=1)
    ticks = croniter(" ".join(spec.fields), naive_start)
    matching: set[datetime] = set()
    while not matching or max(matching) < end.replace(tzinfo=None) + timedelta(days=1):
        matching.add(ticks.get_next(datetime))
    fired: list[datetime] = []
    moment = start
    previous_wall = (start - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None)
    while moment < end:
        wall_aware = moment.astimezone(zone)
        wall = wall_aware.replace(tzinfo=None)
        skipped_minutes = (wall - previous_wall) // timedelta(minutes=1) - 1
        gap_match = any(
            previous_wall + timedelta(minutes=m) in matching for m in range(1, skipped_minutes + 1)
        )
        repeat = wall_aware.fold == 1 and not spec.wildcard
        if gap_match or (wall in matching and not repeat):
            fired.append(moment)
        previous_wall = wall
        moment += timedelta(minutes=1)
    return fired


@pytest.mark.parametrize("tz", [BERLIN, NEW_YORK, "Australia/Lord_Howe", "UTC", "Asia/Kolkata"])
@pytest.mark.parametrize(
    "expr", ["0 2 * * *", "30 1 * * *", "@hourly", "*/20 * * * *", "15 1-3 * * *", "0 */2 * * *", "* 2 * * *"]
)
@pytest.mark.parametrize("day", [(3, 31), (3, 10), (10, 27), (11, 3), (4, 7), (10, 6)])
def test_matches_brute_force_reference(tz: str, expr: str, day: tuple[int, int]) -> None:
    spec = parse_cron(expr)
    start = utc(2024, *day) - timedelta(hours=14)
    end = start + timedelta(hours=40)
    expected = reference(spec, tz, start, end)
    assert list(ticks_between(spec, tz, start, end)) == expected
    for tick in expected[1:]:  # next/previous agree with the enumeration from every tick
        assert next_tick(spec, tz, previous_tick(spec, tz, tick)) == tick


# --- due ticks ------------------------------------------------------------------------------------------

HOURLY = parse_cron("0 * * * *")


def test_due_in_normal_operation_is_the_same_for_every_policy() -> None:
    now = utc(2024, 1, 1, 10, 0, 5)
    for policy in ("ALL", "LAST", "NONE"):
        assert due_ticks(HOURLY, "UTC", utc(2024, 1, 1, 9), now, policy, None) == [utc(2024, 1, 1, 10)]
        assert due_ticks(HOURLY, "UTC", utc(2024, 1, 1, 10), now, policy, None) == []
        assert due_ticks(HOURLY, "UTC", utc(2024, 1, 1, 9), utc(2024, 1, 1, 9, 59), policy, None) == []


def test_due_after_downtime() -> None:
    last = utc(2024, 1, 1, 5)
    now = utc(2024, 1, 1, 10, 0, 30)  # 06:00..09:00 were missed, 10:00 is on time
    assert due_ticks(HOURLY, "UTC", last, now, "ALL", None) == [utc(2024, 1, 1, h) for h in range(6, 11)]
    assert due_ticks(HOURLY, "UTC", last, now, "LAST", None) == [utc(2024, 1, 1, 9), utc(2024, 1, 1, 10)]
    assert due_ticks(HOURLY, "UTC", last, now, "NONE", None) == [utc(2024, 1, 1, 10)]


def test_due_after_downtime_between_ticks() -> None:
    last = utc(2024, 1, 1, 5)
    now = utc(2024, 1, 1, 9, 30)  # nothing on time
    assert due_ticks(HOURLY, "UTC", last, now, "ALL", None) == [utc(2024, 1, 1, h) for h in range(6, 10)]
    assert due_ticks(HOURLY, "UTC", last, now, "LAST", None) == [utc(2024, 1, 1, 9)]
    assert due_ticks(HOURLY, "UTC", last, now, "NONE", None) == []


def test_due_grace_boundary() -> None:
    last = utc(2024, 1, 1, 9)
    grace = timedelta(seconds=60)
    on_edge = utc(2024, 1, 1, 10, 1)  # exactly grace after 10:00: still on time
    assert due_ticks(HOURLY, "UTC", last, on_edge, "NONE", None, grace=grace) == [utc(2024, 1, 1, 10)]
    late = on_edge + timedelta(seconds=1)
    assert due_ticks(HOURLY, "UTC", last, late, "NONE", None, grace=grace) == []
    assert due_ticks(HOURLY, "UTC", last, late, "LAST", None, grace=grace) == [utc(2024, 1, 1, 10)]


def test_due_first_run_uses_first_start() -> None:
    start = utc(2024, 1, 1, 7)  # inclusive
    now = utc(2024, 1, 1, 9, 30)
    assert due_ticks(HOURLY, "UTC", None, now, "ALL", start) == [
        utc(2024, 1, 1, 7),
        utc(2024, 1, 1, 8),
        utc(2024, 1, 1, 9),
    ]
    assert due_ticks(HOURLY, "UTC", None, now, "LAST", start) == [utc(2024, 1, 1, 9)]
    assert due_ticks(HOURLY, "UTC", None, now, "NONE", start) == []
    # a trigger re-enabled after its last tick: ticks from before the re-enable never fire
    assert due_ticks(HOURLY, "UTC", utc(2024, 1, 1, 1), now, "ALL", start)[0] == utc(2024, 1, 1, 7)


def test_due_without_history_only_considers_the_grace_window() -> None:
    assert due_ticks(HOURLY, "UTC", None, utc(2024, 1, 1, 10, 0, 20), "ALL", None) == [utc(2024, 1, 1, 10)]
    assert due_ticks(HOURLY, "UTC", None, utc(2024, 1, 1, 10, 20), "ALL", None) == []


def test_due_limit_batches_all() -> None:
    every_minute = parse_cron("* * * * *")
    last = utc(2024, 1, 1)
    now = utc(2024, 1, 2)
    batch = due_ticks(every_minute, "UTC", last, now, "ALL", None, limit=100)
    assert batch == [last + timedelta(minutes=m) for m in range(1, 101)]
    rest = due_ticks(every_minute, "UTC", batch[-1], now, "ALL", None, limit=10_000)
    assert len(batch) + len(rest) == 24 * 60 and rest[-1] == now


def test_due_with_seconds_and_timezone() -> None:
    spec = parse_cron("*/10 * * * * *", with_seconds=True)
    now = utc(2024, 1, 1, 12, 0, 35)
    assert due_ticks(spec, BERLIN, utc(2024, 1, 1, 12, 0, 10), now, "NONE", None) == [
        utc(2024, 1, 1, 12, 0, 20),
        utc(2024, 1, 1, 12, 0, 30),
    ]


def test_due_across_fall_back_does_not_repeat_fixed_time() -> None:
    spec = parse_cron("30 1 * * *")
    last = local(NEW_YORK, 2024, 11, 3, 1, 30)  # fired at the first 01:30
    now = local(NEW_YORK, 2024, 11, 3, 1, 31, fold=1)  # the second 01:30 has just passed
    assert due_ticks(spec, NEW_YORK, last, now, "ALL", None) == []
