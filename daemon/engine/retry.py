"""When a failed attempt is tried again (Kestra's constant / exponential / random retry). Pure."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from daemon.language.common import Retry

DEFAULT_INTERVAL = timedelta(seconds=1)


def retry_delay(
    retry: Retry | None,
    *,
    attempts_done: int,
    first_start: datetime,
    now: datetime,
    rng: random.Random | None = None,
) -> timedelta | None:
    """The wait before the next attempt, or None when no attempt is left.

    ``attempts_done`` counts finished attempts (the failed one included). ``maxAttempt`` counts every attempt
    (Kestra), ``maxDuration`` bounds the time from the first attempt to the start of the next one.
    """
    if retry is None:
        return None
    if retry.maxAttempt is None and retry.maxDuration is None:
        return None
    if retry.maxAttempt is not None and attempts_done >= retry.maxAttempt:
        return None
    interval = retry.interval or DEFAULT_INTERVAL
    if retry.type == "exponential":
        factor = retry.delayFactor if retry.delayFactor is not None else 2.0
        delay = interval * (factor ** max(attempts_done - 1, 0))
    elif retry.type == "random":
        low = retry.minInterval or timedelta(0)
        high = retry.maxInterval or interval
        delay = low + (high - low) * (rng or random.Random()).random()
    else:
        delay = interval
    if retry.maxInterval is not None and delay > retry.maxInterval:
        delay = retry.maxInterval
    if retry.maxDuration is not None and now + delay - first_start > retry.maxDuration:
        return None
    return delay
