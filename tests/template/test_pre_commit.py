"""The template's pre-commit configuration installs and runs as written, from a clean pre-commit cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from daemon.cli.init import init_repository

pytestmark = pytest.mark.integration


def _pre_commit(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PRE_COMMIT_HOME=str(home))  # a clean cache: nothing installed before
    # the `flowd` that pre-commit finds on PATH runs this checkout (PYTHONPATH is inherited)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("flowd") is None:
        pytest.skip("no flowd script on PATH (install the package: pip install -e .)")
    target = tmp_path / "flows"
    init_repository(target)
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "add", "-A"], check=True)
    return target


def test_every_hook_repo_installs_without_the_network(repo: Path) -> None:
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    # a remote repo needs a rev that exists; the local hook has nothing to fetch
    assert [r["repo"] for r in config["repos"]] == ["local"]


def test_pre_commit_runs_flowd_validate(repo: Path, tmp_path: Path) -> None:
    result = _pre_commit(repo, tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "flowd validate" in result.stdout and "Passed" in result.stdout


def test_pre_commit_stops_an_invalid_flow(repo: Path, tmp_path: Path) -> None:
    (repo / "flows" / "tutorial" / "broken.yml").write_text("id: broken\nnamespace: tutorial\ntasks: 3\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    result = _pre_commit(repo, tmp_path / "cache")
    assert result.returncode != 0
    assert "broken.yml:3" in result.stdout
