"""Plausible evidence for any step, derived from its field specs: for the demo and benchmarks.

Never used on a real cooperative's record by the engine itself; the values are obviously
sample data (their ``note`` field says so).
"""

from __future__ import annotations

import datetime
import itertools
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kopflow.flow.spec import FieldSpec, StepSpec

_DIGITS = "7351982460" * 4
_ISSUED = itertools.count(1)


def _reference(pattern: str, seed: int, *, unique: bool = False) -> str:
    # Try shapes that real reference numbers have until one matches the field's pattern.
    candidates = [(_DIGITS[seed % 10 :] + _DIGITS)[:n] for n in range(1, 33)]
    if unique:  # one cooperative's identifier: a distinct value for each seed (issue #12)
        tail = str(seed)
        candidates = [_DIGITS[: n - len(tail)] + tail for n in range(len(tail), 33)]
    candidates += [f"{n:03d}/KDMP/2025" for n in (seed % 997 + 1,)]
    candidates += [f"AHU-{seed % 10000:04d}.AH.01.29.TAHUN 2025", f"REF-{seed:06d}"]
    candidates += [f"https://kdkmp-{seed}.desa.id"]
    for candidate in candidates:
        if re.fullmatch(pattern, candidate):
            return candidate
    raise ValueError(f"no sample value fits pattern {pattern!r}")


def issue_after(count: int) -> None:
    """Give unique values from issue number ``count + 1`` on: the demo run again, in a new
    process, on its own database, where an earlier run recorded the first ones."""
    global _ISSUED
    _ISSUED = itertools.count(count + 1)


def sample_value(field: FieldSpec, seed: int = 0) -> Any:
    """A value that passes ``field.parse``.

    A field declared ``unique`` (an identifier one cooperative holds alone) gets a value no
    earlier call in this process gave, whatever the seed: tests and the demo give many
    cooperatives the same seed, and the definition refuses a repeated NIB (issue #12).
    """
    if field.unique:
        seed = next(_ISSUED) * 1000 + seed % 1000
    kind = field.type
    if kind == "date":
        # After Inpres 9/2025 (27 March 2025), where the definition starts its dates, and in
        # the order of the seeds: a later step with a larger seed is not dated before an earlier
        # one (the definition refuses that, issue #12).
        return (datetime.date(2025, 4, 1) + datetime.timedelta(days=seed % 240)).isoformat()
    if kind in ("integer", "rupiah"):
        low = field.min if field.min is not None else (1 if kind == "integer" else 1_000_000)
        value = max(low, min(field.max if field.max is not None else low, low))
        if field.odd and value % 2 == 0:
            value += 1
        return str(value)
    if kind == "decimal":
        # Inside the bounds, excluded ones too: the midpoint, else one past the one bound.
        if field.min is not None and field.max is not None:
            return str((Decimal(field.min) + field.max) / 2)
        if field.min is not None:
            return str(field.min + 1)
        if field.max is not None:
            return str(field.max - 1)
        return "1.5"
    if kind == "choice":
        return field.choices[0] if not field.multiple else ",".join(field.choices[:2])
    if kind == "reference" and field.pattern:
        return _reference(field.pattern, seed, unique=field.unique)
    return f"contoh {field.name} {seed}"


def sample_evidence(step: StepSpec, seed: int = 0, *, optional: bool = False) -> dict[str, Any]:
    """Evidence for every required field of ``step`` (and optional ones when asked)."""
    evidence = {f.name: sample_value(f, seed) for f in step.fields if f.required or optional}
    evidence.setdefault("note", "data contoh (demo)")
    return evidence
