"""``f(...) ?? b``: a failing function call on the left of ``??`` reads as undefined, as in Kestra."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.errors import TaskError
from daemon.expressions import ExpressionError, render


def missing_kv(key: str, *, namespace: str | None, error_on_missing: bool) -> Any:
    if error_on_missing:
        raise TaskError(f"no key '{key}'")
    return None


CTX = {"__kv__": missing_kv}


def test_failing_call_is_absorbed_by_coalescing() -> None:
    assert render("{{ kv('k', errorOnMissing=true) ?? 'fallback' }}", CTX) == "fallback"
    assert render("{{ kv('k') ?? null }}", CTX) == ""
    assert render("{{ kv('k') ??? 'undefined' }}", CTX) == "undefined"
    assert render("{{ (kv('k') ?? 'a') ~ 'b' }}", CTX) == "ab"


def test_without_coalescing_the_error_stays() -> None:
    with pytest.raises(ExpressionError, match="no key 'k'"):
        render("{{ kv('k') }}", CTX)
    with pytest.raises(ExpressionError, match="no key 'k'"):
        render("{{ 'x' ?? kv('k') }}{{ kv('k') }}", CTX)


def test_a_working_call_keeps_its_value() -> None:
    def kv(key: str, *, namespace: str | None, error_on_missing: bool) -> Any:
        return {"n": 2}

    assert render("{{ kv('k').n ?? 0 }}", {"__kv__": kv}) == "2"
