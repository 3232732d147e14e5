"""Workflow definitions: load ``workflows/*.yaml`` into frozen specs and parse step evidence.

Owns the definition format and its validation (every problem at once, as ``file: path: message``).
Must not touch the database or the state-machine library: ``machine`` and ``engine`` build on it.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import math
import os
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

from kopflow import i18n
from kopflow.errors import EvidenceError, NotFoundError, WorkflowError
from kopflow.flow.patterns import compile_pattern
from kopflow.i18n import N_
from kopflow.text import control_char, excerpt

FIELD_TYPES = ("text", "date", "integer", "rupiah", "decimal", "choice", "reference")
PREVIOUS = "@previous"
_IDENT = re.compile(r"[a-z][a-z0-9_]*")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# Indonesian money groups thousands with dots ("1.500.000"); a comma starts the fraction ("1,5").
# Any other dot or comma (a fraction, English "1,500,000") is refused rather than guessed.
_RUPIAH = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+")
_RP_PREFIX = re.compile(r"^(-?)\s*(?:rp\.?)?\s*", re.IGNORECASE)  # "Rp", "-Rp.", "rp "
_MAX_SAFE_INT = 2**53 - 1  # as in kopflow.audit.canonical: the audit trail's JSON holds no more


def _blank(value: object) -> bool:
    """Nothing given: treated as absent (empty CSV cells and CLI options arrive as "")."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | tuple) and not value)


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    r"""One evidence field of a step: its type, label and the checks its value must pass.

    docs/plugins.md's FieldSpec table is generated from the ``Args:`` below
    (``python scripts/plugin_docs.py``) and tests/test_plugin_docs.py fails when they differ or
    a parameter is missing: write each entry for a partner who reads nothing else.

    Args:
        name: the field's name: the key in the evidence and in ``--set name=value``; use
            ``[a-z][a-z0-9_]*`` and never rename it once used
        type: ``"text"``, ``"date"``, ``"integer"``, ``"rupiah"``, ``"decimal"``, ``"choice"``
            or ``"reference"`` (the table below says what each accepts); any other refuses the
            plugin
        label: its display name, a label ``{"id": ..., "en": ...}``
        required: ``True``: the step is refused without it. ``False``: it may be left out. A
            blank value (empty or only spaces, an empty list) counts as left out, and a field
            left out is absent from the evidence
        choices: for ``choice``: the allowed values, a tuple of lowercase strings (a ``choice``
            field without choices refuses the plugin; with ``choice_labels`` they may be left
            out and are its keys, in order). A value given is stripped and lowercased before it
            is compared
        multiple: for ``choice``: several values may be given (``--set units=sembako,apotek``,
            or a list in JSON); they are kept once each, in the order of ``choices``. Without
            it a list is refused
        pattern: for ``text`` and ``reference``: a regular expression the value must match
            **as a whole** (a full match, after surrounding spaces are stripped), so
            ``[0-9]{15}`` means exactly 15 digits, no ``^``/``$`` needed. Ignored for other
            types. kopflow matches it with RE2 (``google-re2``), in time linear in the value,
            so no pattern can hang a write: Python's syntax for classes, repetition, groups and
            alternation, but no backreferences or lookaround, and ``\d``, ``\w``, ``\s`` are
            ASCII only. One that RE2 refuses refuses the plugin
        min: for ``integer``, ``rupiah`` and ``decimal``: the smallest value accepted,
            **inclusive** unless ``exclusive`` says otherwise (``min=1`` accepts 1, refuses 0).
            For ``decimal`` give a ``Decimal`` (``Decimal("0.5")``) or an ``int``, never a
            float. Ignored for other types
        max: for ``integer``, ``rupiah`` and ``decimal``: the largest value accepted,
            **inclusive** unless ``exclusive`` says otherwise
        odd: for ``integer`` and ``rupiah``: ``True`` accepts odd numbers only
        hint: a label naming the expected format, shown instead of the raw pattern when a
            value does not match ``pattern`` (*'12AB' does not have the expected format: 15
            digits*)
        choice_list: the name of one of the workflow definition's ``choices:`` lists the
            values come from; a plugin leaves it ``None`` and gives ``choice_labels``
        unique: for ``text``, ``reference`` and ``integer``: ``True`` when the value identifies
            one legal entity (an account number): a second cooperative recording the same value
            is refused, naming the cooperative that holds it; the database enforces it. A
            correction replaces the value, an undo releases it
        not_before: for ``date``: a tuple of references to date fields this date may not
            precede, checked whichever is recorded last: ``"sk_ahu.decree_date"`` for a step of
            the workflow definition, ``"bri.account.date"`` for a partner's step (yours
            included). A reference to a step that is not installed is ignored
        min_date: for ``date``: the earliest date accepted, ``"YYYY-MM-DD"`` (the KDKMP program
            starts on ``"2025-03-27"``, Inpres 9/2025)
        min_date_unless: for ``date``, with ``min_date``: ``{"musdesus.coop_model": ("develop",
            "revitalise")}``, choice values of other fields that lift ``min_date`` (an existing
            cooperative's older papers); a date whose bound is lifted is ordered
            (``not_before``) only against other lifted dates
        exclusive: for ``integer``, ``rupiah`` and ``decimal``: which of ``min`` and ``max``
            the value must not equal: ``True`` both, ``"min"`` or ``"max"`` that one only,
            ``False`` (the default) neither. ``min=0, exclusive="min"`` accepts ``0.5``,
            refuses ``0``
        unit: for ``integer``, ``rupiah`` and ``decimal``: a label naming the unit
            (``{"id": "ton", "en": "tonnes"}``), shown after the value in ``kopflow coop show``
            and the printable page, and in the field's description (``kopflow next``). It is a
            label only: the value is stored without it
        choice_labels: for ``choice``: the label of each value, ``{"value": {"id": ..., "en":
            ...}}``, shown instead of the bare value in ``kopflow coop show``, the printable
            page and the field's description; a plugin's own choice list. Every value of
            ``choices`` needs one
    """

    name: str
    type: str
    label: dict[str, str]
    required: bool = True
    choices: tuple[str, ...] = ()
    multiple: bool = False
    pattern: str | None = None
    min: int | Decimal | None = None
    max: int | Decimal | None = None
    odd: bool = False
    hint: dict[str, str] | None = None
    choice_list: str | None = None
    unique: bool = False
    not_before: tuple[str, ...] = ()
    min_date: str | None = None
    min_date_unless: Mapping[str, tuple[str, ...]] | None = None
    # --- issue #13: exact decimals, bounds that exclude, units, a plugin's own choice labels ---
    exclusive: bool | str = False
    unit: dict[str, str] | None = None
    choice_labels: Mapping[str, dict[str, str]] | None = None

    def __post_init__(self) -> None:
        # Choices given only as labels: the labels' keys, in order (a plugin's own list).
        if not self.choices and self.choice_labels:
            object.__setattr__(self, "choices", tuple(self.choice_labels))
        elif isinstance(self.choices, list):
            object.__setattr__(self, "choices", tuple(self.choices))
        # A decimal field's bounds compare as Decimal, whichever way they were written.
        if self.type == "decimal":
            for key in ("min", "max"):
                bound = getattr(self, key)
                if isinstance(bound, int) and not isinstance(bound, bool):
                    object.__setattr__(self, key, Decimal(bound))

    def choice_label(self, value: str) -> dict[str, str] | None:
        """The label of the choice ``value`` (``None``: show the value as it is)."""
        return (self.choice_labels or {}).get(value)

    def text(self) -> str:
        """How messages name the field: its name (what --set takes), then its label."""
        return f"{self.name} ({i18n.label(self.label, self.name)})"

    def parse(
        self, raw: object, *, today: datetime.date | None = None
    ) -> str | int | Decimal | list[str]:
        """Turn a CLI string (or an already-typed JSON/CSV value) into the canonical value.

        Args:
            raw: the value as given.
            today: the day a date may not be after (defaults to ``date.today()``).

        Returns:
            ``str`` for text, reference and date (``YYYY-MM-DD``); ``int`` for integer and
            rupiah; ``Decimal`` for decimal (stored and audited as :func:`decimal_text`); for
            choice a ``str``, or a ``list[str]`` in list order when ``multiple``.

        Raises:
            EvidenceError: naming this field and saying how to fix the value.
        """
        if _blank(raw):
            _refuse(self, "{field}: a value is required")
        _refuse_control(self, raw)
        return _PARSERS[self.type](self, raw, today or datetime.date.today())


