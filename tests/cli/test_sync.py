"""``flowd plan`` / ``flowd sync`` end to end: real Git repositories over file://, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from daemon.cli.main import cli
from daemon.store import Store

pytestmark = pytest.mark.integration


def flow(fid: str, message: str = "hi", *, ns: str = "team") -> str:
    return f"id: {fid}\nnamespace: {ns}\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n" + (
        f"    message: {message}\n"
    )


class Repo:
    """A work tree that pushes to a bare repository served over file://."""

    def __init__(self, root: Path) -> None:
        self.work, self.server, self.home = root / "work", root / "server.git", root / "home"
        for folder in (self.work, self.home):
            folder.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        self.git("init", "-q", "--bare", "-b", "main", str(self.server))
        self.git("remote", "add", "origin", str(self.server))

    @property
    def url(self) -> str:
        return self.server.as_uri()

    def git(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(HOME=str(self.home), GIT_CONFIG_NOSYSTEM="1")
        for role in ("AUTHOR", "COMMITTER"):
            env.update({f"GIT_{role}_NAME": "t", f"GIT_{role}_EMAIL": "t@example.org"})
        done = subprocess.run(
            ["git", *args], cwd=self.work, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def write(self, files: dict[str, str | None]) -> None:
        for rel, text in files.items():
            target = self.work / rel
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def commit(self, files: dict[str, str | None], *, force: bool = False) -> str:
        self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", "change")
        self.git("push", "-q", *(["--force"] if force else []), "origin", "HEAD:refs/heads/main")
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


def flowd(db_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [*args, "--db", db_url], env=env, catch_exceptions=False)


def deployed(db_url: str) -> dict[str, tuple[int, str]]:
    with Store.open(db_url) as store:
        return {f"{f.namespace}/{f.flow_id}": (f.revision, f.sync_state) for f in store.flows.list()}


def test_sync_create_update_delete_unchanged(db_url: str, repo: Repo, flowd_home: Path) -> None:
    first = repo.commit({"flows/a.yml": flow("a"), "flows/b.yml": flow("b"), "flows/c.yml": flow("c")})
    result = flowd(db_url, "sync", "--source", repo.url)
    assert result.exit_code == 0, result.output
    assert f"Sync SUCCESS at {first[:12]}: 3 to create" in result.output
    second = repo.commit({"flows/b.yml": flow("b", "changed"), "flows/c.yml": None})
    plan = flowd(db_url, "plan", "--source", repo.url, "--exit-code")
    assert plan.exit_code == 3
    assert "1 to update, 1 to delete, 1 unchanged" in plan.output and "+    message: changed" in plan.output
    assert deployed(db_url)["team/b"] == (1, "SYNCED")  # plan changed nothing
    result = flowd(db_url, "sync", "--source", repo.url)
    assert result.exit_code == 0, result.output
    assert deployed(db_url) == {"team/a": (1, "SYNCED"), "team/b": (2, "SYNCED")}
    with Store.open(db_url) as store:
        b = store.flows.get("team", "b")
        assert b is not None and b.commit == second and b.path == "flows/b.yml"
        assert store.syncs.latest(limit=1)[0].commit_applied == second
    again = flowd(db_url, "plan", "--source", repo.url, "--exit-code")
    assert again.exit_code == 0 and "0 to create, 0 to update, 0 to delete, 2 unchanged" in again.output


def test_invalid_file_is_isolated_then_fixed(db_url: str, repo: Repo, flowd_home: Path) -> None:
    repo.commit({"a.yml": flow("a"), "b.yml": flow("b")})
    assert flowd(db_url, "sync", "--source", repo.url).exit_code == 0
    repo.commit({"a.yml": flow("a").replace("message", "mesage"), "b.yml": flow("b", "v2")})
    result = flowd(db_url, "sync", "--source", repo.url)
    assert result.exit_code == 1
    assert "a.yml:6:5: error: tasks[0].mesage: unknown property 'mesage'" in result.output
    assert deployed(db_url) == {"team/a": (1, "OUT_OF_DATE"), "team/b": (2, "SYNCED")}
    repo.commit({"a.yml": flow("a", "fixed")})
    assert flowd(db_url, "sync", "--source", repo.url).exit_code == 0
    assert deployed(db_url)["team/a"] == (2, "SYNCED")


def test_duplicate_ids_across_files(db_url: str, repo: Repo, flowd_home: Path) -> None:
    repo.commit({"a.yml": flow("a")})
    flowd(db_url, "sync", "--source", repo.url)
    repo.commit({"copy.yml": flow("a", "other")})
    result = flowd(db_url, "sync", "--source", repo.url)
    assert result.exit_code == 1 and "also defined in copy.yml" in result.output
    assert deployed(db_url) == {"team/a": (1, "OUT_OF_DATE")}


def test_empty_folder_and_wrong_path_are_refused(db_url: str, repo: Repo, flowd_home: Path) -> None:
    repo.commit({"flows/a.yml": flow("a"), "docs/notes.yml": "just: notes\n"})
    flowd(db_url, "sync", "--source", repo.url, "--path", "flows")
    missing = flowd(db_url, "sync", "--source", repo.url, "--path", "nothing-here", "--replace-source")
    assert missing.exit_code == 2 and "does not exist" in missing.output  # the source says so
    wrong = flowd(
        db_url, "sync", "--source", repo.url, "--path", "docs", "--replace-source"
    )  # a folder without flows
    assert wrong.exit_code == 2 and "--allow-empty" in wrong.output
    assert deployed(db_url) == {"team/a": (1, "SYNCED")}
    repo.commit({"flows/a.yml": None})
    refused = flowd(db_url, "sync", "--source", repo.url, "--replace-source")
    assert refused.exit_code == 2 and deployed(db_url) == {"team/a": (1, "SYNCED")}
    allowed = flowd(db_url, "sync", "--source", repo.url, "--allow-empty", "--replace-source")
    assert allowed.exit_code == 0 and deployed(db_url) == {}


def test_no_prune(db_url: str, repo: Repo, flowd_home: Path) -> None:
    repo.commit({"a.yml": flow("a"), "b.yml": flow("b")})
    flowd(db_url, "sync", "--source", repo.url)
    repo.commit({"a.yml": None})
    result = flowd(db_url, "sync", "--source", repo.url, "--no-prune")
    assert result.exit_code == 0 and "leave   team/a" in result.output
    assert set(deployed(db_url)) == {"team/a", "team/b"}


def test_unreadable_source_changes_nothing(db_url: str, repo: Repo, flowd_home: Path, tmp_path: Path) -> None:
    repo.commit({"a.yml": flow("a")})
    flowd(db_url, "sync", "--source", repo.url)
    repo.commit({"a.yml": None})
    missing = flowd(db_url, "sync", "--source", (tmp_path / "nowhere.git").as_uri(), "--replace-source")
    assert missing.exit_code == 2 and missing.output.startswith("flowd: cannot read source:")
    assert missing.output.count("\n") == 1
    bad_ref = flowd(db_url, "sync", "--source", repo.url, "--ref", "no-such-branch", "--replace-source")
    assert bad_ref.exit_code == 2 and "no-such-branch" in bad_ref.output
    plan = flowd(db_url, "plan", "--source", repo.url, "--ref", "no-such-branch")
    assert plan.exit_code == 2
    assert deployed(db_url) == {"team/a": (1, "SYNCED")}
    with Store.open(db_url) as store:
        assert store.syncs.latest(limit=1)[0].result == "SOURCE_ERROR"


def test_force_push_is_followed(db_url: str, repo: Repo, flowd_home: Path) -> None:
    repo.commit({"a.yml": flow("a")})
    repo.commit({"a.yml": flow("a", "v2")})
    flowd(db_url, "sync", "--source", repo.url)
    repo.git("reset", "-q", "--hard", "HEAD~1")
    rewritten = repo.commit({"b.yml": flow("b")}, force=True)
    result = flowd(db_url, "sync", "--source", repo.url)
    assert result.exit_code == 0 and rewritten[:12] in result.output
    assert deployed(db_url) == {
        "team/a": (2, "SYNCED"),
        "team/b": (1, "SYNCED"),
    }  # a back to 'hi': revision 2
    with Store.open(db_url) as store:
        a = store.flows.get("team", "a")
        assert a is not None and "message: hi" in a.source


def test_source_from_environment_and_json_plan(db_url: str, repo: Repo, flowd_home: Path) -> None:
    repo.commit({"flows/a.yml": flow("a"), "other/b.yml": flow("b")})
    env = {"FLOWD_SOURCE": repo.url, "FLOWD_REF": "main", "FLOWD_PATH": "flows"}
    result = flowd(db_url, "plan", "--format", "json", env=env)
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["formatVersion"] == 1
    assert [c["uid"] for c in data["created"]] == ["team/a"]
    assert data["updated"] == data["deleted"] == []


def test_mass_delete_needs_the_flag(db_url: str, repo: Repo, flowd_home: Path) -> None:
    repo.commit({f"f{i}.yml": flow(f"f{i}") for i in range(8)})
    assert flowd(db_url, "sync", "--source", repo.url).exit_code == 0
    repo.commit({f"f{i}.yml": None for i in range(4)})  # half of the deployed flows
    plan = flowd(db_url, "plan", "--source", repo.url, "--exit-code")
    assert plan.exit_code == 2 and "--allow-mass-delete" in plan.output
    refused = flowd(db_url, "sync", "--source", repo.url)
    assert refused.exit_code == 2 and "--allow-mass-delete" in refused.output
    assert len(deployed(db_url)) == 8
    by_setting = flowd(
        db_url, "plan", "--source", repo.url, "--exit-code", env={"FLOWD_ALLOW_MASS_DELETE": "1"}
    )
    assert by_setting.exit_code == 3
    allowed = flowd(db_url, "sync", "--source", repo.url, "--allow-mass-delete")
    assert allowed.exit_code == 0 and len(deployed(db_url)) == 4


def test_an_emptied_file_keeps_its_flow(db_url: str, repo: Repo, flowd_home: Path) -> None:
    repo.commit({"a.yml": flow("a"), "b.yml": flow("b")})
    flowd(db_url, "sync", "--source", repo.url)
    repo.commit({"a.yml": ""})
    result = flowd(db_url, "sync", "--source", repo.url)
    assert result.exit_code == 1 and "stays deployed" in result.output
    assert deployed(db_url) == {"team/a": (1, "OUT_OF_DATE"), "team/b": (1, "SYNCED")}


def test_another_source_is_refused_naming_both(
    db_url: str, repo: Repo, flowd_home: Path, tmp_path: Path
) -> None:
    repo.commit({"a.yml": flow("a")})
    assert flowd(db_url, "sync", "--source", repo.url).exit_code == 0
    folder = tmp_path / "other-flows"
    folder.mkdir()
    (folder / "b.yml").write_text(flow("b"))
    other = flowd(db_url, "sync", "--source", str(folder))
    assert other.exit_code == 2
    assert repo.url.rstrip("/") in other.output and str(folder.resolve()) in other.output
    assert "--replace-source" in other.output
    assert set(deployed(db_url)) == {"team/a"}  # nothing applied, nothing pruned
    replaced = flowd(db_url, "sync", "--source", str(folder), "--replace-source")
    assert replaced.exit_code == 0 and set(deployed(db_url)) == {"team/b"}
    # the store now follows the folder: the old source is the one refused
    assert flowd(db_url, "sync", "--source", repo.url).exit_code == 2
