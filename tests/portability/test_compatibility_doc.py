"""The compatibility table names every type flowd supports, and the validator points to it."""

from __future__ import annotations

from pathlib import Path

from daemon.language.model import TRIGGER_CLASSES
from daemon.language.structure import COMPATIBILITY_DOC
from daemon.language.tasks import TASK_CLASSES

ROOT = Path(__file__).resolve().parents[2]


def test_every_supported_task_and_trigger_type_is_in_the_table() -> None:
    text = (ROOT / COMPATIBILITY_DOC).read_text()
    for name in [*TASK_CLASSES, *TRIGGER_CLASSES]:
        package, _, last = name.removeprefix("io.kestra.plugin.").rpartition(".")
        assert f"{package}." in text and last in text, name