def _refuse(spec: FieldSpec, msgid: str, **params: object) -> NoReturn:
    if "value" in params:  # a file's value may be megabytes: quote a bounded excerpt (issue #14)
        params["value"] = excerpt(params["value"])
    raise EvidenceError(spec.name, msgid, **params)


def _refuse_control(spec: FieldSpec, raw: object) -> None:
    """Refuse text that would act on the terminal of whoever reads it back (issue #14)."""
    for item in raw if isinstance(raw, list | tuple) else (raw,):
        if isinstance(item, str) and (char := control_char(item)) is not None:
            msgid = N_(
                "{field}: the value holds the control character {char}; "
                "type the text again without it"
            )
            _refuse(spec, msgid, char=char)


def _text(spec: FieldSpec, raw: object) -> str:
    if type(raw) is str:  # what CSV files and the CLI give: none of the tests below apply
        return raw.strip()
    if isinstance(raw, float):  # JSON numbers: only the integer parsers make sense of them
        return str(raw)
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        _refuse(spec, "{field}: expected text, got {kind}", kind=type(raw).__name__)
    return str(raw).strip()


def _parse_text(spec: FieldSpec, raw: object, today: datetime.date) -> str:
    text = _text(spec, raw)
    # RE2, in linear time: a pattern from a file or a plugin cannot hang a write (issue #14).
    if spec.pattern is not None and not compile_pattern(spec.pattern).fullmatch(text):
        msgid = N_("{field}: '{value}' does not have the expected format: {expected}")
        _refuse(spec, msgid, value=text, expected=i18n.label(spec.hint, spec.pattern))
    return text


