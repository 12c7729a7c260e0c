"""Deployed flows parsed once per (namespace, id, revision)."""

from __future__ import annotations

from daemon.engine.planner import TaskIndex
from daemon.errors import FlowNotFound
from daemon.language.model import Flow
from daemon.store import Store


def parse_flow(source: str, file: str = "<flow>") -> Flow:
    """The flow model of a deployed source (validated by the language package)."""
    from daemon.language import load_flow

    return load_flow(source, file)


class FlowCache:
    """Parsed flows and their task indexes, keyed by (namespace, id, revision)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[tuple[str, str, int], TaskIndex] = {}

    def current(self, namespace: str, flow_id: str) -> tuple[int, TaskIndex]:
        """The deployed revision of a flow; FlowNotFound when it is not deployed."""
        deployed = self._store.flows.get(namespace, flow_id)
        if deployed is None:
            raise FlowNotFound(namespace, flow_id)
        key = (namespace, flow_id, deployed.revision)
        if key not in self._cache:
            self._cache[key] = TaskIndex(
                parse_flow(deployed.source, deployed.path or f"{namespace}/{flow_id}")
            )
        return deployed.revision, self._cache[key]

    def revision(self, namespace: str, flow_id: str, revision: int) -> TaskIndex:
        """A given revision (executions run the revision they were created with)."""
        key = (namespace, flow_id, revision)
        if key not in self._cache:
            row = self._store.flows.get_revision(namespace, flow_id, revision)
            if row is None:
                raise FlowNotFound(namespace, flow_id)
            self._cache[key] = TaskIndex(parse_flow(row.source, row.path or f"{namespace}/{flow_id}"))
        return self._cache[key]
