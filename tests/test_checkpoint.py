"""kopflow.audit.checkpoint: signed-note checkpoints, their keys and every way a note can be wrong."""

from __future__ import annotations

import ast
import base64
import hashlib
import os
import stat
import string
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import kopflow.audit.checkpoint as checkpoint_module
import kopflow.audit.keys as keys_module
from kopflow import i18n
from kopflow.audit.checkpoint import (
    Checkpoint,
    Signer,
    Verifier,
    generate_keypair,
    load_signer,
    load_verifier,
    parse_and_verify,
    sign_checkpoint,
    utc_timestamp,
)
from kopflow.errors import AuditError, InputError

EM_DASH = "\u2014"
HEAD = hashlib.sha256(b"head event").hexdigest()
CP = Checkpoint("kopflow.example/Kabupaten Buleleng", 1042, HEAD, "2025-01-31T08:00:00Z")

# The example of the module docstring, whole. Ed25519 is deterministic (RFC 8032), so a fixed
# seed gives fixed text: this freezes the format.
EXAMPLE_SEED = hashlib.sha256(b"kopflow checkpoint example").digest()
EXAMPLE_NAME = "kopflow.example/buleleng-2025"
EXAMPLE_VKEY = "kopflow.example/buleleng-2025+0a7cd365+AehyfKEgorSFDdF/FhGTRJk1VTllVFQyh6XrW1A1IgjI"
EXAMPLE_NOTE = (
    "kopflow.example/Kabupaten Buleleng\n"
    "1042\n"
    "JJpyP92qnfsrnClHqzz/YxtGYWCo59psxdzV/TljSsw=\n"
    "kopflow-audit-v1 249a723fddaa9dfb2b9c2947ab3cff631b466160a8e7da6cc5dcd5fd39634acc"
    " 2025-01-31T08:00:00Z\n"
    "\n"
    f"{EM_DASH} kopflow.example/buleleng-2025 "
    "CnzTZUQcqRlxiuvEn3tKfwyWBYPdk+L1ip6GIV6yk8QdeWmp94At7KGE6CBK10c1c5qgDvab1sBDm1Djav8SGfcTvQQ=\n"
)

# The reference vector of Go's golang.org/x/mod/sumdb/note (note_test.go): matching it byte for
# byte means Go tools read our keys and signatures and we read theirs.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
GO_NOTE = f"{GO_TEXT}\n{EM_DASH} PeterNeumann {GO_SIG}\n"


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Assert on English messages; monkeypatch puts the language back afterwards."""
    monkeypatch.setattr(i18n, "_current", "en")


@pytest.fixture
def signer() -> Signer:
    return Signer(EXAMPLE_NAME, EXAMPLE_SEED)


@pytest.fixture
def verifier(signer: Signer) -> Verifier:
    return signer.verifier()


def _independent_key_id(name: str, public_key: bytes) -> int:
    """The signed-note spec's formula, written out again without kopflow's code."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\x0a" + b"\x01" + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _signed(text: str, signer: Signer) -> str:
    """A signed note of any text, assembled by hand (to sign bodies kopflow would not write)."""
    blob = signer.key_id.to_bytes(4, "big") + signer.sign(text.encode("utf-8"))
    return f"{text}\n{EM_DASH} {signer.name} {base64.b64encode(blob).decode()}\n"


# --- format -----------------------------------------------------------------------------------


def test_round_trip(signer: Signer, verifier: Verifier) -> None:
    note = sign_checkpoint(CP, signer)
    assert parse_and_verify(note, verifier) == CP


def test_round_trip_of_empty_chain_and_unicode_origin(signer: Signer, verifier: Verifier) -> None:
    cp = Checkpoint("Koperasi Desa Merah Putih — Kutai Kartanegara", 0, "0" * 64, utc_timestamp())
    assert parse_and_verify(sign_checkpoint(cp, signer), verifier) == cp


def test_known_answer(signer: Signer) -> None:
    assert sign_checkpoint(CP, signer) == EXAMPLE_NOTE
    assert signer.verifier().vkey == EXAMPLE_VKEY