def _parse_date(spec: FieldSpec, raw: object, today: datetime.date) -> str:
    if isinstance(raw, datetime.date):  # openpyxl and YAML hand over real dates
        value = raw.date() if isinstance(raw, datetime.datetime) else raw
    else:
        text = _text(spec, raw)
        try:  # fromisoformat alone also takes "20250721" and week dates: one spelling only
            value = datetime.date.fromisoformat(text if _ISO_DATE.fullmatch(text) else "")
        except ValueError:
            msgid = N_("{field}: '{value}' is not a date; write YYYY-MM-DD, e.g. 2025-07-21")
            _refuse(spec, msgid, value=text)
    if value > today:
        msgid = N_("{field}: {value} is in the future; record evidence once it has happened")
        _refuse(spec, msgid, value=value.isoformat())
    return value.isoformat()


def _bounded(spec: FieldSpec, value: int) -> int:
    if abs(value) > _MAX_SAFE_INT:
        _refuse(spec, "{field}: {value} is too large to record", value=value)
    _check_bounds(spec, value)
    if spec.odd and value % 2 == 0:
        _refuse(spec, "{field}: {value} must be an odd number", value=value)
    return value


def _check_bounds(spec: FieldSpec, value: int | Decimal) -> None:
    low, high = spec.min, spec.max
    if low is not None:
        if spec.exclusive in (True, "min") and value <= low:
            msgid = N_("{field}: {value} must be above {min}")
            _refuse(spec, msgid, value=_shown(value), min=_shown(low))
        if value < low:
            msgid = N_("{field}: {value} is below the minimum of {min}")
            _refuse(spec, msgid, value=_shown(value), min=_shown(low))
    if high is not None:
        if spec.exclusive in (True, "max") and value >= high:
            msgid = N_("{field}: {value} must be below {max}")
            _refuse(spec, msgid, value=_shown(value), max=_shown(high))
        if value > high:
            msgid = N_("{field}: {value} is above the maximum of {max}")
            _refuse(spec, msgid, value=_shown(value), max=_shown(high))


def _shown(value: int | Decimal) -> int | str:
    # A Decimal in a message as in the audit trail ("0.5", never "Decimal('0.5')" or "5E-1").
    return decimal_text(value) if isinstance(value, Decimal) else value


# --- issue #13: the decimal type --------------------------------------------------------------
# Exact: the value is a Decimal from the digits given, never a float. A dot or a comma (the
# Indonesian decimal mark) separates the fraction; no thousands grouping, no exponent, so
# "1.500" is one and a half, as the field's description in `kopflow next` says.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
_MAX_DECIMAL_DIGITS = 30  # a typing error long before any measurement needs it


