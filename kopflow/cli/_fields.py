"""What a step asks for, shown before the user types it (issue #12): each field's type,
whether it is required, its hint, and a ready-to-edit ``kopflow step complete`` line."""

from __future__ import annotations

import shlex
import textwrap
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from kopflow.cli._output import human
from kopflow.flow.spec import decimal_text
from kopflow.i18n import N_, _, label

if TYPE_CHECKING:
    from kopflow.flow.spec import FieldSpec, StepSpec

_TYPES = {
    "text": N_("text"),
    "date": N_("date YYYY-MM-DD"),
    "integer": N_("whole number"),
    "rupiah": N_("rupiah"),
    "decimal": N_("decimal number, e.g. 0.5"),
    "choice": N_("choice"),
    "reference": N_("formatted text"),
}
_SEVERAL = N_("one or more of {choices}, comma-separated")
_ONE = N_("one of {choices}")
_WIDTH = 78  # lines fit an 80-column terminal


def field_json(field: FieldSpec) -> dict[str, Any]:
    """A field as ``next --json`` and ``workflow show --json`` give it: ids and plain values."""
    data: dict[str, Any] = {
        "name": field.name,
        "type": field.type,
        "required": field.required,
        "label": label(field.label, field.name),
    }
    if field.hint:
        data["hint"] = label(field.hint)
    if field.type == "choice":
        data["choices"] = list(field.choices)
        data["multiple"] = field.multiple
    for key in ("min", "max", "pattern", "min_date"):
        if getattr(field, key) is not None:
            data[key] = getattr(field, key)
    if field.unique:
        data["unique"] = True
    _typed_json(field, data)
    return data


# --- issue #13: decimals, excluded bounds, units and a plugin's choice labels ------------------


def _typed_json(field: FieldSpec, data: dict[str, Any]) -> None:
    for key in ("min", "max"):
        if isinstance(data.get(key), Decimal):
            data[key] = decimal_text(data[key])  # exact, as the evidence records it
    if field.exclusive:
        data["exclusive"] = field.exclusive
    if field.unit:
        data["unit"] = label(field.unit)
    if field.choice_labels:
        data["choice_labels"] = {v: label(field.choice_label(v)) for v in field.choices}


def _bounds(field: FieldSpec) -> str:
    """``above 0``, ``0 to 10``, ... for the description; empty without bounds."""
    low = None if field.min is None else _number(field.min)
    high = None if field.max is None else _number(field.max)
    above = field.exclusive in (True, "min")
    below = field.exclusive in (True, "max")
    parts = []
    if low is not None:
        parts.append(_("above {min}", min=low) if above else _("at least {min}", min=low))
    if high is not None:
        parts.append(_("below {max}", max=high) if below else _("at most {max}", max=high))
    return ", ".join(parts)


def _number(value: int | Decimal) -> str:
    return decimal_text(value) if isinstance(value, Decimal) else str(value)


def shown_value(field: FieldSpec | None, value: Any) -> str:
    """A recorded value as people read it: a choice by its label, a number with its unit."""
    if field is None:
        return human(value)
    if field.type == "choice" and field.choice_labels and field.choice_list is None:
        values = value if isinstance(value, list | tuple) else [value]
        return ", ".join(label(field.choice_label(str(v)), str(v)) for v in values)
    text = human(value, field.type)
    if field.unit and text:
        text += " " + label(field.unit)
    return text


def _placeholder(field: FieldSpec) -> str:
    if field.type == "date":
        return "YYYY-MM-DD"
    if field.type == "choice":
        return ",".join(field.choices[:2]) if field.multiple else field.choices[0]
    if field.type in ("integer", "rupiah", "decimal"):
        return str(field.min if field.min is not None else 0)
    return "..."


def describe(field: FieldSpec) -> str:
    """One line about a field: name, type, required or optional, label and hint."""
    kind = _(_TYPES.get(field.type, field.type))
    if field.type == "choice":
        # A plugin's own list says what its values mean; the definition's lists keep their
        # short form here (their labels show in 'workflow show' and on the printable page).
        own = field.choice_list is None
        names = ", ".join(
            f"{c} ({label(field.choice_label(c))})" if own and field.choice_label(c) else c
            for c in field.choices
        )
        kind = _(_SEVERAL if field.multiple else _ONE, choices=names)
    if field.unit:
        kind += ", " + _("in {unit}", unit=label(field.unit))
    # The bounds of the new decimal type and of excluded bounds, which "min"/"max" alone
    # would misstate; other fields' messages name their bounds when a value misses them.
    if (field.type == "decimal" or field.exclusive) and (bounds := _bounds(field)):
        kind += ", " + bounds
    need = _("required") if field.required else _("optional")
    if field.min_date:
        kind += ", " + _("from {date}", date=field.min_date)
    if field.unique:
        kind += ", " + _("unique across cooperatives")
    text = f"{field.name} ({kind}, {need}): {label(field.label, field.name)}"
    if field.hint:
        text += f" — {label(field.hint)}"
    return text


def command_line(coop: str, step_key: str, spec: StepSpec) -> list[str]:
    """``kopflow step complete COOP STEP --set ...`` for the required fields, wrapped with
    shell continuations so it can be copied, edited and run as it is."""
    words = ["kopflow", "step", "complete", shlex.quote(coop), step_key]
    words += [
        part
        for f in spec.fields
        if f.required
        for part in ("--set", shlex.quote(f"{f.name}={_placeholder(f)}"))
    ]
    lines, current = [], ""
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--set":  # keep an option with its value
            word = f"--set {words[index + 1]}"
            index += 1
        index += 1
        if current and len(current) + 1 + len(word) + 2 > _WIDTH:
            lines.append(current + " \\")
            current = "  " + word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return lines


def print_open_steps(coop: str, steps: list[tuple[str, StepSpec]]) -> None:
    """For each step that can be done now: its label, fields and a command to complete it."""
    for key, spec in steps:
        click.echo("")
        click.echo(f"{label(spec.label, spec.id)} [{key}]")
        for field in spec.fields:
            wrapped = textwrap.wrap(
                describe(field),
                _WIDTH,
                initial_indent="  - ",
                subsequent_indent="    ",
                break_long_words=False,
                break_on_hyphens=False,
            )
            for line in wrapped:
                click.echo(line)
        for line in command_line(coop, key, spec):
            click.echo("  " + line)
