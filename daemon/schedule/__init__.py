"""Schedules: cron tick computation (pure, ``ticks.py``) and, later, the scheduler loop."""

from daemon.schedule.ticks import (
    CronError,
    CronSpec,
    RecoverPolicy,
    due_ticks,
    next_tick,
    parse_cron,
    previous_tick,
    ticks_between,
    validate_timezone,
)

__all__ = [
    "CronError",
    "CronSpec",
    "RecoverPolicy",
    "due_ticks",
    "next_tick",
    "parse_cron",
    "previous_tick",
    "ticks_between",
    "validate_timezone",
]
