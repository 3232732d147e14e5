"""kopflow.audit.canonical: the bytes must be RFC 8785 exactly, and refusals must name the place."""

from __future__ import annotations

import datetime
import enum
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from kopflow.audit.canonical import CANON_VERSION, MAX_SAFE_INT, canonical_bytes, encode_checked

# hypothesis is not in the venv, so events come from a seeded generator: reproducible, and
# a failure names the seed and index to replay.
SEED = 8785
EVENTS = 3000

_TEXTS = [
    "",
    "Koperasi Desa Merah Putih Sukamaju",
    "Kabupaten Buleleng, Kecamatan Seririt",
    "Ni Made Ayu Sari, S.H., M.Kn.",
    "Rp 1.500.000",
    "pendirian → legalisasi",
    "Désa ñ ü",
    "e\u0301",  # combining accent: no normalization may happen
    "😀",
    "🇮🇩",
    "\U0010ffff",
    "\ud7ff\ue000\uffff",
    "中文",
    "\u2028\u2029",  # JavaScript line separators: RFC 8785 leaves them unescaped
    "\x7f",
    '"',
    "\\",
    "/",
    "</script>",
    "\b\f\n\r\t",
    "".join(chr(c) for c in range(0x20)),
]
# Keys stay ASCII; include ones whose order is easy to get wrong ("a" < "a\x00" < "ab" < "b").
_KEYS = ["", "a", "a\x00", "ab", "b", "B", "_", "~", "0", "10", "9", "seq", "prev", 'q"', "\\", " "]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_TEXTS) for _ in range(rng.randint(0, 3)))


