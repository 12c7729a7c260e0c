"""The pure core imports no adapter: parsing, validation, expressions, planning and tick computation stay
plain functions over data (fast, testable without a database, Git, Docker or HTTP)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "daemon"
CORE = [
    *sorted((ROOT / "language").glob("*.py")),
    *sorted((ROOT / "expressions").glob("*.py")),
    ROOT / "engine" / "planner.py",
    ROOT / "engine" / "states.py",
    ROOT / "engine" / "retry.py",
    ROOT / "engine" / "inputs.py",
    ROOT / "reconcile" / "plan.py",
    ROOT / "reconcile" / "diff.py",
    ROOT / "reconcile" / "hashing.py",
    ROOT / "schedule" / "ticks.py",
    ROOT / "schedule" / "cursor.py",
    ROOT / "schedule" / "conditions.py",
]
ADAPTERS = ("daemon.store", "daemon.sources", "daemon.runners", "daemon.server", "daemon.cli", "daemon.tasks")
IO_LIBRARIES = (
    *("sqlalchemy", "alembic", "psycopg", "pygit2", "docker"),
    *("httpx", "fastapi", "uvicorn", "watchdog"),
)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_imports_no_adapter(path: Path) -> None:
    offending = sorted(
        name
        for name in imported_modules(path)
        if name.startswith(ADAPTERS) or name.split(".")[0] in IO_LIBRARIES
    )
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}"
