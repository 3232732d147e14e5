"""The district report: what a district head and an auditor look at (issue #6).

:func:`collect` reads everything the report shows for one kabupaten/kota through the engine's
read API (status counts, the overdue list, partner steps, the audit chain) into a
:class:`ReportData`; :func:`kopflow.report.html.render` turns that into one self-contained
HTML file. Counts come from the same queries as ``kopflow status`` and ``kopflow coop list
--overdue``, so the page and the terminal never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kopflow.errors import AuditError, InputError
from kopflow.i18n import _, label

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.engine import Kopflow
    from kopflow.pipeline.work import CoopWork


@dataclass
class StageRow:
    """One stage: how many cooperatives are in it now, overdue, and reached it at least."""

    id: str
    label: str
    count: int
    overdue: int
    reached: int
    sla_days: int | None
    side: bool


@dataclass
class KecamatanRow:
    """One kecamatan: cooperatives per stage, overdue, and how many left the first stage."""

    name: str
    counts: dict[str, int]
    total: int
    overdue: int
    moved_on: int


@dataclass
class PartnerStep:
    """One onboarding step of a partner: how many enrolled cooperatives did it, wait at it."""

    key: str
    label: str
    required: bool
    done: int
    waiting: int


@dataclass
class PartnerPipeline:
    """A partner's onboarding in the region: enrolled, fully onboarded, and per step."""

    code: str
    name: str
    required: bool
    enrolled: int
    complete: int
    steps: list[PartnerStep]
    # Notifications to the partner about this region's cooperatives not delivered yet, and
    # how many of them failed (issue #13: a delivery failure is visible in the report too).
    undelivered: int = 0
    failed: int = 0


@dataclass
class OverdueRow:
    """A cooperative past its stage's deadline, and the required steps it still lacks."""

    id: str
    village: str
    kecamatan: str
    stage: str
    stage_label: str
    since: str
    days_in_stage: int
    days_overdue: int
    missing: list[str]


@dataclass
class CheckpointStatus:
    """A signed checkpoint given with ``--checkpoint``, compared with the stored chain."""

    origin: str
    size: int
    timestamp: str
    key: str
    matches: bool
    problem: str | None = None


@dataclass
class AuditStatus:
    """How far the audit chain verifies, and the checkpoint if one was given."""

    ok: bool
    head_seq: int
    events: int
    problem: str | None
    log_id: str
    checkpoint: CheckpointStatus | None = None


@dataclass
class ReportData:
    """Everything the report shows, in the language chosen when it was collected."""

    region: str
    as_of: date
    generated_at: str
    workflow: str
    total: int
    stages: list[StageRow]
    kecamatan: list[KecamatanRow]
    partners: list[PartnerPipeline]
    overdue: list[OverdueRow]
    audit: AuditStatus
    extra: dict[str, Any] = field(default_factory=dict)
    # Forums, leads and agreements of the region (issue #16): rules.partnership_reads'
    # region_summary, as it stands now (leads have no --as-of history yet).
    partnership: dict[str, Any] = field(default_factory=dict)


def collect(
    engine: Kopflow,
    region: str,
    *,
    as_of: date | None = None,
    checkpoint: Path | None = None,
    key: Path | None = None,
) -> ReportData:
    """Read the report's data for the kabupaten/kota ``region`` as it stands on ``as_of``.

    Raises:
        InputError: no cooperative is registered in ``region``, or ``checkpoint`` comes without
            ``key``.
        AuditError: the checkpoint's signature does not verify.
    """
    from kopflow.names import resolve_kabupaten
    from kopflow.rules.queries import list_coops, status_counts

    if (checkpoint is None) != (key is None):
        raise InputError("--checkpoint and --key go together: the note and the key that signed it")
    day = as_of or datetime.now(UTC).date()
    wf = engine.workflow
    with engine.reading() as conn:
        engine.actor(conn)
        region = resolve_kabupaten(conn, region)  # "Buleleng" is "Kabupaten Buleleng" (#12)
        # as_of, not day: today's counts come from today's rows, a past day's are rebuilt
        counts = status_counts(conn, kabupaten=region, workflow=wf, as_of=as_of)
        if not counts:
            raise InputError(
                "no cooperatives of {region} were registered by {day}", region=region, day=day
            )
        by_kec = status_counts(conn, by="kecamatan", kabupaten=region, workflow=wf, as_of=as_of)
        late = list_coops(conn, wf, kabupaten=region, overdue=True, as_of=as_of)
        works = engine.cooperatives(conn, [r["id"] for r in late]) if late else {}
        partners = _partners(engine, conn, region)
        from kopflow.rules.partnership_reads import region_summary

        partnership = region_summary(conn, region)
    audit = _audit(engine, checkpoint, key)
    stages = _stages(engine, counts)
    overdue = [_overdue_row(engine, r, works[r["id"]]) for r in late]
    overdue.sort(key=lambda r: (-r.days_overdue, r.since, r.id))
    return ReportData(
        region=region,
        as_of=day,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        workflow=f"{label(wf.label, wf.name)} ({wf.name} v{wf.version})",
        total=sum(r["count"] for r in counts),
        stages=stages,
        kecamatan=_kecamatan(engine, by_kec),
        partners=partners,
        overdue=overdue,
        audit=audit,
        partnership=partnership,
    )


