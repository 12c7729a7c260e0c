"""The validation pipeline: YAML -> structure (pydantic model) -> semantics, then checks across files.

Every problem is reported, not just the first, and nothing raises on bad input: an unexpected exception
becomes an "internal error" diagnostic on that file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from daemon.errors import Diagnostic, FlowFileError
from daemon.language.aliases import TASK_ALIASES
from daemon.language.dialect import dialect_diagnostics
from daemon.language.model import Flow
from daemon.language.parsed_cache import remember_flow
from daemon.language.semantics import Finding, check_flow
from daemon.language.structure import dialect_warnings, raw_tasks, salvage, structure_diagnostics
from daemon.language.tasks_flow import SubflowTask
from daemon.language.yamlsafe import Marks, YamlLoadError, format_path, load_yaml

FLOW_SUFFIXES = (".yml", ".yaml")
TEST_FILE_SUFFIXES = (".test.yml", ".test.yaml")


@dataclass(slots=True)
class ValidationResult:
    """One file's outcome: the flow (None when there is any error) and every diagnostic, in line order."""

    file: str
    flow: Flow | None
    diagnostics: list[Diagnostic]
    data: dict[str, Any] | None = field(default=None, repr=False)
    marks: Marks | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when no diagnostic is an error (warnings allowed)."""
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        """The error diagnostics."""
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        """The warning diagnostics."""
        return [d for d in self.diagnostics if d.severity == "warning"]


def validate_text(text: str, file: str = "<flow>", *, strict: bool = False) -> ValidationResult:
    """Validate one flow file's text. Never raises on bad input.

    ``strict`` turns flowd's checks beyond Kestra's (undeclared inputs, unknown tasks in ``outputs.x``, an
    unparsable condition) from warnings into errors."""
    try:
        return _validate(text, file, strict=strict)
    except Exception as exc:  # a bug must not stop the other files (or the reconciler): report it on this one
        return ValidationResult(file, None, [_internal_error(file, exc)])


def load_flow(text: str, file: str = "<flow>") -> Flow:
    """The flow in ``text``; raises :class:`FlowFileError` carrying every diagnostic when it has an error."""
    result = validate_text(text, file)
    if result.flow is None:
        raise FlowFileError(result.diagnostics)
    return result.flow


def validate_paths(paths: Sequence[FsPath | str], *, strict: bool = False) -> list[ValidationResult]:
    """Validate files and folders (``*.yml``/``*.yaml``, recursively), then check flows against each other."""
    results = [_validate_file(path, strict=strict) for path in discover(paths)]
    try:
        check_across(results)
    except Exception as exc:  # keep the per-file results; say the cross-file checks broke
        if results:
            results[0].diagnostics.append(_internal_error(results[0].file, exc))
            results[0].flow = None
    return results


def is_test_file(name: str | FsPath) -> bool:
    """``*.test.yml`` / ``*.test.yaml`` hold flow unit tests (``flowd test``), never flows."""
    return str(name).endswith(TEST_FILE_SUFFIXES)


def discover(paths: Iterable[FsPath | str]) -> list[FsPath]:
    """Flow files named by ``paths``: files as given, folders searched recursively (hidden ones and flow test
    files skipped)."""
    found: dict[FsPath, None] = {}
    for raw in paths:
        path = FsPath(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.endswith(FLOW_SUFFIXES) and not name.startswith(".") and not is_test_file(name):
                        found[FsPath(root) / name] = None
        elif not is_test_file(path):
            found[path] = None
    return list(found)


def _validate_file(path: FsPath, *, strict: bool = False) -> ValidationResult:
    file = str(path)
    if not path.exists():
        return ValidationResult(
            file, None, [Diagnostic(file, 1, 1, "error", "", "no such file or directory")]
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return ValidationResult(
            file, None, [Diagnostic(file, 1, 1, "error", "", f"cannot read file: {exc.strerror}")]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return ValidationResult(
            file, None, [Diagnostic(file, line, 1, "error", "", "file is not valid UTF-8")]
        )
    return validate_text(text, file, strict=strict)


def _validate(text: str, file: str, *, strict: bool = False) -> ValidationResult:
    try:
        loaded = load_yaml(text, file)
    except YamlLoadError as exc:
        return ValidationResult(file, None, list(exc.diagnostics))
    data, marks = loaded.data, loaded.marks
    diagnostics = [
        *loaded.diagnostics,
        *dialect_warnings(data, marks, file),
        *dialect_diagnostics(data, marks, file),
    ]
    flow: Flow | None
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        flow = None
        diagnostics += structure_diagnostics(exc, data, marks, file)
        checked = salvage(data, exc)
    else:
        checked = flow
    if checked is not None:
        diagnostics += [_from_finding(f, marks, file, strict=strict) for f in check_flow(checked, data)]
    diagnostics.sort(key=lambda d: (d.line, d.column, d.severity))
    result = ValidationResult(file, flow, diagnostics, data, marks)
    if not result.ok:
        result.flow = None
    elif flow is not None:
        remember_flow(text, flow)  # for the next process that runs it (no-op unless a command enabled it)
    return result


def _from_finding(finding: Finding, marks: Marks, file: str, *, strict: bool = False) -> Diagnostic:
    line, column = marks.key(finding.path) if finding.at_key else marks.value(finding.path)
    message = finding.message
    if finding.related is not None:
        message += f" (first at line {marks.value(finding.related)[0]})"
    severity = finding.severity
    if finding.beyond_kestra:
        severity = "error" if strict else "warning"
    return Diagnostic(file, line, column, severity, format_path(finding.path), message, finding.hint)


def _internal_error(file: str, exc: BaseException) -> Diagnostic:
    return Diagnostic(
        file, 1, 1, "error", "", f"internal error while validating: {type(exc).__name__}: {exc}"
    )


SUBFLOW = SubflowTask.TYPE


def check_across(results: list[ValidationResult]) -> None:
    """Cross-file checks, added to ``results`` in place: duplicate flows, subflows to unknown flows."""
    owners: dict[tuple[str, str], list[ValidationResult]] = {}
    for result in results:
        uid = _uid(result.data)
        if uid is not None:
            owners.setdefault(uid, []).append(result)
    for uid, same in owners.items():
        if len(same) < 2:
            continue
        for result in same:
            others = ", ".join(r.file for r in same if r is not result)
            _add(result, ("id",), "error", f"flow {uid[0]}/{uid[1]} is also defined in {others}")
    for result in results:
        if result.data is None:
            continue
        for path, task in raw_tasks(result.data):
            kind = task.get("type")
            if not isinstance(kind, str) or TASK_ALIASES.get(kind, kind) != SUBFLOW:
                continue
            target = (task.get("namespace"), task.get("flowId"))
            if not all(isinstance(p, str) and "{{" not in p for p in target) or target == _uid(result.data):
                continue
            if target not in owners:
                _add(
                    result,
                    (*path, "flowId"),
                    "warning",
                    f"subflow {target[0]}/{target[1]} is not among the validated files",
                    hint="validate the folder that holds it too, or check namespace and flowId",
                )


def _uid(data: dict[str, Any] | None) -> tuple[str, str] | None:
    if data is None or not isinstance(data.get("namespace"), str) or not isinstance(data.get("id"), str):
        return None
    return (data["namespace"], data["id"])


def _add(
    result: ValidationResult,
    path: tuple[str | int, ...],
    severity: Any,
    message: str,
    hint: str | None = None,
) -> None:
    line, column = result.marks.value(path) if result.marks else (1, 1)
    result.diagnostics.append(
        Diagnostic(result.file, line, column, severity, format_path(path), message, hint)
    )
    result.diagnostics.sort(key=lambda d: (d.line, d.column, d.severity))
    if severity == "error":
        result.flow = None
