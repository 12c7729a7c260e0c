"""A broken file never deletes its deployed flow; only a removed file (or a valid file that stopped defining
the flow) does. The mass-delete guard refuses a sync deleting too much."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.clock import FrozenClock
from daemon.reconcile import Reconciler
from daemon.reconcile.collect import FileChecker
from daemon.reconcile.hashing import content_hash
from daemon.reconcile.plan import DeployedFlow, MassDeleteGuard, plan
from daemon.sources.folder import LocalFolderSource
from daemon.sources.snapshot import Snapshot
from daemon.store import Store

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def flow(fid: str, message: str = "hi", ns: str = "inv") -> str:
    return (
        f"id: {fid}\nnamespace: {ns}\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n"
        f"    message: {message}\n"
    )


class BytesSource:
    """A source whose files (bytes) the test edits; every snapshot is a new commit."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.count = 0

    def snapshot(self, since: Snapshot | None = None) -> Snapshot:
        self.count += 1
        return Snapshot(f"{self.count:040x}", dict(self.files))

    def describe(self) -> str:
        return "memory://flows"


ONE_LINE = b"{id: f2, namespace: inv, tasks: [{id: log, type: io.kestra.plugin.core.log.Log, message: hi}]}\n"
MUTATIONS = {
    "empty": b"",
    "tab before tasks": flow("f2").replace("tasks:", "\ttasks:").encode(),
    "taskz typo": flow("f2").replace("tasks:", "taskz:").encode(),
    "binary garbage": bytes(range(256)) * 4,
    "comments only": b"# nothing here\n",
    "other yaml": b"services:\n  web: {}\n",
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_broken_file_keeps_its_flow(store: Store, mutation: str) -> None:
    files = {f"f{i}.yml": flow(f"f{i}").encode() for i in range(1, 4)}
    source = BytesSource(files)
    rec = Reconciler(store, source, clock=FrozenClock(T0))  # type: ignore[arg-type]
    assert rec.sync().result == "SUCCESS"
    source.files["f2.yml"] = MUTATIONS[mutation]
    outcome = rec.sync()
    assert outcome.counts["delete"] == 0, outcome.plan
    assert outcome.result == "PARTIAL"
    kept = store.flows.get("inv", "f2")
    assert kept is not None and kept.revision == 1 and kept.sync_state == "OUT_OF_DATE"
    assert outcome.plan is not None and [k.uid for k in outcome.plan.kept] == ["inv/f2"]
    assert any("stays deployed" in d.message or d.severity == "error" for d in outcome.plan.diagnostics())
    # removing the file is what deletes the flow
    del source.files["f2.yml"]
    gone = rec.sync()
    assert gone.counts["delete"] == 1 and store.flows.get("inv", "f2") is None


def test_a_one_line_flow_mapping_is_a_flow(store: Store) -> None:
    source = BytesSource({"f1.yml": flow("f1").encode(), "f2.yml": flow("f2").encode()})
    rec = Reconciler(store, source, clock=FrozenClock(T0))  # type: ignore[arg-type]
    rec.sync()
    source.files["f2.yml"] = ONE_LINE
    outcome = rec.sync()
    assert outcome.result == "SUCCESS" and outcome.counts["update"] == 1 and outcome.counts["delete"] == 0
    f2 = store.flows.get("inv", "f2")
    assert f2 is not None and f2.revision == 2
    # and a fresh one-line flow is created, as ``flowd validate`` accepts it
    source.files["f3.yml"] = ONE_LINE.replace(b"f2", b"f3")
    assert rec.sync().counts["create"] == 1


def test_a_valid_file_no_longer_defining_the_flow_deletes_it(store: Store) -> None:
    source = BytesSource({"a.yml": flow("a").encode(), "b.yml": flow("b").encode()})
    rec = Reconciler(store, source, clock=FrozenClock(T0))  # type: ignore[arg-type]
    rec.sync()
    source.files["b.yml"] = flow("c").encode()  # the file now defines another flow
    outcome = rec.sync()
    assert (outcome.counts["create"], outcome.counts["delete"]) == (1, 1)


def test_a_moved_flow_leaves_no_complaint_about_its_old_emptied_file(store: Store) -> None:
    source = BytesSource({"a.yml": flow("a").encode(), "b.yml": flow("b").encode()})
    rec = Reconciler(store, source, clock=FrozenClock(T0))  # type: ignore[arg-type]
    rec.sync()
    source.files["b.yml"] = b""
    source.files["sub/b.yml"] = flow("b", "moved").encode()
    outcome = rec.sync()
    assert outcome.result == "SUCCESS" and outcome.counts["update"] == 1


def test_emptying_almost_every_file_deletes_nothing(store: Store) -> None:
    files = {f"f{i}.yml": flow(f"f{i}").encode() for i in range(60)}
    source = BytesSource(files)
    rec = Reconciler(store, source, clock=FrozenClock(T0))  # type: ignore[arg-type]
    rec.sync()
    for i in range(1, 60):
        source.files[f"f{i}.yml"] = b""
    outcome = rec.sync()
    assert outcome.counts["delete"] == 0 and outcome.counts["out_of_date"] == 59
    assert len(store.flows.heads()) == 60


def test_mass_delete_is_refused_unless_allowed(store: Store) -> None:
    files = {f"f{i}.yml": flow(f"f{i}").encode() for i in range(8)}
    source = BytesSource(files)
    rec = Reconciler(store, source, clock=FrozenClock(T0))  # type: ignore[arg-type]
    rec.sync()
    for i in range(3):  # 3 of 8 = 37 %
        del source.files[f"f{i}.yml"]
    refused = rec.sync()
    assert refused.result == "REFUSED" and refused.exit_code == 2
    assert refused.message is not None and "--allow-mass-delete" in refused.message
    assert len(store.flows.heads()) == 8
    rec.mass_delete = MassDeleteGuard(allowed=True)
    assert rec.sync().counts["delete"] == 3


@pytest.mark.parametrize(
    ("deletes", "deployed", "refused"),
    [(1, 2, False), (2, 3, False), (3, 12, False), (3, 11, True), (50, 1000, False), (51, 1000, True)],
)
def test_guard_thresholds(deletes: int, deployed: int, refused: bool) -> None:
    assert (MassDeleteGuard().refusal(deletes, deployed) is not None) is refused
    assert MassDeleteGuard(allowed=True).refusal(deletes, deployed) is None


# --- the discovery rule, fuzzed: any mutation of a deployed flow's file updates it or keeps it ---------

ORIGINAL = flow("f", "hello").encode()
DEPLOYED = [DeployedFlow("inv", "f", 1, content_hash(ORIGINAL.decode()), "f.yml")]


def _splice(data: bytes, start: int, stop: int, insert: bytes) -> bytes:
    start, stop = sorted((start % (len(data) + 1), stop % (len(data) + 1)))
    return data[:start] + insert + data[stop:]


mutations = st.one_of(
    st.binary(max_size=200),
    st.builds(_splice, st.just(ORIGINAL), st.integers(0, 200), st.integers(0, 200), st.binary(max_size=20)),
    st.builds(
        _splice,
        st.just(ORIGINAL),
        st.integers(0, 200),
        st.integers(0, 200),
        st.sampled_from([b"", b"\t", b" ", b"\n", b"{", b"}", b"z", b":", b"- ", b"#", b"\x00", b"\xff"]),
    ),
    st.text(max_size=200).map(str.encode),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated=mutations)
def test_fuzz_a_mutated_file_never_deletes_its_flow(mutated: bytes) -> None:
    # through a real folder source: what it reads and what the collector makes of it is the rule
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "f.yml").write_bytes(mutated)
        files = LocalFolderSource(folder).snapshot().files
    collected = FileChecker().collect(files, deployed=DEPLOYED)
    result = plan(collected.desired, DEPLOYED, collected.invalid, prune=True, allow_empty=True)
    deleted = [c.uid for c in result.of("delete")]
    if "inv/f" in deleted:
        # allowed only when the file is valid and now defines other flows
        assert collected.desired and all(d.uid != "inv/f" for d in collected.desired)
    else:
        updated = [c for c in result.changes if c.uid == "inv/f"]
        assert updated or [k.uid for k in result.kept] == ["inv/f"]
