"""Namespace files: synced from ``_files/`` folders with the flows, versioned, seen by tasks and read()."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from daemon.reconcile import Reconciler
from daemon.reconcile.namespace_files import desired_files, split_files_path
from daemon.reconcile.plan import DesiredFlow
from daemon.sources import GitSource, LocalFolderSource
from daemon.store import Store
from tests.engine.conftest import Harness
from tests.sources.conftest import WorkRepo

FLOW = """id: {id}
namespace: {ns}
tasks:
  - id: run
    type: io.kestra.plugin.scripts.python.Commands
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    namespaceFiles:
      enabled: true
      include: ["scripts/**"]
    commands: [python scripts/hello.py]
  - id: data
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read('data/x.csv') | trim }}}}"
"""


def write(root: Path, rel: str, text: str) -> None:
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def flows_folder(root: Path, greeting: str = "hello") -> Path:
    write(root, "company/team/etl.yml", FLOW.format(id="etl", ns="company.team"))
    write(
        root,
        "company/team/_files/scripts/hello.py",
        f'print(\'::{{"outputs": {{"said": "{greeting}"}}}}::\')\n',
    )
    write(root, "company/team/_files/data/x.csv", "a,b\n1,2\n")
    write(
        root, "company/team/_files/scripts/skip.txt", "not a flow, not copied by include? it is: scripts/**\n"
    )
    return root


def heads(store: Store, namespace: str) -> dict[str, int]:
    return {p: f.revision for p, f in store.namespace_files.current(namespace).items()}


def test_split_files_path() -> None:
    assert split_files_path("company/team/_files/a/b.py") == ("company/team", "a/b.py")
    assert split_files_path("_files/x") == ("", "x")
    assert split_files_path("company/_files") is None  # a file named _files is not a folder of files
    assert split_files_path("company/flow.yml") is None


def test_a_folder_walk_resolves_only_files_below_a_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The periodic sync reads the namespace files of a folder source each time: the flow files beside
    them (thousands) are not resolved one by one, and the files found are the same."""
    import os

    from daemon.reconcile import namespace_files

    flows_folder(tmp_path)
    for i in range(20):
        write(tmp_path, f"company/team/more/f{i}.yml", FLOW.format(id=f"f{i}", ns="company.team"))
    write(tmp_path, "top/_files/deep/_files/x.txt", "x")  # a `_files` inside a `_files`: its own path
    resolved: list[str] = []
    real_realpath = os.path.realpath

    def counted(path: str) -> str:
        resolved.append(str(path))
        return real_realpath(path)

    monkeypatch.setattr(namespace_files.os.path, "realpath", counted)
    found = namespace_files.read_source_files(LocalFolderSource(tmp_path), None)
    assert sorted(found) == [
        "company/team/_files/data/x.csv",
        "company/team/_files/scripts/hello.py",
        "company/team/_files/scripts/skip.txt",
        "top/_files/deep/_files/x.txt",
    ]
    assert not [p for p in resolved if p.endswith(".yml")]
    assert len(resolved) == 1 + len(found)  # the root, then each namespace file


def test_namespace_of_a_files_folder() -> None:
    flows = [
        DesiredFlow("kestra.ns", "a", "_flows/a.yml", "", ""),
        DesiredFlow("company.team", "b", "company/team/b.yml", "", ""),
        DesiredFlow("mixed.one", "c", "mixed/c.yml", "", ""),
        DesiredFlow("mixed.two", "d", "mixed/d.yml", "", ""),
    ]
    files = {
        "_files/k.sql": b"1",  # Kestra's SyncFlows/SyncNamespaceFiles layout: _flows beside _files
        "company/team/_files/t.sql": b"2",  # flows beside
        "mixed/_files/m.sql": b"3",  # flows disagree: the folder path
        "plain/ns/_files/p.sql": b"4",  # no flows: the folder path
    }
    assert desired_files(files, flows, "") == {
        ("kestra.ns", "k.sql"): b"1",
        ("company.team", "t.sql"): b"2",
        ("mixed", "m.sql"): b"3",
        ("plain.ns", "p.sql"): b"4",
    }
    # a top-level _files with no flows to name it is skipped
    assert desired_files({"_files/x": b"1"}, [], "") == {}


