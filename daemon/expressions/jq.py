"""A small subset of jq, enough for the paths Kestra flows use: ``value | jq('.a.b')`` returns a list.

Grammar: filters joined by ``|``; a filter is ``.`` followed by steps: ``.name``, ``."quoted name"``,
``["name"]``, ``[N]`` (negative counts from the end), ``[]`` (every element or map value); a step may end
with ``?`` (a wrong type yields nothing instead of an error). Like jq, a missing key of a map yields null.
A string input holding JSON is parsed first.
"""

from __future__ import annotations

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


def jq(value: Any, program: str) -> list[Any]:
    """Run a jq path program on ``value``; returns every result, as Kestra's ``jq`` filter does."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    results = [value]
    for steps in _compile(program):
        for step in steps:
            results = [out for item in results for out in _apply(step, item)]
    return results


FILTERS = {"jq": jq}
