from __future__ import annotations

import json

import pytest

from daemon.errors import Diagnostic
from daemon.language import report
from daemon.language.validate import ValidationResult

ERR = Diagnostic(
    "a.yml", 3, 5, "error", "tasks[0].retyr", "unknown property 'retyr'", "did you mean 'retry'?"
)
WARN = Diagnostic("b.yml", 1, 1, "warning", "", "legacy name")


def results() -> list[ValidationResult]:
    return [
        ValidationResult("a.yml", None, [ERR]),
        ValidationResult("b.yml", None, [WARN]),
        ValidationResult("c.yml", None, []),
    ]


def test_text_lines_and_summary() -> None:
    assert report.render_text(results()).splitlines() == [
        "a.yml:3:5: error: tasks[0].retyr: unknown property 'retyr' (hint: did you mean 'retry'?)",
        "b.yml:1:1: warning: legacy name",
        "3 files, 1 error, 1 warning",
    ]
    assert report.summary([]) == "0 files, 0 errors, 0 warnings"


def test_json_is_a_list_of_diagnostics() -> None:
    data = json.loads(report.render_json(results()))
    assert [d["severity"] for d in data] == ["error", "warning"]
    assert set(data[0]) == {"file", "line", "column", "severity", "path", "message", "hint"}


def test_colour_output_has_the_same_text(capsys: pytest.CaptureFixture[str]) -> None:
    report.print_text_color(results())
    out = capsys.readouterr().out
    assert "a.yml:3:5: error: tasks[0].retyr: unknown property 'retyr' (hint: did you mean 'retry'?)" in out
    assert "3 files, 1 error, 1 warning" in out
