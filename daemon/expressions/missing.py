"""Messages for a variable an expression reads but the execution lacks: the missing name, why it is missing
where flowd can tell, and the expression it was read in.

- ``envs.pg_url``: read from ``ENV_PG_URL`` in the environment of the process running the execution (the
  daemon's, when a daemon runs it).
- ``trigger.date`` in an execution no trigger started: the flow was started by hand (``flowd execute``, the
  API or the UI), not by its schedule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_MISSING = re.compile(r"^Missing variable: '(?P<path>[^']+)'$")
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_SNIPPET = 80


def _snippet(template: str, name: str) -> str:
    """The ``{{ ... }}`` tag of ``template`` that mentions ``name`` (the template, shortened, otherwise)."""
    root = name.split(".", 1)[0].split("[", 1)[0]
    tags = [t for t in _TAG.findall(template) if name in t] or [
        t for t in _TAG.findall(template) if root in t
    ]
    text = " ".join((tags[0] if tags else template).split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def explain(message: str, template: str, context: Mapping[str, Any]) -> str:
    """``message`` (``Missing variable: 'a.b'``) with the reason flowd knows and the expression named."""
    match = _MISSING.match(message)
    if match is None:
        return message
    path = match.group("path")
    root, _, rest = path.partition(".")
    where = f" (in {_snippet(template, path)})"
    if root == "envs" and rest:
        name = rest.split(".", 1)[0]
        return (
            f"{path} is not set: it is read from the environment variable ENV_{name.upper()} of the process "
            f"running the execution (the daemon's environment when a daemon runs it){where}"
        )
    if root == "trigger" and rest and not context.get("trigger"):
        return (
            f"{path} is not defined: this flow was started by hand, not by its schedule or another trigger "
            f"(write {{{{ {path} ?? execution.startDate }}}} to accept both){where}"
        )
    return message + where
