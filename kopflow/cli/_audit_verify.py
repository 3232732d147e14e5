"""``audit verify``'s file checks: checkpoint notes read and matched to the log, and an export
verified without any database. Imports nothing heavy at module level.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kopflow.cli._output import emit_json, ok
from kopflow.errors import AuditError, InputError
from kopflow.i18n import _

if TYPE_CHECKING:
    from kopflow.audit.checkpoint import Checkpoint


def checkpoint_line(path: Path, cp: Checkpoint, key: str) -> str:
    """The line that reports a checkpoint the database matches."""
    return _(
        "Matches checkpoint {file} of {timestamp} (event {size}, signed by {key}).",
        file=str(path),
        timestamp=cp.timestamp,
        size=cp.size,
        key=key,
    )


def require_same_log(path: Path, cp: Checkpoint, log_id: str) -> None:
    """Refuse a checkpoint of another log (AuditError): its sizes say nothing about this one."""
    if cp.origin != log_id:
        raise AuditError(
            "checkpoint {file} is for log {origin}; this database holds log {log}",
            file=str(path),
            origin=cp.origin,
            log=log_id,
        )


def read_note(path: Path) -> str:
    """The text of a checkpoint file (InputError if missing, AuditError if unreadable)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("{path} does not exist", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise AuditError("cannot read {path}: {reason}", path=str(path), reason=err) from None


def verify_file(
    path: Path, verifier: Any, checkpoints: list[str], strict: bool, as_json: bool
) -> None:
    """Verify the JSONL export at ``path`` offline and report it.

    Raises:
        InputError: there is no such file.
        AuditError: the export does not verify.
    """
    from kopflow.audit.bundle import EXPORT_FORMAT, verify_export

    if not path.exists():
        raise InputError("{path} does not exist", path=str(path))
    check = verify_export(path, verifier=verifier, checkpoints=checkpoints, strict=strict)
    if as_json:
        emit_json(check.as_dict())
    if not check.ok:
        if check.problem_seq is None:
            raise AuditError("the export does not verify: {problem}", problem=check.problem)
        raise AuditError(
            "the export does not verify at event {seq}: {problem}",
            seq=check.problem_seq,
            problem=check.problem,
        )
    if as_json:
        return
    if check.complete:
        ok(
            _(
                "Export verified: the whole chain, events 1 to {last}, of log {log}.",
                last=check.last_seq or 0,
                log=check.log_id,
            )
        )
    else:
        ok(
            _(
                "Export verified: a selection of {count} events of log {log}, filters "
                "{filters}: {events}. Each hash was recomputed and {links} links between "
                "consecutive events checked; a selection cannot show that no event is missing "
                "between them.",
                count=check.events,
                log=check.log_id,
                filters=json.dumps(check.filters, ensure_ascii=False, sort_keys=True),
                events=covered(check.ranges),
                links=check.links,
            )
        )
    if check.signature_checked:
        own, *kept = check.checkpoints
        ok(
            _(
                "Its checkpoint of {timestamp} is signed by {key}: the chain head was event "
                "{size}, and what the manifest says of this export is signed with it.",
                timestamp=own.timestamp,
                size=own.size,
                key=verifier.name,
            )
        )
        for cp in kept:
            if cp in check.uncompared:
                ok(
                    _(
                        "Checkpoint of {timestamp} (event {size}) is signed by {key} but was not "
                        "compared: event {size} is not in this selection.",
                        timestamp=cp.timestamp,
                        size=cp.size,
                        key=verifier.name,
                    )
                )
            else:
                ok(
                    _(
                        "Checkpoint of {timestamp} (event {size}) is signed by {key} and agrees.",
                        timestamp=cp.timestamp,
                        size=cp.size,
                        key=verifier.name,
                    )
                )
    elif check.has_checkpoint:
        ok(_("The checkpoint's signature was NOT checked: give --key PUBLIC_KEY."))
    else:
        ok(_("This export has no signed checkpoint: it shows only that the file is consistent."))
    if check.format != EXPORT_FORMAT:
        ok(
            _(
                "This export was written by an older kopflow ({old}); its claims are signed "
                "by nothing: export the events again for a bundle --key can vouch for.",
                old=check.format,
            )
        )


def covered(ranges: list[tuple[int, int]]) -> str:
    """Which events an export holds: ``3, 5 to 9, 12`` (``none`` for an empty file)."""
    if not ranges:
        return _("none")
    return ", ".join(
        str(first) if first == last else _("{first} to {last}", first=first, last=last)
        for first, last in ranges
    )
