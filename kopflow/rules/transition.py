"""Moving cooperatives between stages: the guard, one cooperative, and bulk runs in batches.

The transitions machine decides whether an event is possible; the guard here says what is
missing; the engine's unit records the change with its audit event.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.errors import InputError, KopflowError, RefusedError
from kopflow.flow.machine import CoopState, Guard, fire
from kopflow.i18n import _
from kopflow.pipeline.work import BulkResult, Outcome

if TYPE_CHECKING:
    from kopflow.engine import Kopflow, Progress
    from kopflow.pipeline.change import Unit
    from kopflow.pipeline.work import CoopWork


def required_steps(engine: Kopflow, source: str) -> dict[str | None, list[str]]:
    """The steps a cooperative must have done to leave stage ``source``: the stage's own under
    ``None`` and, in the onboarding stage, each installed partner's (full keys) under its code.
    """
    wf = engine.workflow
    required: dict[str | None, list[str]] = {
        None: [s.id for s in wf.stage(source).steps if s.required]
    }
    if source == wf.onboarding_stage:
        for code, spec in engine.plugins.partners.items():
            required[code] = [spec.key(s.id) for s in spec.steps if s.required]
    return required


def missing_for(engine: Kopflow, work: CoopWork, source: str) -> list[str]:
    """What must be done before ``work`` may leave stage ``source``, one reason per item."""
    wf = engine.workflow
    reasons: list[str] = []
    required = required_steps(engine, source)
    missing = [key for key in required[None] if not work.is_done(key)]
    if missing:
        reasons.append(
            _("missing steps of {stage}: {steps}", stage=source, steps=", ".join(missing))
        )
    if source == wf.onboarding_stage:
        for code in wf.required_partners:
            if code not in work.partners:
                reasons.append(_("not enrolled with required partner {partner}", partner=code))
        for code in sorted(work.partners):
            keys = required.get(code)
            if keys is None:  # uninstalled or switched off (issue #3): its steps are unknown
                reasons.append(
                    _("partner {partner} is not installed; its steps cannot be checked",
                      partner=code)
                )  # fmt: skip
                continue
            todo = [key for key in keys if not work.is_done(key)]
            if todo:
                reasons.append(
                    _(
                        "missing steps of partner {partner}: {steps}",
                        partner=code,
                        steps=", ".join(todo),
                    )
                )
    return reasons


def _guard(engine: Kopflow, work: CoopWork) -> Guard:
    wf = engine.workflow

    def guard(state: CoopState, event: str, source: str, dest: str) -> list[str]:
        reasons: list[str] = []
        # Only forward moves along the main line need the stage's steps; suspending,
        # resuming and dissolving do not (plugins may still refuse them below).
        at, to = wf.main_index(source), wf.main_index(dest)
        if at >= 0 and to > at:
            reasons = missing_for(engine, work, source)
        if engine.plugins.implements("kopflow_guard"):  # the view costs (issue #5)
            reasons += engine.plugins.guard(
                coop=engine.view(work), event=event, source=source, dest=dest
            )
        return reasons

    return guard


def fire_one(
    engine: Kopflow, unit: Unit, work: CoopWork, event: str | None, reason: str | None
) -> Outcome:
    """Fire an event for one cooperative and queue the change with its audit event."""
    wf = engine.workflow
    engine._check_version(work)
    authz.require_coop(unit.actor, work.row["kabupaten"], work.id)
    engine.plugins.raise_if_broken()
    source = work.row["stage"]
    if event is None:
        forward = wf.advance_event(source)
        if forward is None:
            possible = ", ".join(e.name for e in wf.events_from(source)) or "-"
            raise RefusedError(
                "{coop} is in stage {stage}, which has no next stage; possible events: {possible}",
                coop=work.id,
                stage=source,
                possible=possible,
            )
        event = forward.name
    spec = wf.event(event)
    if spec is not None and spec.reason_required and not (reason and reason.strip()):
        raise InputError("event {event} needs a reason: add --reason TEXT", event=event)
    state = CoopState(source, work.row["previous_stage"], _guard(engine, work))
    dest = fire(wf, state, event)
    dest_spec = wf.stage(dest)
    if dest_spec.side and not dest_spec.final:
        previous = source  # suspended: remember where to resume
    elif dest_spec.final:
        previous = work.row["previous_stage"]
    else:
        previous = None
    version = unit.update_coop(
        work.id, work.row["version"], stage=dest, stage_since=unit.now, previous_stage=previous
    )
    details: dict[str, Any] = {
        "event": event,
        "from": source,
        "to": dest,
        "coop_version": version,
        "plugins": engine.fingerprint(),
    }
    if reason:
        details["reason"] = reason
    seq = unit.event("coop.transition", work.id, details)
    unit.insert(
        "transition",
        {
            "coop_id": work.id,
            "event": event,
            "source": source,
            "dest": dest,
            "reason": reason,
            "actor": unit.actor.name,
            "at": unit.now,
            "audit_seq": seq,
        },
    )
    work.row.update(stage=dest, previous_stage=previous)

    notify = None
    if engine.plugins.implements("kopflow_after_transition"):  # else nothing to keep (issue #5)

        def notify() -> None:
            engine.plugins.after_transition(
                coop=engine.view(work), event=event, source=source, dest=dest, audit_seq=seq
            )

    # Interned: a national bulk run holds one per cooperative (issue #5: memory).
    return Outcome(work.id, True, sys.intern(f"{source} -> {dest}"), seq, dest, after=notify)


def fire_bulk(
    engine: Kopflow,
    *,
    stage: str,
    kecamatan: str | None,
    kabupaten: str | None,
    event: str | None,
    reason: str | None,
    dry_run: bool,
    progress: Progress | None,
    batch: int,
) -> BulkResult:
    """Fire one event for every matching cooperative, each all or nothing, in batches.

    Each batch is one transaction; a refused cooperative's queued rows are dropped and the
    rest of the batch goes on. Batches commit one by one, so a run killed halfway leaves
    every cooperative fully moved or untouched, and running it again finishes the rest.
    """
    from sqlalchemy import select

    from kopflow.store import tables

    wf = engine.workflow
    wf.stage(stage)  # an unknown stage is an input error naming the known ones
    table = tables.coop
    with engine.reading() as conn:
        actor = engine.actor(conn)
        authz.require_write(actor)
        query = select(table.c.id).where(table.c.stage == stage).order_by(table.c.id)
        region = authz.scope_region(actor) or kabupaten
        if region and kabupaten and region != kabupaten:
            authz.require_coop(actor, kabupaten, "-")
        if region:
            query = query.where(table.c.kabupaten == region)
        if kecamatan:
            query = query.where(table.c.kecamatan == kecamatan)
        ids = list(conn.execute(query).scalars())
        if not ids:
            from kopflow.rules.queries import check_area

            check_area(conn, kecamatan=kecamatan, kabupaten=kabupaten)
    result = BulkResult(dry_run=dry_run)
    # The guard reads which steps are done, not their evidence; only plugins' hooks get a
    # view (evidence, villages), so without them that is not loaded (issue #5).
    views = engine.plugins.implements("kopflow_guard") or engine.plugins.implements(
        "kopflow_after_transition"
    )
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]

        def change(unit: Unit, chunk: list[str] = chunk) -> list[Outcome]:
            # Without those hooks only the guard reads the history, and only the steps that
            # can hold a cooperative in ``stage`` (of the definition pinned for this batch).
            needed = (
                None if views else [k for v in required_steps(engine, stage).values() for k in v]
            )
            works = engine._load(unit.conn, chunk, views=views, steps=needed)
            outcomes: list[Outcome] = []
            for coop_id in chunk:
                work = works.get(coop_id)
                if work is None or work.row["stage"] != stage:
                    continue  # moved or removed by someone else since the selection
                mark = unit.mark()
                try:
                    outcomes.append(fire_one(engine, unit, work, event, reason))
                except KopflowError as err:
                    unit.rollback_to(mark)
                    engine._refused(err, coop=coop_id)
                    result.refused.append(Outcome(coop_id, False, str(err), stage=stage))
                    continue
                unit.spill()  # between cooperatives: bounded memory (issue #5)
            return outcomes

        done = engine._write(change, dry_run=dry_run)
        result.done.extend(done)
        if done and not dry_run:
            engine.log.info(
                "batch committed",
                coops=len(done),
                audit_seq_first=done[0].audit_seq,
                audit_seq_last=done[-1].audit_seq,
            )
            for outcome in done:
                engine._after(outcome, log=False)
        if progress:
            progress(len(chunk))
    return result
