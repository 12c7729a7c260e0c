"""Portability tests run flows through the real engine: the engine tests' harness, reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.store import Store
from tests.engine.conftest import Harness


@pytest.fixture
def harness(store: Store, tmp_path: Path) -> Harness:
    return Harness(store, tmp_path / "home")
