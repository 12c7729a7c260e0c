"""``flowd status`` text: the source and commit said once and clearly, the mode, warnings apart from the
reasons a file is invalid, and ids and names never truncated (80 columns, in a pipe)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.main import cli

pytestmark = pytest.mark.integration

LONG_NS = "company.analytics.very_long_namespace_name"
FLOW = "id: {id}\nnamespace: {ns}\ntasks:\n  - {{id: l, type: io.kestra.plugin.core.log.Log, message: hi}}\n"
# a legacy type name (a warning) and a misspelt property (an error)
BROKEN = (
    "id: broken\nnamespace: test\ntasks:\n  - id: l\n    type: io.kestra.core.tasks.log.Log\n    mesage: hi\n"
)


def invoke(*args: str) -> str:
    result = CliRunner(env={"COLUMNS": "80"}).invoke(cli, list(args))
    assert result.exit_code in (0, 1), result.output
    return result.output


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}  # fmt: skip
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def db(tmp_path: Path, flowd_home: Path) -> str:
    return f"sqlite:///{tmp_path / 'status.db'}"


def test_long_names_and_ids_are_never_truncated(tmp_path: Path, db: str) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    names = ["an_extremely_long_flow_identifier_number_one", "an_extremely_long_flow_identifier_number_two"]
    for name in names:
        (folder / f"{name}.yml").write_text(FLOW.format(id=name, ns=LONG_NS))
    invoke("sync", "--source", str(folder), "--db", db)
    text = invoke("status", "--db", db)
    for name in names:
        assert f"{LONG_NS}/{name}" in text, text
    assert "…" not in text
    ran = CliRunner().invoke(cli, ["execute", f"{LONG_NS}/{names[0]}", "--json", "--local", "--db", db])
    import json

    execution_id = json.loads(ran.output)["id"]
    flow_text = invoke("status", f"{LONG_NS}/{names[0]}", "--db", db)
    assert execution_id in flow_text and "…" not in flow_text, flow_text


def test_git_source_commit_and_mode_are_said_once(tmp_path: Path, db: str) -> None:
    repo = tmp_path / "repo"
    (repo / "flows").mkdir(parents=True)
    (repo / "flows" / "good.yml").write_text(FLOW.format(id="good", ns="test"))
    (repo / "flows" / "broken.yml").write_text(BROKEN)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "flows")
    sha = git(repo, "rev-parse", "HEAD").strip()
    invoke("sync", "--source", f"file://{repo}", "--ref", "main", "--path", "flows", "--db", db)
    text = invoke("status", "--db", db)
    assert f"commit {sha[:12]}" in text, text
    assert "commit -" not in text
    assert text.count("main") == 1, text  # no "@ main ref main"
    assert "mode: local Git repository" in text and "following its commits" in text
    invalid = [line for line in text.splitlines() if line.startswith("invalid:")]
    assert any("mesage" in line for line in invalid), text
    assert not any("legacy" in line or "current form" in line for line in invalid), text


def test_folder_in_a_git_repository_says_so(tmp_path: Path, db: str) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "good.yml").write_text(FLOW.format(id="good", ns="test"))
    git(folder, "init", "-q")
    invoke("sync", "--source", str(folder), "--db", db)
    text = invoke("status", "--db", db)
    assert "mode: folder" in text and "--follow-commits" in text, text
    assert "no commit (a folder)" in text


def test_sync_lists_warnings_apart_from_the_reasons_a_file_is_invalid(tmp_path: Path, db: str) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "broken.yml").write_text(BROKEN)
    text = invoke("sync", "--source", str(folder), "--db", db)
    reasons = text.split("Invalid files (not applied):", 1)[1].split("Warnings in those files", 1)[0]
    assert "mesage" in reasons and "legacy" not in reasons, text
    assert "legacy" in text.split("Warnings in those files", 1)[1]
