"""Build hook: the wheel carries the flows template and the Kestra compatibility doc in ``daemon/bundled``.

The folders stay where they are in the checkout (``flows-repo-template/``, ``docs/``); ``build_py`` copies
them into the build tree so a plain ``pip install`` (pipx, the Docker image) has what ``flowd init`` and every
"supported types" hint need. Editable installs read them from the checkout instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = {
    "flows-repo-template": ROOT / "flows-repo-template",
    "docs/kestra-compatibility.md": ROOT / "docs" / "kestra-compatibility.md",
}


class BuildWithBundled(build_py):
    """``build_py`` plus the bundled files."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "daemon" / "bundled"
        for name, source in BUNDLED.items():
            destination = target / name
            if not source.exists():  # a partial copy of the tree (a pre-commit hook repo): nothing to bundle
                continue
            if source.is_dir():
                shutil.rmtree(destination, ignore_errors=True)
                shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)


setup(cmdclass={"build_py": BuildWithBundled})