def _stages(engine: Kopflow, counts: list[dict[str, Any]]) -> list[StageRow]:
    wf = engine.workflow
    here = {r["stage"]: r["count"] for r in counts}
    late = {r["stage"]: r["overdue"] for r in counts}
    main = [s.id for s in wf.main_stages()]
    rows = []
    for stage in wf.stages:
        reached = (
            sum(here.get(s, 0) for s in main[main.index(stage.id) :])
            if not stage.side
            else here.get(stage.id, 0)
        )
        rows.append(
            StageRow(
                id=stage.id,
                label=label(stage.label, stage.id),
                count=here.get(stage.id, 0),
                overdue=late.get(stage.id, 0),
                reached=reached,
                sla_days=stage.sla_days,
                side=stage.side,
            )
        )
    return rows


def _kecamatan(engine: Kopflow, rows: list[dict[str, Any]]) -> list[KecamatanRow]:
    first = engine.workflow.initial
    out: dict[str, KecamatanRow] = {}
    for row in rows:
        kec = out.setdefault(row["kecamatan"], KecamatanRow(row["kecamatan"], {}, 0, 0, 0))
        kec.counts[row["stage"]] = row["count"]
        kec.total += row["count"]
        kec.overdue += row["overdue"]
        if row["stage"] != first:
            kec.moved_on += row["count"]
    return sorted(out.values(), key=lambda k: k.name)


def _latest_steps(conn: Connection, region: str) -> dict[tuple[str, str], bool]:
    """(coop, partner step key) -> done, from the newest version of each partner step."""
    from sqlalchemy import select

    from kopflow.store import tables

    step_t, coop_t = tables.step_record, tables.coop
    query = (
        select(step_t.c.coop_id, step_t.c.step, step_t.c.version, step_t.c.status)
        .join(coop_t, coop_t.c.id == step_t.c.coop_id)
        .where(coop_t.c.kabupaten == region, step_t.c.step.contains("."))
    )
    newest: dict[tuple[str, str], tuple[int, bool]] = {}
    for coop_id, step, version, status in conn.execute(query):
        seen = newest.get((coop_id, step))
        if seen is None or seen[0] < version:
            newest[(coop_id, step)] = (version, status == "done")
    return {k: v[1] for k, v in newest.items()}


def _partners(engine: Kopflow, conn: Connection, region: str) -> list[PartnerPipeline]:
    from sqlalchemy import select

    from kopflow.store import tables

    enr_t, coop_t = tables.enrollment, tables.coop
    enrolled: dict[str, list[str]] = {}
    query = (
        select(enr_t.c.partner, enr_t.c.coop_id)
        .join(coop_t, coop_t.c.id == enr_t.c.coop_id)
        .where(coop_t.c.kabupaten == region)
    )
    for partner, coop_id in conn.execute(query):
        enrolled.setdefault(partner, []).append(coop_id)
    done = _latest_steps(conn, region)
    outbox = _outbox(conn, region)
    required = engine.workflow.required_partners
    codes = sorted(
        set(engine.plugins.partners) | set(enrolled), key=lambda c: (c not in required, c)
    )
    pipelines = []
    for code in codes:
        spec = engine.plugins.partners.get(code)
        coops = enrolled.get(code, [])
        if spec is None:  # enrolled with a partner whose plugin is not loaded now
            pipelines.append(PartnerPipeline(code, code, code in required, len(coops), 0, []))
            continue
        steps = {
            s.id: PartnerStep(spec.key(s.id), label(s.label, s.id), s.required, 0, 0)
            for s in spec.steps
        }
        complete = 0
        for coop in coops:
            for s in spec.steps:
                steps[s.id].done += done.get((coop, spec.key(s.id)), False)
            waiting = next(
                (s for s in spec.steps if s.required and not done.get((coop, spec.key(s.id)))), None
            )
            if waiting is None:
                complete += 1
            else:
                steps[waiting.id].waiting += 1
        pipelines.append(
            PartnerPipeline(
                code,
                label(spec.name, code),
                code in required,
                len(coops),
                complete,
                list(steps.values()),
                *outbox.get(code, (0, 0)),
            )
        )
    return pipelines


