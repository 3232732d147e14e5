"""Forgets ``@hookimpl``: kopflow still takes ``kopflow_*`` functions of a module."""

from __future__ import annotations

from collections.abc import Callable

from kopflow.plugin import PartnerSpec, StepSpec


def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    step = StepSpec("done", {"id": "Selesai", "en": "Done"}, "partner")
    register(PartnerSpec("unmarked", {"id": "Tanpa penanda", "en": "Unmarked"}, (step,)))
