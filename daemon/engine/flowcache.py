"""Deployed flows parsed once per (namespace, id, revision)."""

from __future__ import annotations

from typing import Any

from daemon.engine.planner import TaskIndex
from daemon.errors import FlowNotFound
from daemon.expressions import check_syntax, has_expression
from daemon.language.model import Flow
from daemon.language.plain import to_plain
from daemon.store import Store

WARM_LIMIT = 1000  # templates compiled ahead per revision (the expression cache holds a few thousand)


def parse_flow(source: str, file: str = "<flow>") -> Flow:
    """The flow model of a deployed source (validated by the language package)."""
    from daemon.language.parsed_cache import cached_load_flow

    return cached_load_flow(source, file)


def index_flow(flow: Flow) -> TaskIndex:
    """The task index of a parsed flow, its expressions compiled ahead (once per revision, not on the
    first run of each task)."""
    templates: list[str] = []
    for task in flow.all_tasks():
        _templates(to_plain(task), templates)  # not model_dump: no serializer build for cached flows
    _templates([o.value for o in flow.outputs], templates)
    for template in templates[:WARM_LIMIT]:
        check_syntax(template)  # compiles into the expression cache; the language package reported errors
    return TaskIndex(flow)


def _templates(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        if has_expression(value):
            out.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _templates(item, out)
    elif isinstance(value, list):
        for item in value:
            _templates(item, out)


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
            self._cache[key] = index_flow(
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
            self._cache[key] = index_flow(parse_flow(row.source, row.path or f"{namespace}/{flow_id}"))
        return self._cache[key]
