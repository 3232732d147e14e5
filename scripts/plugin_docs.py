"""Write the FieldSpec reference of docs/plugins.md from FieldSpec's docstring (issue #13).

Run ``.venv/bin/python scripts/plugin_docs.py`` after changing a parameter of ``FieldSpec`` or
its docstring; tests/test_plugin_docs.py fails while the docs differ from what this writes, or
while a parameter has no ``Args:`` entry. The docstring is the one source: a partner reading
``help(FieldSpec)`` and one reading docs/plugins.md read the same words.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
BEGIN = "<!-- FieldSpec: generated from its docstring by scripts/plugin_docs.py -->\n"
END = "<!-- end of the generated FieldSpec reference -->\n"


def args_of(cls: type) -> dict[str, str]:
    """The ``Args:`` entries of ``cls``'s docstring, each as one line of Markdown."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    section = doc.split("\nArgs:\n", 1)[1] if "\nArgs:\n" in doc else ""
    entries: dict[str, str] = {}
    name = None
    for line in section.splitlines():
        if not line.strip():
            break
        found = re.fullmatch(r" {4}(\w+): (.*)", line)
        if found:
            name = found[1]
            entries[name] = found[2]
        elif name is not None and line.startswith(" " * 8):
            entries[name] += " " + line.strip()
        else:
            break
    # reST literals (``x``) are Markdown code (`x`); nothing else needs translating.
    return {k: re.sub(r"``(.+?)``", r"`\1`", v) for k, v in entries.items()}


def signature(cls: type) -> str:
    """``FieldSpec(name, type, label, required=True, ...)``: every parameter, as the class has it."""
    params = []
    for p in inspect.signature(cls).parameters.values():
        params.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    return f"{cls.__name__}({', '.join(params)})"


def reference(cls: type) -> str:
    """The generated block: the signature, then one table row per parameter, in order."""
    described = args_of(cls)
    rows = [f"| `{f.name}` | {described.get(f.name, '')} |" for f in dataclasses.fields(cls)]
    return (
        BEGIN
        + f"```python\n{signature(cls)}\n```\n\n"
        + "| parameter | what it is |\n|---|---|\n"
        + "\n".join(rows)
        + "\n"
        + END
    )


def rewritten(text: str) -> str:
    """docs/plugins.md with the generated block replaced by what the docstring says now."""
    from kopflow.plugin import FieldSpec

    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + reference(FieldSpec) + text[end:]


def main() -> int:
    text = DOCS.read_text(encoding="utf-8")
    new = rewritten(text)
    if new != text:
        DOCS.write_text(new, encoding="utf-8")
        print(f"rewrote the FieldSpec reference in {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
