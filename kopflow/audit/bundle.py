"""The JSONL export bundle: its line format, file names and manifest, and its offline check
(``kopflow audit verify --file``), which needs no database.

The bundle is written by :mod:`kopflow.audit.export`; this module owns the format both sides share
and must accept exactly what that writes. The format is documented in ``docs/audit.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kopflow.audit.canonical import CANON_VERSION
from kopflow.audit.chain import GENESIS_HASH, broken_link, is_canonical, span
from kopflow.errors import AuditError
from kopflow.i18n import _

if TYPE_CHECKING:
    from kopflow.audit.checkpoint import Checkpoint
    from kopflow.audit.keys import Verifier

# v2 (issue #14): the manifest's first line states the events file's SHA-256, and the export's
# checkpoint signs that line. v1 manifests are still read, but their claims are signed by
# nothing, so they are refused when a key is given (docs/audit.md).
EXPORT_FORMAT = "kopflow-audit-export-v2"
OLD_FORMAT = "kopflow-audit-export-v1"


def checkpoint_path(out: Path) -> Path:
    """Where the checkpoint of the JSONL export ``out`` goes: ``out`` + ``.checkpoint``."""
    return out.with_name(out.name + ".checkpoint")


def manifest_path(out: Path) -> Path:
    """Where the manifest of the JSONL export ``out`` goes: ``out`` + ``.manifest``."""
    return out.with_name(out.name + ".manifest")


def jsonl_line(seq: int, digest: str, body: str) -> bytes:
    """One line of a JSONL export: ``{"seq":N,"hash":"<hex>","body":"<body as JSON string>"}``.

    The body string is escaped to ASCII, so each line is plain ASCII and ``json.loads`` gives
    back the exact stored body.
    """
    return b'{"seq":%d,"hash":"%s","body":%s}\n' % (
        seq,
        digest.encode("ascii"),
        encode_basestring_ascii(body).encode("ascii"),
    )


def manifest_head(meta: dict[str, Any]) -> str:
    """The first line of a manifest, without its newline: ``# kopflow-audit-export-v2 {json}``
    (ASCII; an export's checkpoint signs the SHA-256 of exactly these bytes)."""
    return f"# {EXPORT_FORMAT} {json.dumps(meta, sort_keys=True, separators=(',', ':'))}"


def manifest_text(head: str, files: dict[str, str]) -> str:
    """A manifest: the ``head`` line, then one ``sha256sum`` line per file."""
    return head + "\n" + "".join(f"{digest}  {name}\n" for name, digest in files.items())


# --- verifying a bundle offline ------------------------------------------------------------------


@dataclass
class ExportCheck:
    """What ``verify_export`` found in a JSONL export bundle."""

    path: Path
    log_id: str | None = None
    complete: bool = False
    events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    links: int = 0  # links checked between consecutive events
    gaps: int = 0  # places where the export skips events (filtered exports)
    filters: dict[str, Any] = field(default_factory=dict)
    # The events the file holds, as runs of consecutive sequence numbers (first, last).
    ranges: list[tuple[int, int]] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)  # signatures checked
    # Kept checkpoints whose event a filtered export does not hold: not compared.
    uncompared: list[Checkpoint] = field(default_factory=list)
    signature_checked: bool = False
    has_checkpoint: bool = False
    format: str = EXPORT_FORMAT
    problem_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def fail(self, seq: int | None, problem: str) -> None:
        """Keep the first problem found."""
        if self.problem is None:
            self.problem_seq, self.problem = seq, problem

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {
            "file": str(self.path),
            "ok": self.ok,
            "log": self.log_id,
            "complete": self.complete,
            "filters": self.filters,
            "events": self.events,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "links_checked": self.links,
            "gaps": self.gaps,
            "ranges": [list(run) for run in self.ranges],
            "format": self.format,
            "checkpoint_signature_checked": self.signature_checked,
            "checkpoints": [
                {
                    "origin": c.origin,
                    "size": c.size,
                    "hash": c.head_hash,
                    "timestamp": c.timestamp,
                    "compared": c not in self.uncompared,
                }
                for c in self.checkpoints
            ],
            "problem_seq": self.problem_seq,
            "problem": self.problem,
        }


