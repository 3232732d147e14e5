"""A development copy of the Pos plugin under another module name, calling itself ``pos``: given
with ``--plugin`` while the real one is installed, it replaces it (issue #13)."""

from __future__ import annotations

from collections.abc import Callable

from kopflow.plugin import PartnerSpec, PluginInfo, StepSpec, hookimpl


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    return PluginInfo(name="pos", version="0.2.0.dev0")


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    register(PartnerSpec(code="pos", name={"id": "Pos (uji)", "en": "Pos (test)"},
                         steps=(StepSpec("pks", {"id": "PKS", "en": "PKS"}, "partner"),)))  # fmt: skip
