"""A plain (non-editable) install carries what a new user needs: the template and the compatibility doc."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP = (".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "tests", "bench", "bundled")

pytestmark = pytest.mark.integration


def _run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # build from a copy: setuptools writes build/ and *.egg-info next to the sources
    source = tmp_path_factory.mktemp("source") / "flowd"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*SKIP))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out)]
    _run([*pip_wheel, str(source)], cwd=source.parent, env=env)
    (found,) = out.glob("flowd-*.whl")
    return found


def test_the_wheel_carries_the_template_and_the_compatibility_doc(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "daemon/bundled/docs/kestra-compatibility.md" in names
    assert "daemon/bundled/flows-repo-template/README.md" in names
    flows = [n for n in names if n.startswith("daemon/bundled/flows-repo-template/flows/")]
    assert any(n.endswith(".yml") for n in flows)


def test_init_validate_sync_from_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # --system-site-packages: the dependencies come from this interpreter (no download); flowd from the wheel
    make_venv = [sys.executable, "-m", "venv", "--system-site-packages", str(venv)]
    _run(make_venv, cwd=tmp_path, env=dict(os.environ))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FLOWD_TEMPLATE_DIR")}
    env["FLOWD_HOME"] = str(tmp_path / "home")
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall", str(wheel)],
         cwd=tmp_path, env=env)  # fmt: skip
    where = _run([python, "-c", "import daemon; print(daemon.__file__)"], cwd=tmp_path, env=env).stdout
    assert where.strip().startswith(str(venv)), f"flowd is imported from {where}, not from the wheel"
    flowd = str(venv / "bin" / "flowd")
    _run([flowd, "init", "x"], cwd=tmp_path, env=env)
    assert (tmp_path / "x" / "docs" / "kestra-compatibility.md").is_file()
    _run([flowd, "validate", "x/flows"], cwd=tmp_path, env=env)
    synced = _run([flowd, "sync", "--source", "x/flows"], cwd=tmp_path, env=env)
    assert "tutorial" in synced.stdout + synced.stderr
