"""Executions: create/get/list, state changes with history, ownership and adoption."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.store import Execution, Store, new_id

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _execution(exec_id: str, *, start: datetime = T0, flow_id: str = "f", **kw: object) -> Execution:
    return Execution(
        id=exec_id,
        namespace="ns",
        flow_id=flow_id,
        flow_revision=1,
        state="CREATED",
        start_date=start,
        histories=[{"state": "CREATED", "date": start.isoformat()}],
        **kw,  # type: ignore[arg-type]
    )


def test_create_and_get_round_trips_every_field(store: Store) -> None:
    execution = _execution(
        new_id(),
        inputs={"n": 3, "names": ["a"]},
        labels={"team": "x"},
        trigger={"id": "cron", "type": "io.kestra.plugin.core.trigger.Schedule", "variables": {"date": "d"}},
        parent_execution_id="p",
        parent_task_run_id="ptr",
    )
    store.executions.create(execution)
    assert store.executions.get(execution.id) == execution
    assert store.executions.get("missing") is None


def test_list_newest_first_with_filters(store: Store) -> None:
    for i in range(3):
        store.executions.create(_execution(f"e{i}", start=T0 + timedelta(minutes=i)))
    store.executions.create(_execution("other", flow_id="g"))
    assert [e.id for e in store.executions.list(namespace="ns", flow_id="f")] == ["e2", "e1", "e0"]
    assert [e.id for e in store.executions.list(flow_id="f", limit=1)] == ["e2"]
    store.executions.set_state("e1", "RUNNING", date=T0)
    assert [e.id for e in store.executions.list(states=["RUNNING"])] == ["e1"]
    assert store.executions.count("ns", "f", states=["CREATED", "RUNNING"]) == 3


def test_set_state_appends_history_and_respects_only_from(store: Store) -> None:
    store.executions.create(_execution("e1"))
    assert store.executions.set_state("e1", "RUNNING", date=T0 + timedelta(seconds=1))
    end = T0 + timedelta(seconds=2)
    assert store.executions.set_state(
        "e1", "SUCCESS", date=end, end_date=end, outputs={"x": 1}, only_from=["RUNNING"]
    )
    assert not store.executions.set_state("e1", "KILLING", date=end, only_from=["RUNNING"])
    done = store.executions.get("e1")
    assert done is not None
    assert done.state == "SUCCESS" and done.end_date == end and done.outputs == {"x": 1}
    assert [h["state"] for h in done.histories] == ["CREATED", "RUNNING", "SUCCESS"]
    assert done.histories[-1]["date"] == "2024-01-01T00:00:02Z"


def test_adopt_takes_unowned_and_stale_executions_only(store: Store) -> None:
    store.executions.create(_execution("unowned"))
    store.executions.create(_execution("fresh", owner_id="alive", heartbeat_at=T0))
    store.executions.create(_execution("stale", owner_id="dead", heartbeat_at=T0 - timedelta(minutes=5)))
    store.executions.create(_execution("finished", owner_id="dead", heartbeat_at=T0 - timedelta(minutes=5)))
    store.executions.set_state("finished", "SUCCESS", date=T0)
    adopted = store.executions.adopt("me", stale_before=T0 - timedelta(minutes=1), now=T0)
    assert sorted(e.id for e in adopted) == ["stale", "unowned"]
    assert all(e.owner_id == "me" and e.heartbeat_at == T0 for e in adopted)
    assert store.executions.adopt("other", stale_before=T0 - timedelta(minutes=1), now=T0) == []
    later = T0 + timedelta(seconds=30)
    assert store.executions.heartbeat("me", later) == 2
    assert store.executions.get("stale").heartbeat_at == later  # type: ignore[union-attr]


def test_adopt_takes_a_stale_owners_executions_before_a_backlog_of_unowned_ones(store: Store) -> None:
    for i in range(5):  # older than the stale one: a start-date order alone would take them first
        store.executions.create(_execution(f"unowned{i}", start=T0 - timedelta(hours=1, seconds=-i)))
    store.executions.create(_execution("stale", owner_id="dead", heartbeat_at=T0 - timedelta(minutes=5)))
    store.executions.create(_execution("quiet", owner_id="dead", heartbeat_at=None))
    adopted = store.executions.adopt("me", stale_before=T0 - timedelta(minutes=1), now=T0, limit=3)
    assert [e.id for e in adopted] == ["unowned0", "quiet", "stale"]  # sorted (start date, id) once taken
    adopted = store.executions.adopt("me", stale_before=T0 - timedelta(minutes=1), now=T0, limit=3)
    assert [e.id for e in adopted] == ["unowned1", "unowned2", "unowned3"]  # then the oldest unowned


def test_adopt_statements_are_built_once_with_owner_and_limit_as_parameters(store: Store) -> None:
    """The daemon adopts twice a second, idle or not: the statements are built once, so nothing of one
    call (owner, date, limit) may be baked into them for the next."""
    from daemon.store.executions import _adopt_statements

    postgres = store.dialect == "postgresql"
    assert _adopt_statements(postgres) is _adopt_statements(postgres)
    for i in range(3):
        store.executions.create(_execution(f"u{i}", start=T0 + timedelta(seconds=i)))
    stale = T0 - timedelta(minutes=1)
    first = store.executions.adopt("me", stale_before=stale, now=T0, limit=1)
    assert [(e.id, e.owner_id, e.heartbeat_at, e.epoch) for e in first] == [("u0", "me", T0, 1)]
    later = T0 + timedelta(seconds=5)
    second = store.executions.adopt("you", stale_before=stale, now=later, limit=5)
    assert [(e.id, e.owner_id, e.heartbeat_at) for e in second] == [
        ("u1", "you", later),
        ("u2", "you", later),
    ]
    # "me" went quiet: its execution is stale for a look far enough ahead, and only then
    assert store.executions.adopt("you", stale_before=T0, now=later) == []
    taken = store.executions.adopt("you", stale_before=later, now=later)
    assert [(e.id, e.owner_id, e.epoch) for e in taken] == [("u0", "you", 2)]


def test_adopt_with_other_active_states_takes_only_those(store: Store) -> None:
    store.executions.create(_execution("created"))
    store.executions.create(_execution("paused"))
    store.executions.set_state("paused", "PAUSED", date=T0)
    adopted = store.executions.adopt(
        "me", stale_before=T0 - timedelta(minutes=1), now=T0, active_states=["PAUSED"]
    )
    assert [e.id for e in adopted] == ["paused"]
    assert [e.id for e in store.executions.adopt("me", stale_before=T0, now=T0)] == ["created"]


def test_beat_answers_the_epochs_of_the_active_executions_it_beat_for(store: Store) -> None:
    store.executions.create(_execution("mine", owner_id="me", heartbeat_at=T0))
    store.executions.create(_execution("done", owner_id="me", heartbeat_at=T0))
    store.executions.set_state("done", "SUCCESS", date=T0)
    store.executions.create(_execution("theirs", owner_id="other", heartbeat_at=T0))
    later = T0 + timedelta(seconds=5)
    assert store.executions.beat("me", later) == {"mine": 0}
    assert store.executions.beat("other", later) == {"theirs": 0}
    assert store.executions.get("mine").heartbeat_at == later  # type: ignore[union-attr]
    assert store.executions.get("done").heartbeat_at == T0  # type: ignore[union-attr]


def test_fence_answers_and_beats_only_for_the_owner_one_or_many(store: Store) -> None:
    store.executions.create(_execution("mine", owner_id="me", heartbeat_at=T0))
    store.executions.create(_execution("also", owner_id="me", heartbeat_at=T0))
    store.executions.create(_execution("theirs", owner_id="other", heartbeat_at=T0))
    store.executions.fence_off("also")  # taken away: epoch 1, no owner
    later = T0 + timedelta(seconds=5)
    with store.begin() as conn:  # one execution (the usual step): matched by ``=``
        assert store.executions.fence("me", ["mine"], later, conn=conn) == {"mine": (0, "CREATED")}
        assert store.executions.fence("me", ["theirs"], later, conn=conn) == {}
    with store.begin() as conn:  # several: an expanding IN
        found = store.executions.fence("me", ["mine", "also", "theirs"], later, conn=conn)
    assert found == {"mine": (0, "CREATED")}
    assert store.executions.get("mine").heartbeat_at == later  # type: ignore[union-attr]
    assert store.executions.get("theirs").heartbeat_at == T0  # type: ignore[union-attr]


def test_delete_cascades_to_task_runs_and_logs(store: Store) -> None:
    from daemon.store import LogEntry, TaskRun

    store.executions.create(_execution("e1"))
    store.executions.insert_task_runs(
        [TaskRun(id="t1", execution_id="e1", task_id="a", state="CREATED", ready_at=T0)]
    )
    store.logs.insert([LogEntry(execution_id="e1", level="INFO", timestamp=T0, message="hi")])
    assert store.executions.delete("e1")
    assert store.executions.get_task_run("t1") is None
    assert store.logs.for_execution("e1") == []


def test_new_id_is_short_and_unique() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 22 and i.isalnum() for i in ids)
