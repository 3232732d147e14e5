"""Every string a user reads has an Indonesian translation (issues #6 and #11).

The message ids are what Babel extracts with babel.cfg, as ``pybabel extract`` does: the literal
arguments of ``_()``, ``N_()`` and ``ngettext()``, and the msgid argument of every error class
and helper babel.cfg lists. Babel does not import the sources, so a module that cannot be
imported is still checked. The tests below also guard what Babel cannot see on Python 3.11
(a call inside an f-string) and a callable taking a msgid that babel.cfg does not list.
"""

from __future__ import annotations

import ast
import gettext
import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from babel.messages.checkers import num_plurals, python_format
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from click.testing import CliRunner
from i18n_helpers import (
    MAPPING,
    MO,
    ROOT,
    Msgid,
    catalogue,
    extract,
    kopflow_msgids,
    placeholders,
    translated,
    translations,
)

from kopflow import i18n

SOURCES = sorted([*(ROOT / "kopflow").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")])
HOW = "update the catalogue as docs/translating.md says (pybabel extract, update, compile)"


def problems(msgids: list[Msgid]) -> list[str]:
    """One line per message id with no translation, or whose translation changes placeholders."""
    entries = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue() if m.id}
    out: dict[str, str] = {}
    for msgid in msgids:
        entry = entries.get(msgid.text)
        if msgid.text in out:
            continue
        if entry is None or not translated(entry):
            out[msgid.text] = f"{msgid.where}: no translation for {msgid.text!r}"
        elif isinstance(entry.string, str) and placeholders(entry.string) != placeholders(
            msgid.text
        ):
            out[msgid.text] = (
                f"{msgid.where}: placeholders differ for {msgid.text!r}: "
                f"{sorted(placeholders(msgid.text))} vs {sorted(placeholders(entry.string))}"
            )
    return sorted(out.values())


def test_the_extraction_finds_the_kinds_of_msgid() -> None:
    """_(), N_(), an error's msgid, EvidenceError's second argument, _Builder.add's second."""
    texts = {m.text for m in kopflow_msgids()}
    assert "Count cooperatives per stage." in texts  # N_() in the CLI root
    assert "Error" in texts  # _()
    assert "give exactly one of FILE.csv, --region, --province or --all" in texts  # InputError
    assert "{field}: a rupiah amount cannot be negative ({value})" in texts  # _refuse(spec, ...)
    assert "max is below min ({min})" in texts  # flow/load.py: self.add(path, msgid)
    assert "a whole number" in texts and "a positive whole number" in texts  # not joined


def test_every_msgid_has_a_translation() -> None:
    """Every user-facing literal has an Indonesian entry with the same placeholders (issue #6)."""
    found = problems(kopflow_msgids())
    assert not found, f"{len(found)} message(s) without a proper translation ({HOW}):\n" + (
        "\n".join(found)
    )


def test_clicks_own_messages_are_translated() -> None:
    """Usage, option help and errors of the installed click are in the catalogue too.

    It fails when a click release rewords or adds a message: that text would show in English
    on an Indonesian screen, so the catalogue is brought up to date then.
    """
    found = problems(list(extract(Path(click.__file__).parent)))
    assert not found, f"click {click_version()} has messages the catalogue lacks ({HOW}):\n" + (
        "\n".join(found)
    )


def click_version() -> str:
    from importlib.metadata import version

    return version("click")


def test_catalogue_entries_keep_their_placeholders() -> None:
    """No entry drops, adds or renames a placeholder, used or not; Babel's own checks pass.

    An ngettext entry may use the placeholders of either English form: Indonesian has one
    form for every count, and click passes both forms' values.
    """
    bad = []
    for message in catalogue():
        if not message.id or not translated(message):
            continue
        if isinstance(message.id, str):
            if placeholders(message.string) != placeholders(message.id):
                bad.append(message.id)
        else:
            either = placeholders(message.id[0]) | placeholders(message.id[1])
            if any(not placeholders(s) <= either for s in message.string):
                bad.append(message.id[0])
        for checker in (num_plurals, python_format):
            try:
                checker(catalogue(), message)
            except Exception as err:  # babel's TranslationError, one per finding
                bad.append(f"{message.id!r}: {err}")
    assert not bad


def test_the_committed_mo_is_compiled_from_the_po() -> None:
    """The .mo kopflow reads at run time says exactly what the .po says (run pybabel compile)."""
    expected = [m for m in catalogue() if translated(m)]
    with MO.open("rb") as f:
        runtime = gettext.GNUTranslations(f)
    stale = []
    for message in expected:
        if isinstance(message.id, str):
            if runtime.gettext(message.id) != message.string:
                stale.append(message.id)
        elif [runtime.ngettext(*message.id, n) for n in (1, 2)] != [message.string[0]] * 2:
            stale.append(message.id[0])
    with MO.open("rb") as f:
        compiled = [m for m in read_mo(f) if m.id]
    assert not stale and len(compiled) == len(expected), (
        f"{MO.relative_to(ROOT)} is stale against its .po: run "
        "'.venv/bin/pybabel compile -d kopflow/locale -D kopflow' and commit the .mo"
    )


# --- what Babel cannot see -------------------------------------------------------------------


def _method_ids(tree: ast.AST) -> set[int]:
    """The ids of the nodes that are methods: a class body's direct children."""
    return {
        id(item) for node in ast.walk(tree) if isinstance(node, ast.ClassDef) for item in node.body
    }


def _trees() -> Iterator[tuple[str, ast.Module]]:
    for path in SOURCES:
        yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _msgid_index(args: ast.arguments, *, method: bool) -> int | None:
    names = [a.arg for a in [*args.posonlyargs, *args.args]][1 if method else 0 :]
    return names.index("msgid") if "msgid" in names else None


def msgid_positions() -> dict[str, int]:
    """Name of each function, method or class that takes a msgid -> its 1-based position.

    A class takes its ``__init__``'s; a subclass without an ``__init__`` inherits its base's.
    """
    positions: dict[str, int | None] = {}
    bases: dict[str, list[str]] = {}
    for _where, tree in _trees():
        methods = _method_ids(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [n for b in node.bases if (n := _name(b))]
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        positions[node.name] = _msgid_index(item.args, method=True)
            elif isinstance(node, ast.FunctionDef) and not node.name.startswith("__"):
                found = _msgid_index(node.args, method=id(node) in methods)
                if found is not None:
                    positions[node.name] = found
    changed = True
    while changed:  # subclasses without their own __init__ inherit their base's position
        changed = False
        for cls, parents in bases.items():
            inherited = next((positions[p] for p in parents if p in positions), None)
            if cls not in positions and inherited is not None:
                positions[cls] = inherited
                changed = True
    return {name: pos + 1 for name, pos in positions.items() if pos is not None}


def babel_keywords() -> dict[str, tuple[int, ...] | None]:
    with MAPPING.open(encoding="utf-8") as f:
        _methods, options = parse_mapping_cfg(f, str(MAPPING))
    keywords: dict[str, tuple[int, ...] | None] = options["**.py"]["keywords"]
    return keywords


def test_babel_cfg_lists_every_callable_that_takes_a_msgid() -> None:
    """A new error class or helper with a msgid parameter is extracted only once babel.cfg has it."""
    keywords = babel_keywords()
    positions = msgid_positions()
    assert positions["KopflowError"] == 1 and positions["EvidenceError"] == 2
    assert positions["add"] == 2  # flow/load.py's _Builder.add, a method
    assert "WorkflowError" not in positions
    wrong = {
        name: (keywords.get(name), pos)
        for name, pos in positions.items()
        if (keywords.get(name) or (1,)) != (pos,) or name not in keywords
    }
    assert not wrong, f"babel.cfg: keywords missing or at the wrong position: {wrong}"


def translating_functions() -> dict[str, int]:
    """Name of each function or method that passes one of its parameters to _() -> its position.

    A literal given there is a message id that babel.cfg does not name: it must be marked.
    """
    found: dict[str, int] = {}
    for _where, tree in _trees():
        methods = _method_ids(tree)
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            names = [a.arg for a in [*func.args.posonlyargs, *func.args.args]]
            names = names[1:] if id(func) in methods else names
            for call in ast.walk(func):
                if (
                    isinstance(call, ast.Call)
                    and _name(call.func) == "_"
                    and call.args
                    and isinstance(call.args[0], ast.Name)
                    and call.args[0].id in names
                ):
                    found[func.name] = names.index(call.args[0].id) + 1
    return found


def test_no_msgid_is_hidden_from_babel() -> None:
    """No marked call inside an f-string, no msgid argument that Babel would miss or misread.

    The Python 3.11 tokenizer hands an f-string over as one token, so Babel never sees a _()
    inside one. Babel joins every string literal of an argument: ``InputError("a" if x
    else "b")`` would give the msgid "ab". And a literal given to a function that translates
    its argument (``self._bad(path, "a list", node)``) is not extracted at all. Mark each such
    literal with N_().
    """
    keywords = babel_keywords()
    translating = translating_functions()
    assert translating["_bad"] == 2  # flow/load.py: the text of what was expected
    found = []
    for where, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                for call in ast.walk(node):
                    if (
                        isinstance(call, ast.Call)
                        and _name(call.func) in keywords
                        and any(isinstance(a, ast.Constant) for a in call.args)
                    ):
                        found.append(f"{where}:{call.lineno}: {ast.unparse(call)} in an f-string")
            if not isinstance(node, ast.Call) or (name := _name(node.func)) is None:
                continue
            if name in keywords:
                for index in keywords[name] or (1,):
                    if len(node.args) < index or isinstance(node.args[index - 1], ast.Constant):
                        continue
                    literals = [
                        n
                        for n in ast.walk(node.args[index - 1])
                        if isinstance(n, ast.Constant) and isinstance(n.value, str)
                    ]
                    if literals:
                        found.append(f"{where}:{node.lineno}: {ast.unparse(node)[:80]}")
            elif name in translating and len(node.args) >= translating[name]:
                argument = node.args[translating[name] - 1]
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    found.append(f"{where}:{node.lineno}: {ast.unparse(node)[:80]}: not extracted")
    assert not found, "\n".join(found)


# --- the language at run time ----------------------------------------------------------------


@pytest.fixture
def language() -> Iterator[None]:
    """Leave kopflow's and gettext's language as this test found them."""
    before, saved = i18n.get_language(), os.environ.get("LANGUAGE")
    yield
    i18n.set_language(before)
    if saved is None:
        os.environ.pop("LANGUAGE", None)
    else:
        os.environ["LANGUAGE"] = saved


def test_lookups_read_the_catalogue_once(language: None) -> None:
    """After the first _(), a lookup is a dict lookup on the loaded catalogue: no file read."""
    i18n.set_language("id")
    assert i18n._("Error") == "Galat"
    loaded = i18n._catalogues["id"]
    assert i18n._("{count} file(s) valid", count=2) == translations()[
        "{count} file(s) valid"
    ].format(count=2)
    assert i18n._catalogues["id"] is loaded
    assert i18n._("a text no catalogue has") == "a text no catalogue has"
    assert i18n._("") == ""  # not gettext's header
    i18n.set_language("en")
    assert i18n._("Error") == "Error"


@pytest.mark.parametrize(
    ("lang", "usage", "show_help"),
    [
        ("en", "Usage: kopflow", "Show this message and exit."),
        ("id", "Penggunaan: kopflow", "Tampilkan pesan ini lalu keluar."),
    ],
)
def test_lang_chooses_the_language_of_clicks_texts(
    language: None, lang: str, usage: str, show_help: str
) -> None:
    """--lang en gives click's English, --lang id kopflow's Indonesian, in any order."""
    from kopflow.cli import cli

    runner = CliRunner()
    for other in ("en", "id"):  # the root's help option is made once and kept: either order
        runner.invoke(cli, ["--lang", other, "--help"], prog_name="kopflow")
        result = runner.invoke(cli, ["--lang", lang, "--help"], prog_name="kopflow")
        assert result.exit_code == 0 and result.output.startswith(usage)
        assert f"-h, --help             {show_help}" in result.output
        step = runner.invoke(cli, ["--lang", lang, "step", "-h"], prog_name="kopflow")
        assert step.output.startswith(usage) and show_help in step.output


def test_clicks_errors_and_plurals_follow_lang(language: None) -> None:
    from kopflow.cli import cli

    runner = CliRunner()
    bogus = runner.invoke(cli, ["--lang", "id", "coop", "list", "--bogus"], prog_name="kopflow")
    assert bogus.exit_code == 2
    assert bogus.stderr.splitlines()[-1] == "Galat: Tidak ada opsi '--bogus'."
    assert "Coba 'kopflow coop list --help' untuk bantuan." in bogus.stderr
    extra = runner.invoke(
        cli, ["--lang", "id", "status", "a", "b"], prog_name="kopflow"
    )  # ngettext, count 2
    assert "Galat: Ada argumen lebih yang tidak diharapkan (a b)" in extra.stderr
    english = runner.invoke(cli, ["--lang", "en", "status", "a", "b"], prog_name="kopflow")
    assert "Error: Got unexpected extra arguments (a b)" in english.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"KOPFLOW_LANG": "en", "LANG": "id_ID.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "id_ID.UTF-8"}, "id"),
        ({"LANG": "C.UTF-8"}, "id"),
        ({"LANGUAGE": "en", "LANG": "C"}, "id"),  # gettext's own variable does not choose
    ],
)
def test_the_environment_chooses_the_language(
    language: None, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    """KOPFLOW_LANG, else LANG, else Indonesian: for kopflow's texts and click's alike."""
    from kopflow.cli import cli

    for var in ("KOPFLOW_LANG", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    result = CliRunner().invoke(cli, ["coop", "list", "--bogus"])
    assert i18n.get_language() == expected
    assert result.stderr.startswith("Usage:" if expected == "en" else "Penggunaan:")