def read_manifest(path: Path) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The first line, its metadata and the ``{file name: sha256}`` entries of a manifest
    (of this format or the older ``kopflow-audit-export-v1``).

    Raises:
        AuditError: the manifest is missing or not in the format ``export`` writes.
    """
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise AuditError(
            "no manifest {path} beside the export; an export is checked with its manifest",
            path=str(path),
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise AuditError("cannot read {path}: {reason}", path=str(path), reason=err) from None
    lines = text.splitlines()
    prefix = next(
        (
            f"# {v} "
            for v in (EXPORT_FORMAT, OLD_FORMAT)
            if lines and lines[0].startswith(f"# {v} ")
        ),
        None,
    )
    if prefix is None:
        raise AuditError(
            "{path} is not a kopflow export manifest: its first line must start with {prefix}",
            path=str(path),
            prefix=f"# {EXPORT_FORMAT}",
        )
    try:
        meta = json.loads(lines[0][len(prefix) :])
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise AuditError("{path}: the first line does not hold a JSON object", path=str(path))
    files: dict[str, str] = {}
    for line in lines[1:]:
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name or "/" in name or name in (".", ".."):
            raise AuditError("{path}: malformed line {line}", path=str(path), line=repr(line))
        files[name] = digest.lower()
    return lines[0], meta, files


def verify_export(
    path: Path,
    *,
    verifier: Verifier | None = None,
    checkpoints: Sequence[str] = (),
    strict: bool = False,
) -> ExportCheck:
    """Check a JSONL export without any database: its lines, its manifest and its checkpoint.

    Every line's hash is recomputed from its body and each event must name its position; where
    two lines hold consecutive events, the second must be chained to the first. A complete
    export must hold events 1 to N without a gap, ending at the head its checkpoint signs.

    Args:
        path: the ``.jsonl`` file; its ``.manifest`` (and ``.checkpoint``) lie beside it.
        verifier: the public key that signed the checkpoints; without it signatures are not
            checked and the result says so.
        checkpoints: texts of further checkpoints (kept by the auditor) to compare with.
        strict: also check that every body is canonical JSON.

    Raises:
        AuditError: the manifest is missing or malformed, or a checkpoint's signature fails.
    """
    from kopflow.audit.checkpoint import parse_and_verify

    path = Path(path)
    check = ExportCheck(path)
    head_line, meta, files = read_manifest(manifest_path(path))
    check.format = head_line.split(" ", 2)[1]
    check.log_id = meta.get("log")
    check.complete = meta.get("complete") is True
    check.filters = meta.get("filters") or {}
    notes: list[Checkpoint] = []
    beside = checkpoint_path(path)
    check.has_checkpoint = beside.exists()
    if verifier is not None:
        if check.format != EXPORT_FORMAT:
            raise AuditError(
                "{path} was written by an older kopflow ({old}): its checkpoint does not sign "
                "what its manifest claims, so --key cannot vouch for it; verify it without "
                "--key (consistency only), or export the events again",
                path=str(path),
                old=check.format,
            )
        if not check.has_checkpoint:
            # Without the export's own checkpoint nothing signed by the key covers this file,
            # whatever other checkpoints the auditor brings (issue #14).
            check.fail(
                None,
                _(
                    "the export carries no checkpoint signed by {key}: {name} is missing",
                    key=verifier.name,
                    name=beside.name,
                ),
            )
        texts = list(checkpoints)
        if check.has_checkpoint:
            texts.insert(0, _read_text(beside))
        for text in texts:
            cp = parse_and_verify(text, verifier)
            if cp.origin != check.log_id:
                raise AuditError(
                    "the checkpoint is for log {origin}, the export for log {log}",
                    origin=cp.origin,
                    log=check.log_id,
                )
            notes.append(cp)
        if check.has_checkpoint:
            _check_claims(check, notes[0], head_line, meta)
        # True only when the export's own checkpoint was checked: the one that covers it.
        check.signature_checked = check.has_checkpoint
    hashes = _scan_lines(path, check, {cp.size for cp in notes}, strict, files.get(path.name))
    if check.ok and path.name not in files:
        check.fail(None, _("the export {name} is not listed in its manifest", name=path.name))
    for name, digest in files.items():
        if name != path.name and check.ok and _file_sha256(path.with_name(name)) != digest:
            check.fail(None, _("{name} does not match its manifest: it was changed", name=name))
    if check.ok and check.has_checkpoint and beside.name not in files:
        check.fail(None, _("{name} is not listed in the manifest", name=beside.name))
    if check.ok and meta.get("signed_by") and not check.has_checkpoint:
        check.fail(None, _("the checkpoint {name} is missing", name=beside.name))
    if check.ok:
        _check_counts(check, meta, files.get(path.name))
    if check.ok and check.complete:
        _check_complete_head(check, meta)
    for number, cp in enumerate(notes):
        _check_against(check, cp, hashes, beside=check.has_checkpoint and number == 0)
    check.checkpoints = notes
    return check


def _check_claims(check: ExportCheck, cp: Checkpoint, head_line: str, meta: dict[str, Any]) -> None:
    """The export's own checkpoint must sign its manifest's first line, and the same head."""
    if cp.claims is None:
        check.fail(
            None,
            _(
                "the checkpoint beside the export does not sign the export's manifest "
                "(it is a checkpoint of the database, not of this export)"
            ),
        )
    elif cp.claims != hashlib.sha256(head_line.encode("ascii")).hexdigest():
        check.fail(
            None,
            _(
                "the manifest's first line (complete, filters, event count and range, file "
                "hash) is not what the checkpoint signed: it was edited after the export"
            ),
        )
    elif (cp.size, cp.head_hash) != (meta.get("head_seq"), meta.get("head_hash")):
        check.fail(None, _("the manifest names another chain head than its checkpoint"))


def _check_counts(check: ExportCheck, meta: dict[str, Any], listed: str | None) -> None:
    """The manifest's claims about the file (count, range, its hash) must be what it holds."""
    claimed = (meta.get("events"), meta.get("first_seq"), meta.get("last_seq"))
    held = (check.events, check.first_seq, check.last_seq)
    if claimed != held:
        check.fail(
            None,
            _(
                "the manifest claims {claimed} events ({first} to {last}); the file holds "
                "{count} ({held_first} to {held_last})",
                claimed=claimed[0],
                first=claimed[1],
                last=claimed[2],
                count=held[0],
                held_first=held[1],
                held_last=held[2],
            ),
        )
    elif check.format == EXPORT_FORMAT and meta.get("file_sha256") != listed:
        check.fail(
            None,
            _("the manifest's first line names another SHA-256 for {name}", name=check.path.name),
        )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AuditError("cannot read {path}: {reason}", path=str(path), reason=err) from None


