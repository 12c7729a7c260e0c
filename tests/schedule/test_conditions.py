"""Schedule conditions as pure functions of the tick date (Kestra's documented examples as the oracle)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from daemon.language.model import ScheduleOnDatesTrigger, ScheduleTrigger
from daemon.schedule.conditions import condition_problem
from daemon.schedule.cursor import Schedule, decide, schedule_of, trigger_variables

C = "io.kestra.plugin.core.condition."


def schedule(cron: str, conditions: list[dict[str, Any]], tz: str = "UTC") -> Schedule:
    trigger = ScheduleTrigger.model_validate(
        {"id": "s", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": cron, "timezone": tz,
         "conditions": conditions}
    )  # fmt: skip
    return schedule_of("ns", "flow", trigger)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def forward(s: Schedule, start: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    moment: datetime | None = start
    for _ in range(count):
        moment = s.after(moment) if moment is not None else None
        if moment is None:
            break
        out.append(moment)
    return out


def brute(s: Schedule, start: datetime, count: int) -> list[datetime]:
    """The same ticks found the slow way: every raw tick, tested one by one."""
    raw = Schedule(s.namespace, s.flow_id, s.trigger_id, s.tz, s.policy, spec=s.spec)
    ticks = (t for t in _raw(raw, start) if s.allows(t))
    return list(itertools.islice(ticks, count))


def _raw(s: Schedule, start: datetime) -> Any:
    moment = s.after(start)
    while moment is not None:
        yield moment
        moment = s.after(moment)


def test_weekdays_only_schedule_skips_the_weekend() -> None:
    """Kestra's migration-guide example: Not(Weekend) on a daily 09:00 schedule fires Monday to Friday."""
    s = schedule("0 9 * * *", [{"type": C + "Not", "conditions": [{"type": C + "Weekend"}]}])
    fired = forward(s, utc(2026, 12, 4, 12), 5)  # from Friday noon
    assert [t.strftime("%a %d") for t in fired] == ["Mon 07", "Tue 08", "Wed 09", "Thu 10", "Fri 11"]


def test_first_monday_of_the_month() -> None:
    """Kestra's Schedule example: cron 0 11 * * 1 with DayWeekInMonth MONDAY FIRST."""
    s = schedule(
        "0 11 * * 1", [{"type": C + "DayWeekInMonthCondition", "dayOfWeek": "MONDAY", "dayInMonth": "FIRST"}]
    )
    assert forward(s, utc(2026, 1, 1), 3) == [utc(2026, 1, 5, 11), utc(2026, 2, 2, 11), utc(2026, 3, 2, 11)]


def test_last_friday_and_day_week() -> None:
    last = schedule(
        "0 8 * * *", [{"type": C + "DayWeekInMonth", "dayOfWeek": "FRIDAY", "dayInMonth": "LAST"}]
    )
    assert forward(last, utc(2026, 1, 1), 2) == [utc(2026, 1, 30, 8), utc(2026, 2, 27, 8)]
    monday = schedule("0 8 * * *", [{"type": C + "DayWeek", "dayOfWeek": "MONDAY"}])
    assert all(t.weekday() == 0 for t in forward(monday, utc(2026, 1, 1), 4))


def test_time_between_with_an_offset() -> None:
    """Kestra's example: every 5 minutes between 16:00 and 20:00 at +02:00 (14:00-18:00 UTC), strictly."""
    s = schedule(
        "*/30 * * * *", [{"type": C + "TimeBetween", "after": "16:00:00+02:00", "before": "20:00:00+02:00"}]
    )
    day = forward(s, utc(2026, 6, 1), 7)
    assert day == [
        utc(2026, 6, 1, 14, 30),
        *(utc(2026, 6, 1, h, m) for h in (15, 16, 17) for m in (0, 30)),
    ]


def test_date_time_between_stops_the_schedule() -> None:
    s = schedule(
        "@daily",
        [{"type": C + "DateTimeBetween", "after": "2026-01-01T00:00:00Z", "before": "2026-01-04T00:00:00Z"}],
    )
    assert forward(s, utc(2025, 12, 1), 10) == [utc(2026, 1, 2), utc(2026, 1, 3)]