def decimal_text(value: Decimal) -> str:
    """The one spelling of a decimal value in the evidence, the audit trail and exports.

    Plain digits, no exponent, no trailing zeros after the point and no "-0": ``Decimal("0.50")``
    -> ``"0.5"``, ``Decimal("1E+2")`` -> ``"100"``. Equal values so give equal audit bodies.
    """
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def stored(evidence: Mapping[str, object]) -> dict[str, object]:
    """Evidence as it is stored and audited: each ``Decimal`` as its :func:`decimal_text`.

    The audit trail's canonical JSON has no fractional numbers (kopflow.audit.canonical), and a
    float would not be exact: a decimal is a JSON string.
    """
    return {k: decimal_text(v) if isinstance(v, Decimal) else v for k, v in evidence.items()}


def _parse_decimal(spec: FieldSpec, raw: object, today: datetime.date) -> Decimal:
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = Decimal(raw)
    else:
        # A JSON or spreadsheet float goes through its shortest repr (0.5 -> "0.5"), the digits
        # the person typed, never its binary expansion.
        text = repr(raw) if isinstance(raw, float) else _text(spec, raw)
        if not _DECIMAL.fullmatch(text):
            msgid = N_("{field}: '{value}' is not a decimal number; write e.g. 0.5 or 0,5")
            _refuse(spec, msgid, value=text)
        value = Decimal(text.replace(",", "."))
    if not value.is_finite() or len(value.as_tuple().digits) > _MAX_DECIMAL_DIGITS:
        _refuse(spec, "{field}: {value} is too large to record", value=str(raw))
    value = Decimal(decimal_text(value))
    _check_bounds(spec, value)
    return value


def _parse_integer(spec: FieldSpec, raw: object, today: datetime.date) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return _bounded(spec, raw)
    if not _INTEGER.fullmatch(text := _text(spec, raw)):
        _refuse(spec, "{field}: '{value}' is not a whole number", value=text)
    return _bounded(spec, int(text))


def _parse_rupiah(spec: FieldSpec, raw: object, today: datetime.date) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    else:
        original = _text(spec, raw)
        if original.isascii() and original.isdigit():  # plain digits: nothing below changes them
            return _bounded(spec, int(original))
        text = _RP_PREFIX.sub(r"\1", original)
        digits = text.lstrip("-").removesuffix(",-")  # "Rp 50.000,-": the usual "no sen" mark
        if not _RUPIAH.fullmatch(digits):
            msgid = N_(
                "{field}: '{value}' is not a rupiah amount; write e.g. 1500000 or Rp 1.500.000"
            )
            if re.fullmatch(r"[0-9.,]+", digits):
                msgid = N_(
                    "{field}: '{value}' has a fraction; money is whole rupiah, e.g. 1.500.000"
                )
            _refuse(spec, msgid, value=original)
        value = int(digits.replace(".", "")) * (-1 if text.startswith("-") else 1)
    if value < 0:
        _refuse(spec, "{field}: a rupiah amount cannot be negative ({value})", value=value)
    return _bounded(spec, value)


def _parse_choice(spec: FieldSpec, raw: object, today: datetime.date) -> str | list[str]:
    allowed = ", ".join(spec.choices)
    if isinstance(raw, list | tuple) and not spec.multiple:
        _refuse(
            spec, "{field}: only one value is allowed; choose one of {allowed}", allowed=allowed
        )
    if isinstance(raw, list | tuple):
        items = list(raw)
    else:  # the CLI gives several values as "sembako,apotek"
        items = raw.split(",") if spec.multiple and isinstance(raw, str) else [raw]
    picked = set()
    for item in items:
        value = item.strip().lower() if isinstance(item, str) else item
        if value != "" and value not in spec.choices:
            msgid = N_("{field}: '{value}' is not allowed; choose from {allowed}")
            _refuse(spec, msgid, value=item, allowed=allowed)
        picked.add(value)
    ordered = [c for c in spec.choices if c in picked]  # canonical: list order, no duplicates
    if not ordered:
        _refuse(spec, "{field}: a value is required")
    return ordered if spec.multiple else ordered[0]


_PARSERS: dict[
    str, Callable[[FieldSpec, Any, datetime.date], str | int | Decimal | list[str]]
] = {
    "text": _parse_text, "reference": _parse_text, "date": _parse_date,
    "integer": _parse_integer, "rupiah": _parse_rupiah, "choice": _parse_choice,
    "decimal": _parse_decimal,
}  # fmt: skip

# --- issue #15: each field's parser compiled once per step spec ------------------------------
# A bulk completion parses every field of every row: the generic path tests the value's type
# four times (blank, control characters, text, the type's own parser) and looks the pattern up
# per value. A compiled parser takes the usual case, a ``str`` (what CSV files and the CLI
# give), in one pass, and hands anything else, and every value it would refuse, to the generic
# parser, so each result and each message is the generic path's own.
_BLANK = object()  # what a compiled parser returns for a blank value: treated as absent
_Compiled = Callable[[object, datetime.date], object]


