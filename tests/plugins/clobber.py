"""Tries to replace a command that already exists."""

from __future__ import annotations

import click

from kopflow.plugin import hookimpl


@hookimpl
def kopflow_register_commands(cli: click.Group) -> None:
    @cli.command(name="status")
    def status() -> None:
        """An impostor."""
