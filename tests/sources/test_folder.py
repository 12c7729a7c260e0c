"""LocalFolderSource on real folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from daemon.errors import SourceError
from daemon.sources import LocalFolderSource


@pytest.fixture
def tree(tmp_path: Path, flow_text: Callable[..., str]) -> Path:
    root = tmp_path / "flows"
    (root / "team" / "deep").mkdir(parents=True)
    (root / "team" / "a.yml").write_text(flow_text("a"))
    (root / "team" / "deep" / "b.yaml").write_text(flow_text("b"))
    (root / "top.yml").write_text(flow_text("top"))
    (root / "team" / "compose.yml").write_text("services:\n  web: {}\n")
    (root / "team" / "notes.txt").write_text(flow_text("not-yaml"))
    (root / ".git").mkdir()
    (root / ".git" / "hidden.yml").write_text(flow_text("git-internal"))
    return root


def test_reads_every_yaml_file(tree: Path) -> None:
    # every YAML file: which are flows is the collector's decision (a deployed flow's emptied file counts)
    snap = LocalFolderSource(tree).snapshot()
    assert snap.commit is None
    assert sorted(snap.files) == ["team/a.yml", "team/compose.yml", "team/deep/b.yaml", "top.yml"]
    assert snap.files["team/a.yml"] == (tree / "team" / "a.yml").read_bytes()
    assert snap.skipped == ()


def test_path_subfolder_keeps_root_relative_paths(tree: Path) -> None:
    snap = LocalFolderSource(tree, "team/").snapshot()
    assert sorted(snap.files) == ["team/a.yml", "team/compose.yml", "team/deep/b.yaml"]
    assert snap.path == "team"


@pytest.mark.parametrize("path", ["missing", "top.yml"])
def test_missing_path_is_an_error(tree: Path, path: str) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        LocalFolderSource(tree, path).snapshot()


def test_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        LocalFolderSource(tmp_path / "nope").snapshot()


def test_symlinks(tree: Path, tmp_path: Path, flow_text: Callable[..., str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.yml").write_text(flow_text("x"))
    (tree / "out.yml").symlink_to(outside / "x.yml")
    (tree / "outdir").symlink_to(outside)
    (tree / "team" / "rel-out.yml").symlink_to("../../outside/x.yml")
    (tree / "broken.yml").symlink_to(tree / "nothing.yml")
    (tree / "team" / "loop").symlink_to("..")
    (tree / "alias.yml").symlink_to("team/a.yml")
    (tree / "linked").symlink_to("team/deep")

    snap = LocalFolderSource(tree).snapshot()

    assert sorted(snap.files) == [
        "alias.yml",
        "linked/b.yaml",
        "team/a.yml",
        "team/compose.yml",
        "team/deep/b.yaml",
        "top.yml",
    ]
    assert snap.files["alias.yml"] == snap.files["team/a.yml"]
    reasons = {s.path: s.reason for s in snap.skipped}
    assert reasons == {
        "out.yml": "symlink points outside the source folder",
        "outdir": "symlink points outside the source folder",
        "team/rel-out.yml": "symlink points outside the source folder",
        "broken.yml": "broken symlink",
        "team/loop": "symlink loop",
    }
    assert snap.links["linked"] == "team/deep"


def test_rereads_changes(tree: Path, flow_text: Callable[..., str]) -> None:
    source = LocalFolderSource(tree)
    first = source.snapshot()
    (tree / "top.yml").unlink()
    (tree / "team" / "a.yml").write_text(flow_text("a", message="changed"))
    second = source.snapshot(first)
    assert sorted(second.files) == ["team/a.yml", "team/compose.yml", "team/deep/b.yaml"]
    assert b"changed" in second.files["team/a.yml"]