def _outbox(conn: Connection, region: str) -> dict[str, tuple[int, int]]:
    """Per partner, (not yet delivered, of which failed) notifications about the region."""
    from sqlalchemy import func, select

    from kopflow.store import tables

    out_t, coop_t = tables.outbox, tables.coop
    query = (
        select(out_t.c.partner, out_t.c.status, func.count())
        .join(coop_t, coop_t.c.id == out_t.c.coop_id)
        .where(coop_t.c.kabupaten == region, out_t.c.status != "delivered")
        .group_by(out_t.c.partner, out_t.c.status)
    )
    counts: dict[str, tuple[int, int]] = {}
    for code, status, count in conn.execute(query):
        undelivered, failed = counts.get(code, (0, 0))
        counts[code] = (undelivered + count, failed + (count if status == "failed" else 0))
    return counts


def _overdue_row(engine: Kopflow, row: dict[str, Any], work: CoopWork) -> OverdueRow:
    stage = engine.workflow.stage(row["stage"])
    return OverdueRow(
        id=row["id"],
        village=row["village"],
        kecamatan=row["kecamatan"],
        stage=stage.id,
        stage_label=label(stage.label, stage.id),
        since=row["stage_since"],
        days_in_stage=row["days_in_stage"],
        days_overdue=row["days_overdue"],
        missing=missing_labels(engine, work),
    )


def missing_labels(engine: Kopflow, work: CoopWork) -> list[str]:
    """What ``work`` still lacks before it may leave its stage, as people name it.

    The same rule as :func:`kopflow.rules.transition.missing_for` (required steps of the stage; at
    the onboarding stage, required partners and their required steps), with step names instead
    of step ids. Plugins' own guards are not asked: they may depend on the moment of the move.
    """
    wf = engine.workflow
    stage = wf.stage(work.row["stage"])
    out = [label(s.label, s.id) for s in stage.steps if s.required and not work.is_done(s.id)]
    if stage.id == wf.onboarding_stage:
        for code in wf.required_partners:
            if code not in work.partners:
                out.append(_("not enrolled with {partner}", partner=_partner_name(engine, code)))
        for code in sorted(work.partners):
            spec = engine.plugins.partners.get(code)
            if spec is None:
                continue
            for s in spec.steps:
                if s.required and not work.is_done(spec.key(s.id)):
                    out.append(f"{label(spec.name, code)}: {label(s.label, s.id)}")
    return out


def _partner_name(engine: Kopflow, code: str) -> str:
    spec = engine.plugins.partners.get(code)
    return label(spec.name, code) if spec is not None else code


def _audit(engine: Kopflow, checkpoint: Path | None, key: Path | None) -> AuditStatus:
    """Verify the chain on a snapshot, as ``kopflow audit verify`` does, and the checkpoint."""
    from kopflow.audit.chain import check_checkpoint, read_head, snapshot, verify_database

    note = None
    signer = ""
    if checkpoint is not None and key is not None:
        from kopflow.audit.checkpoint import parse_and_verify
        from kopflow.audit.keys import load_verifier

        verifier = load_verifier(key)
        try:
            text = checkpoint.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise AuditError(
                "cannot read checkpoint {path}: {reason}", path=str(checkpoint), reason=err
            ) from err
        note, signer = parse_and_verify(text, verifier), verifier.name
    with snapshot(engine.url) as conn:
        log_id = read_head(conn).log_id
        result = verify_database(conn, watch=[note.size] if note else [])
    if note is not None and note.origin != log_id:
        raise AuditError(
            "checkpoint {file} is for log {origin}; this database holds log {log}",
            file=str(checkpoint),
            origin=note.origin,
            log=log_id,
        )
    chain_ok = result.ok
    if note is not None:
        check_checkpoint(result, note)
    status = AuditStatus(
        ok=chain_ok,
        head_seq=result.head_seq,
        events=result.count,
        problem=result.problem,
        log_id=log_id,
    )
    if note is not None:
        status.checkpoint = CheckpointStatus(
            origin=note.origin,
            size=note.size,
            timestamp=note.timestamp,
            key=signer,
            matches=result.ok,
            problem=None if result.ok or not chain_ok else result.problem,
        )
    return status


def build_report(
    engine: Kopflow,
    region: str,
    *,
    as_of: date | None = None,
    checkpoint: Path | None = None,
    key: Path | None = None,
) -> str:
    """The whole report for ``region`` as one HTML document, in the current language."""
    from kopflow.report.html import render

    data = collect(engine, region, as_of=as_of, checkpoint=checkpoint, key=key)
    return render(engine, data)