def test_module_docstring_example_is_true() -> None:
    """The docstrings show the known-answer note (cut at '...') and its key (kopflow.audit.keys)."""
    doc = checkpoint_module.__doc__ or ""
    start = doc.index("::\n\n") + 4
    shown = [line.removeprefix("    ") for line in doc[start:].split("\n\n*")[0].split("\n")]
    full = EXAMPLE_NOTE.rstrip("\n").split("\n")
    assert len(shown) == len(full)
    for cut, whole in zip(shown, full, strict=True):
        head, _, tail = cut.partition("...")
        assert whole.startswith(head) and whole.endswith(tail), (cut, whole)
    assert EXAMPLE_VKEY in (keys_module.__doc__ or "").replace("\n", "")


def test_body_lines_follow_tlog_checkpoint(signer: Signer) -> None:
    lines = sign_checkpoint(CP, signer).split("\n")
    assert lines[0] == CP.origin
    assert lines[1] == "1042"
    assert base64.b64decode(lines[2], validate=True) == bytes.fromhex(HEAD)
    assert lines[3] == f"kopflow-audit-v1 {HEAD} 2025-01-31T08:00:00Z"
    assert lines[4] == ""
    assert lines[5].startswith(f"{EM_DASH} {EXAMPLE_NAME} ")
    assert lines[6:] == [""]


def test_key_id_matches_signed_note_spec(signer: Signer, verifier: Verifier) -> None:
    expected = _independent_key_id(EXAMPLE_NAME, verifier.public_key)
    assert verifier.key_id == signer.key_id == expected
    name, key_id_hex, key_b64 = verifier.vkey.split("+")
    assert (name, int(key_id_hex, 16)) == (EXAMPLE_NAME, expected)
    assert base64.b64decode(key_b64) == b"\x01" + verifier.public_key
    signature_line = sign_checkpoint(CP, signer).split("\n")[5]
    blob = base64.b64decode(signature_line.rsplit(" ", 1)[1])
    assert int.from_bytes(blob[:4], "big") == expected
    assert len(blob) == 4 + 64


def test_go_reference_keys_and_signature() -> None:
    go_signer = Signer.from_skey(GO_SKEY)
    go_verifier = Verifier.from_vkey(GO_VKEY)
    assert go_signer.key_id == go_verifier.key_id == 0xC74F20A3
    assert go_verifier.key_id == _independent_key_id("PeterNeumann", go_verifier.public_key)
    assert go_signer.skey == GO_SKEY
    assert go_signer.verifier().vkey == GO_VKEY
    assert _signed(GO_TEXT, go_signer) == GO_NOTE


def test_go_note_verifies_but_is_not_a_checkpoint() -> None:
    """The signature check passes first (else the error would say so), then the body parse."""
    with pytest.raises(AuditError, match="malformed checkpoint: the text must have 4 lines"):
        parse_and_verify(GO_NOTE, Verifier.from_vkey(GO_VKEY))
    with pytest.raises(AuditError, match="bad checkpoint signature"):
        parse_and_verify(GO_NOTE.replace("answer", "Answer"), Verifier.from_vkey(GO_VKEY))


# --- tampering and keys -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Buleleng", "Bulelenk"),
        ("\n1042\n", "\n1041\n"),
        ("JJpyP92q", "JJpyP92r"),
        ("kopflow-audit-v1 249a", "kopflow-audit-v1 249b"),
        ("2025-01-31T08", "2025-01-31T09"),
    ],
    ids=["origin", "size", "hash-line-3", "hash-line-4", "timestamp"],
)
def test_changed_field_fails(old: str, new: str, verifier: Verifier) -> None:
    assert old in EXAMPLE_NOTE
    with pytest.raises(AuditError, match="bad checkpoint signature by key"):
        parse_and_verify(EXAMPLE_NOTE.replace(old, new, 1), verifier)


def test_every_changed_body_character_fails(verifier: Verifier) -> None:
    body_length = EXAMPLE_NOTE.index("\n\n") + 1
    for i, char in enumerate(EXAMPLE_NOTE[:body_length]):
        if char == "\n":
            continue
        for replacement in ("x" if char != "x" else "y", "+"):
            forged = EXAMPLE_NOTE[:i] + replacement + EXAMPLE_NOTE[i + 1 :]
            with pytest.raises(AuditError):
                parse_and_verify(forged, verifier)


