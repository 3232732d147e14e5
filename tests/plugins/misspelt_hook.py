"""Implements a hook under a misspelt name: only ``kopflow plugins check`` notices."""

from __future__ import annotations

from collections.abc import Callable

from kopflow.plugin import PartnerSpec, hookimpl


@hookimpl
def kopflow_registr_partners(register: Callable[[PartnerSpec], None]) -> None:
    raise AssertionError("never called: no such hook")
