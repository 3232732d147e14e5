"""Written for a plugin API version this kopflow does not provide."""

from __future__ import annotations

from collections.abc import Callable

from kopflow.plugin import PartnerSpec, PluginInfo, hookimpl


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    return PluginInfo(name="old_api", version="9.0", api_version=99)


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    raise AssertionError("never called: the plugin is refused before registration")