def test_changed_signature_fails(verifier: Verifier) -> None:
    body, _, line = EXAMPLE_NOTE.rpartition(f"{EM_DASH} ")
    name, encoded = line.rstrip("\n").split(" ")
    blob = bytearray(base64.b64decode(encoded))
    blob[10] ^= 0x01
    forged = f"{body}{EM_DASH} {name} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(AuditError, match="bad checkpoint signature"):
        parse_and_verify(forged, verifier)


def test_other_key_with_same_name_fails(signer: Signer) -> None:
    other = Signer(EXAMPLE_NAME, hashlib.sha256(b"another seed").digest()).verifier()
    with pytest.raises(AuditError) as caught:
        parse_and_verify(sign_checkpoint(CP, signer), other)
    message = str(caught.value)
    assert message.startswith(f"checkpoint is not signed by key {EXAMPLE_NAME}+{other.key_id:08x}")
    assert f"{EXAMPLE_NAME}+{signer.key_id:08x}" in message  # says which key did sign
    assert "\n" not in message


def test_other_key_name_fails(signer: Signer) -> None:
    other = Signer("kopflow.example/kediri", EXAMPLE_SEED).verifier()
    with pytest.raises(AuditError, match="not signed by key kopflow.example/kediri"):
        parse_and_verify(sign_checkpoint(CP, signer), other)


def test_signatures_by_other_keys_are_ignored(signer: Signer, verifier: Verifier) -> None:
    """signed-note: unknown signatures (a witness's, a rotated key's) must not matter."""
    witness = Signer("witness.example/w1", hashlib.sha256(b"witness").digest())
    note = sign_checkpoint(CP, signer)
    witness_line = _signed(note.split("\n\n")[0] + "\n", witness).split("\n\n")[1]
    assert parse_and_verify(note + witness_line, verifier) == CP
    body, _, own_line = note.partition("\n\n")
    assert parse_and_verify(f"{body}\n\n{witness_line}{own_line}", verifier) == CP


def test_keypair_files(tmp_path: Path) -> None:
    private, public = tmp_path / "buleleng.key", tmp_path / "buleleng.pub"
    generate_keypair(private, public, "kopflow.example/buleleng")
    signer, verifier = load_signer(private), load_verifier(public)
    assert private.read_text().startswith("PRIVATE+KEY+kopflow.example/buleleng+")
    assert public.read_text() == verifier.vkey + "\n"
    assert signer.key_id == verifier.key_id
    assert verifier.key_id == _independent_key_id(verifier.name, verifier.public_key)
    assert parse_and_verify(sign_checkpoint(CP, signer), verifier) == CP


def test_private_key_file_is_0600_even_with_open_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        generate_keypair(tmp_path / "k", tmp_path / "k.pub", "kopflow.example/k")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def test_private_key_file_is_created_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mode is given to open() itself: no moment when the file is readable by others. The
    key is written to a temporary file beside it first (issue #14: every output is atomic),
    which already has the mode when it takes the key's name."""
    calls: list[tuple[str, int, int]] = []
    real_open = os.open

    def spy(path: str, flags: int, mode: int = 0o777, **kwargs: object) -> int:
        calls.append((os.fspath(path), flags, mode))
        return real_open(path, flags, mode, **kwargs)  # type: ignore[arg-type]  # passthrough

    monkeypatch.setattr(os, "open", spy)
    generate_keypair(tmp_path / "k", tmp_path / "k.pub", "kopflow.example/k")
    path, flags, mode = calls[0]
    assert Path(path).parent == tmp_path and Path(path).name.startswith(".k.")
    assert mode == 0o600
    assert flags & os.O_CREAT and flags & os.O_EXCL
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k", "k.pub"]


@pytest.mark.parametrize("existing", ["private", "public"], ids=["private", "public"])
def test_keygen_refuses_to_overwrite(tmp_path: Path, existing: str) -> None:
    paths = {"private": tmp_path / "k", "public": tmp_path / "k.pub"}
    paths[existing].write_text("precious\n")
    with pytest.raises(InputError) as caught:
        generate_keypair(paths["private"], paths["public"], "kopflow.example/k")
    message = str(caught.value)
    assert str(paths[existing]) in message
    assert "remove it, choose another path, or give --force" in message
    assert paths[existing].read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [paths[existing].name]


def test_keygen_refuses_a_planted_symlink(tmp_path: Path) -> None:
    (tmp_path / "k").symlink_to(tmp_path / "elsewhere")
    for force in (False, True):
        with pytest.raises(InputError, match="is a symbolic link"):
            generate_keypair(tmp_path / "k", tmp_path / "k.pub", "kopflow.example/k", force=force)
    assert not (tmp_path / "elsewhere").exists()


def test_keygen_refuses_one_file_for_both(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="two different files"):
        generate_keypair(tmp_path / "k", tmp_path / "k", "kopflow.example/k")


@pytest.mark.parametrize(
    "name",
    ["", "has space", "plus+sign", "tab\there", "nbsp\u00a0here", "line\nbreak"],
    ids=["empty", "space", "plus", "tab", "nbsp", "newline"],
)
def test_invalid_key_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="must be non-empty, without spaces or"):
        generate_keypair(tmp_path / "k", tmp_path / "k.pub", name)
    assert list(tmp_path.iterdir()) == []


