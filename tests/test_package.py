"""``kopflow`` re-exports the plugin marker and API version lazily (issue #3: an ``__init__`` of
re-exports only, importing nothing heavy, because ``import kopflow.cli`` runs it first)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import kopflow
import kopflow.plugin


def test_reexports_are_the_plugin_api_objects() -> None:
    assert kopflow.PLUGIN_API_VERSION == kopflow.plugin.PLUGIN_API_VERSION == 1
    assert kopflow.hookimpl is kopflow.plugin.hookimpl
    assert sorted(kopflow.__all__) == ["PLUGIN_API_VERSION", "hookimpl"]
    assert set(kopflow.__all__) <= set(dir(kopflow))


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        kopflow.nothing  # type: ignore[attr-defined]  # noqa: B018


def test_import_kopflow_loads_the_plugin_api_only_when_asked() -> None:
    code = (
        "import sys, kopflow\n"
        "before = 'pluggy' in sys.modules or 'kopflow.plugin' in sys.modules\n"
        "from kopflow import hookimpl\n"
        "print(before, 'kopflow.plugin' in sys.modules, hookimpl.project_name)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "True", "kopflow"], done.stderr
