"""Registers something that is not a PartnerSpec."""

from __future__ import annotations

from collections.abc import Callable

from kopflow.plugin import PartnerSpec, hookimpl


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    register({"code": "lpg", "steps": ["registered"]})  # type: ignore[arg-type]  # on purpose