def _compile(spec: FieldSpec) -> _Compiled:
    """``spec``'s parser: ``(raw, today)`` -> the canonical value, or ``_BLANK``."""
    parser = _PARSERS[spec.type]

    def generic(raw: object, today: datetime.date) -> object:
        if _blank(raw):
            return _BLANK
        _refuse_control(spec, raw)
        return parser(spec, raw, today)

    accept = _fast_str(spec)
    if accept is None:
        return generic

    def parse(raw: object, today: datetime.date) -> object:
        if type(raw) is not str:
            return generic(raw, today)
        text = raw.strip()
        if not text:
            return _BLANK
        # Printable text holds no control character (each is Cc or Cf, never printable): the
        # search runs only for the rest. Looked up here, not bound: tests stand in an older
        # kopflow without the check.
        if not raw.isprintable() and control_char(raw) is not None:
            _refuse_control(spec, raw)
        if accept is _same:
            return text
        found = accept(text, today)
        return parser(spec, raw, today) if found is _BLANK else found

    return parse


def _fast_str(spec: FieldSpec) -> Callable[[str, datetime.date], object] | None:
    """The accepting path of ``spec``'s parser for a stripped, non-blank ``str``: the value,
    or ``_BLANK`` to let the generic parser decide (and word any refusal)."""
    if spec.type in ("text", "reference"):
        if spec.pattern is None:
            return _same
        try:
            fullmatch = compile_pattern(spec.pattern).fullmatch
        except ValueError:
            return None  # the generic parser raises it, per value, as it always has
        digits = _DIGITS_PATTERN.fullmatch(spec.pattern)
        if digits is not None:  # an identifier of ASCII digits: no RE2 call for it
            least, most, exactly = digits.groups()
            low = int(exactly or least or 1)
            high = int(exactly or most or _MAX_DIGITS)
            return partial(_fast_digits, low, high)
        return lambda text, today: text if fullmatch(text) else _BLANK
    if spec.type == "date":
        return _fast_date
    if spec.type in ("integer", "rupiah"):
        return partial(_fast_whole, *_whole_range(spec))
    if spec.type == "choice":
        return partial(_fast_choices if spec.multiple else _fast_choice, spec)
    return None


def _whole_range(spec: FieldSpec) -> tuple[int, int, bool]:
    """The whole numbers :func:`_bounded` accepts for ``spec``: the lowest, the highest, and
    whether only odd ones (worked out once, not compared bound by bound per value)."""
    low, high = -_MAX_SAFE_INT, _MAX_SAFE_INT
    for bound in (spec.min, spec.max):
        if bound is not None and not (
            isinstance(bound, int) or isinstance(bound, Decimal) and bound.is_finite()
        ):
            return 1, 0, spec.odd  # none: _bounded compares such a bound itself
    if spec.min is not None:
        above = spec.exclusive in (True, "min")  # as _check_bounds reads it
        least = _within_reach(spec.min)
        low = max(low, math.floor(least) + 1 if above else math.ceil(least))
    if spec.max is not None:
        below = spec.exclusive in (True, "max")
        most = _within_reach(spec.max)
        high = min(high, math.ceil(most) - 1 if below else math.floor(most))
    return low, high, spec.odd


_REACH = _MAX_SAFE_INT + 2


def _within_reach(bound: int | Decimal) -> int | Decimal:
    """``bound``, or a bound just past the largest whole number the audit log holds when it is
    further out (which narrows nothing): a plugin's ``Decimal("1E+1000000")`` made exact by
    floor or ceil took seconds to minutes."""
    return min(max(bound, -_REACH), _REACH)


def _fast_whole(low: int, high: int, odd: bool, text: str, today: datetime.date) -> object:
    # Plain ASCII digits are a whole number and a rupiah amount alike, and both parsers bound
    # int(text) as _bounded does: within its bounds the value; anything else is theirs, and
    # so are the words of any refusal.
    if text.isascii() and text.isdigit():
        value = int(text)
        if low <= value <= high and (value % 2 or not odd):
            return value
    return _BLANK


def _fast_choice(spec: FieldSpec, text: str, today: datetime.date) -> object:
    value = text.lower()  # _parse_choice strips and lowercases the one value given
    return value if value in spec.choices else _BLANK


