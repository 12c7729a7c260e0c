"""open_source picks the right source for a --source string."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from daemon.errors import SourceError
from daemon.sources import GitSource, LocalFolderSource, open_source


def test_existing_folder_is_a_folder_source_even_with_git_inside(tmp_path: Path) -> None:
    pygit2.init_repository(str(tmp_path / "work"))
    src = open_source(str(tmp_path / "work"), cache_dir=tmp_path / "c", path="flows")
    assert isinstance(src, LocalFolderSource)
    assert src.path == "flows"


@pytest.mark.parametrize(
    "spec",
    [
        "file:///srv/flows.git",
        "https://example.org/org/flows.git",
        "http://127.0.0.1:9/flows",
        "ssh://git@example.org/org/flows.git",
        "git@github.com:org/flows.git",
        "git://127.0.0.1/flows.git",
        "/no/such/place/flows.git",
    ],
)
def test_git_specs(spec: str, tmp_path: Path) -> None:
    src = open_source(spec, cache_dir=tmp_path, ref="main", token="t")
    assert isinstance(src, GitSource)
    assert src.url == spec and src.ref == "main"


def test_bare_repository_folder_is_git(tmp_path: Path) -> None:
    pygit2.init_repository(str(tmp_path / "flows.git"), bare=True)
    assert isinstance(open_source(str(tmp_path / "flows.git"), cache_dir=tmp_path), GitSource)


def test_unknown_spec_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="neither an existing folder nor a Git URL"):
        open_source(str(tmp_path / "missing"), cache_dir=tmp_path)


def test_ref_on_a_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="plain folder"):
        open_source(str(tmp_path), cache_dir=tmp_path, ref="main")