def test_signer_repr_hides_the_seed(signer: Signer) -> None:
    seed_b64 = signer.skey.rsplit("+", 1)[1]
    assert seed_b64 not in repr(signer) and EXAMPLE_SEED.hex() not in repr(signer)


def _mangle_key_id(text: str) -> str:
    prefix = "PRIVATE+KEY+" if text.startswith("PRIVATE+KEY+") else ""
    name, key_id, key = text.removeprefix(prefix).split("+", 2)  # base64 may hold "+"
    return f"{prefix}{name}+{int(key_id, 16) ^ 1:08x}+{key}"


@pytest.mark.parametrize(
    ("loader", "content", "words"),
    [
        (load_signer, None, "does not exist"),
        (load_verifier, None, "does not exist"),
        (load_signer, "hello\n", "not a signed-note private key"),
        (load_verifier, "hello\n", "not a signed-note public key"),
        (load_signer, EXAMPLE_VKEY, "holds a public key"),
        (load_verifier, GO_SKEY, "this is a private key"),
        (load_verifier, _mangle_key_id(GO_VKEY), "key ID c74f20a2 does not match"),
        (load_signer, _mangle_key_id(GO_SKEY), "does not match"),
        (load_verifier, "PeterNeumann+c74f20a3+!!!!", "the key is not base64"),
        (load_verifier, "PeterNeumann+c74f20a3+AhpjZA==", "not an Ed25519 key"),
        (load_verifier, "Peter Neumann+c74f20a3+" + GO_VKEY.split("+")[2], "without spaces"),
        (load_signer, b"\xff\xfe", "not a text file"),
    ],
    ids=[
        "private-missing",
        "public-missing",
        "private-garbled",
        "public-garbled",
        "public-given-to-signer",
        "private-given-to-verifier",
        "public-key-id-mismatch",
        "private-key-id-mismatch",
        "not-base64",
        "wrong-key-type",
        "name-with-space",
        "binary",
    ],
)
def test_key_file_errors(
    tmp_path: Path, loader: object, content: str | bytes | None, words: str
) -> None:
    path = tmp_path / "key"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as caught:
        loader(path)  # type: ignore[operator]  # parametrized callable
    message = str(caught.value)
    assert words in message
    assert str(path) in message
    assert "\n" not in message


def test_key_file_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read key file"):
        load_verifier(tmp_path)


def test_key_files_tolerate_windows_line_end(tmp_path: Path) -> None:
    (tmp_path / "k.pub").write_bytes(GO_VKEY.encode() + b"\r\n")
    assert load_verifier(tmp_path / "k.pub").vkey == GO_VKEY


# --- malformed notes --------------------------------------------------------------------------

_BODY = EXAMPLE_NOTE.split("\n\n")[0] + "\n"
_SIGNATURE = EXAMPLE_NOTE.split("\n\n")[1]


