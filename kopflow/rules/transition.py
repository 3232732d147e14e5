"""Moving cooperatives between stages: the guard, one cooperative, and bulk runs in batches.

The transitions machine decides whether an event is possible; the guard here says what is
missing; the :class:`~kopflow.pipeline.change.Change` records the move with its audit event.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.errors import InputError, RefusedError
from kopflow.flow.machine import CoopState, Guard, fire
from kopflow.i18n import Named, _, listed
from kopflow.pipeline.change import BULK_COLUMNS, NOTIFY_HOOK
from kopflow.pipeline.driver import BulkOp
from kopflow.pipeline.work import Outcome

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kopflow.pipeline.change import Change, Context, Workspace
    from kopflow.pipeline.work import CoopWork


def required_steps(context: Context, source: str) -> dict[str | None, list[str]]:
    """The steps a cooperative must have done to leave stage ``source``: the stage's own under
    ``None`` and, in the onboarding stage, each installed partner's (full keys) under its code.
    """
    wf = context.workflow
    required: dict[str | None, list[str]] = {
        None: [s.id for s in wf.stage(source).steps if s.required]
    }
    if source == wf.onboarding_stage:
        for code, spec in context.plugins.partners.items():
            required[code] = [spec.key(s.id) for s in spec.steps if s.required]
    return required


def missing_for(context: Context, work: CoopWork, source: str) -> list[str]:
    """What must be done before ``work`` may leave stage ``source``, one reason per item."""
    wf = context.workflow
    reasons: list[str] = []
    required = required_steps(context, source)
    labels = {s.id: s.label for s in wf.stage(source).steps}
    missing = [Named(key, labels.get(key)) for key in required[None] if not work.is_done(key)]
    if missing:
        reasons.append(
            _(
                "missing steps of {stage}: {steps}",
                stage=_stage(wf, source),
                steps=listed(missing),
            )
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
                partner = context.plugins.partners[code]
                labels = {partner.key(s.id): s.label for s in partner.steps}
                reasons.append(
                    _(
                        "missing steps of partner {partner}: {steps}",
                        partner=code,
                        steps=listed([Named(key, labels.get(key)) for key in todo]),
                    )
                )
    return reasons


def _guard(change: Change, work: CoopWork) -> Guard:
    wf = change.workflow

    def guard(state: CoopState, event: str, source: str, dest: str) -> list[str]:
        reasons: list[str] = []
        # Only forward moves along the main line need the stage's steps; suspending,
        # resuming and dissolving do not (plugins may still refuse them below).
        at, to = wf.main_index(source), wf.main_index(dest)
        if at >= 0 and to > at:
            reasons = missing_for(change, work, source)
        if change.plugins.implements("kopflow_guard"):  # the view costs (issue #5)
            reasons += change.plugins.guard(
                coop=change.view(work), event=event, source=source, dest=dest
            )
        return reasons

    return guard


def fire_one(change: Change, work: CoopWork, event: str | None, reason: str | None) -> Outcome:
    """Fire an event for one cooperative and queue the change with its audit event."""
    wf = change.workflow
    change.check_version(work)
    authz.require_coop(change.actor, work.row["kabupaten"], work.id)
    change.plugins.raise_if_broken()
    source = work.row["stage"]
    if event is None:
        forward = wf.advance_event(source)
        if forward is None:
            possible = listed([Named(e.name, e.label) for e in wf.events_from(source)]) or "-"
            raise RefusedError(
                "{coop} is in stage {stage}, which has no next stage; possible events: {possible}",
                coop=work.id,
                stage=_stage(wf, source),
                possible=possible,
            )
        event = forward.name
    spec = wf.event(event)
    if spec is not None and spec.reason_required and not (reason and reason.strip()):
        raise InputError(
            "event {event} needs a reason: add --reason TEXT", event=Named(event, spec.label)
        )
    state = CoopState(source, work.row["previous_stage"], _guard(change, work))
    dest = fire(wf, state, event)
    dest_spec = wf.stage(dest)
    if dest_spec.side and not dest_spec.final:
        previous = source  # suspended: remember where to resume
    elif dest_spec.final:
        previous = work.row["previous_stage"]
    else:
        previous = None
    version = change.update_coop(
        work.id, work.row["version"], stage=dest, stage_since=change.now, previous_stage=previous
    )
    details: dict[str, Any] = {
        "event": event,
        "from": source,
        "to": dest,
        "coop_version": version,
        "plugins": change.fingerprint(),
    }
    if reason:
        details["reason"] = reason
    seq = change.event("coop.transition", work.id, details, change.encoded_fingerprint())
    change.insert(
        "transition",
        {
            "coop_id": work.id,
            "event": event,
            "source": source,
            "dest": dest,
            "reason": reason,
            "actor": change.actor.name,
            "at": change.now,
            "audit_seq": seq,
        },
    )
    work.row.update(stage=dest, previous_stage=previous)
    change.notify(work, "coop.transition", details, seq)  # the outbox row, with the change

    notify = None
    if change.plugins.implements("kopflow_after_transition"):  # else nothing to keep (issue #5)

        def notify() -> None:
            change.plugins.after_transition(
                coop=change.view(work), event=event, source=source, dest=dest, audit_seq=seq
            )

    # Interned: a national bulk run holds one per cooperative (issue #5: memory).
    return Outcome(work.id, True, sys.intern(f"{source} -> {dest}"), seq, dest, after=notify)


def advance_op(stage: str, event: str | None, reason: str | None) -> BulkOp[str]:
    """Bulk advance of cooperatives selected in ``stage``: each fires ``event`` (default: the
    stage's forward event), whole or not at all."""

    def load(
        change: Change, ids: list[str], _items: Mapping[str, list[str]]
    ) -> dict[str, CoopWork]:
        # The guard reads which steps are done, not their evidence; only plugins' hooks get
        # a view (evidence, villages), so without them that is not loaded, and only the steps
        # that can hold a cooperative in ``stage`` are read (issue #5).
        plugins = change.plugins
        if any(
            plugins.implements(hook)
            for hook in ("kopflow_guard", "kopflow_after_transition", NOTIFY_HOOK)
        ):
            return change.load(ids, columns=BULK_COLUMNS)
        needed = [k for keys in required_steps(change, stage).values() for k in keys]
        return change.load(ids, views=False, steps=needed, columns=BULK_COLUMNS)

    return BulkOp(
        name="coop.advance",
        apply=lambda change, work, _items: [fire_one(change, work, event, reason)],
        load=load,
        resolve=False,
        keep=lambda work: work.row["stage"] == stage,
    )


def select_in_stage(
    workspace: Workspace, *, stage: str, kecamatan: str | None, kabupaten: str | None
) -> list[str]:
    """The ids of the cooperatives in ``stage`` (of one kecamatan or kabupaten) that the
    actor may move, for a bulk advance; a filter naming no cooperative is refused."""
    from sqlalchemy import select

    from kopflow.names import check_area
    from kopflow.store import tables

    workspace.workflow.stage(stage)  # an unknown stage is an input error naming the known ones
    table = tables.coop
    with workspace.reading() as conn:
        actor = workspace.actor(conn)
        authz.require_write(actor)
        query = select(table.c.id).where(table.c.stage == stage).order_by(table.c.id)
        region = authz.scope_region(actor) or kabupaten
        if region and kabupaten and region != kabupaten:
            authz.require_kabupaten(actor, kabupaten)
        if region:
            query = query.where(table.c.kabupaten == region)
        if kecamatan:
            query = query.where(table.c.kecamatan == kecamatan)
        ids = list(conn.execute(query).scalars())
        if not ids:
            check_area(conn, kecamatan=kecamatan, kabupaten=kabupaten)
    return ids


def _stage(workflow: Any, stage_id: str) -> Named:
    """A stage id that a message shows as its label (issue #12)."""
    known = {s.id: s.label for s in workflow.stages}
    return Named(stage_id, known.get(stage_id))