def _fast_choices(spec: FieldSpec, text: str, today: datetime.date) -> object:
    # "sembako,apotek": each value stripped and lowercased, blanks skipped, kept once each in
    # the order of the choices, as _parse_choice keeps them; an unknown or no value is its own.
    picked = {item.strip().lower() for item in text.split(",")}
    picked.discard("")
    if not picked or not picked.issubset(spec.choices):
        return _BLANK
    return [choice for choice in spec.choices if choice in picked]


def _same(text: str, today: datetime.date) -> object:
    return text


# ``[0-9]+``, ``[0-9]{n}``, ``[0-9]{n,}``, ``[0-9]{n,m}``: most identifier patterns (NIB, NPWP,
# account numbers). RE2's Python binding costs more per value than the check itself.
_DIGITS_PATTERN = re.compile(r"\[0-9\](?:\+|\{([0-9]+),([0-9]*)\}|\{([0-9]+)\})")
_MAX_DIGITS = 2**31


def _fast_digits(low: int, high: int, text: str, today: datetime.date) -> object:
    # Only accepts: whatever fails here (a non-ASCII digit too) goes to the generic parser.
    return text if low <= len(text) <= high and text.isascii() and text.isdigit() else _BLANK


# The YYYY-MM-DD texts _fast_date has read, with their dates: a bulk completion's dates are a
# few hundred days repeated over thousands of rows, each matched and parsed once (issue #15).
_DATES: dict[str, datetime.date] = {}
_MAX_DATES = 8192  # twenty years of days; beyond it a text is read again, not kept


def _fast_date(text: str, today: datetime.date) -> object:
    value = _DATES.get(text)
    if value is None:
        if not _ISO_DATE.fullmatch(text):
            return _BLANK
        try:
            value = datetime.date.fromisoformat(text)
        except ValueError:
            return _BLANK
        if len(_DATES) < _MAX_DATES:
            _DATES[text] = value
    # YYYY-MM-DD that parses is its own isoformat(): the generic parser returns the same text.
    return text if value <= today else _BLANK


