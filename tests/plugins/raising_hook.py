"""Raises in every hook it implements except partner registration."""

from __future__ import annotations

import click

from kopflow.plugin import CoopView, hookimpl


@hookimpl
def kopflow_validate_step(
    coop: CoopView, partner: str | None, step: str, evidence: dict[str, object]
) -> list[str] | None:
    raise ValueError("validator exploded\nsecond line that must not reach the user")


@hookimpl
def kopflow_guard(coop: CoopView, event: str, source: str, dest: str) -> list[str] | None:
    raise KeyError("guard exploded")


@hookimpl
def kopflow_after_step(
    coop: CoopView, step: str, evidence: dict[str, object], audit_seq: int
) -> None:
    raise RuntimeError("partner system unreachable")


@hookimpl
def kopflow_after_transition(
    coop: CoopView, event: str, source: str, dest: str, audit_seq: int
) -> None:
    raise RuntimeError("partner system unreachable")


@hookimpl
def kopflow_register_commands(cli: click.Group) -> None:
    @cli.command(name="half-added")
    def half_added() -> None:
        """Added before the plugin fails: must be taken away again."""

    raise RuntimeError("command registration exploded")
