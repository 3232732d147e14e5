"""Every string a user reads has an Indonesian translation (issue #6).

The test parses the source (no imports, so a module that cannot be imported is still checked)
and collects every message id:

* the literal first argument of ``_("...")`` and ``N_("...")``;
* the literal argument in the ``msgid`` position of any call to a function or class whose
  ``__init__`` takes a parameter named ``msgid``: ``KopflowError(msgid, ...)`` and its subclasses,
  ``EvidenceError(field, msgid)``, ``PluginError(plugin, msgid)``, ``RefusedError(msgid, reasons)``,
  helpers such as ``ensure_input(condition, msgid)``; subclasses without their own ``__init__``
  inherit the position of their base.

It fails when a message id has no entry in ``kopflow._catalog.ID`` or when the entry's
``{placeholders}`` differ from the English ones. Arguments that are not literals (``_(label)``)
are translated elsewhere and are not checked here.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "kopflow").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")])
TRANSLATE = {"_", "N_"}


@dataclass(frozen=True)
class Msgid:
    """A message id found in the source, and where."""

    text: str
    where: str


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _msgid_position(args: ast.arguments, *, method: bool) -> int | None:
    names = [a.arg for a in [*args.posonlyargs, *args.args]]
    if "msgid" not in names:
        return None
    return names.index("msgid") - (1 if method else 0)


def _parse_all() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in SOURCES}


def msgid_positions(trees: dict[Path, ast.Module]) -> dict[str, int]:
    """Name of each function or class that takes a msgid -> its positional index."""
    positions: dict[str, int] = {}
    bases: dict[str, list[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("__"):
                found = _msgid_position(node.args, method=False)
                if found is not None and not _is_method(tree, node):
                    positions[node.name] = found
            elif isinstance(node, ast.ClassDef):
                bases[node.name] = [n for b in node.bases if (n := _name(b))]
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        found = _msgid_position(item.args, method=True)
                        if found is not None:
                            positions[node.name] = found
                        else:
                            positions[node.name] = -1  # an __init__ without msgid
    changed = True
    while changed:  # subclasses without their own __init__ inherit their base's position
        changed = False
        for cls, parents in bases.items():
            if cls in positions:
                continue
            inherited = next((positions[p] for p in parents if p in positions), None)
            if inherited is not None:
                positions[cls] = inherited
                changed = True
    return {name: pos for name, pos in positions.items() if pos >= 0}


def _is_method(tree: ast.Module, func: ast.FunctionDef) -> bool:
    return any(isinstance(node, ast.ClassDef) and func in node.body for node in ast.walk(tree))


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def collect_msgids() -> Iterator[Msgid]:
    """Every literal message id in kopflow/ and plugins/."""
    trees = _parse_all()
    positions = msgid_positions(trees)
    for path, tree in trees.items():
        rel = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            found: str | None = None
            if name in TRANSLATE and node.args:
                found = _literal(node.args[0])
            elif name in positions:
                pos = positions[name]
                keyword = next((k.value for k in node.keywords if k.arg == "msgid"), None)
                found = (
                    _literal(keyword)
                    if keyword is not None
                    else (_literal(node.args[pos]) if len(node.args) > pos else None)
                )
            if found is not None:
                yield Msgid(found, f"{rel}:{node.lineno}")


def placeholders(text: str) -> set[str]:
    """The ``{names}`` of a format string."""
    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field}


def problems() -> list[str]:
    """One line per message id that is missing or whose placeholders differ."""
    from kopflow._catalog import ID

    out: dict[str, str] = {}
    for msgid in collect_msgids():
        if msgid.text in out:
            continue
        if msgid.text not in ID:
            out[msgid.text] = f"{msgid.where}: no translation for {msgid.text!r}"
        elif placeholders(ID[msgid.text]) != placeholders(msgid.text):
            out[msgid.text] = (
                f"{msgid.where}: placeholders differ for {msgid.text!r}: "
                f"{sorted(placeholders(msgid.text))} vs {sorted(placeholders(ID[msgid.text]))}"
            )
    return sorted(out.values())


def test_the_scan_finds_the_kinds_of_msgid() -> None:
    """The scan sees _(), N_() and the msgid argument of each KopflowError subclass (issue #6)."""
    positions = msgid_positions(_parse_all())
    assert positions["KopflowError"] == 0
    assert positions["InputError"] == 0
    assert positions["RefusedError"] == 0
    assert positions["EvidenceError"] == 1
    assert positions["PluginError"] == 1
    assert "WorkflowError" not in positions
    texts = {m.text for m in collect_msgids()}
    assert "Count cooperatives per stage." in texts  # N_() in the CLI root
    assert "Error" in texts  # _()
    assert "give exactly one of FILE.csv, --region, --province or --all" in texts  # InputError


def test_every_msgid_has_a_translation() -> None:
    """Every user-facing literal has an Indonesian entry with the same placeholders (issue #6)."""
    found = problems()
    assert not found, f"{len(found)} message(s) without a proper translation:\n" + "\n".join(found)


def test_catalogue_entries_keep_their_placeholders() -> None:
    """No catalogue entry drops, adds or renames a placeholder, used or not."""
    from kopflow._catalog import ID

    bad = [k for k, v in ID.items() if placeholders(k) != placeholders(v)]
    assert not bad


@pytest.mark.parametrize("text", ["{count} cooperatives", "no {placeholder} here {x}"])
def test_placeholders_are_read_like_str_format(text: str) -> None:
    assert placeholders(text) == set(text.replace("}", "{").split("{")[1::2])
