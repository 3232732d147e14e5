"""Writing audit exports: the authoritative JSONL bundle (events, signed checkpoint, manifest)
and the readable CSV and XLSX views.

Reads events through :mod:`kopflow.audit.chain` and never writes the database; the bundle's format and
its offline check live in :mod:`kopflow.audit.bundle`. Every writer streams, so memory stays bounded
however long the chain is. The formats are documented for auditors in ``docs/audit.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kopflow.audit.bundle import (
    checkpoint_path,
    jsonl_line,
    manifest_head,
    manifest_path,
    manifest_text,
)
from kopflow.audit.chain import (
    GENESIS_HASH,
    EventFilter,
    Row,
    check_head,
    iter_rows,
    read_head,
    select_events,
    verify_database,
    verify_events,
)
from kopflow.errors import AuditError, InputError
from kopflow.store.outfile import check_target, write_file

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.audit.keys import Signer

FORMATS = ("jsonl", "csv", "xlsx")
# A spreadsheet may read a cell starting with one of these as a formula (OWASP "CSV
# injection"; the full-width forms count in some locales): such text gets a leading "'".
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
HEADER = ("seq", "at", "actor", "role", "action", "coop", "details", "prev_hash", "hash")
XLSX_CELL_MAX = 32_767  # Excel's limit on the text of one cell
XLSX_SHEET_ROWS = 1_000_000  # events per worksheet (Excel stops at 1,048,576 rows)
_BATCH = 5_000


@dataclass
class ExportSummary:
    """What an export wrote."""

    path: Path
    format: str
    events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    complete: bool = False
    log_id: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    checkpoint: Path | None = None
    manifest: Path | None = None
    signed_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {
            "path": str(self.path),
            "format": self.format,
            "events": self.events,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "complete": self.complete,
            "log": self.log_id,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "manifest": str(self.manifest) if self.manifest else None,
            "signed_by": self.signed_by,
        }


# --- writing -----------------------------------------------------------------------------------


def export(
    conn: Connection,
    out: Path,
    fmt: str,
    flt: EventFilter,
    *,
    signer: Signer | None = None,
    now: str | None = None,
    force: bool = False,
    protected: Iterable[Path] = (),
) -> ExportSummary:
    """Write the events ``flt`` selects to ``out`` in format ``fmt``.

    A JSONL export is a bundle of three files: ``out``, ``out.checkpoint`` (signed by
    ``signer``; none when ``signer`` is None) and ``out.manifest``. With a signer the chain must
    verify first: kopflow never signs a broken chain, and the checkpoint also signs the
    manifest's claims (its line 5). CSV and XLSX are one file each. Every file is written
    through :func:`kopflow.store.outfile.write_file`.

    Args:
        conn: a :func:`kopflow.audit.chain.snapshot` connection.
        out: the file to write; no file of the bundle may exist yet unless ``force``.
        fmt: ``jsonl``, ``csv`` or ``xlsx``.
        flt: which events; an empty filter exports the whole chain.
        signer: the private key that signs the checkpoint (JSONL only).
        now: the checkpoint's timestamp (default: now).
        force: replace existing files of the bundle (``--force``).
        protected: files never to write (the open database's).

    Raises:
        InputError: a file exists already, is refused or cannot be written; the files this
            export had begun are removed.
        AuditError: signing was asked and the chain does not verify.
    """
    from kopflow.audit.checkpoint import utc_timestamp

    if fmt not in FORMATS:
        raise InputError("unknown export format {fmt}; use jsonl, csv or xlsx", fmt=fmt)
    out = Path(out)
    protected = list(protected)
    bundle = [out, checkpoint_path(out), manifest_path(out)] if fmt == "jsonl" else [out]
    for path in bundle:
        check_target(path, force=force, protected=protected)
    if any(c in out.name for c in "\n\\"):
        raise InputError("the export file name must not contain a newline or a backslash")
    head = read_head(conn)
    summary = ExportSummary(out, fmt, complete=flt.is_empty, log_id=head.log_id)
    summary.head_seq, summary.head_hash = head.seq, head.hash
    stamp = now or utc_timestamp()
    new = {path for path in bundle if not os.path.lexists(path)}
    written: list[Path] = []
    try:
        if fmt == "jsonl":
            _export_jsonl(conn, summary, flt, signer, stamp, force, protected, written)
        else:
            rows = iter_rows(conn) if flt.is_empty else select_events(conn, flt)
            writer = _write_csv if fmt == "csv" else _write_xlsx
            write_file(
                out,
                lambda handle: writer(handle, _counting(rows, summary)),
                force=force,
                protected=protected,
            )
    except BaseException:
        # Half a bundle must not stay behind to be taken for an export (or block a retry).
        # Only files this export created go: never one another process made meanwhile.
        for path in written:
            if path in new:
                path.unlink(missing_ok=True)
        raise
    return summary


def _counting(rows: Iterable[Row], summary: ExportSummary) -> Iterator[Row]:
    for row in rows:
        if summary.first_seq is None:
            summary.first_seq = row[0]
        summary.last_seq = row[0]
        summary.events += 1
        yield row


class _HashingWriter:
    """A binary file wrapper that hashes what is written through it (in order, no seeking)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._sha = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._sha.update(data)
        return self._raw.write(data)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def _export_jsonl(
    conn: Connection,
    summary: ExportSummary,
    flt: EventFilter,
    signer: Signer | None,
    stamp: str,
    force: bool,
    protected: list[Path],
    written: list[Path],
) -> None:
    """Write the bundle; ``written`` gets each file once it has its name."""
    from kopflow.audit.checkpoint import Checkpoint, sign_checkpoint

    out = summary.path
    if signer is not None and not flt.is_empty:
        # A filtered export cannot show the chain: check it whole before signing its head.
        checked = verify_database(conn)
        if not checked.ok:
            raise _broken(checked.problem_seq, checked.problem)
    if flt.is_empty:
        rows: Iterable[Row] = iter_rows(conn)
    else:
        rows = select_events(conn, flt)
    digests: dict[str, str] = {}

    def write(raw: IO[bytes]) -> None:
        handle = _HashingWriter(raw)
        lines: list[bytes] = []

        def keep(row: Row) -> Row:
            lines.append(jsonl_line(row[0], row[8], row[6]))
            if len(lines) >= _BATCH:
                handle.write(b"".join(lines))
                lines.clear()
            return row

        counted = _counting(map(keep, rows), summary)
        if signer is not None and flt.is_empty:
            # The whole chain is read anyway: verify it in the same pass.
            result = check_head(conn, verify_events(counted))
            if not result.ok:
                raise _broken(result.problem_seq, result.problem)
        else:
            for _row in counted:
                pass
        handle.write(b"".join(lines))
        digests[out.name] = handle.hexdigest()

    write_file(out, write, force=force, protected=protected)
    written.append(out)
    summary.signed_by = signer.name if signer is not None else None
    head_line = manifest_head(
        {
            "canon": "kopflow-audit-v1",
            "complete": summary.complete,
            "events": summary.events,
            "exported_at": stamp,
            "file_sha256": digests[out.name],
            "filters": flt.as_dict(),
            "first_seq": summary.first_seq,
            "head_hash": summary.head_hash,
            "head_seq": summary.head_seq,
            "last_seq": summary.last_seq,
            "log": summary.log_id,
            "signed_by": summary.signed_by,
        }
    )
    beside = checkpoint_path(out)
    if signer is not None:
        # The signature covers the manifest's first line too: the claims an auditor reads there
        # (complete, filters, counts, the file's hash) cannot be edited without breaking it.
        claims = hashlib.sha256(head_line.encode("ascii")).hexdigest()
        cp = Checkpoint(summary.log_id, summary.head_seq, summary.head_hash, stamp, claims)
        note = sign_checkpoint(cp, signer).encode("utf-8")
        summary.checkpoint = beside
        digests[beside.name] = hashlib.sha256(note).hexdigest()
        write_file(beside, lambda h: h.write(note), force=force, protected=protected)
        written.append(beside)
    elif force and os.path.isfile(beside) and not os.path.islink(beside):
        beside.unlink()  # the replaced bundle's checkpoint would contradict the new manifest
    text = manifest_text(head_line, digests)
    summary.manifest = manifest_path(out)
    write_file(
        summary.manifest, lambda h: h.write(text.encode("ascii")), force=force, protected=protected
    )


def _broken(seq: int | None, problem: str | None) -> AuditError:
    return AuditError(
        "the audit chain does not verify at event {seq}: {problem}; nothing was signed",
        seq=seq,
        problem=problem,
    )


def _readable(row: Row) -> list[Any]:
    """One event as the columns of a readable view, from its hashed body."""
    seq, at, actor, role, action, coop_id, body, prev_hash, digest = row
    try:
        data = json.loads(body)
        details = json.dumps(
            data["details"], ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
        at, actor, role, action, coop_id = (
            data["at"],
            data["actor"],
            data["role"],
            data["action"],
            data["coop"],
        )
    except (ValueError, KeyError, TypeError):
        details = body  # not kopflow's JSON: show the stored text as it is
    return [seq, at, actor, role, action, coop_id, details, prev_hash, digest]


def safe_text(value: str) -> str:
    """``value`` made inert for spreadsheets: text that could start a formula gets a ``'``."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _write_csv(handle: IO[bytes], rows: Iterable[Row]) -> None:
    import csv
    import io

    # UTF-8 with a byte order mark, so spreadsheet programs read Indonesian names right.
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([safe_text(v) if isinstance(v, str) else v for v in _readable(row)])
    text.flush()
    text.detach()


def _write_xlsx(handle: IO[bytes], rows: Iterable[Row]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    sheet: Any = None
    widths = {"A": 10, "B": 28, "C": 16, "D": 10, "E": 20, "F": 14, "G": 80, "H": 20, "I": 20}

    def new_sheet(number: int) -> Any:
        ws = book.create_sheet("audit" if number == 1 else f"audit {number}")
        for column, width in widths.items():
            ws.column_dimensions[column].width = width
        ws.freeze_panes = "A2"
        ws.append(list(HEADER))
        return ws

    def cell(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if len(value) > XLSX_CELL_MAX:
            value = value[: XLSX_CELL_MAX - 40] + " [cut: the JSONL export has it whole]"
        if not value.startswith(FORMULA_START):
            return value
        escaped = WriteOnlyCell(sheet, value="'" + value)
        escaped.data_type = "s"  # text, whatever it looks like
        return escaped

    count = 0
    for row in rows:
        if count % XLSX_SHEET_ROWS == 0:
            sheet = new_sheet(count // XLSX_SHEET_ROWS + 1)
        sheet.append([cell(v) for v in _readable(row)])
        count += 1
    if sheet is None:
        new_sheet(1)
    book.save(handle)
