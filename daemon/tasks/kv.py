"""Key-value store tasks: Set, Get, Delete, GetKeys (namespace-scoped; the flow's namespace by default)."""

from __future__ import annotations

import json
from typing import Any

from daemon.engine.context import RunContext, TaskResult
from daemon.errors import TaskError
from daemon.language.tasks_core import KvDeleteTask, KvGetTask, KvSetTask
from daemon.language.tasks_data import KvGetKeysTask


def _where(ctx: RunContext, key: str, namespace: str | None) -> tuple[str, str]:
    ns = str(ctx.render(namespace)) if namespace else ctx.namespace
    rendered = str(ctx.render(key))
    if not rendered:
        raise TaskError("kv: the key renders to an empty string")
    return ns, rendered


def typed_value(value: Any, kv_type: str | None) -> Any:
    """Convert a rendered value to Kestra's ``kvType`` (NUMBER, BOOLEAN, JSON; others stay as rendered)."""
    kind = (kv_type or "").upper()
    if not isinstance(value, str) or kind in ("", "STRING", "DATETIME", "DATE", "DURATION"):
        return value
    try:
        if kind == "NUMBER":
            number = float(value)
            return int(number) if number.is_integer() and "." not in value else number
        if kind == "BOOLEAN":
            if value.strip().lower() not in ("true", "false"):
                raise ValueError(value)
            return value.strip().lower() == "true"
        if kind == "JSON":
            return json.loads(value)
    except ValueError as exc:
        raise TaskError(f"kv: value {value!r} is not a valid {kind}") from exc
    raise TaskError(f"kv: unknown kvType '{kv_type}'")


async def run_kv_set(task: KvSetTask, ctx: RunContext) -> TaskResult:
    """Store the rendered value under the rendered key; ``overwrite: false`` fails on an existing key."""
    namespace, key = _where(ctx, task.key, task.namespace)
    if not task.overwrite and ctx.kv.get(namespace, key) is not None:
        raise TaskError(f"kv: key '{key}' already exists in namespace '{namespace}' and overwrite is false")
    value = typed_value(ctx.render(task.value), task.kvType)
    ttl = task.ttl.total_seconds() if task.ttl is not None else None
    ctx.kv.set(namespace, key, value, ttl_seconds=ttl)
    return TaskResult()


async def run_kv_get(task: KvGetTask, ctx: RunContext) -> TaskResult:
    """Output ``{"value": ...}`` (null when missing, unless ``errorOnMissing``)."""
    namespace, key = _where(ctx, task.key, task.namespace)
    value = ctx.kv.get(namespace, key)
    if value is None and task.errorOnMissing:
        raise TaskError(f"kv: no key '{key}' in namespace '{namespace}'")
    return TaskResult(outputs={"value": value})


async def run_kv_delete(task: KvDeleteTask, ctx: RunContext) -> TaskResult:
    """Output ``{"deleted": bool}``; a missing key fails only with ``errorOnMissing``."""
    namespace, key = _where(ctx, task.key, task.namespace)
    deleted = ctx.kv.delete(namespace, key)
    if not deleted and task.errorOnMissing:
        raise TaskError(f"kv: no key '{key}' in namespace '{namespace}'")
    return TaskResult(outputs={"deleted": deleted})


async def run_kv_get_keys(task: KvGetKeysTask, ctx: RunContext) -> TaskResult:
    """Output ``{"keys": [...]}``: the live keys of the namespace starting with ``prefix``, sorted."""
    namespace = str(ctx.render(task.namespace)) if task.namespace else ctx.namespace
    prefix = str(ctx.render(task.prefix)) if task.prefix else ""
    return TaskResult(outputs={"keys": [k for k in ctx.kv.keys(namespace) if k.startswith(prefix)]})
