"""``kopflow audit ...``: read, verify, export and sign the audit log; make signing keys.

Only declaring the commands, parsing options and showing results live here: reading and
verifying the chain is :mod:`kopflow.audit.chain`, export files are :mod:`kopflow.audit.export`, signed
notes are :mod:`kopflow.audit.checkpoint` and keys :mod:`kopflow.audit.keys`. Choosing events is
``cli/_audit_events.py``; checking checkpoint and export files is ``cli/_audit_verify.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kopflow.cli import TranslatedGroup
from kopflow.cli._audit_events import event_as_shown, event_filter
from kopflow.cli._audit_verify import checkpoint_line, read_note, require_same_log, verify_file
from kopflow.cli._files import force_option, protected_files
from kopflow.cli._output import emit_json, json_option, ok, table
from kopflow.errors import AuditError, InputError, KopflowError
from kopflow.i18n import N_, _
from kopflow.text import escape

if TYPE_CHECKING:
    from kopflow.cli import App

DEFAULT_LOG_LIMIT = 100
_FilePath = click.Path(path_type=Path, dir_okay=False)


@click.group("audit", cls=TranslatedGroup, help=N_("Read, verify, export and sign the audit log."))
def audit_group() -> None:
    pass


def _filter_options(func: Any) -> Any:
    options = [
        click.option(
            "--coop", metavar="COOP", help=N_("Only events about this cooperative (id or village).")
        ),
        click.option("--actor", metavar="NAME", help=N_("Only events by this actor.")),
        click.option(
            "--action",
            metavar="ACTION",
            help=N_("Only this action, e.g. step.completed; 'step.*' matches a prefix."),
        ),
        click.option(
            "--since",
            metavar="WHEN",
            help=N_("Only events from this UTC day (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM:SS)."),
        ),
        click.option(
            "--until",
            metavar="WHEN",
            help=N_("Only events up to this UTC day (the whole day) or time (inclusive)."),
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@audit_group.command(
    "log",
    help=N_(
        "Show audit events, oldest first: who did what to which cooperative, when, and with "
        "what details. Without --limit the newest 100 matching events are shown."
    ),
)
@_filter_options
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=DEFAULT_LOG_LIMIT,
    show_default=True,
    help=N_("Show only the newest N matching events; 0 shows all."),
)
@json_option
@click.pass_obj
def audit_log(app: App, /, limit: int, as_json: bool, **filters: str | None) -> None:
    from kopflow.audit.chain import select_events, snapshot

    engine = app.engine
    with snapshot(engine.url) as conn:
        engine.actor(conn)
        flt = event_filter(engine, conn, limit=limit + 1 if limit else None, **filters)
        rows = list(select_events(conn, flt))
    more = bool(limit) and len(rows) > limit
    events = [event_as_shown(row) for row in (rows[1:] if more else rows)]
    if as_json:
        emit_json(events)
        return
    columns = [
        ("seq", N_("Audit #")),
        ("at", N_("Time (UTC)")),
        ("actor", N_("Actor")),
        ("coop", N_("Cooperative")),
        ("action", N_("Action")),
        ("details", N_("What happened")),
    ]
    table(
        _("{count} audit events", count=len(events)),
        columns,
        register(engine, events),
        optional=("action", "actor"),  # the sentence says it; a pipe keeps it for grep
    )
    if more:
        ok(_("Older events are not shown: use --limit N (0 for all) or --since."))


def register(engine: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit events as the rows of a register: who, when, and what happened in a sentence;
    a correction names what it changed from the version shown before it (issue #12)."""
    from kopflow.cli._history import Names, describe

    names = Names(engine)
    last: dict[tuple[str, str], dict[str, Any]] = {}
    rows = []
    for e in events:
        details = e["details"] if isinstance(e["details"], dict) else {"body": e["details"]}
        key = (str(e["coop"]), str(details.get("step", "")))
        said = describe(names, e["action"], details, last.get(key))
        if e["action"] in ("step.completed", "step.corrected"):
            last[key] = details.get("evidence") or {}
        elif e["action"] == "step.undone":
            last.pop(key, None)
        rows.append(
            {
                "seq": e["seq"],
                "at": str(e["at"])[:19].replace("T", " "),
                "actor": e["actor"],
                "coop": e["coop"] or "",
                "action": e["action"],
                "details": said,
            }
        )
    return rows


