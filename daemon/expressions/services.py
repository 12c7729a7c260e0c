"""Functions backed by engine services, found as callables under reserved context keys.

- ``secret(name)``: ``__secret__`` called as ``fn(name) -> str``;
- ``kv(key, namespace=None, errorOnMissing=true)``: ``__kv__`` called as
  ``fn(key, namespace=..., error_on_missing=...)``;
- ``errorLogs()``: ``__error_logs__`` called as ``fn() -> list``;
- ``read(uri)``: ``__read__`` called as ``fn(uri) -> str``.

A missing service or a failing call becomes an ExpressionError naming the function.
``currentEachOutput`` needs no service: it reads ``taskrun`` and ``parents`` from the context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Undefined, pass_context
from jinja2.runtime import Context

from daemon.errors import FlowdError
from daemon.expressions.errors import ExpressionError

SECRET_KEY = "__secret__"
KV_KEY = "__kv__"
ERROR_LOGS_KEY = "__error_logs__"
READ_KEY = "__read__"


def _service(context: Context, key: str, function: str) -> Callable[..., Any]:
    service = context.get(key)
    if not callable(service):
        raise ExpressionError(f"{function}() is not available here (no {key} service in the context)")
    return service


def _call(function: str, service: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return service(*args, **kwargs)
    except ExpressionError:
        raise
    except (FlowdError, LookupError, ValueError, OSError) as exc:
        raise ExpressionError(f"{function}: {exc}") from exc


@pass_context
def secret(context: Context, name: str) -> Any:
    """``secret('NAME')``: a secret value from the engine's secret service."""
    return _call(f"secret({name!r})", _service(context, SECRET_KEY, "secret"), name)


@pass_context
def kv(
    context: Context,
    key: str,
    namespace: str | None = None,
    errorOnMissing: bool = True,
) -> Any:
    """``kv('key', namespace=None, errorOnMissing=true)``: a value from the key-value store."""
    service = _service(context, KV_KEY, "kv")
    return _call(f"kv({key!r})", service, key, namespace=namespace, error_on_missing=errorOnMissing)


@pass_context
def error_logs(context: Context) -> Any:
    """``errorLogs()``: the error logs of the failed task runs of this execution."""
    return _call("errorLogs()", _service(context, ERROR_LOGS_KEY, "errorLogs"))


@pass_context
def read(context: Context, uri: str) -> Any:
    """``read(uri)``: the text of an internal-storage file (``kestra://...``) or a namespace file path."""
    return _call(f"read({uri!r})", _service(context, READ_KEY, "read"), uri)


def _value_of(taskrun: Any) -> Any:
    return taskrun.get("value") if isinstance(taskrun, Mapping) else None


@pass_context
def current_each_output(context: Context, outputs: Any) -> Any:
    """``currentEachOutput(outputs.t)``: the outputs of ``t`` for the current ForEach iteration(s).

    Inside ForEach, a sibling's outputs are keyed by iteration value: ``outputs.t[taskrun.value]``, and for
    nested loops ``outputs.t[<outer value>]...[taskrun.value]``. The values come from the context:
    ``parents`` (a list, nearest enclosing ForEach first, each ``{"taskrun": {"value": ...}}``) then
    ``taskrun.value``. We descend from the outermost value to the innermost, skipping a level whose value is
    not a key of the current map (a parent that is not a ForEach), and return what remains.
    """
    if isinstance(outputs, Undefined):
        str(outputs)
    parents = context.get("parents")
    chain = (
        [_value_of(p.get("taskrun")) for p in reversed(parents) if isinstance(p, Mapping)]
        if isinstance(parents, list)
        else []
    )
    chain.append(_value_of(context.get("taskrun")))
    result = outputs
    for value in chain:
        if value is None or not isinstance(result, Mapping):
            continue
        key = value if value in result else str(value)
        if key in result:
            result = result[key]
    return result


@pass_context
def print_context(context: Context) -> str:
    """``printContext()``: the context as JSON, without functions and reserved ``__`` keys."""
    from daemon.expressions.json_fns import to_json

    data = {
        k: v
        for k, v in context.get_all().items()
        if not k.startswith("__") and not callable(v) and not isinstance(v, Undefined)
    }
    return to_json(data)


FUNCTIONS = {
    "secret": secret,
    "kv": kv,
    "errorLogs": error_logs,
    "read": read,
    "currentEachOutput": current_each_output,
    "printContext": print_context,
}
