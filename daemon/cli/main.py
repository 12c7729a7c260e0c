"""Entry point of the ``flowd`` command; subcommands are imported only when called (fast start-up)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from daemon import __version__

# name -> module under daemon.cli exposing ``command`` (a click.Command)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("validate", "Validate flow files (schema and semantics)."),
    "schema": ("schema", "Print the JSON schema of a flow file."),
    "plugins": ("plugins", "List the task and trigger types flowd supports, or show one."),
    "plan": ("plan", "Show what a sync would change."),
    "sync": ("sync", "Reconcile the deployed flows with a source."),
    "execute": ("execute", "Run a deployed flow and wait for it."),
    "status": ("status", "Show deployed flows, syncs and executions."),
    "logs": ("logs", "Print the logs of an execution."),
    "kill": ("kill", "Kill a running execution."),
    "db": ("db", "Database maintenance (migrations)."),
    "run": ("run", "Run the daemon: sync loop, scheduler, executor and HTTP API."),
    "backfill": ("backfill", "Create one execution per schedule tick in a time range."),
    "init": ("init", "Create a flows repository from the template."),
    "test": ("test", "Run flow unit tests (*.test.yml) offline."),
}


# commands that run deployed flows (or deploy them): they share the parsed-flow cache under FLOWD_HOME
FLOW_CACHE_COMMANDS = frozenset({"execute", "sync", "run", "backfill"})


class LazyGroup(click.Group):
    """A group whose subcommands live in their own modules, imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (mod, _) in SUBCOMMANDS.items() if _exists(mod))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None or not _exists(entry[0]):
            return None
        module = importlib.import_module(f"daemon.cli.{entry[0]}")
        command: click.Command = module.command
        return command

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Where the data lives"):
            for name, text in data_locations():  # not wrapped: a path broken in two cannot be copied
                formatter.write(f"{'':>{formatter.current_indent}}{name}: {text}\n")

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def data_locations() -> list[tuple[str, str]]:
    """FLOWD_HOME and the database, with the values in use now (for ``flowd --help``)."""
    import os
    from pathlib import Path

    home = os.environ.get("FLOWD_HOME") or str(Path.home() / ".flowd")
    database = os.environ.get("FLOWD_DATABASE_URL")
    in_use = _redacted(database) if database else f"the SQLite file {Path(home) / 'flowd.db'}"
    return [
        ("FLOWD_HOME", f"state folder: SQLite store, task output files, Git clones (now {home})"),
        ("FLOWD_DATABASE_URL", f"the store, e.g. postgresql://user@host/db (now {in_use}); --db overrides"),
    ]


def _redacted(url: str) -> str:
    import re

    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _exists(module: str) -> bool:
    return importlib.util.find_spec(f"daemon.cli.{module}") is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flowd")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """flowd: keep a Git repository of flow YAML deployed, scheduled and running."""
    if ctx.invoked_subcommand in FLOW_CACHE_COMMANDS:
        from daemon.cli.common import flow_cache_from_settings

        ctx.with_resource(flow_cache_from_settings())


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; click maps UsageError to exit 2."""
    try:
        return cli.main(args=argv, prog_name="flowd")
    except KeyboardInterrupt:
        sys.exit(130)
