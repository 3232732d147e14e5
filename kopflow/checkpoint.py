"""Signed checkpoints of an audit chain's head: Ed25519 signed notes and their key files.

Owns the checkpoint text (C2SP signed-note carrying a C2SP tlog-checkpoint body), its parsing
and verification, and the key file format. It never reads the database: the caller passes the
head. ``cryptography`` is imported only when a key is used, so importing this module is cheap.

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
* Then a blank line and one or more signature lines: U+2014 EM DASH, space, key name, space,
  base64(key ID || 64-byte Ed25519 signature of the UTF-8 bytes of lines 1-4 with their LFs),
  where key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], big-endian.
* A verifier ignores signatures whose key name or key ID is not the expected key's; it needs
  one signature by that key, and rejects the note if that signature does not verify.

Key files hold one line each, as golang.org/x/mod/sumdb/note writes keys: the public key
``<name>+<key ID, 8 hex digits>+<base64(0x01 || public key)>`` and the private key
``PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || 32-byte seed)>``. Key names are non-empty and
contain no spaces and no ``+``; the example's is
``kopflow.example/buleleng-2025+0a7cd365+AehyfKEgorSFDdF/FhGTRJk1VTllVFQyh6XrW1A1IgjI``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kopflow.errors import AuditError, InputError
from kopflow.i18n import _

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
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

_ED25519 = 0x01  # signature type byte assigned to Ed25519 by C2SP signed-note
_SIG_PREFIX = "\u2014 "  # em dash and space open every signature line
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_MAX_SIGNATURES = 100  # as Go's x/mod/sumdb/note; the spec asks verifiers to accept 16
_MAX_SIZE = 2**63 - 1  # the largest sequence number SQLite and PostgreSQL can store
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_HEX64 = re.compile("[0-9a-f]{64}")
_HEX8 = re.compile("[0-9a-fA-F]{8}")
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

    Raises:
        InputError: a field is outside the format in the module docstring.
    """

    origin: str
    size: int
    head_hash: str
    timestamp: str

    def __post_init__(self) -> None:
        if not _is_one_line(self.origin):
            raise InputError(
                "checkpoint origin must be one non-empty line of text without control characters"
            )
        if type(self.size) is not int or not 0 <= self.size <= _MAX_SIZE:
            raise InputError(
                "checkpoint size must be a whole number from 0 to {limit}, not {value}",
                limit=_MAX_SIZE,
                value=_show(self.size),
            )
        if not isinstance(self.head_hash, str) or not _HEX64.fullmatch(self.head_hash):
            raise InputError(
                "checkpoint head hash must be 64 lowercase hex digits (SHA-256), not {value}",
                value=_show(self.head_hash),
            )
        if not _is_timestamp(self.timestamp):
            raise InputError(
                "checkpoint timestamp must be UTC time as YYYY-MM-DDTHH:MM:SSZ, not {value}",
                value=_show(self.timestamp),
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


class Signer:
    """An Ed25519 private key under a signed-note key name.

    Args:
        name: key name (non-empty, no spaces, no ``+``); a schema-less URL is recommended.
        seed: the 32-byte Ed25519 private key seed.

    Raises:
        InputError: the name or the seed is invalid.
    """

    __slots__ = ("_private", "key_id", "name", "public_key")

    def __init__(self, name: str, seed: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        _require_valid_name(name)
        if len(seed) != 32:
            raise InputError(
                "an Ed25519 private key seed has 32 bytes, not {count}", count=len(seed)
            )
        self._private: Ed25519PrivateKey = Ed25519PrivateKey.from_private_bytes(seed)
        self.name = name
        self.public_key: bytes = self._private.public_key().public_bytes_raw()
        self.key_id: int = _key_id(name, self.public_key)

    @classmethod
    def from_skey(cls, text: str) -> Signer:
        """Build a signer from its ``PRIVATE+KEY+<name>+<key ID>+<base64>`` text.

        Raises:
            InputError: the text is not such a key, or its key ID does not match.
        """
        text = text.strip()
        if not text.startswith(_PRIVATE_PREFIX):
            raise InputError(
                "not a signed-note private key: it must start with {prefix}",
                prefix=_PRIVATE_PREFIX,
            )
        name, key_id, seed = _parse_key_text(text.removeprefix(_PRIVATE_PREFIX), private=True)
        signer = cls(name, seed)
        _require_key_id(key_id, signer.key_id)
        return signer

    @property
    def skey(self) -> str:
        """The private key as ``PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>``."""
        seed = self._private.private_bytes_raw()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id:08x}+{_b64(bytes([_ED25519]) + seed)}"

    def verifier(self) -> Verifier:
        """The matching public key."""
        return Verifier(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._private.sign(message)

    def __repr__(self) -> str:
        # Never show the seed, not even in a traceback.
        return f"Signer(name={self.name!r}, key_id={self.key_id:08x})"


class Verifier:
    """An Ed25519 public key under a signed-note key name.

    Args:
        name: key name (non-empty, no spaces, no ``+``).
        public_key: the 32-byte Ed25519 public key.

    Raises:
        InputError: the name or the key is invalid.
    """

    __slots__ = ("_public", "key_id", "name", "public_key")

    def __init__(self, name: str, public_key: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        _require_valid_name(name)
        if len(public_key) != 32:
            raise InputError(
                "an Ed25519 public key has 32 bytes, not {count}", count=len(public_key)
            )
        try:
            self._public: Ed25519PublicKey = Ed25519PublicKey.from_public_bytes(public_key)
        except ValueError:
            raise InputError("not a valid Ed25519 public key") from None
        self.name = name
        self.public_key = bytes(public_key)
        self.key_id: int = _key_id(name, self.public_key)

    @classmethod
    def from_vkey(cls, text: str) -> Verifier:
        """Build a verifier from its ``<name>+<key ID>+<base64>`` text.

        Raises:
            InputError: the text is not such a key, or its key ID does not match.
        """
        text = text.strip()
        if text.startswith(_PRIVATE_PREFIX):
            raise InputError(
                "this is a private key; give the public key (and keep the private one secret)"
            )
        name, key_id, public_key = _parse_key_text(text, private=False)
        verifier = cls(name, public_key)
        _require_key_id(key_id, verifier.key_id)
        return verifier

    @property
    def vkey(self) -> str:
        """The public key as ``<name>+<key ID>+<base64(0x01 || public key)>``."""
        return f"{self.name}+{self.key_id:08x}+{_b64(bytes([_ED25519]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        from cryptography.exceptions import InvalidSignature

        try:
            self._public.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"Verifier({self.vkey!r})"


def generate_keypair(private_path: Path | str, public_path: Path | str, name: str) -> None:
    """Create a new Ed25519 key pair in two new files.

    The private key file is created with mode 0600 in the same system call that creates it,
    so it is never readable by others, not even for a moment.

    Args:
        private_path: file for the private key; must not exist.
        public_path: file for the public key (give this one to auditors); must not exist.
        name: key name, e.g. ``kopflow.example/buleleng-2025``.

    Raises:
        InputError: a file already exists, cannot be written, or the name is invalid.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _require_valid_name(name)
    private_path, public_path = Path(private_path), Path(public_path)
    if private_path.absolute() == public_path.absolute():
        raise InputError("the private and the public key need two different files")
    # Check both first, so that a refusal leaves no half-made pair behind.
    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise _exists_error(path)
    signer = Signer(name, Ed25519PrivateKey.generate().private_bytes_raw())
    _write_new_file(private_path, signer.skey + "\n", 0o600, exact_mode=True)
    try:
        _write_new_file(public_path, signer.verifier().vkey + "\n", 0o644, exact_mode=False)
    except BaseException:
        private_path.unlink(missing_ok=True)  # ours: O_EXCL guaranteed we created it
        raise


def load_signer(private_path: Path | str) -> Signer:
    """Read a private key file written by :func:`generate_keypair` (or Go's ``note`` package).

    Raises:
        InputError: the file is missing, unreadable or not a private key.
    """
    path = Path(private_path)
    text = _read_key_file(path)
    if not text.startswith(_PRIVATE_PREFIX) and _is_public_key(text):
        raise InputError(
            "key file {path} holds a public key; signing needs the private key file",
            path=str(path),
        )
    try:
        return Signer.from_skey(text)
    except InputError as exc:
        raise InputError("key file {path}: {problem}", path=str(path), problem=str(exc)) from None


def load_verifier(public_path: Path | str) -> Verifier:
    """Read a public key file written by :func:`generate_keypair` (or Go's ``note`` package).

    Raises:
        InputError: the file is missing, unreadable or not a public key.
    """
    path = Path(public_path)
    text = _read_key_file(path)
    try:
        return Verifier.from_vkey(text)
    except InputError as exc:
        raise InputError("key file {path}: {problem}", path=str(path), problem=str(exc)) from None


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> str:
    """Return the signed note text of ``cp`` (format in the module docstring)."""
    body = _body(cp)
    signature = signer.key_id.to_bytes(4, "big") + signer.sign(body.encode("utf-8"))
    return f"{body}\n{_SIG_PREFIX}{signer.name} {_b64(signature)}\n"


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


def _key_id(name: str, public_key: bytes) -> int:
    """signed-note key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([_ED25519]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4): raises ValueError for anything else."""
    raw = base64.b64decode(text, validate=True)
    # b64decode ignores unused low bits; demanding the canonical spelling keeps one text per key.
    if _b64(raw) != text:
        raise ValueError("non-canonical base64")
    return raw


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_one_line(text: object) -> bool:
    return (
        isinstance(text, str)
        and text != ""
        and "\n" not in text
        and not _CONTROL.search(text)
        and _is_utf8(text)
    )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # unpaired surrogates
        return False
    return True


def _is_timestamp(value: object) -> bool:
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return False
    try:
        datetime.strptime(value, _TIMESTAMP_FORMAT)  # rejects month 13, 25:00 and so on
    except ValueError:
        return False
    return True


def _is_valid_name(name: object) -> bool:
    # signed-note: non-empty, no Unicode spaces, no "+"; control characters cannot occur in
    # a note at all.
    return (
        isinstance(name, str)
        and name != ""
        and _is_utf8(name)
        and not any(c.isspace() or c == "+" or c < " " for c in name)
    )


def _require_valid_name(name: object) -> None:
    if not _is_valid_name(name):
        raise InputError(
            "key name {name} must be non-empty, without spaces or '+'; "
            "e.g. kopflow.example/buleleng-2025",
            name=_show(name),
        )


def _require_key_id(stated: int, computed: int) -> None:
    if stated != computed:
        raise InputError(
            "key ID {stated} does not match the key name and key (expected {computed})",
            stated=f"{stated:08x}",
            computed=f"{computed:08x}",
        )


def _parse_key_text(text: str, *, private: bool) -> tuple[str, int, bytes]:
    """Split ``<name>+<key ID>+<base64(0x01 || key)>`` into name, key ID and the 32 key bytes."""
    if private:
        what = _("not a signed-note private key (PRIVATE+KEY+name+keyid+key)")
    else:
        what = _("not a signed-note public key (name+keyid+key)")
    # At most two splits: the name and key ID hold no "+", but base64 may.
    parts = text.split("+", 2)
    if len(parts) != 3 or not _HEX8.fullmatch(parts[1]):
        raise InputError("{what}: expected three fields joined by '+'", what=what)
    name, key_id, encoded = parts
    try:
        raw = _b64decode(encoded)
    except (ValueError, binascii.Error):
        raise InputError("{what}: the key is not base64", what=what) from None
    if len(raw) != 33 or raw[0] != _ED25519:
        raise InputError("{what}: not an Ed25519 key (type 0x01, 32 bytes)", what=what)
    return name, int(key_id, 16), raw[1:]


def _is_public_key(text: str) -> bool:
    try:
        Verifier.from_vkey(text)
    except InputError:
        return False
    return True


def _read_key_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise InputError("key file {path} does not exist", path=str(path)) from None
    except UnicodeDecodeError:
        raise InputError(
            "key file {path}: {problem}", path=str(path), problem=_("not a text file")
        ) from None
    except OSError as exc:
        raise InputError(
            "cannot read key file {path}: {reason}",
            path=str(path),
            reason=exc.strerror or str(exc),
        ) from None


def _exists_error(path: Path) -> InputError:
    return InputError(
        "key file {path} already exists; remove it or choose another path "
        "(kopflow never overwrites a key)",
        path=str(path),
    )


def _write_new_file(path: Path, text: str, mode: int, *, exact_mode: bool) -> None:
    """Create ``path`` (never an existing file or symlink) with ``mode`` and write ``text``."""
    try:
        # O_EXCL also refuses a symlink planted at the path, even a dangling one.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise _exists_error(path) from None
    except OSError as exc:
        raise InputError(
            "cannot write key file {path}: {reason}",
            path=str(path),
            reason=exc.strerror or str(exc),
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            if exact_mode:
                # The umask can only remove bits from 0600; set it exactly all the same.
                os.fchmod(file.fileno(), mode)
            file.write(text)
            file.flush()
            # A key lost to a crash cannot be recovered; make sure it reached the disk.
            os.fsync(file.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _body(cp: Checkpoint) -> str:
    raw = bytes.fromhex(cp.head_hash)
    return f"{cp.origin}\n{cp.size}\n{_b64(raw)}\n{EXTENSION_TAG} {cp.head_hash} {cp.timestamp}\n"


def _malformed(reason: str) -> AuditError:
    return AuditError("malformed checkpoint: {reason}", reason=reason)


def _split_note(text: str) -> tuple[str, list[tuple[str, int, bytes]]]:
    """Split a signed note into its text and its (key name, key ID, signature) lines."""
    if not _is_utf8(text):
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
            raw = _b64decode(encoded) if line.startswith(_SIG_PREFIX) else b""
        except (ValueError, binascii.Error):
            raw = b""
        if len(raw) < 5 or not _is_valid_name(name):
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
    if len(lines) != 4:
        raise _malformed(
            _(
                "the text must have 4 lines (origin, size, hash, {tag} line), not {count}",
                tag=EXTENSION_TAG,
                count=len(lines),
            )
        )
    origin, size_line, hash_line, extension = lines
    if not _DECIMAL.fullmatch(size_line):
        raise _malformed(
            _(
                "line 2 (size) must be a decimal number without leading zeros, not {value}",
                value=_show(size_line),
            )
        )
    try:
        raw = _b64decode(hash_line)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise _malformed(
            _("line 3 (hash) must be the base64 of 32 bytes, not {value}", value=_show(hash_line))
        )
    fields = extension.split(" ")
    if len(fields) != 3 or fields[0] != EXTENSION_TAG:
        raise _malformed(
            _(
                "line 4 must be '{tag} <hex hash> <timestamp>', not {value}",
                tag=EXTENSION_TAG,
                value=_show(extension),
            )
        )
    try:
        cp = Checkpoint(origin, int(size_line), fields[1], fields[2])
    except InputError as exc:
        raise _malformed(str(exc)) from None
    if cp.head_hash != raw.hex():
        raise _malformed(_("the hex hash on line 4 differs from the hash on line 3"))
    return cp