@audit_group.command(
    "verify",
    help=N_(
        "Recompute the audit chain and report the first broken, missing, inserted or reordered "
        "event by its number (exit code 7). With --checkpoint, also prove that the history up "
        "to each checkpoint is unchanged and not cut short. With --file, check an export "
        "without any database. With --strict, also compare the tables with the log, as "
        "'audit reconcile' does."
    ),
)
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=_FilePath,
    metavar="FILE",
    help=N_("A checkpoint kept earlier (repeatable); needs --key."),
)
@click.option(
    "--key",
    type=_FilePath,
    metavar="PUBLIC_KEY",
    help=N_("The public key that signed the checkpoints."),
)
@click.option(
    "--file",
    "export_file",
    type=_FilePath,
    metavar="EXPORT.jsonl",
    help=N_("Check this JSONL export (its manifest and checkpoint beside it), not the database."),
)
@click.option(
    "--strict",
    is_flag=True,
    help=N_(
        "Also check that every event is canonical JSON and that the tables agree with the log "
        "(slower)."
    ),
)
@json_option
@click.pass_obj
def audit_verify(
    app: App,
    checkpoints: tuple[Path, ...],
    key: Path | None,
    export_file: Path | None,
    strict: bool,
    as_json: bool,
) -> None:
    from kopflow.audit.keys import load_verifier

    if checkpoints and key is None:
        raise InputError("--checkpoint needs --key PUBLIC_KEY to check its signature")
    verifier = load_verifier(key) if key is not None else None
    if export_file is not None:
        texts = [read_note(path) for path in checkpoints]
        verify_file(export_file, verifier, texts, strict, as_json)
        return
    from kopflow.audit.chain import check_checkpoint, read_head, snapshot, verify_database
    from kopflow.audit.checkpoint import parse_and_verify
    from kopflow.log import get_logger
    from kopflow.store.db import resolve_url

    notes = (
        [(path, parse_and_verify(read_note(path), verifier)) for path in checkpoints]
        if verifier is not None
        else []  # checkpoints without --key were refused above
    )
    # Only the URL: verifying needs no actor and no plugins (a broken plugin must not stop it).
    with snapshot(resolve_url(app.options.get("db"))) as conn:
        head = read_head(conn)
        for path, cp in notes:
            require_same_log(path, cp, head.log_id)
        result = verify_database(conn, watch=[cp.size for _p, cp in notes], strict=strict)
        # --strict also compares the tables with the log (issue #14), in the same snapshot.
        reconciled = reconcile_tables(app, conn) if strict and result.ok else None
    for _path, cp in notes:
        check_checkpoint(result, cp)
    log = get_logger()
    data = {
        "ok": result.ok,
        "log": head.log_id,
        "events": result.count,
        "head": {"seq": result.head_seq, "hash": result.head_hash},
        "checkpoints": [
            {"file": str(p), "size": cp.size, "timestamp": cp.timestamp} for p, cp in notes
        ],
        "problem_seq": result.problem_seq,
        "problem": result.problem,
    }
    if reconciled is not None:
        data["reconcile"] = reconciled.as_dict()
    if as_json:
        emit_json(data)
    if not result.ok:
        log.warning("audit verify failed", problem_seq=result.problem_seq, problem=result.problem)
        raise AuditError(
            "the audit log does not verify at event {seq}: {problem}",
            seq=result.problem_seq,
            problem=result.problem,
        )
    if reconciled is not None and not as_json:
        for difference in reconciled.differences:
            click.echo(escape(difference.message))
    if reconciled is not None:
        _raise_if_differs(reconciled)
    log.info("audit verified", events=result.count, head_seq=result.head_seq)
    if as_json:
        return
    ok(
        _(
            "Audit log verified: events 1 to {seq}, head hash {hash}.",
            seq=result.head_seq,
            hash=result.head_hash,
        )
    )
    if verifier is not None:  # else there are no notes
        for path, cp in notes:
            ok(checkpoint_line(path, cp, verifier.name))


