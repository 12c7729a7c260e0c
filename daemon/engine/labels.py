"""Execution labels as expressions see them, and the system labels every execution carries."""

from __future__ import annotations

from typing import Any

CORRELATION_ID = "system.correlationId"


class Labels(dict[str, str]):
    """A plain dict of labels where a dotted key is also reachable as a path: ``labels.system.correlationId``
    reads ``labels['system.correlationId']`` (Kestra renders both)."""

    def __missing__(self, key: str) -> Any:
        prefix = f"{key}."
        nested = {k[len(prefix) :]: v for k, v in self.items() if k.startswith(prefix)}
        if not nested:
            raise KeyError(key)
        return Labels(nested)


def with_system_labels(labels: dict[str, str], *, execution_id: str) -> dict[str, str]:
    """``labels`` plus ``system.correlationId``: this execution's id unless given (a subflow is given its
    parent's, so the whole tree shares the root's id)."""
    return {**labels, CORRELATION_ID: labels.get(CORRELATION_ID) or execution_id}