def _file_sha256(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def _scan_lines(
    path: Path, check: ExportCheck, watch: set[int], strict: bool, listed: str | None
) -> dict[int, str]:
    """Check every line; returns the hashes at the ``watch`` sequence numbers."""
    found: dict[int, str] = {}
    file_hash = hashlib.sha256()
    prev_seq, prev_hash = 0, GENESIS_HASH
    try:
        handle = open(path, "rb")
    except OSError as err:
        raise AuditError("cannot read {path}: {reason}", path=str(path), reason=err) from None
    with handle:
        for number, line in enumerate(handle, start=1):
            file_hash.update(line)
            if not check.ok:
                continue
            seq, problem = _check_line(line, number, prev_seq, prev_hash, check.complete, strict)
            if problem is not None:
                check.fail(seq, problem)
                continue
            digest = json.loads(line)["hash"]
            if seq == prev_seq + 1:
                check.links += 1
            elif prev_seq or seq != 1:
                check.gaps += 1
            if check.ranges and check.ranges[-1][1] == seq - 1:
                check.ranges[-1] = (check.ranges[-1][0], seq)
            else:
                check.ranges.append((seq, seq))
            if check.first_seq is None:
                check.first_seq = seq
            if seq in watch:
                found[seq] = digest
            check.events += 1
            prev_seq, prev_hash = seq, digest
    check.last_seq = prev_seq or None
    check.last_hash = prev_hash if prev_seq else None
    if check.ok and listed is not None and file_hash.hexdigest() != listed:
        check.fail(None, _("{name} does not match its manifest: it was changed", name=path.name))
    return found


def _check_line(
    line: bytes, number: int, prev_seq: int, prev_hash: str, complete: bool, strict: bool
) -> tuple[int, str | None]:
    """(sequence number, problem or None) for one line of an export."""
    try:
        item = json.loads(line)
        seq, digest, body = item["seq"], item["hash"], item["body"]
        if set(item) != {"seq", "hash", "body"} or jsonl_line(seq, digest, body) != line:
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeError):
        return prev_seq + 1, _(
            "line {line} is not an export line (after event {seq})", line=number, seq=prev_seq
        )
    if seq <= prev_seq:
        return seq, _("event {seq} is out of order or repeated (line {line})", seq=seq, line=number)
    if complete and seq != prev_seq + 1:
        first = prev_seq + 1
        if first == seq - 1:
            return first, _("event {seq} is missing", seq=first)
        return first, _("events {first} to {last} are missing", first=first, last=seq - 1)
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != digest:
        return seq, _("event {seq} was changed: its hash does not match its content", seq=seq)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("seq") != seq or data.get("v") != CANON_VERSION:
        return seq, _("event {seq} does not name its own position in the chain", seq=seq)
    if seq == prev_seq + 1 and data.get("prev") != prev_hash:
        return broken_link(seq)
    if strict and not is_canonical(body):
        return seq, _("event {seq} is not in canonical form", seq=seq)
    return seq, None


