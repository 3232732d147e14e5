"""Moving cooperatives between stages: the guard, one cooperative, and bulk runs in batches.

The transitions machine decides whether an event is possible; the guard here says what is
missing; the :class:`~kopflow.pipeline.change.Change` records the move with its audit event.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.audit.canonical import MAX_SAFE_INT
from kopflow.errors import InputError, RefusedError
from kopflow.flow.machine import CoopState, Guard, direct_routes, fire
from kopflow.i18n import Named, _, listed
from kopflow.pipeline.change import BULK_COLUMNS, NOTIFY_HOOK, TRANSITION
from kopflow.pipeline.driver import BulkOp
from kopflow.pipeline.work import Outcome

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kopflow.flow.spec import Workflow
    from kopflow.host.manager import PluginHost
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
    missing, partners, unmet = _unmet(context, work, source, required)
    if missing:
        labels = {s.id: s.label for s in wf.stage(source).steps}
        reasons.append(
            _(
                "missing steps of {stage}: {steps}",
                stage=_stage(wf, source),
                steps=listed([Named(key, labels.get(key)) for key in missing]),
            )
        )
    for code in partners:
        reasons.append(_("not enrolled with required partner {partner}", partner=code))
    for code, todo in unmet:
        if todo is None:  # uninstalled or switched off (issue #3): its steps are unknown
            reasons.append(
                _("partner {partner} is not installed; its steps cannot be checked", partner=code)
            )
            continue
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


def _unmet(
    context: Context, work: CoopWork, source: str, required: Mapping[str | None, list[str]]
) -> tuple[list[str], list[str], list[tuple[str, list[str] | None]]]:
    """What :func:`missing_for` finds missing, before it is put in words: the stage's steps
    not done, the required partners not enrolled with, and per enrolled partner (in code
    order) its required steps not done (None: its plugin is not installed)."""
    wf = context.workflow
    missing = [key for key in required[None] if not work.is_done(key)]
    partners: list[str] = []
    unmet: list[tuple[str, list[str] | None]] = []
    if source == wf.onboarding_stage:
        partners = [code for code in wf.required_partners if code not in work.partners]
        for code in sorted(work.partners):
            keys = required.get(code)
            todo = None if keys is None else [key for key in keys if not work.is_done(key)]
            if todo is None or todo:
                unmet.append((code, todo))
    return missing, partners, unmet


def _guard(change: Change, work: CoopWork) -> Guard:
    wf = change.workflow

    def guard(state: CoopState, event: str, source: str, dest: str) -> list[str]:
        reasons: list[str] = []
        if _forward(wf, source, dest):
            reasons = missing_for(change, work, source)
        if change.implements("kopflow_guard"):  # the view costs (issue #5)
            reasons += change.plugins.guard(
                coop=change.view(work), event=event, source=source, dest=dest
            )
        return reasons

    return guard


def _forward(wf: Workflow, source: str, dest: str) -> bool:
    """Whether a move is forward along the main line: only such a move needs the stage's
    steps (and partners); suspending, resuming and dissolving do not (plugins may still
    refuse them)."""
    at, to = wf.main_index(source), wf.main_index(dest)
    return at >= 0 and to > at


# What ``previous_stage`` becomes on entering a stage (see fire_one).
_KEEP, _FROM, _CLEAR = 0, 1, 2


@dataclass(slots=True)
class _Move:
    """One (event, source stage) of this transaction's transitions, derived once: a bulk
    advance fires the same move for every cooperative (issue #15: the guard, the machine and
    the audit details cost more per cooperative than writing it)."""

    label: dict[str, str] | None  # the event's label; None for an unknown event
    reason_required: bool
    # The destination when the machine's move is direct (machine.direct_routes): the guard
    # is its only condition. None: the machine decides (``@previous``) or refuses.
    dest: str | None
    # A plugin guards every move: the guard is always asked.
    plugin_guard: bool
    # The required steps of a forward direct move (required_steps), which the guard checks
    # through missing_for; None when the move is not forward (nothing to check).
    required: dict[str | None, list[str]] | None


@dataclass(slots=True)
class _Plan:
    """What :func:`fire_one` derives once per transaction (``Change.memo``)."""

    plugins: PluginHost
    after_hook: bool
    notify_hook: bool
    fingerprint: dict[str, str]
    encoded: dict[str, str]
    moves: dict[tuple[str, str], _Move] = field(default_factory=dict)
    # Per destination: what ``previous_stage`` becomes (_KEEP, _FROM or _CLEAR).
    previous: dict[str, int] = field(default_factory=dict)
    # Per (event, source, dest, reason): the outcome's message and the audit details' text
    # after the version (None: built from the dictionary instead).
    done: dict[tuple[str, str, str, str | None], tuple[str, str | None]] = field(
        default_factory=dict
    )


def _plan(change: Change) -> _Plan:
    return change.memoized(
        "transition",
        lambda: _Plan(
            plugins=change.plugins,
            after_hook=change.implements("kopflow_after_transition"),
            notify_hook=change.implements(NOTIFY_HOOK),
            fingerprint=change.fingerprint(),
            encoded=change.encoded_fingerprint(),
        ),
    )


def _move(change: Change, event: str, source: str) -> _Move:
    wf = change.workflow
    spec = wf.event(event)
    dest = direct_routes(wf).get((event, source))
    forward = dest is not None and _forward(wf, source, dest)
    return _Move(
        label=spec.label if spec is not None else None,
        reason_required=spec is not None and spec.reason_required,
        dest=dest,
        plugin_guard=change.implements("kopflow_guard"),
        required=required_steps(change, source) if forward else None,
    )


def _may_refuse(change: Change, move: _Move, work: CoopWork, source: str) -> bool:
    """Whether the guard of a direct move could refuse ``work``: then the move goes through
    :func:`~kopflow.flow.machine.fire`, whose guard says why; else its destination is taken
    as it is (what the guard checks, checked once, without its words)."""
    if move.plugin_guard:
        return True
    if move.required is None:
        return False
    return any(_unmet(change, work, source, move.required))


def _previous(change: Change, plan: _Plan, dest: str) -> int:
    found = plan.previous.get(dest)
    if found is None:
        dest_spec = change.workflow.stage(dest)
        if dest_spec.side and not dest_spec.final:
            found = _FROM  # suspended: remember where to resume
        elif dest_spec.final:
            found = _KEEP
        else:
            found = _CLEAR
        plan.previous[dest] = found
    return found


def _done(
    plan: _Plan, event: str, source: str, dest: str, reason: str | None
) -> tuple[str, str | None]:
    """The outcome's message and the transition details' canonical text after the version:
    members in code point order (coop_version, event, from, plugins, reason, to), each as
    canonical_bytes encodes it; None when the fingerprint is not canonical (the event then
    refuses it, naming the place)."""
    key = (event, source, dest, reason)
    found = plan.done.get(key)
    if found is None:
        # Interned: a national bulk run holds one per cooperative (issue #5: memory).
        message = sys.intern(f"{source} -> {dest}")
        tail = None
        fingerprint = plan.encoded.get("plugins")
        texts = all(type(v) is str for v in (event, source, dest))
        if fingerprint is not None and texts and (not reason or type(reason) is str):
            said = f',"reason":{encode_basestring(reason)}' if reason else ""
            tail = (
                f',"event":{encode_basestring(event)},"from":{encode_basestring(source)},'
                f'"plugins":{fingerprint}{said},"to":{encode_basestring(dest)}}}'
            )
        found = plan.done[key] = (message, tail)
    return found


def fire_one(change: Change, work: CoopWork, event: str | None, reason: str | None) -> Outcome:
    """Fire an event for one cooperative and queue the change with its audit event."""
    wf = change.workflow
    row = work.row
    change.check_version(work)
    authz.require_coop(change.actor, row["kabupaten"], work.id)
    plan = _plan(change)
    plan.plugins.raise_if_broken()
    source = row["stage"]
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
    move = plan.moves.get((event, source))
    if move is None:
        move = plan.moves[(event, source)] = _move(change, event, source)
    if move.reason_required and not (reason and reason.strip()):
        raise InputError(
            "event {event} needs a reason: add --reason TEXT", event=Named(event, move.label)
        )
    dest = move.dest
    if dest is None or _may_refuse(change, move, work, source):
        state = CoopState(source, row["previous_stage"], _guard(change, work))
        dest = fire(wf, state, event)
    # else: the machine's direct move with a guard that has nothing to refuse.
    keeps = plan.previous.get(dest)
    if keeps is None:
        keeps = _previous(change, plan, dest)
    if keeps == _CLEAR:
        previous = None
    elif keeps == _FROM:
        previous = source
    else:
        previous = row["previous_stage"]
    version = change.update_coop(
        work.id, row["version"], stage=dest, stage_since=change.now, previous_stage=previous
    )
    details: dict[str, Any] = {
        "event": event,
        "from": source,
        "to": dest,
        "coop_version": version,
        "plugins": plan.fingerprint,
    }
    if reason:
        details["reason"] = reason
    found = plan.done.get((event, source, dest, reason))
    message, tail = found if found is not None else _done(plan, event, source, dest, reason)
    text = None
    if tail is not None and -MAX_SAFE_INT <= version <= MAX_SAFE_INT:
        text = '{"coop_version":' + int.__repr__(version) + tail
    seq = change.event("coop.transition", work.id, details, plan.encoded, text)
    moved = (work.id, event, source, dest, reason, change.actor.name, change.now, seq)
    change.insert_row("transition", TRANSITION, moved)
    row["stage"] = dest
    row["previous_stage"] = previous
    if plan.notify_hook:  # the outbox row, with the change
        change.notify(work, "coop.transition", details, seq)

    notify = None
    if plan.after_hook:  # else nothing to keep (issue #5)

        def notify() -> None:
            change.plugins.after_transition(
                coop=change.view(work), event=event, source=source, dest=dest, audit_seq=seq
            )

    return Outcome(work.id, True, message, seq, dest, after=notify)


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
        # The guard reads the partners only of a cooperative leaving the onboarding stage.
        partners = stage == change.workflow.onboarding_stage
        return change.load(ids, views=False, steps=needed, columns=BULK_COLUMNS, partners=partners)

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
    from kopflow.names import check_area
    from kopflow.store.rows import fetch, param_mark

    workspace.workflow.stage(stage)  # an unknown stage is an input error naming the known ones
    with workspace.reading() as conn:
        actor = workspace.actor(conn)
        authz.require_write(actor)
        region = authz.scope_region(actor) or kabupaten
        if region and kabupaten and region != kabupaten:
            authz.require_kabupaten(actor, kabupaten)
        # Statement text, not SQLAlchemy's select(): on SQLite a bulk advance imports none of
        # SQLAlchemy (issue #15: its import was a sixth of a 10,000-cooperative advance).
        mark = param_mark(conn)
        sql, params = f"SELECT id FROM coop WHERE stage = {mark}", [stage]
        for column, value in (("kabupaten", region), ("kecamatan", kecamatan)):
            if value:
                sql += f" AND {column} = {mark}"
                params.append(value)
        ids = [str(row[0]) for row in fetch(conn, sql + " ORDER BY id", tuple(params))]
        if not ids and (kecamatan or kabupaten):
            check_area(conn, kecamatan=kecamatan, kabupaten=kabupaten)
    return ids


def _stage(workflow: Any, stage_id: str) -> Named:
    """A stage id that a message shows as its label (issue #12)."""
    known = {s.id: s.label for s in workflow.stages}
    return Named(stage_id, known.get(stage_id))
