"""Ed25519 keys under signed-note key names: signers, verifiers and their key files.

Owns key names, key IDs, the key text and key files; the notes they sign are
:mod:`kopflow.audit.checkpoint`. ``cryptography`` is imported only when a key is used, so importing
this module is cheap.

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
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from kopflow.errors import InputError
from kopflow.i18n import _
from kopflow.store.outfile import check_target, write_file

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "Signer",
    "Verifier",
    "generate_keypair",
    "load_signer",
    "load_verifier",
]

_ED25519 = 0x01  # signature type byte assigned to Ed25519 by C2SP signed-note
_PRIVATE_PREFIX = "PRIVATE+KEY+"

_HEX8 = re.compile("[0-9a-fA-F]{8}")


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
        encoded = b64encode(bytes([_ED25519]) + seed)
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id:08x}+{encoded}"

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
        return f"{self.name}+{self.key_id:08x}+{b64encode(bytes([_ED25519]) + self.public_key)}"

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


def generate_keypair(
    private_path: Path | str,
    public_path: Path | str,
    name: str,
    *,
    force: bool = False,
    protected: Iterable[Path] = (),
) -> None:
    """Create a new Ed25519 key pair in two files.

    The private key file is created with mode 0600 (its temporary file already has it), so it
    is never readable by others, not even for a moment. Both are written by
    :func:`kopflow.store.outfile.write_file`: atomically, never through a link.

    Args:
        private_path: file for the private key; must not exist unless ``force``.
        public_path: file for the public key (give this one to auditors); the same.
        name: key name, e.g. ``kopflow.example/buleleng-2025``.
        force: replace existing key files (``--force``): the old private key is then gone.
        protected: files never to write (the open database's).

    Raises:
        InputError: a file already exists (without ``force``), is refused, cannot be written,
            or the name is invalid.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _require_valid_name(name)
    private_path, public_path = Path(private_path), Path(public_path)
    if private_path.absolute() == public_path.absolute():
        raise InputError("the private and the public key need two different files")
    protected = list(protected)
    # Check both first, so that a refusal leaves no half-made pair behind.
    for path in (private_path, public_path):
        check_target(path, force=True, protected=protected)  # links, the database, folders
        if not force and os.path.lexists(path):
            raise _exists_error(path)
    signer = Signer(name, Ed25519PrivateKey.generate().private_bytes_raw())
    private = (signer.skey + "\n").encode("utf-8")
    public = (signer.verifier().vkey + "\n").encode("utf-8")
    new_private = not os.path.lexists(private_path)
    write_file(
        private_path, lambda h: h.write(private), force=force, protected=protected, mode=0o600
    )
    try:
        write_file(public_path, lambda h: h.write(public), force=force, protected=protected)
    except BaseException:
        if new_private:
            private_path.unlink(missing_ok=True)  # ours: the name was free before
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


# --- shared with kopflow.audit.checkpoint: a note spells signatures and key names as keys do -------


def b64encode(data: bytes) -> str:
    """Standard padded base64 (RFC 4648 section 4) as text."""
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4).

    Raises:
        ValueError: ``text`` is not base64 in its one canonical spelling
            (``binascii.Error`` is a ValueError).
    """
    raw = base64.b64decode(text, validate=True)
    # b64decode ignores unused low bits; demanding the canonical spelling keeps one text per key.
    if b64encode(raw) != text:
        raise ValueError("non-canonical base64")
    return raw


def show(value: object) -> str:
    """``repr(value)``, cut to 80 characters, for quoting a bad value in a message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (it does not when it holds unpaired surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_valid_key_name(name: object) -> bool:
    """Whether ``name`` is a signed-note key name: non-empty, no spaces, no ``+``."""
    # signed-note: non-empty, no Unicode spaces, no "+"; control characters cannot occur in
    # a note at all.
    return (
        isinstance(name, str)
        and name != ""
        and is_utf8(name)
        and not any(c.isspace() or c == "+" or c < " " for c in name)
    )


# --- helpers ---------------------------------------------------------------------------------


def _key_id(name: str, public_key: bytes) -> int:
    """signed-note key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([_ED25519]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


def _require_valid_name(name: object) -> None:
    if not is_valid_key_name(name):
        raise InputError(
            "key name {name} must be non-empty, without spaces or '+'; "
            "e.g. kopflow.example/buleleng-2025",
            name=show(name),
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
        raw = b64decode_strict(encoded)
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
        "key file {path} already exists; remove it, choose another path, or give --force "
        "to replace it (the old key is then lost)",
        path=str(path),
    )
