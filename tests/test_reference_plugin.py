"""The reference plugin (examples/kopflow-pertamina) implements every hook of the plugin API
(issue #13): a hook added to kopflow/host/hookspecs.py fails here until the example, which
docs/plugins.md's tutorial quotes and partners copy, shows how to implement it."""

from __future__ import annotations

import inspect
from pathlib import Path

from kopflow.host import hookspecs
from kopflow.host.manager import make_plugin_host

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "kopflow-pertamina"


def test_the_reference_plugin_implements_every_hook() -> None:
    specs = {n for n, _f in inspect.getmembers(hookspecs, inspect.isfunction)}
    specs = {n for n in specs if n.startswith("kopflow_")}
    host = make_plugin_host(
        extra_modules=[str(EXAMPLE / "kopflow_pertamina")], load_entry_points=False
    )
    (plugin,) = [p for p in host.plugins if p.name == "pertamina"]
    assert plugin.status == "ok" and host.errors == []
    assert sorted(specs - set(plugin.hooks)) == []  # each hook has a reference implementation
    assert set(plugin.hooks) == specs
