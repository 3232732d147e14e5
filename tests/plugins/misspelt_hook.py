"""Validates BRI's account step under a misspelt hook name, ``kopflow_validate_stpe``.

Were it taken, it would refuse every ``bri.account``; pluggy alone would silently never call it,
so invalid evidence would be accepted. kopflow refuses to load the plugin instead (issue #13).
"""

from __future__ import annotations

from collections.abc import Mapping

from kopflow.plugin import CoopView, PluginInfo, hookimpl


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    return PluginInfo(name="misspelt_hook", version="0.1.0")


@hookimpl
def kopflow_validate_stpe(
    coop: CoopView, partner: str | None, step: str, evidence: Mapping[str, object]
) -> list[str] | None:
    return ["never called: no such hook"]
