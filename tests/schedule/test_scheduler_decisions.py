"""Pure schedule decisions: cursor start, due ticks under each recovery policy, trigger variables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.language.model import ScheduleOnDatesTrigger, ScheduleTrigger
from daemon.schedule.cursor import decide, first_cursor, schedule_of, trigger_variables


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 5, 6, hour, minute, second, tzinfo=UTC)


def hourly(policy: str = "ALL", **extra: object) -> ScheduleTrigger:
    return ScheduleTrigger.model_validate(
        {"id": "t", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": "0 * * * *",
         "recoverMissedSchedules": policy, **extra}
    )  # fmt: skip


def test_first_cursor_starts_at_the_first_tick_at_or_after_deployment() -> None:
    schedule = schedule_of("ns", "f", hourly())
    assert first_cursor(schedule, since=at(10, 0), last_date=None) == at(10, 0)
    assert first_cursor(schedule, since=at(10, 0, 1), last_date=None) == at(11, 0)


def test_first_cursor_of_a_redefined_trigger_skips_what_it_already_fired() -> None:
    schedule = schedule_of("ns", "f", hourly())
    assert first_cursor(schedule, since=at(9, 30), last_date=at(10)) == at(11)


def test_on_time_tick_fires_and_cursor_moves_past_now() -> None:
    decision = decide(schedule_of("ns", "f", hourly()), at(10), at(10, 0, 0))
    assert decision.fire == [at(10)]
    assert decision.cursor == at(11)


def test_nothing_due_before_the_cursor() -> None:
    decision = decide(schedule_of("ns", "f", hourly()), at(11), at(10, 59, 59))
    assert decision.fire == [] and decision.cursor == at(11)


def test_missed_ticks_follow_the_recovery_policy() -> None:
    now = at(13, 30)
    fired = {p: decide(schedule_of("ns", "f", hourly(p)), at(10), now).fire for p in ("ALL", "LAST", "NONE")}
    assert fired["ALL"] == [at(10), at(11), at(12), at(13)]
    assert fired["LAST"] == [at(13)]
    assert fired["NONE"] == []
    assert decide(schedule_of("ns", "f", hourly("NONE")), at(10), now).cursor == at(14)


def test_a_long_catch_up_is_sliced_and_resumes_after_the_last_fired_tick() -> None:
    schedule = schedule_of("ns", "f", hourly())
    decision = decide(schedule, at(0), at(23, 30), limit=5)
    assert decision.fire == [at(h) for h in range(5)]
    assert decision.cursor == at(5)


def test_late_maximum_delay_drops_ticks_fired_too_late() -> None:
    schedule = schedule_of("ns", "f", hourly(lateMaximumDelay="PT1H"))
    decision = decide(schedule, at(10), at(12, 30))
    assert decision.fire == [at(12)] and decision.skipped == 2


def test_per_second_schedule() -> None:
    trigger = ScheduleTrigger.model_validate(
        {
            "id": "s",
            "type": "io.kestra.plugin.core.trigger.Schedule",
            "cron": "* * * * * *",
            "withSeconds": True,
        }
    )
    decision = decide(schedule_of("ns", "f", trigger), at(10, 0, 1), at(10, 0, 3))
    assert decision.fire == [at(10, 0, 1), at(10, 0, 2), at(10, 0, 3)]
    assert decision.cursor == at(10, 0, 4)


def test_schedule_on_dates_in_the_trigger_time_zone() -> None:
    trigger = ScheduleOnDatesTrigger.model_validate(
        {"id": "d", "type": "io.kestra.plugin.core.trigger.ScheduleOnDates", "timezone": "Europe/Paris",
         "dates": ["2024-05-06T12:00:00", "2024-05-06T14:00:00"]}
    )  # fmt: skip
    schedule = schedule_of("ns", "f", trigger)
    assert schedule.dates == (at(10), at(12))
    decision = decide(schedule, at(10), at(10, 0, 5))
    assert decision.fire == [at(10)] and decision.cursor == at(12)
    assert decide(schedule, at(12), at(12)).cursor is None


def test_trigger_variables_are_iso_in_the_trigger_time_zone() -> None:
    schedule = schedule_of("ns", "f", hourly())
    assert trigger_variables(schedule, at(10)) == {
        "date": "2024-05-06T10:00:00Z", "next": "2024-05-06T11:00:00Z", "previous": "2024-05-06T09:00:00Z"
    }  # fmt: skip
    paris = schedule_of("ns", "f", hourly(timezone="Europe/Paris"))
    assert trigger_variables(paris, at(10))["date"] == "2024-05-06T12:00:00+02:00"


def test_grace_window_decides_what_is_on_time() -> None:
    schedule = schedule_of("ns", "f", hourly("NONE"))
    assert decide(schedule, at(10), at(10) + timedelta(seconds=59)).fire == [at(10)]
    assert decide(schedule, at(10), at(10) + timedelta(seconds=61)).fire == []
