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


def test_a_file_never_deployed_is_not_said_to_keep_running(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _log_outcome(outcome_with_invalid("unknown property 'mesage'"), frozenset())
    assert "keeps running" not in caplog.text
    assert "not deployed until it is fixed" in caplog.text


def test_warnings_are_not_logged_as_reasons_a_file_is_invalid(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    bad = InvalidFile(
        path="bad.yml",
        diagnostics=(
            Diagnostic("bad.yml", 4, 11, "warning", "tasks[0].type", "legacy type name"),
            Diagnostic("bad.yml", 6, 5, "error", "tasks[0].mesage", "unknown property 'mesage'"),
        ),
    )
    result = plan([], [], [bad], prune=True, allow_empty=True)
    _log_outcome(SyncOutcome("PARTIAL", 1, None, plan=result, counts=dict(result.counts)), frozenset())
    assert "unknown property" in caplog.text and "legacy type name" not in caplog.text
