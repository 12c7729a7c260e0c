"""Cost of the next tick of a schedule with conditions (run: python bench/schedule_conditions_bench.py).

Method: ``Schedule.after`` from 20 instants 7 h apart (the tick cache is cleared before each call, so
croniter is built as in a cold scheduler); the median is printed. The last case never passes and hits the
search limit.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.language.model import ScheduleTrigger
from daemon.schedule import cursor
from daemon.schedule.cursor import schedule_of

C = "io.kestra.plugin.core.condition."
WEEKEND = {"type": C + "Weekend"}
CASES: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "no conditions, every minute": ("* * * * *", []),
    "weekdays only, daily 09:00": ("0 9 * * *", [{"type": C + "Not", "conditions": [WEEKEND]}]),
    "weekend only, every 5 minutes (from a Monday)": ("*/5 * * * *", [WEEKEND]),
    "first Monday of the month, hourly": (
        "0 * * * *",
        [{"type": C + "DayWeekInMonth", "dayOfWeek": "MONDAY", "dayInMonth": "FIRST"}],
    ),
    "16:00-20:00 +02:00, every minute": (
        "* * * * *",
        [{"type": C + "TimeBetween", "after": "16:00:00+02:00", "before": "20:00:00+02:00"}],
    ),
    "never passes, every minute (search limit)": (
        "* * * * *",
        [WEEKEND, {"type": C + "Not", "conditions": [WEEKEND]}],
    ),
}


def main() -> None:
    start = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # a Monday
    print(f"{'case':<48} {'median ms':>10}")
    for name, (cron, conditions) in CASES.items():
        trigger = ScheduleTrigger.model_validate(
            {"id": "s", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": cron,
             "timezone": "Europe/Paris", "conditions": conditions}
        )  # fmt: skip
        schedule = schedule_of("bench", "flow", trigger)
        times = []
        for i in range(20):
            cursor._next_tick.cache_clear()
            moment = start + timedelta(hours=7 * i)
            began = time.perf_counter()
            schedule.after(moment)
            times.append(time.perf_counter() - began)
        print(f"{name:<48} {statistics.median(times) * 1000:>10.2f}")


if __name__ == "__main__":
    main()
