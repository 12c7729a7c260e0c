"""``flowd init DIR``: start a flows repository from the bundled template."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import click

from daemon.cli.common import handle_errors
from daemon.errors import UsageError

TEMPLATE_ENV = "FLOWD_TEMPLATE_DIR"
COMPATIBILITY_DOC = Path("docs") / "kestra-compatibility.md"

_PACKAGE = Path(__file__).resolve().parents[1]
# a wheel carries them under daemon/bundled (see setup.py); a checkout has them beside the package
_BUNDLED = _PACKAGE / "bundled"
_CHECKOUT = _PACKAGE.parent


def template_dir() -> Path:
    """Where the template lives: ``$FLOWD_TEMPLATE_DIR``, else the copy bundled in the wheel, else the
    checkout's ``flows-repo-template`` (editable installs)."""
    configured = os.environ.get(TEMPLATE_ENV)
    candidates = [Path(configured)] if configured else []
    candidates += [_BUNDLED / "flows-repo-template", _CHECKOUT / "flows-repo-template"]
    for candidate in candidates:
        if (candidate / "flows").is_dir():
            return candidate
    raise UsageError(f"the flows-repo-template folder was not found; set {TEMPLATE_ENV} to its path")


def compatibility_doc() -> Path | None:
    """The Kestra compatibility reference that validation hints name (bundled or in the checkout)."""
    for candidate in (_BUNDLED / COMPATIBILITY_DOC, _CHECKOUT / COMPATIBILITY_DOC):
        if candidate.is_file():
            return candidate
    return None


def init_repository(target: Path) -> list[Path]:
    """Copy the template into ``target`` (which must be missing or empty); returns the flow files written."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} is not empty; flowd init only writes into a new or empty folder")
    source = template_dir()
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    doc = compatibility_doc()
    if doc is not None:  # validation hints point at docs/kestra-compatibility.md: give it to the repository
        (target / COMPATIBILITY_DOC).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(doc, target / COMPATIBILITY_DOC)
    from daemon.language.schema import flow_schema

    (target / "flow.schema.json").write_text(json.dumps(flow_schema(), indent=2) + "\n", encoding="utf-8")
    return sorted(target.glob("flows/**/*.y*ml"))


@click.command(name="init")
@click.argument("directory", type=click.Path(path_type=Path))
@handle_errors
def command(directory: Path) -> None:
    """Create a flows repository in DIRECTORY from the template (refuses a non-empty folder)."""
    flows = init_repository(directory)
    click.echo(f"created {directory} with {len(flows)} example flows")
    click.echo(f"next: cd {directory} && git init && flowd validate flows/ && flowd run --source .")
