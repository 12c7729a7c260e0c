"""How much one task attempt may log: a cap on the whole (``max_bytes``) and on each line (``max_line``).

Past the cap, lines are dropped and counted; ``summary()`` gives the one line saying how much was dropped
(logged when the attempt's output ends). A line over ``max_line`` keeps its beginning and says how much was
cut.
Sizes are UTF-8 bytes. The defaults come from the settings (``FLOWD_MAX_LOG_BYTES``,
``FLOWD_MAX_LOG_LINE_BYTES``) through ``configure`` at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class OutputLimits:
    """The caps; 0 means no cap."""

    max_bytes: int = 10 * MB
    max_line: int = 64 * 1024


_limits = OutputLimits()


def configure(limits: OutputLimits) -> None:
    """Set the limits every new ``OutputCap`` starts with (called once when the daemon starts)."""
    global _limits
    _limits = limits


def current_limits() -> OutputLimits:
    """The configured limits."""
    return _limits


def _size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "replace"))


class OutputCap:
    """Counts one attempt's log output and decides what of it is kept."""

    def __init__(self, limits: OutputLimits | None = None) -> None:
        self.limits = limits or _limits
        self.kept = 0
        self.dropped_bytes = 0
        self.dropped_lines = 0

    def admit(self, message: str) -> str | None:
        """``message`` as it may be stored (a long line cut), or None when the attempt's cap is reached."""
        size = _size(message)
        max_line = self.limits.max_line
        if max_line and size > max_line:
            head = message.encode("utf-8", "replace")[:max_line].decode("utf-8", "ignore")
            message = f"{head} [... line cut: {size - max_line} more bytes]"
            size = _size(message)
        max_bytes = self.limits.max_bytes
        if max_bytes and self.kept + size > max_bytes:
            self.dropped_bytes += size
            self.dropped_lines += 1
            return None
        self.kept += size
        return message

    def summary(self) -> str | None:
        """The one line saying what was dropped, or None when nothing was."""
        if not self.dropped_lines:
            return None
        return (
            f"log output of this attempt reached its cap of {self.limits.max_bytes} bytes: "
            f"{self.dropped_lines} more lines ({self.dropped_bytes} bytes) were dropped"
        )
