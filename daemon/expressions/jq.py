"""``value | jq(program)`` returns a list of results, as Kestra's ``jq`` filter does.

With the ``jq`` package (a binding of the C jq library) installed, any jq program runs, except those
reaching outside the value (``env``/``$ENV`` would hand out the daemon's environment, ``input``, ``halt``,
``debug``...). Without it, a path subset runs:

Grammar: filters joined by ``|``; a filter is ``.`` followed by steps: ``.name``, ``."quoted name"``,
``["name"]``, ``[N]`` (negative counts from the end), ``[]`` (every element or map value); a step may end
with ``?`` (a wrong type yields nothing instead of an error). Like jq, a missing key of a map yields null.
A string input holding JSON is parsed first.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from daemon.expressions.errors import ExpressionError

_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_$][\w$-]*)
      | \."(?P<qname>(?:[^"\\]|\\.)*)"
      | \[\s*(?:"(?P<key>(?:[^"\\]|\\.)*)"|(?P<index>-?\d+))?\s*\]
      | \.(?=\[|\s*$|\s*\|)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Step:
    kind: str  # "key", "index", "each", "identity"
    arg: Any
    optional: bool


def _compile(program: str) -> list[list[_Step]]:
    pipeline: list[list[_Step]] = []
    for part in program.split("|"):
        text = part.strip()
        if not text.startswith("."):
            raise ExpressionError(
                f"jq: unsupported expression {program!r} (only paths like .a.b[0] and .[] work)"
            )
        steps: list[_Step] = []
        pos = 0
        while pos < len(text):
            match = _STEP.match(text, pos)
            if match is None or match.end() == pos:
                raise ExpressionError(f"jq: cannot read {text[pos:]!r} in {program!r}")
            pos = match.end()
            optional = text.startswith("?", pos)
            pos += optional
            if match.group("name") is not None:
                steps.append(_Step("key", match.group("name"), optional))
            elif match.group("qname") is not None:
                steps.append(_Step("key", json.loads(f'"{match.group("qname")}"'), optional))
            elif match.group("key") is not None:
                steps.append(_Step("key", json.loads(f'"{match.group("key")}"'), optional))
            elif match.group("index") is not None:
                steps.append(_Step("index", int(match.group("index")), optional))
            elif match.group().startswith("["):
                steps.append(_Step("each", None, optional))
        pipeline.append(steps)
    return pipeline


def _apply(step: _Step, value: Any) -> Iterator[Any]:
    if step.kind == "key":
        if value is None:
            yield None
        elif isinstance(value, Mapping):
            yield value.get(step.arg)
        elif not step.optional:
            raise ExpressionError(f"jq: cannot index {type(value).__name__} with {step.arg!r}")
    elif step.kind == "index":
        if value is None:
            yield None
        elif isinstance(value, list | tuple):
            yield value[step.arg] if -len(value) <= step.arg < len(value) else None
        elif not step.optional:
            raise ExpressionError(f"jq: cannot index {type(value).__name__} with a number")
    elif isinstance(value, Mapping):
        yield from value.values()
    elif isinstance(value, list | tuple):
        yield from value
    elif not step.optional:
        raise ExpressionError(f"jq: cannot iterate over {type(value).__name__}")


# jq builtins that read or leave the process rather than the value
_OUTSIDE = re.compile(
    r"\$ENV\b|\$__loc__|\$__prog_args|(?<![\w$.])(env|input|inputs|input_filename|input_line_number|debug|stderr"
    r"|halt|halt_error|get_search_list|getpath_env|splits_env|import|include|modulemeta)\b"
)
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
MAX_RESULTS = 100_000


def _message(exc: Exception) -> str:
    return "jq: " + str(exc).splitlines()[0].removeprefix("jq: ").removeprefix("error: ")


@functools.lru_cache(maxsize=256)
def _compiled(program: str) -> Any:
    try:
        import jq as engine  # the C library's binding; without it, the path subset below
    except ImportError:
        return None
    if _OUTSIDE.search(_STRINGS.sub('""', program)):
        raise ExpressionError(
            f"jq: {program!r} reaches outside the value (env, input, halt... are not allowed)"
        )
    try:
        return engine.compile(program)
    except ValueError as exc:
        raise ExpressionError(_message(exc)) from exc


def check_program(program: str) -> None:
    """Raise ExpressionError when ``program`` does not compile (for validation of literal programs)."""
    if _compiled(program) is None:
        _compile(program)


def jq(value: Any, program: str) -> list[Any]:
    """Run a jq program on ``value``; returns every result, as Kestra's ``jq`` filter does."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    compiled = _compiled(program)
    if compiled is not None:
        plain = json.loads(json.dumps(value, default=str))  # dates and other objects as jq sees them: text
        try:
            results: list[Any] = []
            for item in compiled.input_value(plain):
                results.append(item)
                if len(results) > MAX_RESULTS:
                    raise ExpressionError(f"jq: {program!r} gives more than {MAX_RESULTS} results")
            return results
        except ValueError as exc:
            raise ExpressionError(_message(exc)) from exc
    return _run_paths(value, program)


def _run_paths(value: Any, program: str) -> list[Any]:
    results = [value]
    for steps in _compile(program):
        for step in steps:
            results = [out for item in results for out in _apply(step, item)]
    return results


FILTERS = {"jq": jq}
