"""A step's evidence parses as each field alone would (issue #15: compiled field parsers).

``StepSpec.parse`` takes the usual case (a ``str``) on a path of its own; every value, and
every refusal's wording, must be what ``FieldSpec.parse`` gives for it.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from kopflow.errors import EvidenceError
from kopflow.flow.spec import FieldSpec, StepSpec

TODAY = datetime.date(2025, 8, 1)
LABEL = {"id": "L", "en": "L"}
FIELDS = (
    FieldSpec("t", "text", LABEL, required=False),
    FieldSpec("p", "reference", LABEL, required=False, pattern="[0-9]{6,8}", hint=LABEL),
    FieldSpec("d", "date", LABEL, required=False),
    FieldSpec("i", "integer", LABEL, required=False, min=1, max=100),
    FieldSpec("r", "rupiah", LABEL, required=False),
    FieldSpec("x", "decimal", LABEL, required=False, min=0, exclusive="min"),
    FieldSpec("c", "choice", LABEL, required=False, choices=("a", "b")),
    FieldSpec("o", "integer", LABEL, required=False, min=1, max=9999999999999999, odd=True),
    FieldSpec("s", "rupiah", LABEL, required=False, min=10, max=1000, exclusive=True),
    FieldSpec("m", "choice", LABEL, required=False, choices=("a", "b", "c"), multiple=True),
)
VALUES: list[Any] = [
    "", "  ", "\x0b", None, [], "abc", "  abc  ", "a\x1bb", "a\u202eb", "a\x85b", "a\u00a0b",
    "a\nb", "a\tb", "1234567", "12345", " 1234567 ", "12345678901", "2025-07-21",
    " 2025-07-21 ", "2025-13-01", "2025-02-30", "0000-01-01", "2025-08-02", "20250721",
    "2025-W01-1", "42", "0", "101", "Rp 1.500.000", "1,5", "0.5", "b", "A", "c", 7, 7.5,
    True, datetime.date(2025, 7, 1), Decimal("0.50"), ["a"], ("b", "a"), {"k": 1},
    "007", "10", "1000", "999", "+3", "-3", "\u00b2", "\u0661\u0662", "9999999999999999999",
    " B ", "a,b", "c, A", "b,,a,b", "a,x", "A\u200b",
]  # fmt: skip


def _alone(field: FieldSpec, value: Any) -> tuple[str, Any]:
    try:
        return "ok", field.parse(value, today=TODAY)
    except EvidenceError as err:
        return "refused", str(err)


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.type)
def test_step_parse_gives_each_fields_own_result(field: FieldSpec) -> None:
    step = StepSpec("s", LABEL, "admin", fields=(field,))
    for value in VALUES:
        out, problems = step.parse({field.name: value}, today=TODAY)
        kind, expected = _alone(field, value)
        if kind == "ok":
            assert problems == [], (field.type, value, [str(p) for p in problems])
            assert out == {field.name: expected}, (field.type, value)
            assert type(out[field.name]) is type(expected), (field.type, value)
        elif expected == f"{field.name}: a value is required":
            # blank: absent, so an optional field is simply left out
            assert (out, problems) == ({}, []), (field.type, value)
        else:
            assert [str(p) for p in problems] == [expected], (field.type, value)
            assert out == {}, (field.type, value)


def test_blank_values_are_absent_and_required_ones_missing() -> None:
    step = StepSpec(
        "s", LABEL, "admin", fields=(FieldSpec("a", "text", LABEL), FieldSpec("b", "date", LABEL))
    )
    out, problems = step.parse({"a": "  ", "b": ""}, today=TODAY)
    assert out == {}
    assert [str(p) for p in problems] == ["step L: 2 required fields are missing: a (L), b (L)"]


@pytest.mark.parametrize(
    "pattern", ["[0-9]+", "[0-9]{3}", "[0-9]{2,4}", "[0-9]{2,}", "[0-9]{1,3}x", "[0-9a-z]{3}"]
)
def test_digit_patterns_match_as_re2_does(pattern: str) -> None:
    """Digit-only identifier patterns skip RE2 when they accept: never with another answer."""
    from kopflow.flow.patterns import compile_pattern

    matcher = compile_pattern(pattern)
    field = FieldSpec("a", "reference", LABEL, required=False, pattern=pattern)
    step = StepSpec("s", LABEL, "admin", fields=(field,))
    values = ["1", "12", "123", "1234", "12345", "a1", "\u0661\u0662\u0663", "12 3", " 123 "]
    for value in [*values, "123x", "abc", "0" * 40]:
        out, problems = step.parse({"a": value}, today=TODAY)
        if matcher.fullmatch(value.strip()):
            assert (out, problems) == ({"a": value.strip()}, []), (pattern, value)
        else:
            assert out == {} and [str(p) for p in problems] == [_alone(field, value)[1]], value


BOUNDS: list[Any] = [
    None, 0, 1, 5, -3, 10, 2**53 - 1, Decimal("0.5"), Decimal("4.5"), Decimal("-0.5"),
    # Beyond the largest whole number the audit log holds: a plugin's bound may be any finite
    # Decimal, and one made exact took seconds (1E+400000: 4 s).
    2**60, Decimal("1E+400000"), Decimal("-1E+400000"), Decimal("9007199254740992.5"),
]  # fmt: skip
WHOLE: list[Any] = [
    "0", "1", "2", "4", "5", "6", "9", "10", "11", "007", str(2**53 - 1), str(2**53),
]  # fmt: skip


@pytest.mark.parametrize("kind", ["integer", "rupiah"])
@pytest.mark.parametrize("exclusive", [False, True, "min", "max"])
def test_whole_numbers_are_bounded_as_each_field_alone_bounds_them(
    kind: str, exclusive: bool | str
) -> None:
    """The range a compiled parser accepts at once, worked out from min, max, exclusive and
    odd, holds exactly the values the field's own checks accept (a bound may be a Decimal)."""
    for low in BOUNDS:
        for high in BOUNDS:
            for odd in (False, True):
                field = FieldSpec(
                    "n", kind, LABEL, required=False, min=low, max=high, exclusive=exclusive,
                    odd=odd,
                )  # fmt: skip
                step = StepSpec("s", LABEL, "admin", fields=(field,))
                for value in WHOLE:
                    out, problems = step.parse({"n": value}, today=TODAY)
                    kind_, expected = _alone(field, value)
                    got = ("ok", out["n"]) if not problems else ("refused", str(problems[0]))
                    assert got == (kind_, expected), (kind, low, high, exclusive, odd, value)


def test_a_date_read_before_is_judged_against_each_days_today() -> None:
    """Dates are kept once read; whether one is in the future is still asked for each parse."""
    step = StepSpec("s", LABEL, "admin", fields=(FieldSpec("d", "date", LABEL),))
    tomorrow = (TODAY + datetime.timedelta(days=1)).isoformat()
    assert step.parse({"d": tomorrow}, today=TODAY + datetime.timedelta(days=1)) == (
        {"d": tomorrow},
        [],
    )
    out, problems = step.parse({"d": tomorrow}, today=TODAY)
    assert out == {}
    assert [str(p) for p in problems] == [
        f"d: {tomorrow} is in the future; record evidence once it has happened"
    ]
