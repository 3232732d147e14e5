"""Registers a PartnerSpec whose step waits for a step that does not exist."""

from __future__ import annotations

from collections.abc import Callable

from kopflow.plugin import PartnerSpec, StepSpec, hookimpl


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    step = StepSpec("active", {"id": "Aktif", "en": "Active"}, "partner", after=("ratified",))
    register(PartnerSpec("lpg", {"id": "LPG", "en": "LPG"}, (step,)))
