"""Audit bodies spliced from pre-encoded parts (issue #15) are the bytes of the whole event.

The chain hashes exactly the stored bytes, so a spliced body that differed by one byte from
``canonical_bytes`` of the event would be a different, unverifiable chain: every case here
compares the two, for ordinary and tricky values, and the refusals word for word.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text
from test_canonical import _TEXTS, _event, _value

from kopflow.audit.canonical import MAX_SAFE_INT, canonical_bytes, checked_text, object_text
from kopflow.audit.chain import GENESIS_HASH, ChainWriter, utc_iso

SEED = 1515
AT = datetime(2025, 1, 31, 8, 0, tzinfo=UTC)

TRICKY: list[Any] = [
    "Koperasi Désa ñ ü 中文 😀 🇮🇩",
    '"quoted" \\ back/slash',
    "".join(chr(c) for c in range(0x20)) + "\x7f\u2028\u2029",
    "e\u0301",
    MAX_SAFE_INT,
    -MAX_SAFE_INT,
    0,
    True,
    False,
    None,
    [],
    {},
    [1, ["nested", ["deeper", {"k": ("t", None)}]], {"z": 1, "a": 2}],
    ("a", "tuple"),
    {"b": {"a\x00": 1, "a": 2, "ab": 3}, "": "empty key", "~": [None, True]},
]


@pytest.fixture
def conn() -> Iterator[Connection]:
    """A connection with nothing but a chain head: what ChainWriter reads on SQLite."""
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE chain_head (id INTEGER, seq INTEGER, hash TEXT)"))
        connection.execute(text(f"INSERT INTO chain_head VALUES (1, 0, '{GENESIS_HASH}')"))
        yield connection


def _whole(writer: ChainWriter, coop: str | None, details: Mapping[str, Any], **kw: str) -> bytes:
    """The body the chain's next event would have as a whole event's canonical bytes."""
    return canonical_bytes(
        {
            "v": "kopflow-audit-v1",
            "seq": writer.seq + 1,
            "at": utc_iso(AT),
            "actor": kw.get("actor", "bench"),
            "role": kw.get("role", "admin"),
            "action": kw.get("action", "step.completed"),
            "coop": coop,
            "details": details,
            "prev": writer.hash,
        }
    )


def _append(writer: ChainWriter, coop: str | None, details: Mapping[str, Any], **kw: Any) -> str:
    writer.append(
        actor=kw.get("actor", "bench"),
        role=kw.get("role", "admin"),
        action=kw.get("action", "step.completed"),
        coop_id=coop,
        details=details,
        at=AT,
        encoded=kw.get("encoded"),
    )
    body: str = writer._rows[-1][6]
    return body


def _encoded(details: Mapping[str, Any], rng: random.Random) -> dict[str, str]:
    """Some of the members pre-encoded, as the rules hand them over."""
    return {k: checked_text(v) for k, v in details.items() if rng.random() < 0.5}


def test_spliced_bodies_are_the_whole_events_bytes(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kopflow.audit.chain

    def whole(obj: object) -> bytes:
        raise AssertionError(f"an accepted event was encoded whole, not spliced: {obj!r}")

    # Only the test's own reference encodes whole events; the writer must splice each.
    monkeypatch.setattr(kopflow.audit.chain, "canonical_bytes", whole)
    rng = random.Random(SEED)
    writer = ChainWriter(conn)
    for index in range(1500):
        event = _event(rng)
        details = event["details"]
        coop = event["coop"]
        actor = rng.choice(_TEXTS)
        expected = _whole(writer, coop, details, actor=actor)
        body = _append(writer, coop, details, actor=actor, encoded=_encoded(details, rng))
        assert body.encode("utf-8") == expected, f"seed {SEED}, event {index}: {details!r}"


@pytest.mark.parametrize("value", TRICKY, ids=range(len(TRICKY)))
def test_tricky_values_spliced_as_encoded_whole(conn: Connection, value: Any) -> None:
    writer = ChainWriter(conn)
    for pre_encoded in (True, False):
        details = {"version": 2, "evidence": {"field": value, "list": [value]}, "step": value}
        details = {k: v for k, v in details.items() if v is not None or k != "step"}
        encoded = {"evidence": checked_text(details["evidence"])} if pre_encoded else {}
        expected = _whole(writer, "KDMP-1 ñ", details, action="step.corrected")
        body = _append(writer, "KDMP-1 ñ", details, action="step.corrected", encoded=encoded)
        assert body.encode("utf-8") == expected


def test_hashes_chain_as_whole_events_do(conn: Connection) -> None:
    """The stored hash is SHA-256 of the spliced bytes, and the next event links to it."""
    import hashlib

    writer = ChainWriter(conn)
    rng = random.Random(SEED + 1)
    for _ in range(20):
        details = {"x": _value(rng, 1), "coop_version": 3}
        _append(writer, None, details, encoded=_encoded(details, rng))
    previous = GENESIS_HASH
    for row in writer._rows:
        assert row[7] == previous
        assert row[8] == hashlib.sha256(row[6].encode("utf-8")).hexdigest()
        previous = row[8]


@pytest.mark.parametrize(
    "details",
    [
        {"evidence": {"amount": MAX_SAFE_INT + 1}},
        {"evidence": {"amount": 1.5}},
        {"evidence": {"ok": ["\ud800"]}},
        {"reason": "lone \udfff surrogate"},
        {"n": -MAX_SAFE_INT - 1},
        {"ñ": 1},
    ],
    ids=["big-int", "float", "surrogate-nested", "surrogate-member", "small-int", "key"],
)
def test_refusals_are_the_whole_events_refusals(conn: Connection, details: Any) -> None:
    writer = ChainWriter(conn)
    with pytest.raises(ValueError) as whole:
        _whole(writer, "KDMP-1", details)
    for encoded in ({}, {"plugins": checked_text({"bri": "1.0"})}):
        with pytest.raises(ValueError) as spliced:
            _append(writer, "KDMP-1", details, encoded=encoded)
        assert str(spliced.value) == str(whole.value)
    assert writer.pending == 0


def test_a_head_hash_needing_escapes_is_encoded_as_whole(conn: Connection) -> None:
    """A head row edited outside kopflow is hashed as the whole event encodes it."""
    conn.execute(text("UPDATE chain_head SET hash = 'x\"\\\\y'"))
    writer = ChainWriter(conn)
    details = {"step": "nib"}
    expected = _whole(writer, "KDMP-1", details)
    assert _append(writer, "KDMP-1", details, encoded={}).encode() == expected


def test_object_text_is_canonical_text() -> None:
    rng = random.Random(SEED + 2)
    for index in range(2000):
        members = {str(k): v for k, v in _event(rng)["details"].items()}
        members["tricky"] = rng.choice(TRICKY)
        expected = canonical_bytes(members).decode("utf-8")
        assert object_text(members, {}) == expected, f"seed {SEED + 2}, value {index}"
        assert object_text(members, _encoded(members, rng)) == expected
