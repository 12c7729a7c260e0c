"""The pure planning core: actions, isolation of invalid files, duplicates, safety."""

from __future__ import annotations

from daemon.errors import Diagnostic
from daemon.reconcile.hashing import content_hash, normalize_source
from daemon.reconcile.plan import DeployedFlow, DesiredFlow, InvalidFile, plan, with_diffs


def desired(fid: str, body: str = "a", *, path: str | None = None, ns: str = "team") -> DesiredFlow:
    text = f"id: {fid}\nnamespace: {ns}\nbody: {body}\n"
    return DesiredFlow(ns, fid, path or f"{fid}.yml", text, content_hash(text), ())


def deployed(fid: str, body: str = "a", *, path: str | None = None, state: str = "SYNCED") -> DeployedFlow:
    text = f"id: {fid}\nnamespace: team\nbody: {body}\n"
    return DeployedFlow("team", fid, 3, content_hash(text), path or f"{fid}.yml", text, sync_state=state)


def bad(path: str, uid: str | None = None) -> InvalidFile:
    return InvalidFile(path, (Diagnostic(path, 2, 1, "error", "tasks", "missing"),), uid)


def test_create_update_delete_unchanged() -> None:
    p = plan(
        [desired("new"), desired("edit", "b"), desired("same")],
        [deployed("edit"), deployed("same"), deployed("gone")],
        [],
        prune=True,
        allow_empty=False,
    )
    assert {c.uid: c.action for c in p.changes} == {
        "team/new": "create", "team/edit": "update", "team/same": "unchanged", "team/gone": "delete",
    }  # fmt: skip
    assert p.counts["create"] == p.counts["update"] == p.counts["delete"] == p.counts["unchanged"] == 1
    assert p.has_changes and p.refused is None
    (update,) = p.of("update")
    assert update.revision == 3
    assert "-body: a" in update.diff and "+body: b" in update.diff


def test_nothing_changed_has_no_changes() -> None:
    p = plan([desired("same")], [deployed("same")], [], prune=True, allow_empty=False)
    assert not p.has_changes
    assert not p.of("unchanged")[0].refresh


def test_moved_file_is_unchanged_with_refresh() -> None:
    p = plan([desired("f", path="sub/f.yml")], [deployed("f")], [], prune=True, allow_empty=False)
    (change,) = p.changes
    assert change.action == "unchanged" and change.refresh and change.old_path == "f.yml"


def test_line_endings_and_final_newlines_do_not_count() -> None:
    assert content_hash("a: 1\nb: 2\n") == content_hash("\ufeffa: 1\r\nb: 2\r\n\r\n")
    assert content_hash("a: 1\n") != content_hash("a:  1\n")  # inner whitespace counts
    assert normalize_source("x\r\n\n\n") == "x\n"


def test_invalid_file_keeps_the_flow_deployed_from_its_path() -> None:
    p = plan([desired("ok", "b")], [deployed("ok"), deployed("broken")], [bad("broken.yml")], prune=True,
             allow_empty=False)  # fmt: skip
    assert [c.uid for c in p.of("delete")] == []
    assert [(k.uid, k.invalid_path) for k in p.kept] == [("team/broken", "broken.yml")]
    assert [c.uid for c in p.of("update")] == ["team/ok"]
    assert p.counts["invalid"] == 1 and p.counts["out_of_date"] == 1


def test_invalid_file_keeps_the_flow_it_names_from_another_path() -> None:
    p = plan([], [deployed("x", path="old.yml")], [bad("new.yml", "team/x")], prune=True, allow_empty=False)
    assert not p.of("delete") and p.kept[0].uid == "team/x"
    assert p.refused is None  # nothing would be deleted


def test_duplicate_ids_are_both_refused_and_the_deployed_one_stays() -> None:
    p = plan(
        [desired("x", "b", path="one.yml"), desired("x", "c", path="two.yml"), desired("y")],
        [deployed("x", path="one.yml")],
        [],
        prune=True,
        allow_empty=False,
    )
    assert [f.path for f in p.invalid] == ["one.yml", "two.yml"]
    assert "also defined in two.yml" in p.invalid[0].diagnostics[0].message
    assert [c.uid for c in p.changes] == ["team/y"]
    assert [k.uid for k in p.kept] == ["team/x"]


def test_duplicate_between_valid_and_invalid_file() -> None:
    p = plan([desired("x")], [], [bad("other.yml", "team/x")], prune=True, allow_empty=False)
    assert not p.changes
    assert {f.path for f in p.invalid} == {"x.yml", "other.yml"}
    other = next(f for f in p.invalid if f.path == "other.yml")
    assert len(other.diagnostics) == 2  # its own error and the clash


def test_deleting_everything_is_refused_unless_allowed() -> None:
    live = [deployed("a"), deployed("b")]
    refused = plan([], live, [], prune=True, allow_empty=False)
    assert refused.refused and "--allow-empty" in refused.refused
    assert plan([], live, [], prune=True, allow_empty=True).refused is None
    assert (
        plan([], [], [], prune=True, allow_empty=False).refused is None
    )  # nothing deployed: nothing to lose
    # replacing every flow with new ones is a change, not an empty source
    assert plan([desired("c")], live, [], prune=True, allow_empty=False).refused is None


def test_no_prune_never_deletes() -> None:
    p = plan([], [deployed("a")], [], prune=False, allow_empty=False)
    assert not p.changes and p.orphaned == ("team/a",) and p.refused is None


def test_out_of_date_flow_whose_file_is_fixed_back_is_refreshed() -> None:
    p = plan([desired("a")], [deployed("a", state="OUT_OF_DATE")], [], prune=True, allow_empty=False)
    assert p.changes[0].action == "unchanged" and p.changes[0].refresh


def test_as_dict_can_leave_out_unchanged() -> None:
    p = plan(
        [desired("a"), desired("b", "x")], [deployed("a"), deployed("b")], [], prune=True, allow_empty=False
    )
    assert len(p.as_dict()["changes"]) == 2
    assert [c["uid"] for c in p.as_dict(include_unchanged=False)["changes"]] == ["team/b"]


def test_diffs_can_be_added_after_planning() -> None:
    light = DeployedFlow("team", "a", 1, content_hash("old"), "a.yml")  # no source: no diff yet
    p = plan([desired("a", "new")], [light], [], prune=True, allow_empty=False)
    assert p.changes[0].action == "update" and p.changes[0].diff == ()
    p = with_diffs(p, {"team/a": "id: a\nnamespace: team\nbody: old\n"})
    assert "-body: old" in p.changes[0].diff and "+body: new" in p.changes[0].diff
