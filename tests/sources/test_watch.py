"""watch_folder sees created, modified, renamed and deleted flow files."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.sources import watch_folder

WAIT = 10.0  # generous upper bound for the event to arrive; not a speed assertion


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.event.set()

    def expect_call(self, action: Callable[[], object]) -> None:
        self.event.clear()
        action()
        assert self.event.wait(WAIT), "no change reported"


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Path, Counter]]:
    root = tmp_path / "flows"
    (root / "sub").mkdir(parents=True)
    counter = Counter()
    watch = watch_folder(root, counter, debounce=0.05)
    try:
        yield root, counter
    finally:
        watch.stop()


def test_sees_every_kind_of_change(watched: tuple[Path, Counter]) -> None:
    root, counter = watched
    target = root / "sub" / "a.yml"
    counter.expect_call(lambda: target.write_text("id: a\n"))  # create
    counter.expect_call(lambda: target.write_text("id: a\nnamespace: n\n"))  # modify
    counter.expect_call(lambda: target.rename(root / "b.yaml"))  # rename
    tmp = root / ".b.yaml.swp"
    tmp.write_text("editor temp")

    counter.expect_call(lambda: tmp.replace(root / "b.yaml"))  # editor save via rename over the file
    counter.expect_call(lambda: (root / "b.yaml").unlink())  # delete


def test_burst_is_debounced_and_stop_is_final(tmp_path: Path) -> None:
    root = tmp_path / "flows"
    root.mkdir()
    counter = Counter()
    watch = watch_folder(root, counter, debounce=0.3)
    counter.expect_call(lambda: [(root / f"f{i}.yml").write_text("x") for i in range(20)])
    watch.stop()
    calls = counter.calls
    assert calls < 20
    (root / "late.yml").write_text("x")
    assert not counter.event.wait(0.5) or counter.calls == calls


def test_sees_namespace_file_changes(watched: tuple[Path, Counter]) -> None:
    root, counter = watched
    # a new folder counts by itself; its files (not YAML) count because they are below _files/
    counter.expect_call(lambda: (root / "sub" / "_files").mkdir())
    target = root / "sub" / "_files" / "query.sql"
    counter.expect_call(lambda: target.write_text("select 1"))
    counter.expect_call(lambda: target.write_text("select 2"))
    counter.expect_call(lambda: target.unlink())


def test_reading_flow_files_delivers_no_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync reads every flow file: the kernel is not asked for open / close events, so watchdog's threads
    handle none of them (with 10,000 files they held the GIL away from the daemon's main loop)."""
    from daemon.sources import watch as watch_module

    root = tmp_path / "flows"
    root.mkdir()
    for i in range(20):
        (root / f"f{i}.yml").write_text("id: f\n")
    seen: list[str] = []
    handle = watch_module._Debounced.on_any_event
    monkeypatch.setattr(
        watch_module._Debounced, "on_any_event", lambda self, e: (seen.append(e.event_type), handle(self, e))
    )
    counter = Counter()
    watch = watch_folder(root, counter, debounce=0.05)
    try:
        for i in range(20):
            (root / f"f{i}.yml").read_text()
        # events arrive in order: once the write is reported, the reads before it would have been
        counter.expect_call(lambda: (root / "new.yml").write_text("id: new\n"))
    finally:
        watch.stop()
    assert seen and not {"opened", "closed_no_write"} & set(seen), seen
