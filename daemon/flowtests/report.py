"""Reporting test results: a pytest-like text report and JUnit XML for CI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from daemon.flowtests.runner import CaseResult


def progress_line(result: CaseResult) -> str:
    """``flows/hello.test.yml::hello_tests::greets PASSED (0.41s)``."""
    return f"{result.name} {result.state} ({result.duration:.2f}s)"


def failure_blocks(results: Sequence[CaseResult]) -> list[str]:
    """For each failed or errored case: its assertions' expected and actual values."""
    lines: list[str] = []
    for result in results:
        if result.state not in ("FAILED", "ERROR"):
            continue
        where = f"{result.suite.file}:{result.suite.lines.get(result.case.id, 1)}"
        lines.append(f"____ {result.suite.id}::{result.case.id} ____  ({where})")
        if result.error:
            lines.append(f"  error: {result.error}")
        if result.execution_id:
            lines.append(f"  execution {result.execution_id} ended {result.execution_state}")
        for failed in result.failures:
            operator, expected = failed.outcome.operator, failed.outcome.expected
            lines.append(f"  assertion {failed.assertion.description or failed.expression}")
            lines.append(f"    {operator}: expected {_show(expected)}")
            lines.append(f"    actual:  {_show(failed.outcome.actual)}")
            if failed.outcome.message and not failed.outcome.message.startswith("expected"):
                lines.append(f"    {failed.outcome.message}")
    return lines


def summary_line(results: Sequence[CaseResult], seconds: float) -> str:
    """``3 passed, 1 failed, 1 skipped in 1.20s`` (zero counts left out but for passed and failed)."""
    counts = Counter(r.state for r in results)
    parts = [f"{counts['PASSED']} passed", f"{counts['FAILED']} failed"]
    if counts["ERROR"]:
        parts.append(f"{counts['ERROR']} error{'s' if counts['ERROR'] != 1 else ''}")
    if counts["SKIPPED"]:
        parts.append(f"{counts['SKIPPED']} skipped")
    return f"{', '.join(parts)} in {seconds:.2f}s"


def junit_xml(results: Sequence[CaseResult], seconds: float) -> str:
    """JUnit XML: one ``testsuite`` per test file suite, one ``testcase`` per case."""
    root = ET.Element("testsuites", name="flowd", time=f"{seconds:.3f}")
    by_suite: dict[tuple[str, str], list[CaseResult]] = {}
    for result in results:
        by_suite.setdefault((result.suite.file, result.suite.id), []).append(result)
    for (file, suite_id), cases in by_suite.items():
        counts = Counter(r.state for r in cases)
        suite = ET.SubElement(
            root, "testsuite", name=f"{cases[0].suite.flow_uid}:{suite_id}", file=file,
            tests=str(len(cases)), failures=str(counts["FAILED"]), errors=str(counts["ERROR"]),
            skipped=str(counts["SKIPPED"]), time=f"{sum(r.duration for r in cases):.3f}",
        )  # fmt: skip
        for result in cases:
            case = ET.SubElement(
                suite, "testcase", classname=f"{file}::{suite_id}", name=result.case.id,
                time=f"{result.duration:.3f}",
            )  # fmt: skip
            if result.state == "SKIPPED":
                ET.SubElement(case, "skipped", message="disabled")
            elif result.state == "ERROR":
                ET.SubElement(case, "error", message=result.error or "error").text = result.error
            elif result.state == "FAILED":
                text = "\n".join(failure_blocks([result]))
                first = result.failures[0]
                message = f"{first.expression}: {first.outcome.operator} {_show(first.outcome.expected)}"
                ET.SubElement(case, "failure", message=message).text = text
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(path: Path, results: Sequence[CaseResult], seconds: float) -> None:
    """Write the JUnit XML report (parent folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(results, seconds), encoding="utf-8")


def _show(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)
