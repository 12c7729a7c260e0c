"""What a sync leaves alive is frozen before automatic collection resumes: collection was paused during the
sync, so it all sits in the youngest generation, and the first pass after would walk every object of it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from daemon.server.sync_loop import _sync


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.freeze()  # what exists already is not counted below (the count covers every generation)
    yield
    gc.unfreeze()  # the test process's objects go back to normal collection


class Building:
    """A reconciler whose sync leaves 20,000 tracked objects alive (a sync's parsed flows)."""

    def __init__(self) -> None:
        self.kept: list[Any] = []

    def sync(self) -> str:
        self.kept = [[i] for i in range(20_000)]  # lists are always tracked
        return "SUCCESS"


def test_a_sync_freezes_what_it_leaves_before_collection_resumes(unfrozen: None) -> None:
    before, reconciler = gc.get_freeze_count(), Building()
    assert _sync(reconciler) == "SUCCESS"  # type: ignore[arg-type,comparison-overlap]
    assert gc.get_freeze_count() - before >= 20_000
    assert gc.isenabled()
    assert gc.get_count()[0] < 700  # nothing piled up for the next pass to walk


class Failing:
    def sync(self) -> str:
        self.kept = [[i] for i in range(20_000)]  # lists are always tracked
        raise RuntimeError("store down")


def test_a_failed_sync_freezes_too(unfrozen: None) -> None:
    before, reconciler = gc.get_freeze_count(), Failing()
    with pytest.raises(RuntimeError):
        _sync(reconciler)  # type: ignore[arg-type]
    assert gc.get_freeze_count() - before >= 20_000
