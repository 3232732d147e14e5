"""Canonical bytes of an audit event: the exact byte string that the audit chain hashes.

This module owns the definition below and nothing else (no hashing, no I/O, no kopflow imports).
Changing what it outputs for any accepted value breaks every stored chain: bump ``CANON_VERSION``.

Definition of ``kopflow-audit-v1`` (enough to reimplement it without kopflow):

The canonical form of a value is its RFC 8785 (JSON Canonicalization Scheme) serialization,
encoded as UTF-8, where the value must lie in this subset of JSON (anything else is refused):

* objects whose member names are ASCII strings (U+0000 to U+007F);
* arrays;
* strings of Unicode scalar values (no unpaired surrogates);
* integers from -(2**53 - 1) to 2**53 - 1 inclusive; no other numbers, so no ``1.0``,
  ``1e3``, NaN or infinities (money is whole rupiah);
* ``true``, ``false`` and ``null``.

Within this subset RFC 8785 comes down to these rules:

* no whitespace between tokens; members as ``"name":value`` joined by ``,`` in ``{}``;
  elements joined by ``,`` in ``[]``;
* object members sorted by name in ascending code point order (for ASCII names this is the
  UTF-16 code unit order RFC 8785 asks for);
* integers in plain decimal: ``-`` for negatives, no ``+``, no leading zeros, no exponent;
* strings in ``"``: ``"`` is written ``\\"``, ``\\`` is ``\\\\``; U+0008, U+0009, U+000A,
  U+000C and U+000D are ``\\b``, ``\\t``, ``\\n``, ``\\f`` and ``\\r``; every other character
  below U+0020 is ``\\u00xx`` with lowercase hex digits; every other character (``/``, U+007F,
  U+2028, Indonesian letters, emoji) is written as itself in UTF-8, never ``\\u``-escaped;
* ``true``, ``false``, ``null`` as such.

In Python the accepted types are exactly ``dict``, ``list``, ``tuple`` (an array), ``str``,
``int``, ``bool`` and ``None`` (no subclasses such as enums); for those values the output equals
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False).encode("utf-8")``, which is what :func:`canonical_bytes` computes after one
checking pass: about four times faster than a general RFC 8785 encoder in pure Python.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]  # c_make_encoder: CPython's private C encoder, not in typeshed
from typing import Any

__all__ = [
    "CANON_VERSION",
    "MAX_SAFE_INT",
    "canonical_bytes",
    "checked_text",
    "encode_checked",
    "object_text",
]

CANON_VERSION = "kopflow-audit-v1"
MAX_SAFE_INT = 2**53 - 1
_MIN_SAFE_INT = -MAX_SAFE_INT

# Built once: json.dumps() with non-default options makes a new encoder on every call.
# check_circular is off because _check() has already walked the whole value: a value that
# contains itself ends there in RecursionError and never reaches the encoder.
_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,
)


def _one_shot() -> Callable[[Any], str]:
    """``_ENCODER.encode``, with the C encoder it builds on every call built once instead.

    ``JSONEncoder.encode`` makes a new ``c_make_encoder`` per call with exactly these arguments
    (no markers, its ``default``, the non-ASCII string encoder, no indent, the separators,
    sorted keys, no skipping, no NaN), which cost a third of encoding an audit event (issue #5).
    Without the C accelerator (another interpreter) it is ``_ENCODER.encode`` itself.
    """
    if c_make_encoder is None:
        return _ENCODER.encode
    encoder = c_make_encoder(
        None,
        _ENCODER.default,
        encode_basestring,
        None,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        True,
        False,
        False,
    )
    join = "".join

    def encode(obj: Any) -> str:
        return join(encoder(obj, 0))

    return encode


_encode = _one_shot()
_SURROGATE = re.compile("[\ud800-\udfff]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Refused(Exception):
    """A value outside the subset; ``path`` is filled in (innermost first) while unwinding."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[object] = []


def canonical_bytes(obj: object) -> bytes:
    """Return the canonical ``kopflow-audit-v1`` bytes of ``obj`` (see the module docstring).

    Args:
        obj: a JSON value built from dict, list, tuple, str, int, bool and None.

    Returns:
        The RFC 8785 serialization of ``obj`` in UTF-8.

    Raises:
        ValueError: ``obj`` is outside the subset; the message starts with the JSON path of
            the first offending value, e.g. ``$.payload.items[2].price: float 1.5 ...``.
    """
    text = checked_text(obj)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates are rare, so rather than search every string on the hot path we let
        # the UTF-8 encoder find them and only then walk the value to name the place.
        path = _find_surrogate(obj, [])
        raise ValueError(
            f"{_format_path(path or [])}: string contains an unpaired surrogate"
        ) from None


def encode_checked(obj: object) -> str:
    """The canonical text of a value :func:`canonical_bytes` has accepted, without checking it
    again (the same characters as its bytes, decoded). Only for values already checked."""
    return _encode(obj)


def checked_text(obj: object) -> str:
    """The canonical text of ``obj`` after the check :func:`canonical_bytes` makes (the same
    ``ValueError`` for a value outside the subset), for a piece that a larger value will hold:
    encoded once, spliced by :func:`object_text` (issue #15: evidence was encoded twice).

    Lone surrogates are not looked for here: encoding the whole to UTF-8 finds them.
    """
    try:
        _check(obj)
    except _Refused as exc:
        raise ValueError(f"{_format_path(exc.path[::-1])}: {exc.reason}") from None
    except RecursionError:
        raise ValueError("$: nested too deeply, or contains itself") from None
    return _encode(obj)


# Per tuple of member names as a caller builds them: (name, encoded name and ':') in code
# point order. A few shapes of event details, built in a fixed order, are most of them.
_PLANS: dict[tuple[object, ...], list[tuple[str, str]]] = {}


def object_text(members: Mapping[str, object], encoded: Mapping[str, str]) -> str:
    """The canonical text of the object ``members``, taking the text of each member named in
    ``encoded`` from there (already :func:`checked_text`) instead of encoding it again.

    The same characters as ``canonical_bytes(members)`` decoded, for the same refusals
    (``ValueError``): names sorted by code point, each value as :func:`checked_text` gives it.
    Scalars are encoded here directly, which is most of an audit event's members.
    """
    names = tuple(members)
    plan = _PLANS.get(names)
    if plan is None:
        for name in names:
            if type(name) is not str or not name.isascii():
                checked_text({name: None})  # raises, naming the key
        plan = [(name, encode_basestring(name) + ":") for name in sorted(members)]
        if len(_PLANS) < 1024:  # shapes are few; a caller inventing names is not cached
            _PLANS[names] = plan
    parts = []
    for name, key in plan:
        text = encoded.get(name)
        if text is None:
            value: Any = members[name]
            t = type(value)
            if t is str:
                text = encode_basestring(value)
            elif t is int and _MIN_SAFE_INT <= value <= MAX_SAFE_INT:
                text = int.__repr__(value)
            elif value is None:
                text = "null"
            else:
                try:
                    text = checked_text(value)
                except ValueError as err:
                    # The path from the object itself, as canonical_bytes(members) names it.
                    raise ValueError(_nested(name, str(err))) from None
        parts.append(key + text)
    return "{" + ",".join(parts) + "}"


def _nested(name: str, message: str) -> str:
    """``message`` of a refused member ``name``, its ``$`` path moved under the member."""
    inner = message[1:] if message.startswith("$") else ": " + message
    return _format_path([name]) + inner


def _check(obj: Any) -> None:
    """Refuse anything outside the subset, in one pass and without building paths."""
    t = type(obj)
    if t is dict:
        _check_dict(obj)
    elif t is list or t is tuple:
        _check_array(obj)
    elif t is int:
        if not _MIN_SAFE_INT <= obj <= MAX_SAFE_INT:
            raise _Refused(_int_reason(obj))
    elif not (t is str or t is bool or obj is None):
        raise _Refused(_type_reason(obj))


def _check_dict(d: dict[Any, Any]) -> None:
    for key, value in d.items():
        # The try costs nothing until something is refused (zero-cost exceptions in 3.11).
        try:
            if type(key) is not str or not key.isascii():
                raise _Refused(_key_reason(key))
            t = type(value)
            # Scalars are tested inline: most members are scalars and a call per member
            # would cost more than the whole check of a typical event.
            if t is str or t is bool or value is None:
                continue
            if t is int:
                if _MIN_SAFE_INT <= value <= MAX_SAFE_INT:
                    continue
                raise _Refused(_int_reason(value))
            if t is dict:
                _check_dict(value)
            elif t is list or t is tuple:
                _check_array(value)
            else:
                raise _Refused(_type_reason(value))
        except _Refused as exc:
            exc.path.append(key)
            raise


def _check_array(items: list[Any] | tuple[Any, ...]) -> None:
    for index, value in enumerate(items):
        try:
            t = type(value)
            if t is str or t is bool or value is None:
                continue
            if t is int:
                if _MIN_SAFE_INT <= value <= MAX_SAFE_INT:
                    continue
                raise _Refused(_int_reason(value))
            if t is dict:
                _check_dict(value)
            elif t is list or t is tuple:
                _check_array(value)
            else:
                raise _Refused(_type_reason(value))
        except _Refused as exc:
            exc.path.append(index)
            raise


def _int_reason(value: object) -> str:
    return f"integer {value} is outside ±(2**53 - 1), which JSON numbers cannot hold exactly"


def _type_reason(value: object) -> str:
    if type(value) is float:
        return f"float {value!r} is not allowed; store whole units (e.g. rupiah) as int"
    return f"type {type(value).__name__} is not allowed; use dict, list, str, int, bool or None"


def _key_reason(key: object) -> str:
    if type(key) is str:
        return "object keys must be ASCII (RFC 8785 sorts keys by UTF-16 code units)"
    return f"object keys must be str, not {type(key).__name__}"


def _find_surrogate(obj: Any, path: list[object]) -> list[object] | None:
    """Path (outermost first) to the first string holding an unpaired surrogate, if any."""
    t = type(obj)
    if t is str:
        return path if _SURROGATE.search(obj) else None
    if t is dict:
        members: Iterable[tuple[object, Any]] = obj.items()
    elif t is list or t is tuple:
        members = enumerate(obj)
    else:
        return None
    for key, value in members:
        found = _find_surrogate(value, [*path, key])
        if found is not None:
            return found
    return None


def _format_path(path: list[object]) -> str:
    """``$.a.b[3]["odd key"]`` from path parts, outermost first."""
    parts = ["$"]
    for part in path:
        if type(part) is int:
            parts.append(f"[{part}]")
        elif type(part) is str and _IDENTIFIER.fullmatch(part):
            parts.append(f".{part}")
        elif type(part) is str:
            parts.append(f"[{json.dumps(part)}]")
        else:
            parts.append(f"[{part!r}]")
    return "".join(parts)
