"""The published pre-commit hook, run by pre-commit itself against a tmp repository of flows."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.language.flows import BROKEN_RETRY, GOOD

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_hook_definition() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"flowd-validate", "flowd-test"}
    hook = hooks["flowd-validate"]
    assert hook["id"] == "flowd-validate" and hook["entry"] == "flowd validate"
    assert hook["language"] == "python" and hook["types"] == ["yaml"]
    assert hooks["flowd-test"]["entry"] == "flowd test"


def git(cwd: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    subprocess.run(
        ["git", "-c", "user.name=flowd", "-c", "user.email=flowd@localhost", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of the project: try-repo installs the hook repository from its HEAD commit."""
    if shutil.which("pre-commit") is None:
        pytest.skip("pre-commit is not installed")
    repo = tmp_path_factory.mktemp("hook")
    shutil.copytree(ROOT / "daemon", repo / "daemon", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hook")
    return repo


def try_repo(
    hook_repo: Path, flows: Path, cache: Path, hook: str = "flowd-validate"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    # offline: the hook's virtualenv sees our packages; pip installs the project without an index
    env.update(
        PRE_COMMIT_HOME=str(cache),
        VIRTUALENV_SYSTEM_SITE_PACKAGES="1",
        PIP_NO_INDEX="1",
        PIP_NO_BUILD_ISOLATION="0",
    )
    return subprocess.run(
        ["pre-commit", "try-repo", str(hook_repo), hook, "--all-files", "--color=never"],
        cwd=flows,
        env=env,
        capture_output=True,
        text=True,
    )


def test_try_repo_passes_good_and_fails_bad(hook_repo: Path, tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    (flows / "team").mkdir(parents=True)
    (flows / "team" / "good.yml").write_text(GOOD)
    (flows / ".pre-commit-config.yaml").write_text("repos: []\n")  # not a flow: the hook must skip it
    git(flows, "init", "-q")
    git(flows, "add", "-A")
    run = try_repo(hook_repo, flows, tmp_path / "cache")
    if run.returncode != 0 and "Installing environment" in run.stdout and "flowd validate" not in run.stdout:
        pytest.skip(f"pre-commit could not build the hook environment offline: {run.stdout[-500:]}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Passed" in run.stdout

    (flows / "team" / "broken.yml").write_text(BROKEN_RETRY)
    git(flows, "add", "-A")
    run = try_repo(hook_repo, flows, tmp_path / "cache")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Failed" in run.stdout
    assert "team/broken.yml:7:5: error: tasks[0].retyr: unknown property 'retyr'" in run.stdout


def test_flowd_test_hook_runs_the_tests_of_changed_flows(hook_repo: Path, tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    (flows / "team").mkdir(parents=True)
    (flows / "team" / "good.yml").write_text(GOOD)
    uid = yaml.safe_load(GOOD)
    test = (
        f"id: good_tests\nnamespace: {uid['namespace']}\nflowId: {uid['id']}\ntestCases:\n"
        '  - id: ends\n    assertions:\n      - value: "{{ execution.state }}"\n        isNotNull: true\n'
    )
    (flows / "team" / "good.test.yml").write_text(test)
    git(flows, "init", "-q")
    git(flows, "add", "-A")
    run = try_repo(hook_repo, flows, tmp_path / "cache", "flowd-test")
    if run.returncode != 0 and "Installing environment" in run.stdout and "flowd test" not in run.stdout:
        pytest.skip(f"pre-commit could not build the hook environment offline: {run.stdout[-500:]}")
    assert run.returncode == 0, run.stdout + run.stderr
    (flows / "team" / "good.test.yml").write_text(test.replace("isNotNull: true", "equalTo: NOPE"))
    git(flows, "add", "-A")
    run = try_repo(hook_repo, flows, tmp_path / "cache", "flowd-test")
    assert run.returncode == 1, run.stdout
    assert "1 passed, 1 failed" not in run.stdout and "0 passed, 1 failed" in run.stdout
