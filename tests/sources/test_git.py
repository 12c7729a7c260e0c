"""GitSource against real repositories served over file:// (and git:// when git daemon is available)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.errors import SourceError
from daemon.sources import GitSource, Snapshot

from .conftest import WorkRepo

pytestmark = pytest.mark.integration

Flow = Callable[..., str]


def source(repo: WorkRepo, tmp_path: Path, **kwargs: str | None) -> GitSource:
    return GitSource(repo.url, cache_dir=tmp_path / "cache", **kwargs)  # type: ignore[arg-type]


def test_clone_then_fetch(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    repo.write("flows/a.yml", flow_text("a"))
    repo.write("flows/compose.yaml", "services: {}\n")
    repo.write("README.md", "hello")
    first = repo.commit()
    src = source(repo, tmp_path)

    snap = src.snapshot()
    assert snap.commit == first
    assert snap.files == {"flows/a.yml": flow_text("a").encode(), "flows/compose.yaml": b"services: {}\n"}
    assert (src.clone_dir / "HEAD").is_file()

    repo.write("flows/b.yml", flow_text("b"))
    second = repo.commit()
    again = GitSource(repo.url, cache_dir=tmp_path / "cache").snapshot()  # reuses the clone
    assert again.commit == second
    assert sorted(again.files) == ["flows/a.yml", "flows/b.yml", "flows/compose.yaml"]


def test_default_branch_is_remote_head(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    repo.write("a.yml", flow_text("on-main"))
    repo.commit(push="main")
    repo.git("checkout", "-q", "-b", "develop")
    repo.write("a.yml", flow_text("on-develop"))
    develop = repo.commit(push="develop")
    repo.git("symbolic-ref", "HEAD", "refs/heads/develop", cwd=repo.server)

    snap = source(repo, tmp_path).snapshot()
    assert snap.commit == develop
    assert b"on-develop" in snap.files["a.yml"]


def test_branch_tag_and_sha_refs(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    repo.write("a.yml", flow_text("a", message="one"))
    one = repo.commit()
    repo.git("tag", "-a", "-m", "release", "v1")
    repo.git("push", "-q", "origin", "v1")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("a.yml", flow_text("a", message="feature"))
    feature = repo.commit(push="feature")
    repo.git("checkout", "-q", "main")
    repo.write("a.yml", flow_text("a", message="two"))
    two = repo.commit()

    cases = {
        None: two,
        "main": two,
        "refs/heads/feature": feature,
        "feature": feature,
        "v1": one,
        "refs/tags/v1": one,
        one: one,
        one[:8]: one,
    }
    for ref, expected in cases.items():
        assert source(repo, tmp_path, ref=ref).snapshot().commit == expected, ref


def test_force_push_is_followed(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    repo.write("a.yml", flow_text("a"))
    repo.commit()
    repo.write("b.yml", flow_text("b"))
    repo.commit()
    src = source(repo, tmp_path)
    before = src.snapshot()
    assert sorted(before.files) == ["a.yml", "b.yml"]

    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.write("c.yml", flow_text("c"))
    rewritten = repo.commit(force=True)

    after = src.snapshot(before)  # the old commit is no ancestor any more
    assert after.commit == rewritten
    assert sorted(after.files) == ["a.yml", "c.yml"]
    assert after == src.snapshot()


def test_path_subfolder(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    repo.write("flows/prod/a.yml", flow_text("a"))
    repo.write("flows/dev/b.yml", flow_text("b"))
    repo.write("c.yml", flow_text("c"))
    repo.commit()
    snap = source(repo, tmp_path, path="flows/prod").snapshot()
    assert list(snap.files) == ["flows/prod/a.yml"]
    assert snap.path == "flows/prod"


def test_symlinks_in_tree(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    repo.write("shared/s.yml", flow_text("s"))
    repo.write("lib/deep/d.yml", flow_text("d"))
    repo.write("flows/a.yml", flow_text("a"))
    repo.link("flows/alias.yml", "../shared/s.yml")
    repo.link("flows/libs", "../lib")
    repo.link("flows/out.yml", "../../outside.yml")
    repo.link("flows/abs.yml", "/etc/hosts")
    repo.link("flows/broken.yml", "nothing.yml")
    repo.link("flows/loop", "..")
    repo.commit()

    snap = source(repo, tmp_path, path="flows").snapshot()

    assert sorted(snap.files) == ["flows/a.yml", "flows/alias.yml", "flows/libs/deep/d.yml"]
    assert snap.files["flows/alias.yml"] == flow_text("s").encode()
    assert {s.path: s.reason for s in snap.skipped} == {
        "flows/out.yml": "symlink points outside the repository",
        "flows/abs.yml": "symlink points outside the repository",
        "flows/broken.yml": "broken symlink",
        "flows/loop": "symlink loop",
    }


def test_incremental_matches_full_read(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    for name in ("a", "b", "c", "d"):
        repo.write(f"flows/{name}.yml", flow_text(name))
    repo.write("flows/not-a-flow.yml", "x: 1\n")
    repo.write("other/e.yml", flow_text("e"))
    first_commit = repo.commit()
    src = source(repo, tmp_path, path="flows")
    first = src.snapshot()

    repo.write("flows/a.yml", flow_text("a", message="modified"))  # modify
    (repo.work / "flows" / "b.yml").unlink()  # delete
    (repo.work / "flows" / "sub").mkdir()
    repo.git("mv", "flows/c.yml", "flows/sub/c2.yml")  # rename
    repo.write("flows/new.yml", flow_text("new"))  # add
    repo.write("flows/not-a-flow.yml", flow_text("now-a-flow"))  # becomes a flow
    repo.write("flows/d.yml", "x: 2\n")  # stops being a flow
    repo.write("other/e.yml", flow_text("e", message="outside path"))
    second_commit = repo.commit()

    incremental = src.snapshot(first)
    full = GitSource(repo.url, cache_dir=tmp_path / "other-cache", path="flows").snapshot()
    assert incremental == full
    assert sorted(incremental.files) == [
        "flows/a.yml",
        "flows/d.yml",  # every YAML file is read; the collector decides it is no flow
        "flows/new.yml",
        "flows/not-a-flow.yml",
        "flows/sub/c2.yml",
    ]
    assert incremental.blobs == full.blobs
    assert src.snapshot(incremental) is incremental  # nothing new: same snapshot back

    assert src.changed_paths(first_commit, second_commit) == {
        "flows/a.yml",
        "flows/b.yml",
        "flows/c.yml",
        "flows/sub/c2.yml",
        "flows/new.yml",
        "flows/not-a-flow.yml",
        "flows/d.yml",
        "other/e.yml",
    }


def test_incremental_reads_only_changed_blobs(
    repo: WorkRepo, tmp_path: Path, flow_text: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(20):
        repo.write(f"f{i}.yml", flow_text(f"f{i}"))
    repo.commit()
    src = source(repo, tmp_path)
    first = src.snapshot()
    repo.write("f3.yml", flow_text("f3", message="changed"))
    repo.commit()

    from daemon.sources import gittree

    reads: list[str] = []
    original = gittree._Read.add

    def spy(self: gittree._Read, path: str, oid: object) -> None:
        reads.append(path)
        original(self, path, oid)  # type: ignore[arg-type]

    monkeypatch.setattr(gittree._Read, "add", spy)
    second = src.snapshot(first)
    assert reads == ["f3.yml"]
    assert b"changed" in second.files["f3.yml"]
    assert second.files["f4.yml"] is first.files["f4.yml"]


def test_incremental_with_symlink_target_change(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    repo.write("shared/s.yml", flow_text("s"))
    repo.link("flows/alias.yml", "../shared/s.yml")
    repo.commit()
    src = source(repo, tmp_path, path="flows")
    first = src.snapshot()
    repo.write("shared/s.yml", flow_text("s", message="target changed"))
    repo.commit()
    second = src.snapshot(first)
    assert b"target changed" in second.files["flows/alias.yml"]


def test_errors_are_one_line_source_errors(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    repo.write("flows/a.yml", flow_text("a"))
    repo.commit()
    cases: list[tuple[GitSource, str]] = [
        (GitSource((tmp_path / "nowhere.git").as_uri(), cache_dir=tmp_path / "c"), "cannot fetch"),
        (source(repo, tmp_path, ref="no-such-branch"), "ref 'no-such-branch' not found"),
        (source(repo, tmp_path, ref="deadbeefdeadbeef"), "ref 'deadbeefdeadbeef' not found"),
        (source(repo, tmp_path, path="missing"), "--path 'missing' does not exist"),
        (source(repo, tmp_path, path="flows/a.yml"), "--path 'flows/a.yml' does not exist"),
        (GitSource("http://127.0.0.1:9/x.git", cache_dir=tmp_path / "c"), "cannot fetch http://127.0.0.1:9"),
    ]
    for src, expected in cases:
        with pytest.raises(SourceError) as info:
            src.snapshot()
        assert expected in info.value.message
        assert "\n" not in info.value.message and "Traceback" not in info.value.message


def test_deleted_branch_is_an_error(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    repo.write("a.yml", flow_text("a"))
    repo.commit()
    repo.push("release")
    src = source(repo, tmp_path, ref="release")
    assert src.snapshot().files
    repo.git("push", "-q", "origin", ":refs/heads/release")
    with pytest.raises(SourceError, match="ref 'release' not found"):
        src.snapshot()


def test_credentials_never_in_errors(tmp_path: Path) -> None:
    src = GitSource("http://user:s3cret@127.0.0.1:9/x.git", cache_dir=tmp_path / "c", token="tok3n")
    with pytest.raises(SourceError) as info:
        src.snapshot()
    assert "s3cret" not in info.value.message and "tok3n" not in info.value.message
    assert "s3cret" not in src.describe()


def test_changed_paths_unknown_commit(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    repo.write("a.yml", flow_text("a"))
    head = repo.commit()
    src = source(repo, tmp_path)
    src.snapshot()
    with pytest.raises(SourceError, match="unknown commit"):
        src.changed_paths(head, "0" * 40)


def test_snapshot_since_other_source_is_a_full_read(repo: WorkRepo, tmp_path: Path, flow_text: Flow) -> None:
    repo.write("a/x.yml", flow_text("x"))
    repo.write("b/y.yml", flow_text("y"))
    repo.commit()
    whole = source(repo, tmp_path).snapshot()
    only_b = source(repo, tmp_path, path="b").snapshot(whole)
    assert list(only_b.files) == ["b/y.yml"]
    assert isinstance(only_b, Snapshot)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def git_daemon(repo: WorkRepo) -> Iterator[str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    probe = subprocess.run(["git", "daemon", "--help"], capture_output=True, check=False)
    if probe.returncode not in (0, 129) or b"daemon" not in probe.stdout + probe.stderr:
        pytest.skip("git daemon is not available")
    port = _free_port()
    base = repo.server.parent
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={base}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):  # wait until it listens (not an assertion on speed)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.skip("git daemon could not start")
                time.sleep(0.05)
        else:
            pytest.skip("git daemon did not start listening")
        yield f"git://127.0.0.1:{port}/{repo.server.name}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_git_protocol_over_git_daemon(
    repo: WorkRepo, tmp_path: Path, flow_text: Flow, git_daemon: str
) -> None:
    repo.write("a.yml", flow_text("a"))
    head = repo.commit()
    snap = GitSource(git_daemon, cache_dir=tmp_path / "cache").snapshot()
    assert snap.commit == head
    assert list(snap.files) == ["a.yml"]
