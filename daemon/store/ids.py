"""Short random ids for executions and task runs (Kestra-like: a UUID4 written in base 62, 22 chars)."""

from __future__ import annotations

import uuid

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_id() -> str:
    """A new random id, URL- and file-name-safe, 22 characters long."""
    return _base62(uuid.uuid4().int)


def derived_id(*parts: str) -> str:
    """The same id for the same ``parts`` (a UUID5 in base 62): an idempotency key that is also a row id,
    e.g. the execution a flow trigger starts for one upstream execution's end."""
    return _base62(uuid.uuid5(uuid.NAMESPACE_URL, "flowd:" + "\x1f".join(parts)).int)


def _base62(number: int) -> str:
    chars = []
    while number:
        number, rest = divmod(number, 62)
        chars.append(_ALPHABET[rest])
    return "".join(reversed(chars)).rjust(22, "0")
