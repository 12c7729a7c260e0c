"""Checking ``-i KEY=VALUE`` inputs against a flow before an execution is created: every problem at once.

The engine keeps inputs it does not know (Kestra's API does, and subflows rely on it); on the command line an
unknown name is a typo, so ``flowd execute`` refuses it and lists the inputs the flow declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from difflib import get_close_matches

from daemon.errors import InputError, UsageError
from daemon.language.model import Input


def input_problems(declared: list[Input], given: Mapping[str, str]) -> list[str]:
    """Each problem with ``given`` as one line: unknown names, missing required inputs, invalid values."""
    from daemon.engine.inputs import coerce

    problems: list[str] = []
    names = [spec.id for spec in declared]
    for key in given:
        if key not in names:
            close = get_close_matches(key, names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            known = ", ".join(names) if names else "none"
            problems.append(f"input '{key}': the flow has no such input{hint}; its inputs: {known}")
    for spec in declared:
        raw = given.get(spec.id)
        if raw is None or (raw == "" and spec.type not in ("STRING", "SECRET")):
            if spec.required and spec.defaults is None and spec.prefill is None:
                problems.append(f"input '{spec.id}': is required and has no default (-i {spec.id}=VALUE)")
            continue
        if spec.type == "FILE":  # uploaded when the execution is created
            continue
        try:
            coerce(spec, raw)
        except InputError as exc:
            problems.append(exc.message)
    return problems


def check_inputs(flow_ref: str, declared: list[Input], given: Mapping[str, str]) -> None:
    """Raise one ``UsageError`` listing every problem (exit 2), or return when the inputs are fine."""
    problems = input_problems(declared, given)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise UsageError(f"{flow_ref}: {count} with the inputs:\n  " + "\n  ".join(problems))
