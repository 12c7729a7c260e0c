"""Text every store can hold: NUL characters and lone surrogates become U+FFFD.

PostgreSQL refuses both (``text`` cannot contain NUL; ``jsonb`` refuses ``\\u0000`` and unpaired surrogate
escapes), SQLite takes them: a task printing such bytes must not make a step's write fail, on any store, so
every log line and every JSON value is cleaned before it is written. A cleaned log line says so at its end.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_BAD = re.compile("[\x00\ud800-\udfff]")
# in JSON text written with ensure_ascii: a NUL escape, or any surrogate escape (pairs are checked later)
_BAD_JSON = re.compile(r"\\u0000|\\ud[89a-f]", re.IGNORECASE)


def clean_text(text: str) -> tuple[str, int]:
    """``text`` with NULs and lone surrogates replaced by U+FFFD, and how many were replaced.

    Valid surrogate pairs cannot occur in a Python ``str`` (they would be one code point), so every
    surrogate found is a lone one."""
    if not _BAD.search(text):
        return text, 0
    return _BAD.subn(REPLACEMENT, text)


def clean_message(text: str) -> str:
    """A log line a store can hold; a line that had to be changed says so."""
    cleaned, count = clean_text(text)
    if not count:
        return text
    return f"{cleaned} [flowd: {count} NUL or invalid character(s) replaced with U+FFFD]"


def needs_cleaning(json_text: str) -> bool:
    """Whether JSON text (``ensure_ascii``) may hold a character a store refuses (cheap pre-check)."""
    return _BAD_JSON.search(json_text) is not None


def clean_value(value: Any) -> Any:
    """``value`` with every string (keys too) cleaned, recursively through dicts, lists and tuples."""
    if isinstance(value, str):
        return clean_text(value)[0]
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    return value
