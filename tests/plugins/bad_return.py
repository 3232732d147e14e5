"""Returns malformed data from the deciding hooks."""

from __future__ import annotations

from kopflow.plugin import CoopView, hookimpl


@hookimpl
def kopflow_validate_step(
    coop: CoopView, partner: str | None, step: str, evidence: dict[str, object]
) -> list[str] | None:
    return "amount too high"  # type: ignore[return-value]  # a str, not a list: on purpose


@hookimpl
def kopflow_guard(coop: CoopView, event: str, source: str, dest: str) -> list[str] | None:
    return [42]  # type: ignore[list-item]  # on purpose
