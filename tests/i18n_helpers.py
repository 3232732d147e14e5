"""kopflow's message catalogue as the tests see it: what Babel extracts, what the .po says.

Shared by tests/test_i18n.py, tests/test_report.py and tests/test_checkpoint.py.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "kopflow" / "locale"
PO = LOCALE / "id" / "LC_MESSAGES" / "kopflow.po"
MO = PO.with_suffix(".mo")
MAPPING = ROOT / "babel.cfg"


@dataclass(frozen=True)
class Msgid:
    """A message id found in the source, and where; ``plural`` for an ngettext pair."""

    text: str
    where: str
    plural: str | None = None


def extract(folder: Path) -> Iterator[Msgid]:
    """Every message id Babel extracts from ``folder`` with babel.cfg, as ``pybabel extract``."""
    with MAPPING.open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, str(MAPPING))
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(folder), method_map, options_map
    ):
        where = f"{(folder / filename).relative_to(ROOT)}:{lineno}"
        if isinstance(message, str):
            yield Msgid(message, where)
        else:
            yield Msgid(message[0], where, message[1])


def kopflow_msgids() -> list[Msgid]:
    """The message ids of kopflow/ and plugins/ (click's own are in the catalogue too)."""
    return [*extract(ROOT / "kopflow"), *extract(ROOT / "plugins")]


@cache
def catalogue() -> Catalog:
    """The Indonesian .po, as Babel reads it."""
    with PO.open("rb") as f:
        return read_po(f)


def translated(message: Message) -> bool:
    """Whether ``pybabel compile`` puts ``message`` in the .mo: translated and not fuzzy."""
    strings = [message.string] if isinstance(message.string, str) else list(message.string)
    return bool(message.id) and not message.fuzzy and all(strings)


@cache
def translations() -> dict[str, str]:
    """msgid -> Indonesian, for every translated singular message of the .po."""
    return {
        m.id: m.string
        for m in catalogue()
        if isinstance(m.id, str) and isinstance(m.string, str) and translated(m)
    }


def placeholders(text: str) -> set[str]:
    """The ``{names}`` of a format string."""
    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field}