def _key(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(_KEYS)
    return "".join(chr(rng.randint(0, 0x7F)) for _ in range(rng.randint(1, 6)))


def _int(rng: random.Random) -> int:
    return rng.choice(
        [
            0,
            -1,
            1,
            MAX_SAFE_INT,
            -MAX_SAFE_INT,
            MAX_SAFE_INT - 1,
            10**15,
            150_000_000,
            rng.randint(-MAX_SAFE_INT, MAX_SAFE_INT),
            rng.randint(-1000, 1000),
        ]
    )


def _value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(10 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind in (2, 3):
        return _int(rng)
    if kind in (4, 5):
        return _text(rng)
    if kind in (6, 7):
        return {_key(rng): _value(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    items = [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return tuple(items) if kind == 8 else items


def _event(rng: random.Random) -> dict[str, Any]:
    return {
        "v": CANON_VERSION,
        "seq": rng.randint(1, MAX_SAFE_INT),
        "at": "2025-01-31T08:00:00.000000Z",
        "actor": _text(rng),
        "coop": rng.choice([None, "5108012001"]),
        "details": {_key(rng): _value(rng, 1) for _ in range(rng.randint(0, 6))},
        "prev": "0" * 64,
    }


def test_generated_events_match_rfc8785() -> None:
    rng = random.Random(SEED)
    for index in range(EVENTS):
        event = _event(rng)
        assert canonical_bytes(event) == rfc8785.dumps(event), f"seed {SEED}, event {index}"


def test_generated_values_match_rfc8785() -> None:
    """Any accepted value, not only events: top-level scalars and arrays too."""
    rng = random.Random(SEED + 1)
    for index in range(EVENTS):
        value = _value(rng, 0)
        assert canonical_bytes(value) == rfc8785.dumps(value), f"seed {SEED + 1}, value {index}"


def test_docstring_formula_is_the_output() -> None:
    """The module docstring promises plain json.dumps output for accepted values."""
    rng = random.Random(SEED + 2)
    for _ in range(500):
        event = _event(rng)
        expected = json.dumps(
            event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
        assert canonical_bytes(event) == expected


def test_encode_checked_is_the_canonical_text() -> None:
    """The shortcut for values already checked writes the same characters."""
    rng = random.Random(SEED + 3)
    for _ in range(500):
        value = rng.choice([_event(rng), _value(rng, 0)])
        assert encode_checked(value) == canonical_bytes(value).decode("utf-8")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, b"{}"),
        ([], b"[]"),
        ((), b"[]"),
        ({"b": [], "a": {}}, b'{"a":{},"b":[]}'),
        ({"n": MAX_SAFE_INT, "m": -MAX_SAFE_INT}, b'{"m":-9007199254740991,"n":9007199254740991}'),
        ({"t": True, "f": False, "z": None}, b'{"f":false,"t":true,"z":null}'),
        ("a\u2028😀\x1f\x7f", '"a\u2028😀\\u001f\x7f"'.encode()),
        ("\b\t\n\f\r", b'"\\b\\t\\n\\f\\r"'),
        ({"k": ("x", 1)}, b'{"k":["x",1]}'),
    ],
    ids=[
        "empty-object",
        "empty-array",
        "empty-tuple",
        "nested-empties-sorted",
        "safe-int-bounds",
        "literals",
        "unescaped-unicode",
        "short-escapes",
        "tuple-as-array",
    ],
)
def test_known_outputs(value: Any, expected: bytes) -> None:
    assert canonical_bytes(value) == expected
    assert canonical_bytes(value) == rfc8785.dumps(value)


class _Stage(enum.IntEnum):
    PENDIRIAN = 1


class _Name(str):
    pass


@pytest.mark.parametrize(
    ("value", "path", "words"),
    [
        ({"details": {"harga": 1.5}}, "$.details.harga", "float 1.5"),
        ({"details": {"harga": 1.0}}, "$.details.harga", "float 1.0"),
        ({"x": [float("nan")]}, "$.x[0]", "float nan"),
        ({"x": [1, 2, float("inf")]}, "$.x[2]", "float inf"),
        ({"details": {"items": [{"rupiah": 2**53}]}}, "$.details.items[0].rupiah", "2**53"),
        ({"a": -(2**53)}, "$.a", "outside"),
        ({"details": {"désa": 1}}, '$.details["d\\u00e9sa"]', "ASCII"),
        ({"ok": {1: "x"}}, "$.ok[1]", "must be str, not int"),
        ({"ok": {None: "x"}}, "$.ok[None]", "must be str, not NoneType"),
        ({"note": "tanda\ud800tangan"}, "$.note", "unpaired surrogate"),
        ({"a": ["x", {"b": "\udc00"}]}, "$.a[1].b", "unpaired surrogate"),
        ({"split pair": "\ud83d\ude00"}, '$["split pair"]', "unpaired surrogate"),
        ({"when": datetime.date(2025, 1, 31)}, "$.when", "type date"),
        ({"raw": b"x"}, "$.raw", "type bytes"),
        ({"s": {1, 2}}, "$.s", "type set"),
        ({"stage": _Stage.PENDIRIAN}, "$.stage", "type _Stage"),
        ({"name": _Name("x")}, "$.name", "type _Name"),
        (1.5, "$", "float"),
    ],
    ids=[
        "float",
        "integral-float",
        "nan",
        "inf",
        "int-2**53",
        "int-minus-2**53",
        "non-ascii-key",
        "int-key",
        "none-key",
        "lone-high-surrogate",
        "lone-low-surrogate-nested",
        "surrogate-pair-as-two-code-points",
        "date",
        "bytes",
        "set",
        "int-enum",
        "str-subclass",
        "top-level-float",
    ],
)
def test_refusals_name_the_path(value: object, path: str, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        canonical_bytes(value)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert words in message


def test_reference_refuses_what_we_refuse_for_numbers() -> None:
    """Our integer bound is RFC 8785's: the reference refuses 2**53 as well."""
    with pytest.raises(rfc8785.IntegerDomainError):
        rfc8785.dumps({"a": 2**53})


def test_self_containing_value_is_refused() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        canonical_bytes({"loop": loop})


def test_imports_no_cryptography() -> None:
    """_canonical is on the hot path and in every process: it stays dependency-free."""
    code = "import sys, kopflow.audit.canonical; print('cryptography' in sys.modules)"
    root = Path(__file__).resolve().parents[1]  # import this checkout even if not installed
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "False"
