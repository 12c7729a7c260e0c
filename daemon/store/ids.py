"""Short random ids for executions and task runs (Kestra-like: a UUID4 written in base 62, 22 chars)."""

from __future__ import annotations

import uuid

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_id() -> str:
    """A new random id, URL- and file-name-safe, 22 characters long."""
    number = uuid.uuid4().int
    chars = []
    while number:
        number, rest = divmod(number, 62)
        chars.append(_ALPHABET[rest])
    return "".join(reversed(chars)).rjust(22, "0")
