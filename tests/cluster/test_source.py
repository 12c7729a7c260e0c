"""One store, one source: the first source is recorded, another is refused naming both, unless replaced."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.cluster.source import SourceMismatch, SourceRef, check_source, record_source, recorded_source
from daemon.store import Store

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_normalised_forms(tmp_path: Path) -> None:
    assert SourceRef.of(str(tmp_path) + "/") == SourceRef(str(tmp_path.resolve()))
    assert SourceRef.of("https://git.example/r.git/", "main", "/flows/") == SourceRef(
        "https://git.example/r.git", "main", "flows"
    )
    assert SourceRef.of("git@github.com:o/r.git", "") == SourceRef("git@github.com:o/r.git")


def test_first_source_recorded_same_accepted_other_refused(store: Store) -> None:
    first = SourceRef.of("https://git.example/a.git", "main", "flows")
    assert check_source(store.engine, first) is None
    record_source(store.engine, first, now=NOW)
    assert recorded_source(store.engine) == first
    assert check_source(store.engine, first) == first
    other = SourceRef.of("https://git.example/b.git", "main", "flows")
    with pytest.raises(SourceMismatch) as caught:
        check_source(store.engine, other)
    message = caught.value.message
    assert "a.git ref main path flows" in message and "b.git ref main path flows" in message
    assert "--replace-source" in message
    with pytest.raises(SourceMismatch):  # a different ref is another source too
        check_source(store.engine, SourceRef.of("https://git.example/a.git", "dev", "flows"))


def test_replace_source(store: Store) -> None:
    first, second = SourceRef.of("https://x/a.git"), SourceRef.of("https://x/b.git")
    record_source(store.engine, first, now=NOW)
    assert check_source(store.engine, second, replace=True) == first
    record_source(store.engine, second, now=NOW)
    assert recorded_source(store.engine) == second