@audit_group.command(
    "export",
    help=N_(
        "Write audit events to a file. JSONL is the authoritative export: one event per line "
        "with its exact hashed content, plus FILE.checkpoint (signed with --key) and "
        "FILE.manifest (SHA-256 of each file); check it with 'kopflow audit verify --file'. "
        "CSV and XLSX are readable views, safe to open in a spreadsheet."
    ),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "xlsx"]),
    default="jsonl",
    show_default=True,
    help=N_("File format."),
)
@click.option("--out", type=_FilePath, required=True, metavar="FILE", help=N_("File to write."))
@_filter_options
@click.option("--limit", type=click.IntRange(min=1), help=N_("Only the newest N matching events."))
@click.option(
    "--key",
    type=_FilePath,
    metavar="PRIVATE_KEY",
    help=N_("Sign the export's checkpoint with this private key (JSONL)."),
)
@click.option(
    "--unsigned",
    is_flag=True,
    help=N_("Write a JSONL export without a checkpoint (and without verifying the chain first)."),
)
@force_option
@json_option
@click.pass_obj
def audit_export(
    app: App,
    /,
    fmt: str,
    out: Path,
    limit: int | None,
    key: Path | None,
    unsigned: bool,
    force: bool,
    as_json: bool,
    **filters: str | None,
) -> None:
    from kopflow.audit.chain import snapshot
    from kopflow.audit.export import export
    from kopflow.audit.keys import load_signer
    from kopflow.log import get_logger

    if fmt != "jsonl" and (key is not None or unsigned):
        raise InputError("--key and --unsigned go with --format jsonl")
    if fmt == "jsonl" and key is None and not unsigned:
        raise InputError(
            "a JSONL export comes with a signed checkpoint: give --key PRIVATE_KEY "
            "(see 'kopflow audit keygen'), or --unsigned for a bundle without one"
        )
    if key is not None and unsigned:
        raise InputError("give either --key or --unsigned, not both")
    signer = load_signer(key) if key is not None else None
    engine = app.engine
    with snapshot(engine.url) as conn:
        engine.actor(conn)
        flt = event_filter(engine, conn, limit=limit, **filters)
        summary = export(
            conn, out, fmt, flt, signer=signer, force=force, protected=protected_files(app.options)
        )
    get_logger().info(
        "audit exported",
        path=str(out),
        format=fmt,
        events=summary.events,
        audit_seq_first=summary.first_seq,
        audit_seq_last=summary.last_seq,
    )
    if as_json:
        emit_json(summary.as_dict())
        return
    ok(_("{count} audit events written to {path}.", count=summary.events, path=str(out)))
    if summary.checkpoint is not None:
        ok(
            _(
                "Checkpoint {path}: event {seq}, signed by {key}.",
                path=str(summary.checkpoint),
                seq=summary.head_seq,
                key=summary.signed_by,
            )
        )
    if summary.manifest is not None:
        ok(_("Manifest {path}.", path=str(summary.manifest)))


@audit_group.command(
    "checkpoint",
    help=N_(
        "Verify the audit chain, then sign its head (event number and hash) with your private "
        "key. Keep the checkpoint outside the database: 'kopflow audit verify --checkpoint' "
        "later proves the history up to it is unchanged and not cut short."
    ),
)
@click.option(
    "--key", type=_FilePath, required=True, metavar="PRIVATE_KEY", help=N_("Private key file.")
)
@click.option(
    "--out",
    type=_FilePath,
    metavar="FILE",
    help=N_("Write the checkpoint to this new file (default: print it)."),
)
@force_option
@click.pass_obj
def audit_checkpoint(app: App, key: Path, out: Path | None, force: bool) -> None:
    from kopflow.audit.chain import read_head, snapshot, verify_database
    from kopflow.audit.checkpoint import Checkpoint, sign_checkpoint, utc_timestamp
    from kopflow.audit.keys import load_signer
    from kopflow.log import get_logger
    from kopflow.store.outfile import check_target, write_file

    signer = load_signer(key)
    protected = protected_files(app.options)
    if out is not None:
        check_target(out, force=force, protected=protected)
    engine = app.engine
    with snapshot(engine.url) as conn:
        engine.actor(conn)
        head = read_head(conn)
        result = verify_database(conn)
    if not result.ok:
        raise AuditError(
            "the audit chain does not verify at event {seq}: {problem}; nothing was signed",
            seq=result.problem_seq,
            problem=result.problem,
        )
    note = sign_checkpoint(Checkpoint(head.log_id, head.seq, head.hash, utc_timestamp()), signer)
    get_logger().info("audit checkpoint", audit_seq=head.seq, key=signer.name)
    if out is None:
        click.echo(note, nl=False)
        return
    content = note.encode("utf-8")
    write_file(out, lambda handle: handle.write(content), force=force, protected=protected)
    ok(_("Checkpoint of event {seq} written to {path}.", seq=head.seq, path=str(out)))


