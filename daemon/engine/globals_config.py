"""``globals``: values from the daemon's configuration (``FLOWD_GLOBALS``) every flow reads as ``globals.x``.

``FLOWD_GLOBALS`` holds a YAML (or JSON) map, or the path of a file holding one; Kestra's equivalent is the
``kestra.variables.globals`` server setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from daemon.errors import UsageError

ENV_NAME = "FLOWD_GLOBALS"


def load_globals(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``globals`` map from ``environ``; empty when unset. UsageError naming the variable when bad."""
    raw = (environ.get(ENV_NAME) or "").strip()
    if not raw:
        return {}
    source = ENV_NAME
    if "\n" not in raw and not raw.startswith(("{", "[")) and Path(raw).expanduser().is_file():
        source = f"{ENV_NAME} file {raw}"
        raw = Path(raw).expanduser().read_text()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise UsageError(f"{source}: not valid YAML or JSON: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{source}: expected a map of names to values, got {type(data).__name__}")
    return {str(k): v for k, v in data.items()}
