"""Finding test files and the flows they test.

Test files are ``*.test.yml`` / ``*.test.yaml`` anywhere under the paths given (hidden folders skipped).
A flow file given instead of a test file selects the tests of that flow, found under the current folder:
that is what the ``flowd-test`` pre-commit hook passes (the files that changed).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import yaml

from daemon.errors import Diagnostic, FlowFileError
from daemon.flowtests.runner import FlowSource
from daemon.flowtests.spec import TestSuite, is_test_file, load_suite
from daemon.language.validate import FLOW_SUFFIXES, validate_paths


def collect_suites(
    targets: Iterable[Path], *, root: Path = Path(".")
) -> tuple[list[TestSuite], list[Diagnostic]]:
    """The test suites named by ``targets`` and the diagnostics of test files that cannot be read."""
    files: dict[Path, None] = {}
    flows: set[str] = set()
    for target in targets:
        if target.is_dir():
            files.update(dict.fromkeys(_test_files(target)))
        elif is_test_file(target):
            files[target] = None
        elif target.name.endswith(FLOW_SUFFIXES):
            uid = _flow_uid(target)
            if uid is not None:
                flows.add(uid)
    if flows:
        files.update(dict.fromkeys(_test_files(root)))
    suites: list[TestSuite] = []
    problems: list[Diagnostic] = []
    unique = {path.resolve(): path for path in reversed(list(files))}  # one per file however it was named
    for path in reversed(list(unique.values())):
        try:
            suites.append(load_suite(path.read_text(encoding="utf-8"), str(path)))
        except FlowFileError as exc:
            problems.extend(exc.diagnostics)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Diagnostic(str(path), 1, 1, "error", "", f"cannot read the test file: {exc}"))
    named = {p for t in targets for p in ([t] if is_test_file(t) else [])}
    if flows:
        suites = [
            s for s in suites if s.flow_uid in flows or Path(s.file) in named or _under_dirs(s, targets)
        ]
    return suites, problems


def collect_flows(paths: Iterable[Path]) -> dict[str, FlowSource]:
    """The valid flows under ``paths`` by ``namespace/id`` (invalid files are left to ``flowd validate``)."""
    out: dict[str, FlowSource] = {}
    for result in validate_paths(list(paths)):
        if result.flow is None:
            continue
        text = Path(result.file).read_text(encoding="utf-8")
        out[f"{result.flow.namespace}/{result.flow.id}"] = FlowSource(result.flow, text, result.file)
    return out


def _test_files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / n for n in sorted(names) if is_test_file(n))
    return found


def _flow_uid(path: Path) -> str | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if isinstance(data, dict) and isinstance(data.get("namespace"), str) and isinstance(data.get("id"), str):
        return f"{data['namespace']}/{data['id']}"
    return None


def _under_dirs(suite: TestSuite, targets: Iterable[Path]) -> bool:
    path = Path(suite.file).resolve()
    return any(t.is_dir() and path.is_relative_to(t.resolve()) for t in targets)
