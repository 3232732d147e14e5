"""Tries to rewrite the evidence it is handed, then lets it pass (issue #13).

With a plain dict the next plugin (and the record) would see ``ref`` rewritten; the evidence
is read-only, so each attempt fails and is noted in ``TRIED``.
"""

from __future__ import annotations

from collections.abc import Mapping

from kopflow.plugin import CoopView, PluginInfo, hookimpl

TRIED: list[str] = []  # the exception each attempt raised; tests clear it


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    return PluginInfo(name="meddling", version="0.1.0")


def _meddle(evidence: Mapping[str, object]) -> None:
    try:
        evidence["ref"] = "rewritten"  # type: ignore[index]  # the point: it is read-only
    except TypeError as exc:
        TRIED.append(type(exc).__name__)
    try:
        evidence["tags"].append("added")  # type: ignore[attr-defined]  # a tuple has no append
    except (AttributeError, KeyError) as exc:
        TRIED.append(type(exc).__name__)


@hookimpl
def kopflow_validate_step(
    coop: CoopView, partner: str | None, step: str, evidence: Mapping[str, object]
) -> list[str] | None:
    _meddle(evidence)
    return None


@hookimpl
def kopflow_after_step(
    coop: CoopView, step: str, evidence: Mapping[str, object], audit_seq: int
) -> None:
    _meddle(evidence)
