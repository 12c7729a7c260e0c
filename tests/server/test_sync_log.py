"""The daemon's sync log: changes are logged, an unchanged broken file is not logged again every interval."""

from __future__ import annotations

import logging

import pytest

from daemon.errors import Diagnostic
from daemon.reconcile.plan import InvalidFile, plan
from daemon.reconcile.reconciler import SyncOutcome
from daemon.server.sync_loop import _log_outcome


def outcome_with_invalid(message: str) -> SyncOutcome:
    bad = InvalidFile(
        path="bad.yml",
        diagnostics=(Diagnostic("bad.yml", 6, 5, "error", "tasks[0].mesage", message),),
    )
    result = plan([], [], [bad], prune=True, allow_empty=True)
    return SyncOutcome("PARTIAL", 1, None, plan=result, counts=dict(result.counts))


def test_new_errors_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    first = outcome_with_invalid("unknown property 'mesage'")
    known = _log_outcome(first, frozenset())
    assert "bad.yml:6:5: error: tasks[0].mesage: unknown property 'mesage'" in caplog.text
    caplog.clear()
    assert _log_outcome(first, known) == known
    assert caplog.text == ""
    _log_outcome(outcome_with_invalid("another problem"), known)
    assert "another problem" in caplog.text
