"""Kestra's truthiness, used by the If task and ``runIf`` on rendered conditions."""

from __future__ import annotations

from typing import Any


def is_truthy(value: Any) -> bool:
    """False for null, False, 0, and the strings "", "0" and "false" (any case, outer blanks ignored)."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        text = value.strip()
        return not (text == "" or text == "0" or text.lower() == "false")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0
    return True
