"""The dependencies declared in pyproject.toml match the third-party modules ``daemon/`` imports."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# distribution name -> the top-level module it provides, where they differ
MODULE_OF = {"PyYAML": "yaml", "pydantic-settings": "pydantic_settings", "SQLAlchemy": "sqlalchemy",
             "Jinja2": "jinja2", "psycopg": "psycopg", "python-multipart": "multipart",
             "typing_extensions": "typing_extensions"}  # fmt: skip
# declared but never imported by flowd itself, with the reason they are needed
NOT_IMPORTED = {
    "python-multipart": "FastAPI parses the UI's login form with it",
    "jsonschema": "validates flows against the published schema (daemon/language/schema.py)",
}


def declared(*, extras: bool = True) -> dict[str, str]:
    """Top-level module -> distribution, for every runtime dependency (and the optional extras
    flowd[duckdb], flowd[uv], ..., imported lazily where a task needs them, or run as a program: dbt)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = {}
    optional = [r for name, reqs in project["optional-dependencies"].items() if name != "dev" for r in reqs]
    for requirement in [*project["dependencies"], *(optional if extras else [])]:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
        found[MODULE_OF.get(name, name.lower().replace("-", "_"))] = name
    return found


def imported() -> dict[str, str]:
    """Third-party top-level modules imported anywhere in daemon/ -> one file importing it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "daemon").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top != "daemon" and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_is_declared() -> None:
    missing = {m: f for m, f in imported().items() if m not in declared()}
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_every_declared_dependency_is_used() -> None:
    used = imported()
    unused = {d for m, d in declared(extras=False).items() if m not in used and d not in NOT_IMPORTED}
    assert not unused, f"declared in pyproject.toml but never imported: {sorted(unused)}"
