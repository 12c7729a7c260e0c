"""``flowd schema``: print the JSON schema of a flow file (the same text as ``schema/flow.schema.json``)."""

from __future__ import annotations

import click


@click.command("schema")
def command() -> None:
    """Print the JSON schema (draft 2020-12) of a flow file, for editors and check-jsonschema."""
    from daemon.language.schema import render_schema  # the model is imported only when asked for

    click.echo(render_schema(), nl=False)