@pytest.mark.parametrize("tz", ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe"])
@pytest.mark.parametrize(
    "conditions",
    [
        [{"type": C + "Weekend"}],
        [
            {
                "type": C + "Or",
                "conditions": [
                    {"type": C + "DayWeek", "dayOfWeek": "TUESDAY"},
                    {"type": C + "TimeBetween", "after": "22:00:00"},
                ],
            }
        ],
        [
            {
                "type": C + "Not",
                "conditions": [{"type": C + "TimeBetween", "after": "01:00:00", "before": "05:00:00"}],
            }
        ],
        # wall-time bounds inside the spring-forward gap and the autumn repeated hour
        [{"type": C + "TimeBetween", "after": "02:10:00", "before": "02:50:00"}],
        [{"type": C + "TimeBetween", "after": "01:20:00", "before": "03:15:00"}],
    ],
)
def test_skipping_matches_testing_every_tick_across_dst(tz: str, conditions: list[dict[str, Any]]) -> None:
    """The change-point search finds exactly the ticks a tick-by-tick test finds (spring and autumn)."""
    # 2026 changes: US Mar 8 / Nov 1, EU Mar 29 / Oct 25, Lord Howe Apr 5 / Oct 4 (half an hour)
    starts = [
        utc(2026, 3, 7),
        utc(2026, 3, 27),
        utc(2026, 4, 4),
        utc(2026, 10, 3),
        utc(2026, 10, 24),
        utc(2026, 10, 31),
    ]
    for cron, count in (("*/20 * * * *", 60), ("*/5 * * * *", 20)):
        s = schedule(cron, conditions, tz)
        for start in starts:
            assert forward(s, start, count) == brute(s, start, count)


def test_trigger_next_and_previous_reflect_the_conditions() -> None:
    """Kestra: trigger.previous and trigger.next reflect the date with the conditions applied."""
    s = schedule("0 9 * * *", [{"type": C + "Not", "conditions": [{"type": C + "Weekend"}]}], "Europe/Paris")
    friday = datetime(2026, 12, 4, 9, tzinfo=ZoneInfo("Europe/Paris"))
    variables = trigger_variables(s, friday.astimezone(UTC))
    assert variables["next"].startswith("2026-12-07T09:00") and variables["previous"].startswith(
        "2026-12-03T09:00"
    )


def test_decide_skips_rejected_ticks_and_moves_the_cursor() -> None:
    """A missed weekend tick is not fired on recovery; the cursor moves past it all the same."""
    s = schedule("0 9 * * *", [{"type": C + "Not", "conditions": [{"type": C + "Weekend"}]}])
    plain = Schedule(s.namespace, s.flow_id, s.trigger_id, s.tz, "ALL", spec=s.spec)
    decision = decide(plain, utc(2026, 12, 4, 9), utc(2026, 12, 8, 10))
    assert len(decision.fire) == 5
    decision = decide(s, utc(2026, 12, 4, 9), utc(2026, 12, 8, 10))
    assert decision.fire == [utc(2026, 12, 4, 9), utc(2026, 12, 7, 9), utc(2026, 12, 8, 9)]
    assert decision.cursor == utc(2026, 12, 9, 9)


def test_schedule_on_dates_conditions_and_old_schedule_conditions() -> None:
    dates = ScheduleOnDatesTrigger.model_validate(
        {"id": "d", "type": "io.kestra.plugin.core.trigger.ScheduleOnDates",
         "dates": ["2026-12-05T09:00:00Z", "2026-12-07T09:00:00Z"], "conditions": [{"type": C + "Weekend"}]}
    )  # fmt: skip
    s = schedule_of("ns", "f", dates)
    assert s.after(utc(2026, 12, 1)) == utc(2026, 12, 5, 9) and s.after(utc(2026, 12, 5, 9)) is None
    old = ScheduleTrigger.model_validate(
        {"id": "s", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": "0 9 * * *",
         "scheduleConditions": [{"type": "io.kestra.core.models.conditions.types.WeekendCondition"}]}
    )  # fmt: skip
    assert schedule_of("ns", "f", old).after(utc(2026, 12, 1)) == utc(2026, 12, 5, 9)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ({"type": C + "DayWeek"}, "dayOfWeek"),
        ({"type": C + "DayWeekInMonth", "dayOfWeek": "MONDAY", "dayInMonth": "FIFTH"}, "dayInMonth"),
        ({"type": C + "TimeBetween", "after": "4pm"}, "ISO-8601 time"),
        ({"type": C + "DateTimeBetween", "after": "2024-01-01T00:00:00"}, "needs a zone"),
        ({"type": C + "Not", "conditions": []}, "non-empty"),
    ],
)
def test_condition_problems(raw: dict[str, Any], text: str) -> None:
    problem = condition_problem(raw)
    assert problem is not None and text in problem


def test_unknown_conditions_are_left_out() -> None:
    s = schedule("0 9 * * *", [{"type": C + "PublicHoliday"}])
    assert s.conditions is None and s.after(utc(2026, 12, 5)) == utc(2026, 12, 5, 9)
    assert timedelta(0) < s.after(utc(2026, 12, 5, 9)) - utc(2026, 12, 5, 9) <= timedelta(days=1)  # type: ignore[operator]
