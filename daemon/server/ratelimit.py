"""Failed-login limiting per client, and remembering push-hook deliveries; both in memory, time passed in.

In memory is enough: one daemon answers its UI and hooks, and a restart only forgets a few minutes.
"""

from __future__ import annotations

from collections import OrderedDict, deque


class FailureLimiter:
    """At most ``limit`` failures per key in any ``window`` seconds; the key is then blocked until the oldest
    counted failure leaves the window."""

    def __init__(self, *, limit: int = 10, window: float = 300.0, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str, *, now: float) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        failures = self._prune(key, now)
        if failures is None or len(failures) < self.limit:
            return 0.0
        return max(0.0, failures[0] + self.window - now)

    def failed(self, key: str, *, now: float) -> None:
        """Count one failure of ``key``."""
        failures = self._prune(key, now)
        if failures is None:
            failures = self._failures[key] = deque()
            while len(self._failures) > self.max_keys:  # a flood of addresses cannot grow this forever
                self._failures.popitem(last=False)
        failures.append(now)

    def succeeded(self, key: str) -> None:
        """Forget ``key``'s failures."""
        self._failures.pop(key, None)

    def _prune(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures


class DeliveryLog:
    """Which push deliveries were seen in the last ``window`` seconds (by delivery id or body hash)."""

    def __init__(self, *, window: float = 3600.0, max_keys: int = 10_000) -> None:
        self.window = window
        self.max_keys = max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, key: str, *, now: float) -> bool:
        """True the first time ``key`` is seen within the window (and remembers it); False for a replay."""
        while self._seen:
            at = next(iter(self._seen.values()))
            if at > now - self.window and len(self._seen) < self.max_keys:
                break
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True
