"""The code in docs/plugins.md's "Testing your plugin" is the example package's tested files,
word for word (issue #3; datasette's docs include code from tested files)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
INCLUDED = re.findall(r"<!-- included from (\S+) .*?-->\n```python\n(.*?)```", DOCS, re.DOTALL)


def test_the_includes_are_found() -> None:
    assert [path for path, _code in INCLUDED] == [
        "examples/kopflow-pertamina/tests/conftest.py",
        "examples/kopflow-pertamina/tests/test_pertamina.py",
    ]


@pytest.mark.parametrize(("path", "code"), INCLUDED, ids=[p for p, _c in INCLUDED])
def test_included_code_is_the_file(path: str, code: str) -> None:
    assert code == (ROOT / path).read_text(encoding="utf-8")


def test_every_testing_fixture_is_documented() -> None:
    import kopflow.testing

    fixtures = [n for n in kopflow.testing.__all__ if n.islower() and n != "register"]
    section = DOCS[DOCS.index("## Testing your plugin") : DOCS.index("## The `kopflow.plugin` API")]
    assert [f for f in fixtures if f"| `{f}` |" not in section] == []