def test_sync_versions_files_like_flows(store: Store, tmp_path: Path) -> None:
    root = flows_folder(tmp_path / "repo")
    reconciler = Reconciler(store, LocalFolderSource(root))
    assert reconciler.sync().result == "SUCCESS"
    assert heads(store, "company.team") == {"data/x.csv": 1, "scripts/hello.py": 1, "scripts/skip.txt": 1}
    reconciler.sync()  # nothing changed: no new version
    assert heads(store, "company.team") == {"data/x.csv": 1, "scripts/hello.py": 1, "scripts/skip.txt": 1}
    write(root, "company/team/_files/data/x.csv", "a,b\n3,4\n")
    (root / "company/team/_files/scripts/skip.txt").unlink()
    reconciler.sync()
    assert heads(store, "company.team") == {"data/x.csv": 2, "scripts/hello.py": 1}
    history = store.namespace_files.history("company.team", "scripts/skip.txt")
    assert [(h.revision, h.deleted) for h in history] == [(1, False), (2, True)]
    assert store.namespace_files.get("company.team", "data/x.csv") == b"a,b\n3,4\n"
    assert [h.content for h in store.namespace_files.history("company.team", "data/x.csv")] == [
        b"a,b\n1,2\n",
        b"a,b\n3,4\n",
    ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_tasks_and_read_see_the_synced_version(store: Store, tmp_path: Path) -> None:
    root = flows_folder(tmp_path / "repo")
    reconciler = Reconciler(store, LocalFolderSource(root))
    reconciler.sync()
    harness = Harness(store, tmp_path / "home")

    def run() -> tuple[str, object, object]:
        record = store.flows.get("company.team", "etl")
        assert record is not None
        ex_id = harness.executor.create_execution(record, {})
        ex = asyncio.run(asyncio.wait_for(harness.executor.run_until_done(ex_id), 60))
        outputs = {r.task_id: r.outputs or {} for r in harness.runs(ex.id)}
        assert ex.state == "SUCCESS", harness.logs(ex.id)
        return ex.id, outputs["run"]["vars"], outputs["data"]["value"]

    _, said, data = run()
    assert said == {"said": "hello"}
    assert data == "a,b\n1,2"
    flows_folder(root, greeting="bonjour")
    write(root, "company/team/_files/data/x.csv", "a,b\n9,9\n")
    reconciler.sync()
    _, said, data = run()
    assert said == {"said": "bonjour"}
    assert data == "a,b\n9,9"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_git_source_files_and_kestra_layout(store: Store, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    repo = WorkRepo(tmp_path / "git", home)
    repo.write("_flows/etl.yml", FLOW.format(id="etl", ns="prod"))
    repo.write("_files/scripts/hello.py", "print('hi')\n")
    repo.commit()
    reconciler = Reconciler(store, GitSource(repo.url, cache_dir=tmp_path / "cache"))
    assert reconciler.sync().result == "SUCCESS"
    assert store.namespace_files.get("prod", "scripts/hello.py") == b"print('hi')\n"
    repo.write("_files/scripts/hello.py", "print('hi again')\n")
    repo.commit()
    reconciler.sync()
    assert [h.revision for h in store.namespace_files.history("prod", "scripts/hello.py")] == [1, 2]
    assert store.namespace_files.get("prod", "scripts/hello.py") == b"print('hi again')\n"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_include_exclude_select_files(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(
        root,
        "ns/f.yml",
        "id: f\nnamespace: ns\ntasks:\n"
        + """  - id: ls
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    namespaceFiles: {enabled: true, include: ["**/*.sql"], exclude: ["tmp/**"]}
    commands: ["find . -name '*.sql' -type f | sort | tr '\\\\n' ' '"]
""",
    )
    for rel in ("q.sql", "sub/r.sql", "tmp/t.sql", "notes.md"):
        write(root, f"ns/_files/{rel}", "select 1")
    Reconciler(store, LocalFolderSource(root)).sync()
    harness = Harness(store, tmp_path / "home")
    record = store.flows.get("ns", "f")
    assert record is not None
    ex_id = harness.executor.create_execution(record, {})
    ex = asyncio.run(asyncio.wait_for(harness.executor.run_until_done(ex_id), 60))
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    assert "./q.sql ./sub/r.sql " in harness.logs(ex.id)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_working_directory_gets_namespace_files(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(
        root,
        "ns/wd.yml",
        """id: wd
namespace: ns
tasks:
  - id: dir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    namespaceFiles: {enabled: true, exclude: ["*.md"]}
    tasks:
      - id: first
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner: {type: io.kestra.plugin.core.runner.Process}
        commands: ["cat query.sql", "test ! -e notes.md"]
""",
    )
    write(root, "ns/_files/query.sql", "select 42")
    write(root, "ns/_files/notes.md", "no")
    Reconciler(store, LocalFolderSource(root)).sync()
    harness = Harness(store, tmp_path / "home")
    record = store.flows.get("ns", "wd")
    assert record is not None
    ex_id = harness.executor.create_execution(record, {})
    ex = asyncio.run(asyncio.wait_for(harness.executor.run_until_done(ex_id), 60))
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    assert "select 42" in harness.logs(ex.id)
