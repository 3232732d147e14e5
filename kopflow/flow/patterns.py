"""Evidence patterns (a workflow field's or a plugin field's ``pattern``), matched in linear time.

A pattern comes from a workflow file or a plugin, and is matched against evidence while the
write transaction holds the database lock: with Python's backtracking ``re``, ``(a+)+$`` and
one evidence value hung ``step complete`` for minutes (issue #14). RE2 (``google-re2``)
matches in time linear in the value whatever the pattern, and refuses what it cannot match so
(backreferences, lookaround): ``workflow validate`` and the plugin checks refuse those
patterns with the field named, through :func:`pattern_problem`.

The meaning is unchanged: the whole value must match (``fullmatch``). RE2's syntax is Python's
for everything an identifier format needs (classes, repetition ``{n,m}``, groups, ``|``);
``\\d``, ``\\w`` and ``\\s`` mean ASCII digits, word characters and spaces only.
"""

from __future__ import annotations

import functools
from typing import Protocol


class Matcher(Protocol):
    """What kopflow asks of a compiled pattern."""

    def fullmatch(self, text: str) -> object | None: ...


@functools.lru_cache(maxsize=1)
def _options() -> object:
    import re2

    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported by kopflow, not on stderr
    return options


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Matcher:
    """``pattern`` compiled by RE2 (cached: every evidence value of a bulk run is matched).

    Raises:
        ValueError: RE2 refuses the pattern; the message says why.
    """
    import re2  # here, not at the top: ``kopflow --help`` must not pay for it

    try:
        compiled: Matcher = re2.compile(pattern, _options())  # type: ignore[arg-type]  # _options() is an re2.Options, typed object to keep re2 out of import time
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        raise ValueError(text) from None
    return compiled


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be an evidence pattern, or None when it can."""
    try:
        compile_pattern(pattern)
    except ValueError as exc:
        return str(exc)
    return None
