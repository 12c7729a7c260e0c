"""``flowd plan``: show what ``flowd sync`` would change, changing nothing.

Against the store of ``--db`` / the settings (default), or against a running daemon with ``--against URL``
(its read-only ``/api/v1/plan/deployed`` endpoint, with ``--token`` / ``FLOWD_API_TOKEN``): a pull request's
CI then needs no database credentials. ``--format text|json|markdown``: the JSON document is stable
(``daemon/reconcile/review.py`` documents it); Markdown is a pull request comment.

Exit status: 0; with ``--exit-code``: 3 when flows would be created, updated or deleted, 1 when some files are
invalid, 2 when the sync would be refused (it would delete every deployed flow), 0 otherwise. A source or a
daemon that cannot be read is always 2.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from daemon.cli.common import db_option, handle_errors
from daemon.cli.sync import mass_delete_option, open_reconciler, source_options

if TYPE_CHECKING:
    from daemon.reconcile.plan import Plan
    from daemon.reconcile.review import Review

AGAINST_TIMEOUT = 30.0


@click.command("plan")
@source_options
@db_option
@click.option(
    "--exit-code", "exit_code", is_flag=True, help="Exit 3 when there are changes (1 invalid, 2 refused)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True,
    help="Output format: text, the stable JSON document, or a Markdown pull request comment.",
)  # fmt: skip
@click.option(
    "--against", "against", metavar="URL", default=None,
    help="Plan against a running daemon (e.g. https://flowd.example.com) instead of a database.",
)  # fmt: skip
@click.option(
    "--token",
    "token",
    envvar="FLOWD_API_TOKEN",
    default=None,
    help="API token for --against (FLOWD_API_TOKEN).",
)
@mass_delete_option
@handle_errors
def command(
    source: str, ref: str | None, path: str | None, db: str | None, exit_code: bool, fmt: str,
    against: str | None, token: str | None, allow_mass_delete: bool,
) -> None:  # fmt: skip
    """Compare a source with the deployed flows and print the plan (create/update/delete/unchanged)."""
    sys.exit(
        run(
            source=source,
            ref=ref,
            path=path,
            db=db,
            exit_code=exit_code,
            fmt=fmt,
            against=against,
            token=token,
            allow_mass_delete=allow_mass_delete,
        )
    )


def run(
    *,
    source: str,
    ref: str | None,
    path: str | None,
    db: str | None,
    exit_code: bool,
    fmt: str,
    against: str | None = None,
    token: str | None = None,
    allow_mass_delete: bool = False,
) -> int:
    """Print the plan; return the exit code. SourceError propagates (exit 2 through ``handle_errors``)."""
    from daemon.reconcile.render import plan_lines

    now = datetime.now(UTC)
    if against:
        review = _review_against(
            source=source, ref=ref, path=path, url=against, token=token, now=now, allow=allow_mass_delete
        )
    else:
        review = _review_store(source=source, ref=ref, path=path, db=db, now=now, allow=allow_mass_delete)
    plan = review.plan
    if fmt == "json":
        from daemon.reconcile.review import review_json

        click.echo(json.dumps(review_json(review), indent=2))
    elif fmt == "markdown":
        from daemon.reconcile.markdown import render_markdown

        click.echo(render_markdown(review), nl=False)
    else:
        click.echo("\n".join(plan_lines(plan)))
    return _status(plan) if exit_code else 0


def _status(plan: Plan) -> int:
    if plan.refused:
        return 2
    if plan.invalid:
        return 1
    return 3 if plan.has_changes else 0


def _review_store(
    *, source: str, ref: str | None, path: str | None, db: str | None, now: datetime, allow: bool
) -> Review:
    from daemon.reconcile.review import build_review

    store, reconciler = open_reconciler(source=source, ref=ref, path=path, db=db, allow_mass_delete=allow)
    with store:
        plan = reconciler.plan()

        def old_source(uid: str) -> str | None:
            namespace, _, flow_id = uid.rpartition("/")
            record = store.flows.get(namespace, flow_id)
            return record.source if record is not None else None

        return build_review(plan, old_source, now=now)


def _review_against(
    *, source: str, ref: str | None, path: str | None, url: str, token: str | None, now: datetime, allow: bool
) -> Review:
    from daemon.reconcile.collect import FileChecker
    from daemon.reconcile.plan import DeployedFlow, plan, with_diffs
    from daemon.reconcile.review import build_review
    from daemon.settings import Settings
    from daemon.sources import open_source

    rows = fetch_deployed(url, token)
    deployed = [
        DeployedFlow(
            r["namespace"],
            r["id"],
            r["revision"],
            r["hash"],
            r.get("path"),
            None,
            r.get("syncState", "SYNCED"),
        )
        for r in rows
    ]
    sources = {f"{r['namespace']}/{r['id']}": r.get("source") for r in rows}
    settings = Settings()
    opened = open_source(
        source, cache_dir=settings.repos_dir, ref=ref, path=path,
        token=settings.git_token, ssh_key=settings.git_ssh_key,
    )  # fmt: skip
    snapshot = opened.snapshot()
    collected = FileChecker(strict=settings.strict).collect(snapshot.files, deployed=deployed)
    guard = settings.mass_delete_guard(allow=allow)
    result = plan(collected.desired, deployed, collected.invalid, prune=True, allow_empty=False, guard=guard)
    result = with_diffs(result, {uid: text for uid, text in sources.items() if text is not None})
    return build_review(result, sources.get, now=now)


def fetch_deployed(url: str, token: str | None) -> list[dict[str, Any]]:
    """The deployed flows of a running daemon; SourceError (exit 2) when it cannot be read."""
    import httpx

    from daemon.errors import SourceError

    endpoint = url.rstrip("/") + "/api/v1/plan/deployed"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(endpoint, headers=headers, timeout=AGAINST_TIMEOUT)
    except httpx.HTTPError as exc:
        raise SourceError(f"cannot reach the daemon at {url}: {exc}") from exc
    if response.status_code == 401:
        raise SourceError(f"the daemon at {url} refused the API token (set --token or FLOWD_API_TOKEN)")
    if response.status_code != 200:
        raise SourceError(f"the daemon at {url} answered {response.status_code} to {endpoint}")
    flows: list[dict[str, Any]] = response.json()["flows"]
    return flows
