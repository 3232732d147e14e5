"""Partner ``bulog`` with a misspelt after-step hook: broken at load, so its own steps must be
refused with that reason, not as an unknown partner (issue #13)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kopflow.plugin import CoopView, FieldSpec, PartnerSpec, PluginInfo, StepSpec, hookimpl

PARTNER = PartnerSpec(
    code="bulog",
    name={"id": "Perum Bulog", "en": "Perum Bulog"},
    steps=(
        StepSpec("warehouse", {"id": "Gudang", "en": "Warehouse"}, "partner",
                 fields=(FieldSpec("date", "date", {"id": "Tanggal", "en": "Date"}),)),
    ),
)  # fmt: skip


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    return PluginInfo(name="bulog", version="0.1.0")


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    register(PARTNER)


@hookimpl
def kopflow_after_stpe(
    coop: CoopView, step: str, evidence: Mapping[str, object], audit_seq: int
) -> None:
    raise AssertionError("never called: no such hook")
