"""``flowd sync``: make the deployed flows equal to a source (Git repository or folder), once.

Exit status: 0 everything valid and applied; 1 some files invalid (the valid ones applied; the flows of the
invalid files keep their deployed revision, marked OUT_OF_DATE); 2 nothing applied: the source cannot be read
(unreachable, bad ref, auth) or the sync was refused because it would delete every deployed flow.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from daemon.cli.common import db_option, handle_errors

if TYPE_CHECKING:
    from daemon.reconcile import Reconciler
    from daemon.store import Store

F = TypeVar("F", bound=Callable[..., Any])


def source_options(fn: F) -> F:
    """``--source``, ``--ref``, ``--path`` (also ``FLOWD_SOURCE``, ``FLOWD_REF``, ``FLOWD_PATH``)."""
    fn = click.option(
        "--path", "path", envvar="FLOWD_PATH", default=None, help="Subfolder holding the flows."
    )(fn)
    fn = click.option("--ref", "ref", envvar="FLOWD_REF", default=None, help="Branch, tag or commit.")(fn)
    return click.option(
        "--source", "source", envvar="FLOWD_SOURCE", required=True,
        help="Git URL (file://, https://, ssh) or a local folder.",
    )(fn)  # fmt: skip


def mass_delete_option(fn: F) -> F:
    """``--allow-mass-delete`` (also ``FLOWD_ALLOW_MASS_DELETE``)."""
    return click.option(
        "--allow-mass-delete", "allow_mass_delete", is_flag=True,
        help="Allow a sync deleting more than FLOWD_MASS_DELETE_SHARE (25%) or FLOWD_MASS_DELETE_MAX (50) "
        "of the deployed flows.",
    )(fn)  # fmt: skip


def open_reconciler(
    *,
    source: str,
    ref: str | None,
    path: str | None,
    db: str | None,
    prune: bool = True,
    allow_empty: bool = False,
    allow_mass_delete: bool = False,
    claim: bool = False,
    replace_source: bool = False,
) -> tuple[Store, Reconciler]:
    """Settings -> store + source -> a one-shot ``Reconciler`` (the caller closes the store). With
    ``claim``, the store must follow this source or none: SourceMismatch otherwise, unless
    ``replace_source``."""
    # imported here: ``flowd --help`` must not pay for pygit2, SQLAlchemy and the flow model
    from daemon.reconcile import Reconciler
    from daemon.settings import Settings, normalize_db_url
    from daemon.sources import open_source
    from daemon.store import Store

    settings = Settings()
    opened = open_source(
        source, cache_dir=settings.repos_dir, ref=ref, path=path,
        token=settings.git_token, ssh_key=settings.git_ssh_key,
    )  # fmt: skip
    store = Store.open(normalize_db_url(db) if db else settings.db_url())
    if claim:  # before anything is read: the store must follow this source
        from daemon.cluster.source import SourceRef, check_source

        try:
            check_source(store.engine, SourceRef.of(source, ref, path), replace=replace_source)
        except BaseException:
            store.close()
            raise
    guard = settings.mass_delete_guard(allow=allow_mass_delete)
    return store, Reconciler(
        store,
        opened,
        prune=prune,
        allow_empty=allow_empty,
        ref=ref,
        strict=settings.strict,
        mass_delete=guard,
    )


@click.command("sync")
@source_options
@click.option("--no-prune", is_flag=True, help="Never delete deployed flows missing from the source.")
@click.option("--allow-empty", is_flag=True, help="Allow a sync that deletes every deployed flow.")
@mass_delete_option
@click.option(
    "--replace-source", is_flag=True, help="Make the store follow SOURCE even if it follows another one."
)
@db_option
@handle_errors
def command(
    source: str,
    ref: str | None,
    path: str | None,
    no_prune: bool,
    allow_empty: bool,
    allow_mass_delete: bool,
    replace_source: bool,
    db: str | None,
) -> None:
    """Reconcile the deployed flows with a source: create, update, delete (prune), record the sync."""
    sys.exit(
        run(source=source, ref=ref, path=path, db=db, prune=not no_prune, allow_empty=allow_empty,
            allow_mass_delete=allow_mass_delete, replace_source=replace_source)
    )  # fmt: skip


def run(
    *,
    source: str,
    ref: str | None,
    path: str | None,
    db: str | None,
    prune: bool = True,
    allow_empty: bool = False,
    allow_mass_delete: bool = False,
    replace_source: bool = False,
) -> int:
    """Sync once, print what was done, return the exit code. SourceMismatch (exit 2) when the store
    follows another source and not ``replace_source``."""
    from daemon.errors import SourceError
    from daemon.reconcile.render import plan_lines

    try:
        store, reconciler = open_reconciler(
            source=source, ref=ref, path=path, db=db, prune=prune, allow_empty=allow_empty,
            allow_mass_delete=allow_mass_delete, claim=True, replace_source=replace_source,
        )  # fmt: skip
    except SourceError as exc:
        click.echo(f"flowd: cannot read source: {_one_line(exc.message)}", err=True)
        return exc.exit_code
    with store:
        outcome = reconciler.sync()
        if outcome.result in ("SUCCESS", "PARTIAL"):  # applied: this is now the store's source
            from daemon.clock import SystemClock
            from daemon.cluster.source import SourceRef, record_source

            record_source(store.engine, SourceRef.of(source, ref, path), now=SystemClock().now())
    if outcome.result == "SOURCE_ERROR":
        click.echo(f"flowd: cannot read source: {_one_line(outcome.message or '')}", err=True)
        return outcome.exit_code
    assert outcome.plan is not None
    commit = (outcome.commit or "")[:12] or "folder"
    lines = plan_lines(outcome.plan)
    lines[0] = f"Sync {outcome.result} at {commit}: " + lines[0].removeprefix("Plan: ")
    click.echo("\n".join(lines))
    if outcome.result == "REFUSED":
        click.echo(f"flowd: {outcome.message}", err=True)
    return outcome.exit_code


def _one_line(message: str) -> str:
    return " ".join(message.split())
