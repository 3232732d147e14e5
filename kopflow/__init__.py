"""kopflow: drives Indonesia's village cooperatives (KDKMP) through their stages.

Re-exports only, resolved on first use (PEP 562): ``import kopflow.cli`` runs this file first,
so it must import nothing heavy or ``kopflow --help`` would pay for it. Partners import from
:mod:`kopflow.plugin`; ``kopflow.hookimpl`` and ``kopflow.PLUGIN_API_VERSION`` are the same
objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kopflow.plugin import PLUGIN_API_VERSION, hookimpl

__all__ = ["PLUGIN_API_VERSION", "hookimpl"]

# public name -> the module that defines it
_LAZY = {"PLUGIN_API_VERSION": "kopflow.plugin", "hookimpl": "kopflow.plugin"}


def __getattr__(name: str) -> Any:
    """Import a re-exported name's module when the name is first used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kopflow' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
