"""``flowd status [NAMESPACE/FLOW_ID | EXECUTION_ID]``: deployed flows, schedules and executions.

Without an argument: the source and its last sync, deployed flows (revision, next scheduled time, last
execution), invalid files of the last sync, whether a daemon is alive. With a flow: the flow and its recent
executions (``--revisions`` lists its revisions with commits). With an execution id: that execution in full.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from daemon.cli.common import db_option, handle_errors
from daemon.cli.execute import DAEMON_MAX_AGE, open_store, print_result
from daemon.errors import FlowNotFound, UsageError


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@click.command(name="status")
@click.argument("target", required=False, metavar="[NAMESPACE/FLOW_ID | EXECUTION_ID]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", default=20, show_default=True, help="How many recent executions to show.")
@click.option("--state", "state", default=None, help="Only executions in this state.")
@click.option("--revisions", is_flag=True, help="List the flow's revisions with their commits.")
@click.option("--nodes", is_flag=True, help="List the nodes sharing the store (roles, leader, last beat).")
@db_option
@handle_errors
def command(
    target: str | None,
    as_json: bool,
    limit: int,
    state: str | None,
    revisions: bool,
    nodes: bool,
    db: str | None,
) -> None:
    """Show deployed flows, syncs and executions."""
    store = open_store(db)
    try:
        if nodes:
            from daemon.clock import SystemClock
            from daemon.cluster.view import cluster_view

            _emit(cluster_view(store, SystemClock().now()), as_json, _print_nodes)
        elif target is None:
            data = overview(store)
            _emit(data, as_json, _print_overview)
        elif "/" in target:
            data = flow_status(store, target, limit=limit, state=state, revisions=revisions)
            _emit(data, as_json, _print_flow)
        else:
            if store.executions.get(target) is None:
                raise UsageError(f"no execution {target!r} (a flow is written NAMESPACE/FLOW_ID)")
            raise SystemExit(0 if print_result(store, target, as_json=as_json) == 0 else 1)
    finally:
        store.close()


def _emit(data: dict[str, Any], as_json: bool, printer: Any) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        printer(data)


def _execution_summary(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "namespace": row.namespace, "flowId": row.flow_id, "flowRevision": row.flow_revision,
        "state": row.state, "startDate": _iso(row.start_date), "endDate": _iso(row.end_date),
        "labels": row.labels or {},
    }  # fmt: skip


def _projected_ticks(source: str, now: Any) -> list[Any]:
    """The next tick of each enabled Schedule trigger of a flow source (empty if it does not parse)."""
    from daemon.errors import FlowdError
    from daemon.language import load_flow
    from daemon.language.model import ScheduleTrigger
    from daemon.schedule.ticks import next_tick, parse_cron

    try:
        flow = load_flow(source)
        return [
            next_tick(parse_cron(t.cron, with_seconds=t.withSeconds), t.timezone, now)
            for t in flow.triggers
            if isinstance(t, ScheduleTrigger) and not t.disabled
        ]
    except FlowdError:
        return []


def overview(store: Any) -> dict[str, Any]:
    """The overview as data (``--json`` prints it as is)."""
    from daemon.clock import SystemClock
    from daemon.sources.mode import mode_of

    now = SystemClock().now()
    syncs = store.syncs.latest(limit=1)
    last = syncs[0] if syncs else None
    triggers: dict[tuple[str, str], list[Any]] = {}
    for trig in store.triggers.list():
        triggers.setdefault((trig.namespace, trig.flow_id), []).append(trig)
    flows = []
    for flow in store.flows.list():
        recent = store.executions.list(namespace=flow.namespace, flow_id=flow.flow_id, limit=1)
        live = [t for t in triggers.get((flow.namespace, flow.flow_id), []) if not t.disabled]
        nexts = [t.next_date for t in live if t.next_date]
        if any(t.next_date is None for t in live):
            # no scheduler has looked at it yet (no daemon, or a fresh revision): project from the cron
            nexts += _projected_ticks(flow.source, now)
        flows.append(
            {
                "namespace": flow.namespace, "id": flow.flow_id, "revision": flow.revision,
                "syncState": flow.sync_state, "commit": flow.commit, "path": flow.path,
                "nextSchedule": _iso(min(nexts)) if nexts else None,
                "lastExecution": _execution_summary(recent[0]) if recent else None,
            }
        )  # fmt: skip
    daemons = store.heartbeats.alive(now, DAEMON_MAX_AGE)
    return {
        "source": {
            "source": last.source if last else None, "ref": last.ref if last else None,
            "mode": mode_of(last.source).describe() if last and last.source else None,
            "lastSync": _iso(last.finished_at or last.started_at) if last else None,
            "result": last.result if last else None,
            # the commit read by the last sync; commitApplied: the newest one the deployed set fully matches
            "commit": (last.commit_applied or last.commit_attempted) if last else None,
            "commitApplied": last.commit_applied if last else None,
        },
        "daemon": {"alive": bool(daemons), "daemons": [{"id": d.daemon_id, "host": d.host, "pid": d.pid,
                                                         "lastSeen": _iso(d.last_seen)} for d in daemons]},
        "flows": flows,
        "errors": (last.errors or []) if last else [],
    }  # fmt: skip


def flow_status(store: Any, ref: str, *, limit: int, state: str | None, revisions: bool) -> dict[str, Any]:
    """One flow and its recent executions as data."""
    from daemon.cli.execute import split_flow_ref

    namespace, flow_id = split_flow_ref(ref)
    flow = store.flows.get(namespace, flow_id, include_deleted=True)
    if flow is None:
        raise FlowNotFound(namespace, flow_id)
    rows = store.executions.list(
        namespace=namespace, flow_id=flow_id, states=[state.upper()] if state else None, limit=limit
    )
    data: dict[str, Any] = {
        "flow": {
            "namespace": namespace, "id": flow_id, "revision": flow.revision, "syncState": flow.sync_state,
            "deleted": flow.deleted, "commit": flow.commit, "path": flow.path,
            "updated": _iso(flow.updated_at),
        },
        "executions": [_execution_summary(r) for r in rows],
    }  # fmt: skip
    if revisions:
        data["revisions"] = [
            {"revision": r.revision, "commit": r.commit, "created": _iso(r.created_at), "deleted": r.deleted}
            for r in store.flows.revisions(namespace, flow_id)
        ]
    return data


def _source_lines(src: dict[str, Any]) -> list[str]:
    """The source once (its ref only when the source text does not already carry it), its mode, and the
    last sync with the commit it read."""
    if not src["source"]:
        return ["source: none synced yet"]
    text = src["source"]
    if src["ref"] and f" @ {src['ref']}" not in text:
        text += f" @ {src['ref']}"
    lines = [f"source: {text}"]
    if src.get("mode"):
        lines.append(f"mode: {src['mode']}")
    commit = src.get("commit")
    at = f"commit {commit[:12]}" if commit else "no commit (a folder)"
    if commit and src.get("commitApplied") != commit:
        at += " (read; its invalid files were not applied)"
    lines.append(f"last sync: {src['lastSync'] or 'never'}, {src['result'] or '-'}, {at}")
    return lines


def _print_overview(data: dict[str, Any]) -> None:
    from daemon.cli.tables import console, print_table

    out = console()
    for line in _source_lines(data["source"]):
        out.print(line, markup=False)
    out.print(f"daemon: {'alive' if data['daemon']['alive'] else 'not running'}")
    rows = []
    for f in data["flows"]:
        last = f["lastExecution"]
        rows.append([
            f"{f['namespace']}/{f['id']}", str(f["revision"]), f["syncState"], f["nextSchedule"] or "-",
            f"{last['state']} {last['startDate']}" if last else "-",
        ])  # fmt: skip
    headers = ["flow", "revision", "sync", "next schedule", "last execution"]
    print_table(out, headers, rows, keys={"flow"})
    errors = [e for e in data["errors"] if e.get("severity", "error") == "error"]
    warnings = [e for e in data["errors"] if e.get("severity") == "warning"]
    for error in errors:
        where = f"{error.get('file')}:{error.get('line')}" if error.get("file") else "sync"
        out.print(f"[red]invalid:[/red] {where}: {error.get('message')}")
    for warning in warnings:  # not a reason a file is invalid: said apart
        out.print(
            f"[yellow]warning:[/yellow] {warning.get('file')}:{warning.get('line')}: {warning.get('message')}"
        )


def _print_flow(data: dict[str, Any]) -> None:
    from daemon.cli.tables import console, print_table

    out = console()
    f = data["flow"]
    out.print(f"[bold]{f['namespace']}/{f['id']}[/bold] revision {f['revision']} ({f['syncState']})")
    rows = [[e["id"], e["state"], e["startDate"] or "-", e["endDate"] or "-"] for e in data["executions"]]
    print_table(out, ["execution", "state", "start", "end"], rows, keys={"execution"})
    for r in data.get("revisions", []):
        out.print(
            f"revision {r['revision']}: commit {r['commit'] or '-'} {r['created']}"
            f"{' (deleted)' if r['deleted'] else ''}"
        )


def _print_nodes(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    console.print(f"leader: {data['leader'] or 'none alive'} ({data['dialect']})")
    table = Table("node", "host", "pid", "roles", "version", "started", "last beat", "running", "")
    for n in data["nodes"]:
        mark = "leader" if n["leader"] and n["alive"] else ("" if n["alive"] else "gone")
        table.add_row(
            n["id"], n["host"], str(n["pid"]), ",".join(n["roles"]), n["version"], n["started"],
            n["lastBeat"], str(n["running"]), mark,
        )  # fmt: skip
    console.print(table)
    if data["unowned"]:
        console.print(f"{data['unowned']} execution(s) waiting for a node")