@audit_group.command(
    "keygen",
    help=N_(
        "Make an Ed25519 key pair for signing checkpoints. The private key file is readable "
        "only by you; give the public key to auditors."
    ),
)
@click.option(
    "--out-private", type=_FilePath, required=True, metavar="PATH", help=N_("New private key file.")
)
@click.option(
    "--out-public", type=_FilePath, required=True, metavar="PATH", help=N_("New public key file.")
)
@click.option(
    "--name",
    metavar="NAME",
    help=N_("Key name, e.g. inspektorat.example/buleleng-2025 (default: kopflow-audit/HOST)."),
)
@force_option
@click.pass_obj
def audit_keygen(
    app: App, out_private: Path, out_public: Path, name: str | None, force: bool
) -> None:
    import socket

    from kopflow.audit.keys import generate_keypair, load_verifier

    name = name or f"kopflow-audit/{socket.gethostname() or 'localhost'}"
    generate_keypair(
        out_private, out_public, name, force=force, protected=protected_files(app.options)
    )
    ok(
        _(
            "Private key {private} (readable only by you); public key {public}: {vkey}",
            private=str(out_private),
            public=str(out_public),
            vkey=load_verifier(out_public).vkey,
        )
    )


# --- reconcile (issue #14) ----------------------------------------------------------------------


@audit_group.command(
    "reconcile",
    help=N_(
        "Replay the audit log into the state it implies (stages, versions, step records, "
        "enrolments, identifiers, actors) and compare it with the tables: name every "
        "difference, e.g. a stage changed in the database with no audit event (exit code 7). "
        "'audit verify --strict' runs it too."
    ),
)
@json_option
@click.pass_obj
def audit_reconcile(app: App, as_json: bool) -> None:
    from kopflow.audit.chain import snapshot
    from kopflow.store.db import resolve_url

    # Like verify: only the URL, no actor; a broken plugin costs only its steps' labels.
    with snapshot(resolve_url(app.options.get("db"))) as conn:
        result = reconcile_tables(app, conn)
    if as_json:
        emit_json(result.as_dict())
    else:
        for difference in result.differences:
            click.echo(escape(difference.message))
    _raise_if_differs(result)
    if not as_json:
        ok(
            _(
                "The tables agree with the audit log: {events} events, {coops} cooperatives, "
                "{actors} actors.",
                events=result.events,
                coops=result.cooperatives,
                actors=result.actors,
            )
        )


def reconcile_tables(app: App, conn: Any) -> Any:
    """Reconcile ``conn``'s database, naming stages and steps with the labels the user knows."""
    from kopflow.audit.reconcile import reconcile
    from kopflow.flow.spec import StepSpec, Workflow, find_workflow
    from kopflow.log import get_logger

    def workflows(name: str) -> Workflow | None:
        try:
            return find_workflow(name)
        except KopflowError:  # a definition gone from disk: stages show as their ids
            return None

    def steps(key: str) -> StepSpec | None:
        try:
            return app.engine.step_spec(key)[0]
        except KopflowError:  # a partner's step whose plugin is gone: the key is all there is
            return None

    result = reconcile(conn, workflows=workflows, steps=steps)
    log = get_logger()
    if result.ok:
        log.info("audit reconciled", events=result.events, coops=result.cooperatives)
    else:
        log.warning("audit reconcile found differences", differences=result.total)
    return result


def _raise_if_differs(result: Any) -> None:
    if not result.ok:
        raise AuditError(
            "the tables differ from the audit log (differences: {count}); the first: {first}",
            count=result.total,
            first=result.differences[0].message,
        )
