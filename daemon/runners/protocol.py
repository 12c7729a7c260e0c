"""Kestra's script output protocol: a line ``::{json}::`` carries outputs, metrics or log entries.

    ::{"outputs": {"count": 3}}::
    ::{"metrics": [{"name": "rows", "type": "counter", "value": 3, "tags": {"table": "t"}}]}::
    ::{"logs": [{"level": "WARN", "message": "almost full"}]}::

Pure: ``parse_line`` turns one line into a ``ProtocolMessage`` or None. None means "plain text" — any line
that is not a well-formed protocol object (bad JSON, wrong shapes, no known key) is logged as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

KNOWN_KEYS = frozenset({"outputs", "metrics", "logs"})


@dataclass(frozen=True)
class LogEntry:
    """A log line a script sent through the protocol."""

    level: str
    message: str


@dataclass(frozen=True)
class ProtocolMessage:
    """What one protocol line carried."""

    outputs: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    logs: list[LogEntry] = field(default_factory=list)


def parse_line(line: str) -> ProtocolMessage | None:
    """The protocol message on ``line``, or None when it is plain text (including malformed messages)."""
    text = line.strip()
    # Fast path: nearly every line is plain text.
    if len(text) < 6 or not text.startswith("::{") or not text.endswith("}::"):
        return None
    try:
        data = json.loads(text[2:-2])
    except ValueError:
        return None
    if not isinstance(data, dict) or not KNOWN_KEYS.intersection(data):
        return None
    outputs = data.get("outputs", {})
    metrics = data.get("metrics", [])
    logs = data.get("logs", [])
    if not isinstance(outputs, dict) or not isinstance(metrics, list) or not isinstance(logs, list):
        return None
    if not all(isinstance(m, dict) for m in metrics):
        return None
    entries = [_log_entry(item) for item in logs]
    if any(entry is None for entry in entries):
        return None
    return ProtocolMessage(outputs=outputs, metrics=metrics, logs=[e for e in entries if e is not None])


def _log_entry(item: Any) -> LogEntry | None:
    if isinstance(item, str):
        return LogEntry(level="INFO", message=item)
    if not isinstance(item, dict) or "message" not in item:
        return None
    message = item["message"]
    return LogEntry(
        level=str(item.get("level") or "INFO").upper(),
        message=message if isinstance(message, str) else json.dumps(message),
    )