def _check_complete_head(check: ExportCheck, meta: dict[str, Any]) -> None:
    """A complete export ends at the chain head its manifest names."""
    head_seq = meta.get("head_seq") or 0
    last = check.last_seq or 0
    head_hash = meta.get("head_hash") if head_seq else None
    if last != head_seq or check.last_hash != head_hash:
        check.fail(
            last + 1,
            _(
                "the export ends at event {last} but its manifest names event {head} "
                "as the chain head",
                last=last,
                head=head_seq,
            ),
        )


def _check_against(
    check: ExportCheck, cp: Checkpoint, hashes: dict[int, str], *, beside: bool
) -> None:
    """Compare the export with one signed checkpoint (``beside``: the export's own)."""
    if not check.ok:
        return
    last = check.last_seq or 0
    if beside and last > cp.size:
        check.fail(
            cp.size + 1,
            _(
                "added after the export's checkpoint: {events}; the checkpoint names event "
                "{size} as the head",
                events=span(cp.size + 1, last),
                size=cp.size,
            ),
        )
        return
    if cp.size == 0:
        return
    found = hashes.get(cp.size)
    if found is not None:
        if found != cp.head_hash:
            check.fail(
                cp.size,
                _(
                    "event {size} differs from the checkpoint of {timestamp}: "
                    "the history up to event {size} was rewritten",
                    size=cp.size,
                    timestamp=cp.timestamp,
                ),
            )
    elif not check.complete:
        if not beside:  # the export's own checkpoint covers it through its claims instead
            check.uncompared.append(cp)  # a selection without that event says nothing of it
    elif cp.size > last:
        check.fail(
            last + 1,
            _(
                "missing {events}: the checkpoint of {timestamp} names event {size}, "
                "the chain ends at event {last}",
                events=span(last + 1, cp.size),
                size=cp.size,
                timestamp=cp.timestamp,
                last=last,
            ),
        )
