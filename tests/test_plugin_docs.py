"""The code in docs/plugins.md's "Testing your plugin" is the example package's tested files,
word for word (issue #3; datasette's docs include code from tested files); every parameter of
the specs a plugin builds, and every hook, is documented there (issue #13)."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
# ``<!-- included from PATH ... -->``: the block is the whole file; ``<!-- quoted from PATH
# ... -->``: the block is a run of whole lines of the file, word for word (issue #13).
MARKED = re.findall(r"<!-- (included|quoted) from (\S+) .*?-->\n```\w+\n(.*?)```", DOCS, re.DOTALL)
INCLUDED = [(path, code) for kind, path, code in MARKED if kind == "included"]
QUOTED = [(path, code) for kind, path, code in MARKED if kind == "quoted"]
TUTORIAL = DOCS[DOCS.index("## Writing a plugin") : DOCS.index("## Logs, tracing and exit codes")]


def test_the_includes_are_found() -> None:
    assert [path for path, _code in INCLUDED] == [
        "examples/kopflow-pertamina/pyproject.toml",
        "examples/kopflow-pertamina/tests/conftest.py",
        "examples/kopflow-pertamina/tests/test_pertamina.py",
    ]
    assert {path for path, _code in QUOTED} == {
        "examples/kopflow-pertamina/kopflow_pertamina/__init__.py",
        "examples/kopflow-pertamina/tests/test_hooks.py",
    }


@pytest.mark.parametrize(("path", "code"), INCLUDED, ids=[p for p, _c in INCLUDED])
def test_included_code_is_the_file(path: str, code: str) -> None:
    assert code == (ROOT / path).read_text(encoding="utf-8")


def _excerpt_id(path: str, code: str) -> str:
    named = re.search(r"^(?:def|class) (\w+)|^\s*(\w+) = ", code, flags=re.MULTILINE)
    return f"{Path(path).name}:{next(g for g in named.groups() if g) if named else 'lines'}"


@pytest.mark.parametrize(("path", "code"), QUOTED, ids=[_excerpt_id(p, c) for p, c in QUOTED])
def test_quoted_code_is_in_the_file(path: str, code: str) -> None:
    """A tutorial excerpt is whole lines of the reference plugin (or its tests), unchanged:
    edit the example and this fails until the tutorial quotes it again."""
    assert ("\n" + code) in ("\n" + (ROOT / path).read_text(encoding="utf-8")), code


def test_every_tutorial_code_block_says_which_file_it_quotes() -> None:
    """The tutorial shows only the reference plugin's tested code: each Python or TOML block of
    "Writing a plugin" and "Testing your plugin" is marked, so the tests above check it."""
    blocks = re.findall(r"^(.*)\n```(?:python|toml)\n", TUTORIAL, flags=re.MULTILINE)
    assert blocks and all(re.match(r"<!-- (included|quoted) from ", b) for b in blocks), blocks


def test_every_testing_fixture_is_documented() -> None:
    import kopflow.testing

    fixtures = [n for n in kopflow.testing.__all__ if n.islower() and n != "register"]
    section = DOCS[DOCS.index("## Testing your plugin") : DOCS.index("## The `kopflow.plugin` API")]
    assert [f for f in fixtures if f"| `{f}` |" not in section] == []


def spec_section(name: str) -> str:
    """docs/plugins.md from ``### NAME`` to the next heading."""
    start = DOCS.index(f"\n### {name}\n")
    return DOCS[start : DOCS.index("\n#", start + 1)]


def spec_signature(cls: type) -> str:
    """``FieldSpec(name, type, label, required=True, ...)``, every parameter, from the class."""
    params = []
    for p in inspect.signature(cls).parameters.values():
        params.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    return f"{cls.__name__}({', '.join(params)})"


SPECS = ["PartnerSpec", "StepSpec", "FieldSpec"]


@pytest.mark.parametrize("name", SPECS)
def test_every_spec_parameter_is_documented(name: str) -> None:
    """Issue #13: a parameter added to FieldSpec (or PartnerSpec, StepSpec) fails here until
    docs/plugins.md gives its signature and a row saying what it does."""
    import kopflow.plugin

    cls = getattr(kopflow.plugin, name)
    section = spec_section(name)
    assert f"```python\n{spec_signature(cls)}\n```" in section, spec_signature(cls)
    table = section[section.index("| parameter | what it is |") :].split("\n\n")[0]
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", table, flags=re.MULTILINE)
    fields = [f.name for f in dataclasses.fields(cls)]
    assert [row for row, _text in rows] == fields  # each once, in order, and nothing else
    assert all(text.strip() for _row, text in rows)


def generator():  # type: ignore[no-untyped-def]
    """scripts/plugin_docs.py, which writes the FieldSpec reference from its docstring."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "plugin_docs", ROOT / "scripts" / "plugin_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fieldspec_reference_is_generated_from_its_docstring() -> None:
    """Issue #13: docs/plugins.md says what FieldSpec's docstring says, word for word; run
    ``.venv/bin/python scripts/plugin_docs.py`` after changing either."""
    assert generator().rewritten(DOCS) == DOCS


def test_every_fieldspec_parameter_has_a_docstring_entry() -> None:
    from kopflow.plugin import FieldSpec

    described = generator().args_of(FieldSpec)
    fields = [f.name for f in dataclasses.fields(FieldSpec)]
    assert [f for f in fields if not described.get(f, "").strip()] == []
    assert [d for d in described if d not in fields] == []  # nothing documented that is not there


def test_every_hook_is_documented() -> None:
    """The hooks' side of the same promise (their signatures: tests/test_hookspecs.py)."""
    from kopflow.host import hookspecs

    hooks = [
        n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("kopflow_")
    ]
    section = DOCS[DOCS.index("## Hook reference") :]
    assert [h for h in hooks if f'<a id="{h}"></a>\n### {h}(' not in section] == []


def test_the_exit_codes_are_kopflows() -> None:
    """Each exit code of kopflow's errors is in the exit-code table for plugin authors."""
    from kopflow import errors

    section = spec_section("Exit codes")
    codes = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.KopflowError)
    }
    documented = {int(c) for c in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}
    assert codes | {0, 70} == documented
