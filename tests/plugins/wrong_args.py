"""Asks for an argument the hook does not offer: refused at registration."""

from __future__ import annotations

from kopflow.plugin import CoopView, hookimpl


@hookimpl
def kopflow_guard(coop: CoopView, event: str, colour: str) -> list[str] | None:
    return None
