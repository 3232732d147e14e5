"""Signed checkpoints of an audit chain's head: Ed25519 signed notes.

Owns the checkpoint text (C2SP signed-note carrying a C2SP tlog-checkpoint body), its parsing
and verification. It never reads the database (the caller passes the head) and never touches a
key file (:mod:`kopflow.audit.keys` does); importing it does not import ``cryptography``.

A checkpoint is this text (long values cut at "..."; tests/test_checkpoint.py has it whole)::

    kopflow.example/Kabupaten Buleleng
    1042
    JJpyP92qnfsrnClHqzz/YxtGYWCo59psxdzV/TljSsw=
    kopflow-audit-v1 249a723fddaa9dfb...c5dcd5fd39634acc 2025-01-31T08:00:00Z

    — kopflow.example/buleleng-2025 CnzTZUQcqRlxiuvEn3tKfwyWBYPdk+L1ip6GIV6yk8QdeWmp94At...

* Line 1, the origin, names the log: non-empty, no control characters.
* Line 2 is the size: the sequence number of the head event (events are numbered 1..N), in
  decimal without leading zeros (``0`` for an empty chain).
* Line 3 is the head hash (SHA-256): base64 (RFC 4648 standard alphabet, padded) of its 32 bytes.
* Line 4 is an extension line: ``kopflow-audit-v1``, the same head hash as 64 lowercase hex
  digits and the UTC time of signing as ``YYYY-MM-DDTHH:MM:SSZ``, separated by one space.
* The checkpoint of a JSONL export has a line 5: ``kopflow-export-v1`` and the SHA-256 (64
  lowercase hex digits) of the first line of the export's manifest, which states what the export
  holds (complete or filtered, which filters, how many events, first and last, the events file's
  own SHA-256). The signature thus covers those claims: editing them breaks it (issue #14).
* Then a blank line and one or more signature lines: U+2014 EM DASH, space, key name, space,
  base64(key ID || 64-byte Ed25519 signature of the UTF-8 bytes of lines 1-4 with their LFs),
  where key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], big-endian.
* A verifier ignores signatures whose key name or key ID is not the expected key's; it needs
  one signature by that key, and rejects the note if that signature does not verify.

The key names, key IDs and key files are described in :mod:`kopflow.audit.keys`.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from kopflow.audit.keys import (
    Signer,
    Verifier,
    b64decode_strict,
    b64encode,
    generate_keypair,
    is_utf8,
    is_valid_key_name,
    load_signer,
    load_verifier,
    show,
)
from kopflow.errors import AuditError, InputError
from kopflow.i18n import _

# Signer, Verifier and the key functions live in kopflow.audit.keys; they are re-exported so that
# ``from kopflow.audit.checkpoint import Signer`` keeps working.
__all__ = [
    "EXPORT_TAG",
    "EXTENSION_TAG",
    "Checkpoint",
    "Signer",
    "Verifier",
    "generate_keypair",
    "load_signer",
    "load_verifier",
    "parse_and_verify",
    "sign_checkpoint",
    "utc_timestamp",
]

# Names the checkpoint format (line 4), not the event encoding: it changes only when this text
# changes, so old checkpoints stay readable when _canonical.CANON_VERSION moves on.
EXTENSION_TAG = "kopflow-audit-v1"
# Line 5 of an export's checkpoint: the hash of the manifest line that states the export's claims.
EXPORT_TAG = "kopflow-export-v1"

_SIG_PREFIX = "\u2014 "  # em dash and space open every signature line
_MAX_SIGNATURES = 100  # as Go's x/mod/sumdb/note; the spec asks verifiers to accept 16
_MAX_SIZE = 2**63 - 1  # the largest sequence number SQLite and PostgreSQL can store
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_HEX64 = re.compile("[0-9a-f]{64}")
_DECIMAL = re.compile("0|[1-9][0-9]*")  # [0-9], not \d: \d also matches non-ASCII digits
_TIMESTAMP = re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")


@dataclass(frozen=True)
class Checkpoint:
    """The head of one audit chain at one moment; validated when built.

    Attributes:
        origin: the log's name, e.g. ``kopflow.example/Kabupaten Buleleng``.
        size: sequence number of the head event (events are numbered from 1; 0 = empty).
        head_hash: the head event's SHA-256 as 64 lowercase hex digits.
        timestamp: when the checkpoint was made, UTC, ``YYYY-MM-DDTHH:MM:SSZ``.
        claims: for an export's checkpoint, the SHA-256 of its manifest's first line (64
            lowercase hex digits); ``None`` for a checkpoint of the database alone.

    Raises:
        InputError: a field is outside the format in the module docstring.
    """

    origin: str
    size: int
    head_hash: str
    timestamp: str
    claims: str | None = None

    def __post_init__(self) -> None:
        if not _is_one_line(self.origin):
            raise InputError(
                "checkpoint origin must be one non-empty line of text without control characters"
            )
        if type(self.size) is not int or not 0 <= self.size <= _MAX_SIZE:
            raise InputError(
                "checkpoint size must be a whole number from 0 to {limit}, not {value}",
                limit=_MAX_SIZE,
                value=show(self.size),
            )
        if not isinstance(self.head_hash, str) or not _HEX64.fullmatch(self.head_hash):
            raise InputError(
                "checkpoint head hash must be 64 lowercase hex digits (SHA-256), not {value}",
                value=show(self.head_hash),
            )
        if not _is_timestamp(self.timestamp):
            raise InputError(
                "checkpoint timestamp must be UTC time as YYYY-MM-DDTHH:MM:SSZ, not {value}",
                value=show(self.timestamp),
            )
        if self.claims is not None and (
            not isinstance(self.claims, str) or not _HEX64.fullmatch(self.claims)
        ):
            raise InputError(
                "checkpoint claims hash must be 64 lowercase hex digits (SHA-256), not {value}",
                value=show(self.claims),
            )


def utc_timestamp(when: datetime | None = None) -> str:
    """Format ``when`` (default: now) as a checkpoint timestamp, ``YYYY-MM-DDTHH:MM:SSZ``.

    Raises:
        ValueError: ``when`` has no time zone, so its UTC time is unknown.
    """
    if when is None:
        when = datetime.now(UTC)
    elif when.tzinfo is None:
        raise ValueError("utc_timestamp() needs an aware datetime, not a naive one")
    return when.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> str:
    """Return the signed note text of ``cp`` (format in the module docstring)."""
    body = _body(cp)
    signature = signer.key_id.to_bytes(4, "big") + signer.sign(body.encode("utf-8"))
    return f"{body}\n{_SIG_PREFIX}{signer.name} {b64encode(signature)}\n"


def parse_and_verify(note_text: str, verifier: Verifier) -> Checkpoint:
    """Check the signature of a checkpoint note by ``verifier``'s key and read its fields.

    Signatures by other keys are ignored, as signed-note requires, so a checkpoint may also
    carry, for example, a witness's cosignature.

    Raises:
        AuditError: the note is malformed, has no signature by this key, or that signature
            does not verify (the text was changed). The message is one line.
    """
    body, signatures = _split_note(note_text)
    found: list[str] = []
    verified = False
    for name, key_id, signature in signatures:
        if name != verifier.name or key_id != verifier.key_id:
            found.append(f"{name}+{key_id:08x}")
            continue
        if not verifier.verify(body.encode("utf-8"), signature):
            raise AuditError(
                "bad checkpoint signature by key {key}: the text was changed after signing",
                key=verifier.name,
            )
        verified = True
    if not verified:
        raise AuditError(
            "checkpoint is not signed by key {key}; it has signatures by: {found}",
            key=f"{verifier.name}+{verifier.key_id:08x}",
            found=", ".join(found),
        )
    # Read the text only once it is known to be authentic (signed-note: ignore it otherwise).
    return _parse_body(body)


# --- helpers ---------------------------------------------------------------------------------


def _is_one_line(text: object) -> bool:
    return (
        isinstance(text, str)
        and text != ""
        and "\n" not in text
        and not _CONTROL.search(text)
        and is_utf8(text)
    )


def _is_timestamp(value: object) -> bool:
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return False
    try:
        datetime.strptime(value, _TIMESTAMP_FORMAT)  # rejects month 13, 25:00 and so on
    except ValueError:
        return False
    return True


def _body(cp: Checkpoint) -> str:
    hash_line = b64encode(bytes.fromhex(cp.head_hash))
    text = f"{cp.origin}\n{cp.size}\n{hash_line}\n{EXTENSION_TAG} {cp.head_hash} {cp.timestamp}\n"
    return text if cp.claims is None else f"{text}{EXPORT_TAG} {cp.claims}\n"


def _malformed(reason: str) -> AuditError:
    return AuditError("malformed checkpoint: {reason}", reason=reason)


def _split_note(text: str) -> tuple[str, list[tuple[str, int, bytes]]]:
    """Split a signed note into its text and its (key name, key ID, signature) lines."""
    if not is_utf8(text):
        raise _malformed(_("it is not valid UTF-8 text"))
    if "\r" in text:
        raise _malformed(_("it has Windows line endings (CR LF); signed notes use LF only"))
    if _CONTROL.search(text):
        raise _malformed(_("it contains a control character other than newline"))
    split = text.rfind("\n\n")
    if split < 0:
        raise _malformed(_("there is no blank line between the text and the signatures"))
    body, block = text[: split + 1], text[split + 2 :]
    if not block:
        raise _malformed(_("there is no signature line after the blank line"))
    if not block.endswith("\n"):
        raise _malformed(_("it does not end with a newline"))
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise _malformed(_("it has more than {limit} signature lines", limit=_MAX_SIGNATURES))
    signatures = []
    for number, line in enumerate(lines, start=1):
        name, _space, encoded = line.removeprefix(_SIG_PREFIX).partition(" ")
        try:
            raw = b64decode_strict(encoded) if line.startswith(_SIG_PREFIX) else b""
        except (ValueError, binascii.Error):
            raw = b""
        if len(raw) < 5 or not is_valid_key_name(name):
            raise _malformed(
                _(
                    "signature line {number} is not '\u2014 <key name> <base64 signature>'",
                    number=number,
                )
            )
        signatures.append((name, int.from_bytes(raw[:4], "big"), raw[4:]))
    return body, signatures


def _parse_body(body: str) -> Checkpoint:
    """Read the four checkpoint lines; the result re-serializes to exactly ``body``."""
    lines = body[:-1].split("\n")
    if len(lines) not in (4, 5):
        raise _malformed(
            _(
                "the text must have 4 lines (origin, size, hash, {tag} line), or 5 with a "
                "{export} line, not {count}",
                tag=EXTENSION_TAG,
                export=EXPORT_TAG,
                count=len(lines),
            )
        )
    origin, size_line, hash_line, extension = lines[:4]
    claims = None
    if len(lines) == 5:
        tag, _space, claims = lines[4].partition(" ")
        if tag != EXPORT_TAG or not _HEX64.fullmatch(claims):
            raise _malformed(
                _(
                    "line 5 must be '{tag} <hex hash>', not {value}",
                    tag=EXPORT_TAG,
                    value=show(lines[4]),
                )
            )
    if not _DECIMAL.fullmatch(size_line):
        raise _malformed(
            _(
                "line 2 (size) must be a decimal number without leading zeros, not {value}",
                value=show(size_line),
            )
        )
    try:
        raw = b64decode_strict(hash_line)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise _malformed(
            _("line 3 (hash) must be the base64 of 32 bytes, not {value}", value=show(hash_line))
        )
    fields = extension.split(" ")
    if len(fields) != 3 or fields[0] != EXTENSION_TAG:
        raise _malformed(
            _(
                "line 4 must be '{tag} <hex hash> <timestamp>', not {value}",
                tag=EXTENSION_TAG,
                value=show(extension),
            )
        )
    try:
        cp = Checkpoint(origin, int(size_line), fields[1], fields[2], claims)
    except InputError as exc:
        raise _malformed(str(exc)) from None
    if cp.head_hash != raw.hex():
        raise _malformed(_("the hex hash on line 4 differs from the hash on line 3"))
    return cp
