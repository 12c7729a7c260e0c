"""One store, one source: the first source is recorded, another is refused naming both, unless replaced."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.cluster.source import SourceMismatch, SourceRef, claim_source, recorded_source
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
    assert recorded_source(store.engine) is None
    assert claim_source(store.engine, first, now=NOW) is None
    assert recorded_source(store.engine) == first
    assert claim_source(store.engine, first, now=NOW) is None
    other = SourceRef.of("https://git.example/b.git", "main", "flows")
    with pytest.raises(SourceMismatch) as caught:
        claim_source(store.engine, other, now=NOW)
    message = caught.value.message
    assert "a.git ref main path flows" in message and "b.git ref main path flows" in message
    assert "--replace-source" in message
    assert recorded_source(store.engine) == first  # nothing changed
    with pytest.raises(SourceMismatch):  # a different ref is another source too
        claim_source(store.engine, SourceRef.of("https://git.example/a.git", "dev", "flows"), now=NOW)


def test_replace_source(store: Store) -> None:
    first, second = SourceRef.of("https://x/a.git"), SourceRef.of("https://x/b.git")
    claim_source(store.engine, first, now=NOW)
    assert claim_source(store.engine, second, now=NOW, replace=True) == first
    assert recorded_source(store.engine) == second
