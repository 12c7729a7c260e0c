"""``Reconciler`` against real stores (SQLite and PostgreSQL) with an in-memory source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daemon.clock import FrozenClock
from daemon.errors import SourceError, StoreError
from daemon.reconcile import Reconciler
from daemon.sources.snapshot import Snapshot
from daemon.store import Store

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def flow(fid: str, message: str = "hi", *, cron: str | None = None, ns: str = "team") -> str:
    text = f"id: {fid}\nnamespace: {ns}\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n"
    text += f"    message: {message}\n"
    if cron:
        text += "triggers:\n  - id: every\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        text += f'    cron: "{cron}"\n'
    return text


BROKEN = "id: {fid}\nnamespace: team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n"
BROKEN += "    mesage: x\n"


class MemorySource:
    """A source whose files the test edits; every snapshot is a new 'commit'."""

    def __init__(self, files: dict[str, str] | None = None) -> None:
        self.files = dict(files or {})
        self.error: str | None = None
        self.count = 0
        self.since: list[Snapshot | None] = []

    def snapshot(self, since: Snapshot | None = None) -> Snapshot:
        self.since.append(since)
        if self.error:
            raise SourceError(self.error)
        self.count += 1
        return Snapshot(f"{self.count:040x}", {p: t.encode() for p, t in self.files.items()})

    def describe(self) -> str:
        return "memory://flows"


def make(store: Store, source: MemorySource, **kwargs: object) -> Reconciler:
    return Reconciler(store, source, clock=FrozenClock(T0), **kwargs)  # type: ignore[arg-type]


def test_create_update_delete_and_revisions(store: Store) -> None:
    source = MemorySource({"a.yml": flow("a"), "b.yml": flow("b"), "c.yml": flow("c")})
    rec = make(store, source)
    first = rec.sync()
    assert first.result == "SUCCESS" and first.exit_code == 0 and first.counts["create"] == 3
    source.files["b.yml"] = flow("b", "changed")
    del source.files["c.yml"]
    second = rec.sync()
    assert (second.counts["update"], second.counts["delete"], second.counts["unchanged"]) == (1, 1, 1)
    b = store.flows.get("team", "b")
    assert b is not None and b.revision == 2 and "changed" in b.source and b.commit == second.commit
    assert [r.commit for r in store.flows.revisions("team", "b")] == [first.commit, second.commit]
    assert store.flows.get("team", "c") is None
    c_history = store.flows.revisions("team", "c")
    assert [r.deleted for r in c_history] == [False, True]  # history kept
    a = store.flows.get("team", "a")
    assert a is not None and a.revision == 1 and a.path == "a.yml"


def test_identical_file_makes_no_revision(store: Store) -> None:
    source = MemorySource({"a.yml": flow("a")})
    make(store, source).sync()
    source.files["a.yml"] = flow("a").replace("\n", "\r\n") + "\r\n"  # only line endings
    outcome = make(store, source).sync()
    assert outcome.counts["unchanged"] == 1 and not outcome.plan.has_changes  # type: ignore[union-attr]
    assert len(store.flows.revisions("team", "a")) == 1


def test_invalid_file_keeps_deployed_revision_then_fix_syncs(store: Store) -> None:
    source = MemorySource({"a.yml": flow("a"), "b.yml": flow("b")})
    rec = make(store, source)
    rec.sync()
    source.files["a.yml"] = BROKEN.format(fid="a")
    source.files["b.yml"] = flow("b", "new")
    partial = rec.sync()
    assert partial.result == "PARTIAL" and partial.exit_code == 1
    a = store.flows.get("team", "a")
    assert a is not None and a.revision == 1 and a.sync_state == "OUT_OF_DATE" and "hi" in a.source
    b = store.flows.get("team", "b")
    assert b is not None and b.revision == 2 and b.sync_state == "SYNCED"
    record = store.syncs.get(partial.sync_id)  # type: ignore[arg-type]
    assert record is not None and record.result == "PARTIAL"
    assert record.commit_attempted == partial.commit and record.commit_applied != partial.commit
    assert any("mesage" in e["message"] and e["file"] == "a.yml" for e in record.errors or [])
    source.files["a.yml"] = flow("a", "fixed")
    fixed = rec.sync()
    assert fixed.result == "SUCCESS"
    a = store.flows.get("team", "a")
    assert a is not None and a.revision == 2 and a.sync_state == "SYNCED"
    assert store.syncs.last_applied_commit(source="memory://flows") == fixed.commit


def test_reverting_an_invalid_file_to_the_deployed_content_clears_out_of_date(store: Store) -> None:
    source = MemorySource({"a.yml": flow("a")})
    rec = make(store, source)
    rec.sync()
    source.files["a.yml"] = "id: a\nnamespace: team\ntasks: [\n"
    assert rec.sync().result == "PARTIAL"
    source.files["a.yml"] = flow("a")
    assert rec.sync().result == "SUCCESS"
    a = store.flows.get("team", "a")
    assert a is not None and a.sync_state == "SYNCED" and a.revision == 1


def test_duplicate_ids_are_both_refused(store: Store) -> None:
    source = MemorySource({"a.yml": flow("a")})
    make(store, source).sync()
    source.files["a.yml"] = flow("a", "one")
    source.files["copy.yml"] = flow("a", "two")
    outcome = make(store, source).sync()
    assert outcome.result == "PARTIAL"
    assert {f.path for f in outcome.plan.invalid} == {"a.yml", "copy.yml"}  # type: ignore[union-attr]
    a = store.flows.get("team", "a")
    assert a is not None and a.revision == 1 and a.sync_state == "OUT_OF_DATE"


def test_empty_source_is_refused_unless_allowed(store: Store) -> None:
    source = MemorySource({"a.yml": flow("a")})
    make(store, source).sync()
    source.files = {}
    refused = make(store, source).sync()
    assert (
        refused.result == "REFUSED" and refused.exit_code == 2 and "--allow-empty" in (refused.message or "")
    )
    assert store.flows.get("team", "a") is not None
    record = store.syncs.get(refused.sync_id)  # type: ignore[arg-type]
    assert record is not None and record.result == "REFUSED" and record.commit_applied is None
    allowed = make(store, source, allow_empty=True).sync()
    assert allowed.result == "SUCCESS" and store.flows.get("team", "a") is None


def test_no_prune_never_deletes(store: Store) -> None:
    source = MemorySource({"a.yml": flow("a"), "b.yml": flow("b")})
    make(store, source).sync()
    del source.files["a.yml"]
    outcome = make(store, source, prune=False).sync()
    assert outcome.result == "SUCCESS" and outcome.counts["delete"] == 0 and outcome.counts["orphaned"] == 1
    assert store.flows.get("team", "a") is not None


def test_unreadable_source_changes_nothing(store: Store) -> None:
    source = MemorySource({"a.yml": flow("a")})
    rec = make(store, source)
    rec.sync()
    source.error = "cannot fetch file:///nowhere: not found"
    outcome = rec.sync()
    assert (
        outcome.result == "SOURCE_ERROR" and outcome.exit_code == 2 and "not found" in (outcome.message or "")
    )
    assert store.flows.get("team", "a") is not None
    record = store.syncs.get(outcome.sync_id)  # type: ignore[arg-type]
    assert record is not None and record.result == "SOURCE_ERROR" and record.commit_applied is None


def test_failure_mid_apply_lands_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    source = MemorySource({"a.yml": flow("a"), "b.yml": flow("b"), "gone.yml": flow("gone")})
    make(store, source).sync()
    # flows are written first, then trigger states: fail on the first trigger write, after the flows
    source.files = {"a.yml": flow("a", "v2"), "b.yml": flow("b", "v2", cron="0 * * * *"), "c.yml": flow("c")}

    def failing_put(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store.triggers, "put", failing_put)
    with pytest.raises(StoreError, match="disk on fire"):
        make(store, source).sync()
    monkeypatch.undo()
    assert [(f.flow_id, f.revision) for f in store.flows.list()] == [("a", 1), ("b", 1), ("gone", 1)]
    assert len(store.flows.revisions("team", "a")) == 1
    assert store.syncs.latest(limit=1)[0].result == "FAILED"
    assert make(store, source).sync().result == "SUCCESS"  # and the next sync applies it all


def test_triggers_follow_revisions(store: Store) -> None:
    source = MemorySource({"a.yml": flow("a", cron="0 * * * *"), "b.yml": flow("b", cron="0 0 * * *")})
    rec = make(store, source)
    rec.sync()
    state = store.triggers.get("team", "a", "every")
    assert state is not None and state.revision == 1 and state.next_date is None
    # the scheduler ran: both triggers have dates
    for fid in ("a", "b"):
        store.triggers.set_dates(
            "team", fid, "every", next_date=T0 + timedelta(hours=1), last_date=T0, now=T0
        )
    source.files["a.yml"] = flow("a", cron="*/5 * * * *")  # changed cron
    source.files["b.yml"] = flow("b", "other message", cron="0 0 * * *")  # same trigger, flow changed
    rec.sync()
    a = store.triggers.get("team", "a", "every")
    assert a is not None and a.revision == 2 and a.next_date is None and a.last_date == T0
    assert a.definition_hash != state.definition_hash
    b = store.triggers.get("team", "b", "every")
    assert b is not None and b.revision == 2 and b.next_date == T0 + timedelta(hours=1) and b.last_date == T0
    source.files["a.yml"] = flow("a", "no trigger")  # trigger removed
    del source.files["b.yml"]  # flow removed
    rec.sync()
    assert store.triggers.list() == []


def test_incremental_validation(store: Store) -> None:
    source = MemorySource({f"f{i}.yml": flow(f"f{i}") for i in range(5)})
    rec = make(store, source, trust_deployed=False)
    assert rec.sync().validated == 5
    assert rec.sync().validated == 0  # cached by content
    assert source.since[-1] is not None  # the previous snapshot is handed to the source
    source.files["f1.yml"] = flow("f1", "changed")
    assert rec.sync().validated == 1


def test_one_shot_trusts_the_deployed_revision(store: Store) -> None:
    source = MemorySource({f"f{i}.yml": flow(f"f{i}") for i in range(3)})
    make(store, source).sync()
    source.files["f0.yml"] = flow("f0", "changed")
    outcome = make(store, source).sync()  # a fresh object: no cache
    assert outcome.validated == 1 and outcome.counts["update"] == 1


def test_moved_file_refreshes_path_without_revision(store: Store) -> None:
    source = MemorySource({"a.yml": flow("a")})
    make(store, source).sync()
    source.files = {"sub/a.yml": flow("a")}
    outcome = make(store, source).sync()
    assert outcome.result == "SUCCESS" and outcome.counts["unchanged"] == 1
    a = store.flows.get("team", "a")
    assert a is not None and a.path == "sub/a.yml" and a.revision == 1


def test_plan_changes_nothing(store: Store) -> None:
    source = MemorySource({"a.yml": flow("a")})
    p = make(store, source).plan()
    assert p.counts["create"] == 1
    assert store.flows.list() == [] and store.syncs.latest() == []
