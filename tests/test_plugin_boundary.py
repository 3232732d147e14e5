"""Partner plugins import only ``kopflow.plugin`` (issue #3: the API is proven by its own users).

Parses every file of the built-in partners and of the example outside partner with ``ast``;
importing any other ``kopflow`` module would tie a partner to internals that may change.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
FILES = sorted([*ROOT.glob("plugins/**/*.py"), *ROOT.glob("examples/**/*.py")])
ALLOWED = "kopflow.plugin"


def forbidden_imports(source: str) -> list[str]:
    """Every import of ``kopflow`` other than ``kopflow.plugin`` in ``source``, as written."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _is_kopflow(a.name) and a.name != ALLOWED]
        elif (
            isinstance(node, ast.ImportFrom) and node.level == 0 and _is_kopflow(node.module or "")
        ):
            if node.module == "kopflow":
                found += [f"kopflow.{a.name}" for a in node.names if a.name != "plugin"]
            elif node.module != ALLOWED:
                found.append(node.module or "")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            # importlib.import_module("kopflow.engine") / __import__("kopflow.db")
            name = node.args[0].value
            func = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "")
            )
            if (
                func in ("import_module", "__import__")
                and isinstance(name, str)
                and _is_kopflow(name)
            ):
                found += [name] if name != ALLOWED else []
    return found


def _is_kopflow(module: str) -> bool:
    return module == "kopflow" or module.startswith("kopflow.")


def test_the_partner_files_are_found() -> None:
    names = {f.relative_to(ROOT).as_posix() for f in FILES}
    for partner in ("bri", "pos", "telkom", "pln"):
        assert f"plugins/kopflow_{partner}/__init__.py" in names
    assert "examples/kopflow-pertamina/kopflow_pertamina/__init__.py" in names


@pytest.mark.parametrize("path", FILES, ids=[f.relative_to(ROOT).as_posix() for f in FILES])
def test_plugin_imports_only_the_public_api(path: Path) -> None:
    assert forbidden_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from kopflow.plugin import hookimpl, StepSpec", []),
        ("from kopflow import plugin", []),
        ("import kopflow.plugin", []),
        ("import kopflow_pertamina, kopflowx", []),
        ("from kopflow.flow.spec import StepSpec", ["kopflow.flow.spec"]),
        ("from kopflow import engine, plugin", ["kopflow.engine"]),
        ("import kopflow", ["kopflow"]),
        ("import kopflow.store.db as db", ["kopflow.store.db"]),
        ("def f():\n    from kopflow.errors import PluginError", ["kopflow.errors"]),
        ("import importlib\nimportlib.import_module('kopflow.engine')", ["kopflow.engine"]),
        ("__import__('kopflow.store.db')", ["kopflow.store.db"]),
    ],
    ids=["plugin-names", "plugin-module", "import-plugin", "lookalikes", "workflow", "engine-in-list",
         "bare-kopflow", "aliased", "nested", "import-module-call", "dunder-import"],
)  # fmt: skip
def test_forbidden_imports_checker(source: str, expected: list[str]) -> None:
    """The checker itself: a checker that finds nothing would pass every plugin."""
    assert forbidden_imports(source) == expected
