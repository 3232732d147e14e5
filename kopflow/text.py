"""Text from outside kopflow, made safe to quote and to print (issue #14).

Three helpers, used everywhere text a user or a file gave comes back out:

- :func:`excerpt` bounds a value quoted in a message: a hostile file's value may be megabytes.
- :func:`control_char` finds a character that would act on a terminal instead of showing
  (C0 controls but tab and newline, DEL, C1 controls, the bidirectional overrides and
  isolates), so input can refuse it with the field named.
- :func:`escape` writes such characters as visible ``\\x1b`` / ``\\u202e`` escapes, for stored
  text printed by the output layer (databases written before the input check).
"""

from __future__ import annotations

import re

# What a message quotes of a value at most; the rest is elided with its length said.
EXCERPT_CHARS = 80

# C0 but tab (\t) and newline (\n), DEL, C1, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """``value`` as text of at most about ``limit`` characters, control characters escaped.

    A longer value keeps its start and says how long it was, so a message stays one readable
    line whatever a file held: ``'aaaa…' (1048576 characters)``.
    """
    text = value if isinstance(value, str) else str(value)
    short = text if len(text) <= limit else text[:limit]
    # a message is one line: a newline or tab of the value shows as an escape too
    shown = escape(short).replace("\n", "\\n").replace("\t", "\\t")
    return shown if short is text else f"{shown}… ({len(text)})"


def control_char(text: str) -> str | None:
    """The first character of ``text`` that acts on a terminal, escaped (``\\x1b``), or None."""
    found = _CONTROL.search(text)
    return None if found is None else _escaped(found)


def escape(text: str) -> str:
    """``text`` with every terminal-acting character written as a visible escape."""
    if _CONTROL.search(text) is None:  # the usual case: nothing to copy
        return text
    return _CONTROL.sub(_escaped, text)


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
