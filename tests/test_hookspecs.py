"""Every hookspec is documented in ``docs/plugins.md`` with its exact signature, and follows
the hookspec docstring template (``Args:``; ``Returns:`` and whether ``firstresult`` applies;
``When:`` it is called and whether a transaction is open; ``Must not:``; ``.. versionadded::``):
the partner contract must not drift from the docs.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from kopflow.host import hookspecs

DOCS = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text(encoding="utf-8")
HOOKS = {
    name: func
    for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("kopflow_")
}


def signature(func: Callable[..., object]) -> str:
    """``kopflow_guard(coop: CoopView, event: str, ...) -> list[str] | None`` from the source."""
    sig = inspect.signature(func)  # annotations stay strings: hookspecs uses postponed evaluation
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{func.__name__}({params}) -> {sig.return_annotation}"


def section(name: str) -> str:
    """The docs from the hook's anchor to the next anchor."""
    start = DOCS.index(f'<a id="{name}"></a>')
    end = DOCS.find("<a id=", start + 1)
    return DOCS[start : end if end != -1 else None]


def test_hooks_are_found() -> None:
    assert {"kopflow_register_partners", "kopflow_validate_step", "kopflow_guard"} <= set(HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS), ids=sorted(HOOKS))
def test_hook_is_documented_with_its_signature(name: str) -> None:
    func = HOOKS[name]
    params = ", ".join(inspect.signature(func).parameters)
    assert f'<a id="{name}"></a>' in DOCS, "anchor missing"
    text = section(name)
    assert f"\n### {name}({params})\n" in text, "heading with the parameter names missing"
    assert f"\n{signature(func)}\n" in text, f"exact signature missing: {signature(func)}"
    assert "@hookimpl" in text and f"def {name}(" in text, "example missing"
    assert "**When**" in text


def test_docs_document_no_hook_that_does_not_exist() -> None:
    documented = set(re.findall(r"^### (kopflow_\w+)\(", DOCS, flags=re.MULTILINE))
    assert documented == set(HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS), ids=sorted(HOOKS))
def test_hookspec_docstring_follows_the_template(name: str) -> None:
    doc = inspect.getdoc(HOOKS[name]) or ""
    for part in ("Args:", "Returns:", "firstresult", "When:", "transaction", "Must not:",
                 ".. versionadded:: 0.1"):  # fmt: skip
        assert part in doc, f"{name}: docstring lacks {part!r}"


def test_signature_rendering() -> None:
    def kopflow_x(coop: int, step: str | None) -> list[str] | None: ...

    assert signature(kopflow_x) == "kopflow_x(coop: int, step: str | None) -> list[str] | None"
