"""Registers the partner code ``bri`` that the built-in BRI plugin already owns."""

from __future__ import annotations

from collections.abc import Callable

from kopflow.plugin import PartnerSpec, StepSpec, hookimpl


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    step = StepSpec("account", {"id": "Rekening", "en": "Account"}, "partner")
    register(PartnerSpec("bri", {"id": "BRI tiruan", "en": "Fake BRI"}, (step,)))