def _body_with(line_number: int, value: str) -> str:
    lines = _BODY.split("\n")
    lines[line_number - 1] = value
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("note", "words"),
    [
        ("", "no blank line between the text and the signatures"),
        (_BODY + _SIGNATURE, "no blank line"),
        (_BODY + "\n", "no signature line after the blank line"),
        (EXAMPLE_NOTE.rstrip("\n"), "does not end with a newline"),
        (EXAMPLE_NOTE + "\n", "no signature line after the blank line"),
        (EXAMPLE_NOTE.replace("\n", "\r\n"), "Windows line endings"),
        (EXAMPLE_NOTE.replace("Buleleng", "Bule\x00leng"), "control character"),
        (EXAMPLE_NOTE.replace("Buleleng", "Bule\ud800leng"), "not valid UTF-8"),
        (EXAMPLE_NOTE.replace(EM_DASH, "-"), "signature line 1 is not"),
        (EXAMPLE_NOTE.replace(EM_DASH + " ", EM_DASH), "signature line 1 is not"),
        (EXAMPLE_NOTE.replace("CnzTZ", "Cnz!Z"), "signature line 1 is not"),
        (EXAMPLE_NOTE + _SIGNATURE.replace(EXAMPLE_NAME, "a b"), "signature line 2 is not"),
        (f"{_BODY}\n{EM_DASH} k AAAA\n", "signature line 1 is not"),
        (_BODY + "\n" + _SIGNATURE * 101, "more than 100 signature lines"),
    ],
    ids=[
        "empty",
        "no-blank-line",
        "no-signatures",
        "no-final-newline",
        "trailing-blank-line",
        "crlf",
        "nul",
        "lone-surrogate",
        "hyphen-not-em-dash",
        "no-space-after-dash",
        "signature-not-base64",
        "bad-key-name-in-second-line",
        "signature-too-short",
        "too-many-signatures",
    ],
)
def test_malformed_notes(note: str, words: str, verifier: Verifier) -> None:
    with pytest.raises(AuditError) as caught:
        parse_and_verify(note, verifier)
    message = str(caught.value)
    assert message.startswith("malformed checkpoint: ")
    assert words in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (_BODY.replace("\n1042\n", "\n"), "must have 4 lines"),
        # A fifth line is only an export's claims line (issue #14).
        (_BODY + "extra line\n", "line 5 must be 'kopflow-export-v1 <hex hash>'"),
        (_BODY + "a\nb\n", "must have 4 lines"),
        (_body_with(1, ""), "checkpoint origin must be one non-empty line"),
        (_body_with(2, "01042"), "line 2 (size) must be a decimal number without leading zeros"),
        (_body_with(2, "+1042"), "line 2 (size)"),
        (_body_with(2, "١٠٤٢"), "line 2 (size)"),  # Arabic-Indic digits: int() would take them
        (_body_with(2, str(2**63)), "checkpoint size must be a whole number"),
        (_body_with(3, "JJpyP92q"), "line 3 (hash) must be the base64 of 32 bytes"),
        (_body_with(3, base64.b64encode(b"\x01" * 32).decode()), "differs from the hash"),
        (_body_with(4, f"kopflow-audit-v2 {HEAD} 2025-01-31T08:00:00Z"), "line 4 must be"),
        (_body_with(4, f"kopflow-audit-v1 {HEAD}  2025-01-31T08:00:00Z"), "line 4 must be"),
        (_body_with(4, f"kopflow-audit-v1 {HEAD.upper()} 2025-01-31T08:00:00Z"), "64 lowercase"),
        (_body_with(4, f"kopflow-audit-v1 {HEAD} 2025-02-30T08:00:00Z"), "timestamp must be"),
        (_body_with(4, f"kopflow-audit-v1 {HEAD} 2025-01-31T08:00:00+08:00"), "timestamp"),
    ],
    ids=[
        "three-lines",
        "five-lines",
        "six-lines",
        "empty-origin",
        "size-leading-zero",
        "size-plus-sign",
        "size-non-ascii-digits",
        "size-too-big",
        "hash-too-short",
        "hash-lines-disagree",
        "unknown-extension",
        "double-space",
        "uppercase-hex",
        "no-such-date",
        "not-utc",
    ],
)
def test_malformed_but_validly_signed_bodies(
    body: str, words: str, signer: Signer, verifier: Verifier
) -> None:
    """Bodies kopflow never writes, signed by the right key: the parser still refuses them."""
    with pytest.raises(AuditError) as caught:
        parse_and_verify(_signed(body, signer), verifier)
    message = str(caught.value)
    assert message.startswith("malformed checkpoint: ")
    assert words in message