STANDARD_FIELDS = (
    FieldSpec("note", "text", {"id": "Catatan", "en": "Note"}, required=False),
    FieldSpec("file", "text", {"id": "Berkas (path atau sha256 dokumen pindaian)",
                               "en": "File (path or sha256 of the scanned document)"}, False),
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class StepSpec:
    """One step of a stage: who completes it, what must come first and the evidence it records.

    The standard optional fields ``note`` and ``file`` are appended to ``fields`` on creation
    (unless declared), so every step accepts them, steps built by plugins included.
    """

    id: str
    label: dict[str, str]
    role: str
    required: bool = True
    after: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()

    def __post_init__(self) -> None:
        names = {f.name for f in self.fields}
        extra = tuple(f for f in STANDARD_FIELDS if f.name not in names)
        object.__setattr__(self, "fields", tuple(self.fields) + extra)

    @functools.cached_property
    def _field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    @functools.cached_property
    def has_decimal(self) -> bool:
        """Whether a field is a ``decimal``: only then does parsed evidence hold a ``Decimal``
        (:func:`stored` has something to change)."""
        return any(f.type == "decimal" for f in self.fields)

    @functools.cached_property
    def has_list(self) -> bool:
        """Whether a field takes several choices: only then does parsed evidence hold a list."""
        return any(f.multiple for f in self.fields)

    @functools.cached_property
    def _compiled(self) -> tuple[tuple[str, FieldSpec, _Compiled, bool, bool], ...]:
        # Each field with its parser, compiled once: validate() is a bulk hot path (issue #15);
        # whether it is text that takes any value (parse() then takes printable text itself);
        # whether it is a date (parse() then takes one _fast_date has read before itself).
        return tuple(
            (
                f.name,
                f,
                _compile(f),
                f.type in ("text", "reference") and f.pattern is None,
                f.type == "date",
            )
            for f in self.fields
        )

    def validate(
        self, raw: dict[str, object], *, today: datetime.date | None = None
    ) -> dict[str, object]:
        """Parse the evidence given for this step.

        Args:
            raw: field name -> value as given (CLI strings or typed JSON/CSV values).
            today: the day a date may not be after (defaults to ``date.today()``).

        Returns:
            Field name -> canonical value, in declaration order; blank optional fields omitted.

        Raises:
            EvidenceError: for unknown fields, missing required ones and bad values, all of
                them in one error (issue #12: one attempt names everything to fix).
        """
        out, problems = self.parse(raw, today=today)
        if problems:
            raise EvidenceError.combine(problems)
        return out

    def parse(
        self, raw: dict[str, object], *, today: datetime.date | None = None
    ) -> tuple[dict[str, object], list[EvidenceError]]:
        """:meth:`validate` without raising: the values that parsed, and every problem."""
        names = self._field_names
        problems: list[EvidenceError] = []
        if not names.issuperset(raw):
            known = ", ".join(f.name for f in self.fields)
            step = i18n.label(self.label, self.id)
            for name in raw:
                if name not in names:
                    msgid = N_("{field}: unknown field for step {step}; it accepts {known}")
                    problems.append(EvidenceError(str(name), msgid, step=step, known=known))
        if today is None:
            today = datetime.date.today()  # once per step, not per field: a bulk hot path
        out: dict[str, object] = {}
        missing: list[FieldSpec] = []
        get = raw.get
        for name, spec, parse, plain, dated in self._compiled:
            value = get(name)
            if value is None:
                if spec.required:
                    missing.append(spec)
                continue
            if plain and type(value) is str and value.isprintable():
                # The compiled parser's own result for printable text, without its call: most
                # fields of a step (a note, a name) are such text.
                text = value.strip()
                if text:
                    out[name] = text
                    continue
            elif dated and type(value) is str:
                # A date _fast_date has read, as it was given: its text is the value (a row has
                # one or two, a bulk completion repeats a few hundred days).
                day = _DATES.get(value)
                if day is not None and day <= today:
                    out[name] = value
                    continue
            try:
                # FieldSpec.parse: blank is absent, then control characters, then the type
                parsed = parse(value, today)
            except EvidenceError as err:
                problems.append(err)
                continue
            if parsed is not _BLANK:
                out[name] = parsed
            elif spec.required:
                missing.append(spec)
        if missing:
            # One line naming every missing field (issue #12: musdesus took six attempts).
            msgid = N_("{fields}: required by step {step}")
            if len(missing) > 1:
                msgid = N_("step {step}: {count} required fields are missing: {fields}")
            problems.insert(
                0,
                EvidenceError(
                    ", ".join(f.name for f in missing),
                    msgid,
                    fields=", ".join(f.text() for f in missing),
                    step=i18n.label(self.label, self.id),
                    count=len(missing),
                ),
            )
        return out, problems


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """A stage, its steps and deadline; ``side``: suspended/dissolved; ``final``: no way out."""

    id: str
    label: dict[str, str]
    sla_days: int | None
    steps: tuple[StepSpec, ...]
    side: bool = False
    final: bool = False


@dataclasses.dataclass(frozen=True)
class EventSpec:
    """A named transition from ``sources`` to ``dest`` (a stage id or ``"@previous"``)."""

    name: str
    label: dict[str, str]
    sources: tuple[str, ...]
    dest: str
    reason_required: bool = False
    advance: bool = False


@dataclasses.dataclass(frozen=True)
class Workflow:
    """A validated definition; ``stages`` holds the main line in order, then the side stages."""

    name: str
    version: int
    label: dict[str, str]
    initial: str
    roles: tuple[str, ...]
    stages: tuple[StageSpec, ...]
    events: tuple[EventSpec, ...]
    choices: dict[str, tuple[str, ...]]
    choice_labels: dict[str, dict[str, dict[str, str]]]
    required_partners: tuple[str, ...]
    onboarding_stage: str
    path: str
    digest: str

    @functools.cached_property
    def _stage_by_id(self) -> dict[str, StageSpec]:
        return {stage.id: stage for stage in self.stages}

    def stage(self, stage_id: str) -> StageSpec:
        """The stage ``stage_id``; raises ``NotFoundError`` listing the valid stages."""
        stage = self._stage_by_id.get(stage_id)  # asked for every change of a bulk batch
        if stage is not None:
            return stage
        valid = ", ".join(s.id for s in self.stages)
        raise NotFoundError(
            "unknown stage '{stage}'; stages: {stages}", stage=stage_id, stages=valid
        )

    @functools.cached_property
    def _step_by_id(self) -> dict[str, StepSpec]:
        found: dict[str, StepSpec] = {}
        for stage in self.stages:
            for step in stage.steps:
                found.setdefault(step.id, step)  # the first, as a search in order finds it
        return found

    def step(self, step_id: str) -> StepSpec | None:
        """The built-in step ``step_id`` (partner steps are the engine's business), or ``None``."""
        return self._step_by_id.get(step_id)  # asked per row by bulk enrolment and reads

    def stage_of_step(self, step_id: str) -> StageSpec | None:
        """The stage holding the built-in step ``step_id``, or ``None``."""
        return next((s for s in self.stages for st in s.steps if st.id == step_id), None)

    def events_from(self, stage_id: str) -> list[EventSpec]:
        """Events that may fire while in ``stage_id``, in definition order."""
        return [e for e in self.events if stage_id in e.sources]

    def advance_event(self, stage_id: str) -> EventSpec | None:
        """The main-line forward event from ``stage_id`` (at most one: checked on load)."""
        return self._advance_events.get(stage_id)

    @functools.cached_property
    def _advance_events(self) -> dict[str, EventSpec]:
        # Asked for every cooperative of a bulk advance (issue #5).
        found: dict[str, EventSpec] = {}
        for event in self.events:
            if event.advance:
                for source in event.sources:
                    found.setdefault(source, event)
        return found

    def event(self, name: str) -> EventSpec | None:
        """The event called ``name``, or ``None``."""
        return self._events_by_name.get(name)

    @functools.cached_property
    def _events_by_name(self) -> dict[str, EventSpec]:
        found: dict[str, EventSpec] = {}
        for event in self.events:
            found.setdefault(event.name, event)
        return found

    def main_stages(self) -> list[StageSpec]:
        """The main-line stages in order."""
        return [s for s in self.stages if not s.side]

    def main_index(self, stage_id: str) -> int:
        """The position of ``stage_id`` on the main line; -1 for a side stage or unknown id."""
        return self._main_index.get(stage_id, -1)

    @functools.cached_property
    def _main_index(self) -> dict[str, int]:
        return {stage.id: i for i, stage in enumerate(self.main_stages())}


def load_workflow(path: str | os.PathLike[str]) -> Workflow:
    """Load and validate a workflow definition.

    Args:
        path: the YAML file; problems name it as given.

    Returns:
        The frozen :class:`Workflow`.

    Raises:
        WorkflowError: listing every problem found, each as ``file: path: message``.
    """
    from kopflow.flow.load import _Builder, _read

    builder = _Builder(os.fspath(path))
    read = _read(Path(path), builder)
    wf = builder.workflow(read[0], os.fspath(path), read[1]) if read else None
    if builder.problems or wf is None:
        raise WorkflowError(builder.problems)
    return wf


def validate_file(path: str | os.PathLike[str]) -> list[str]:
    """The problems of a definition file (``[]`` when valid), for ``kopflow workflow validate``."""
    try:
        load_workflow(path)
    except WorkflowError as exc:
        return exc.problems
    return []


def workflows_dir() -> Path:
    """Where definitions live: ``KOPFLOW_WORKFLOWS``, else the definitions shipped in the package.

    pyproject.toml maps the repository's ``workflows/`` into the wheel as ``kopflow/workflows``
    (issue #12), read here with :mod:`importlib.resources`. An editable install or a bare
    checkout has no such folder inside the package: there the repository's own folder is it.
    """
    configured = os.environ.get("KOPFLOW_WORKFLOWS")
    if configured:
        return Path(configured)
    from importlib.resources import files

    shipped = files("kopflow").joinpath("workflows")
    if isinstance(shipped, Path) and shipped.is_dir():  # a wheel, installed as files
        return shipped
    return Path(__file__).parents[2] / "workflows"


_cache: dict[tuple[str, int], Workflow] = {}


def find_workflow(name: str = "kdkmp") -> Workflow:
    """Load ``<workflows_dir>/<name>.yaml``, cached in-process while its mtime is unchanged.

    Raises:
        NotFoundError: no such definition (the message lists the available ones).
        WorkflowError: the definition is invalid.
    """
    folder = workflows_dir()
    path = folder / f"{name}.yaml"
    if not _IDENT.fullmatch(name) or not path.is_file():  # the name never walks out of folder
        names = ", ".join(sorted(p.stem for p in folder.glob("*.yaml"))) or "-"
        msgid = N_("unknown workflow '{name}'; available in {folder}: {names}")
        raise NotFoundError(msgid, name=name, folder=str(folder), names=names)
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _cache:
        _cache[key] = load_workflow(path)
    return _cache[key]
