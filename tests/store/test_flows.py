"""Deployed flows: revisions grow on change, same hash is a no-op, deletion keeps history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


def _deploy(store: Store, source: str, digest: str, *, now: datetime = T0, commit: str = "c1") -> int:
    return store.flows.deploy(
        "team.a", "hello", source=source, hash=digest, path="flows/hello.yml", commit=commit, now=now
    ).revision


def test_deploy_creates_revision_one(store: Store) -> None:
    assert _deploy(store, "id: hello", "h1") == 1
    flow = store.flows.get("team.a", "hello")
    assert flow is not None
    assert (flow.revision, flow.hash, flow.sync_state, flow.deleted, flow.updated_at) == (
        1,
        "h1",
        "SYNCED",
        False,
        T0,
    )
    assert [r.revision for r in store.flows.revisions("team.a", "hello")] == [1]


def test_same_hash_does_not_add_a_revision_but_refreshes_commit(store: Store) -> None:
    _deploy(store, "id: hello", "h1")
    assert _deploy(store, "id: hello", "h1", now=T1, commit="c2") == 1
    flow = store.flows.get("team.a", "hello")
    assert flow is not None and flow.commit == "c2"
    assert len(store.flows.revisions("team.a", "hello")) == 1


def test_changed_source_adds_a_revision(store: Store) -> None:
    _deploy(store, "id: hello", "h1")
    assert _deploy(store, "id: hello\n# v2", "h2", now=T1) == 2
    revision = store.flows.get_revision("team.a", "hello", 1)
    assert revision is not None and revision.source == "id: hello"
    assert store.flows.get_revision("team.a", "hello", 2).source == "id: hello\n# v2"  # type: ignore[union-attr]


def test_out_of_date_state(store: Store) -> None:
    _deploy(store, "id: hello", "h1")
    assert store.flows.set_sync_state("team.a", "hello", "OUT_OF_DATE", now=T1)
    assert store.flows.get("team.a", "hello").sync_state == "OUT_OF_DATE"  # type: ignore[union-attr]
    assert not store.flows.set_sync_state("team.a", "nope", "OUT_OF_DATE", now=T1)


def test_delete_keeps_revisions_and_redeploy_continues_numbering(store: Store) -> None:
    _deploy(store, "id: hello", "h1")
    assert store.flows.delete("team.a", "hello", commit="c2", now=T1)
    assert store.flows.get("team.a", "hello") is None
    deleted = store.flows.get("team.a", "hello", include_deleted=True)
    assert deleted is not None and deleted.deleted and deleted.sync_state == "DELETED"
    assert [(r.revision, r.deleted) for r in store.flows.revisions("team.a", "hello")] == [
        (1, False),
        (2, True),
    ]
    assert not store.flows.delete("team.a", "hello", commit="c2", now=T1)
    assert _deploy(store, "id: hello", "h1", now=T1) == 3


def test_list_filters_namespace_prefix_and_deleted(store: Store) -> None:
    for ns, fid in [("team.a", "x"), ("team.a.sub", "y"), ("team.ab", "z"), ("other", "w")]:
        store.flows.deploy(ns, fid, source="s", hash="h", path=None, commit=None, now=T0)
    store.flows.delete("team.a", "x", commit=None, now=T1)
    assert [f.flow_id for f in store.flows.list(namespace="team.a")] == ["y"]
    assert [f.flow_id for f in store.flows.list(namespace="team.a", include_deleted=True)] == ["x", "y"]
    assert len(store.flows.list()) == 3