# --- the Checkpoint value ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"origin": ""}, "origin"),
        ({"origin": "two\nlines"}, "origin"),
        ({"origin": "tab\there"}, "origin"),
        ({"size": -1}, "size"),
        ({"size": True}, "size"),
        ({"size": "5"}, "size"),
        ({"head_hash": HEAD[:-1]}, "head hash"),
        ({"head_hash": HEAD.upper()}, "head hash"),
        ({"head_hash": b"x" * 64}, "head hash"),
        ({"timestamp": "2025-01-31 08:00:00"}, "timestamp"),
        ({"timestamp": "2025-01-31T08:00:00.5Z"}, "timestamp"),
    ],
    ids=[
        "empty-origin",
        "multiline-origin",
        "control-in-origin",
        "negative-size",
        "bool-size",
        "str-size",
        "short-hash",
        "uppercase-hash",
        "bytes-hash",
        "timestamp-space",
        "timestamp-fraction",
    ],
)
def test_checkpoint_fields_are_validated(fields: dict[str, object], words: str) -> None:
    values: dict[str, object] = {
        "origin": CP.origin,
        "size": CP.size,
        "head_hash": CP.head_hash,
        "timestamp": CP.timestamp,
    }
    values.update(fields)
    with pytest.raises(InputError, match=words):
        Checkpoint(**values)  # type: ignore[arg-type]  # deliberately wrong types


def test_utc_timestamp() -> None:
    wita = timezone(timedelta(hours=8))  # Bali's time zone
    bali_afternoon = datetime(2025, 1, 31, 16, 0, 0, 999, tzinfo=wita)
    assert utc_timestamp(bali_afternoon) == "2025-01-31T08:00:00Z"
    assert Checkpoint(CP.origin, 1, HEAD, utc_timestamp()).timestamp.endswith("Z")
    with pytest.raises(ValueError, match="aware"):
        utc_timestamp(datetime(2025, 1, 31))
    assert utc_timestamp(datetime(2025, 1, 31, tzinfo=UTC)) == "2025-01-31T00:00:00Z"


# --- messages and imports ---------------------------------------------------------------------


def _msgids() -> list[str]:
    """Every English text of checkpoint.py and keys.py that reaches a user: _() and errors."""
    found = []
    for module in (checkpoint_module, keys_module):
        found += _module_msgids(Path(module.__file__ or ""))
    return found


def _module_msgids(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            first = node.args[0]
            if name in {"_", "InputError", "AuditError"} and isinstance(first, ast.Constant):
                assert isinstance(first.value, str)
                found.append(first.value)
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_an_indonesian_translation() -> None:
    from i18n_helpers import translations

    msgids = _msgids()
    assert len(msgids) > 20
    for msgid in msgids:
        assert msgid in translations(), msgid
        assert _fields(translations()[msgid]) == _fields(msgid), msgid


def test_errors_are_translated(monkeypatch: pytest.MonkeyPatch, verifier: Verifier) -> None:
    monkeypatch.setattr(i18n, "_current", "id")
    with pytest.raises(AuditError) as caught:
        parse_and_verify(EXAMPLE_NOTE.replace("1042", "1043"), verifier)
    assert "checkpoint signature" not in str(caught.value)


def test_import_is_light() -> None:
    """cryptography loads when a key is used, not when kopflow.audit.checkpoint or .keys is imported."""
    code = "import sys, kopflow.audit.checkpoint, kopflow.audit.keys; print('cryptography' in sys.modules)"
    root = Path(__file__).resolve().parents[1]  # import this checkout even if not installed
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "False"
