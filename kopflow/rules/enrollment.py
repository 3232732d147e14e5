"""Enrolling cooperatives with partners: the rules an enrolment must pass, one cooperative at a
time, and bulk enrolment as a :class:`~kopflow.pipeline.driver.BulkOp`.

An enrolment passes, for each partner the cooperative is not yet enrolled with, the partner's
own rules (``PartnerSpec.enroll_from``: the stage from which it enrols; ``enroll_requires``:
the workflow steps that must be done) and then every plugin's ``kopflow_guard_enroll``
(issue #13). The partners named are enrolled all together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING

from kopflow import authz
from kopflow.errors import PluginError, RefusedError
from kopflow.i18n import Named, _, get_language, listed
from kopflow.pipeline.change import BULK_COLUMNS, NOTIFY_HOOK
from kopflow.pipeline.driver import BulkOp
from kopflow.pipeline.work import Outcome

if TYPE_CHECKING:
    from kopflow.flow.spec import Workflow
    from kopflow.pipeline.change import Change, Context, Workspace
    from kopflow.pipeline.work import CoopWork
    from kopflow.plugin import PartnerSpec

_ENROLLMENT = ("coop_id", "partner", "actor", "at", "audit_seq")  # one row's columns


class _Memos:
    """What enrolment works out once per transaction rather than per cooperative (issue #15):
    each partner's own rules once checked against the workflow (``start``: the stage it
    enrols from, ``required``: the steps it requires; a plugin's rules that do not fit are
    never kept, so they raise for every cooperative); whether a plugin guards enrolments;
    the outcome messages, per partners and language."""

    __slots__ = ("guarded", "messages", "required", "start")

    def __init__(self, change: Change) -> None:
        self.start: dict[str, str] = {}
        self.required: dict[str, tuple[str, ...]] = {}
        self.guarded = change.plugins.implements("kopflow_guard_enroll")
        self.messages: dict[tuple[tuple[str, ...], str], str] = {}


def _memos(change: Change) -> _Memos:
    return change.memoized("enroll", partial(_Memos, change))


def enroll(change: Change, work: CoopWork, partners: Sequence[str]) -> Outcome:
    """Queue a cooperative's enrolment with the ``partners`` it is not yet enrolled with.

    Raises:
        RefusedError: a partner's rules or a plugin's guard refuse it, every reason named.
        PluginError: a partner's rules name a stage or step the workflow does not have, or a
            guard failed.
    """
    coop_id = work.id
    change.check_version(work)
    authz.require_coop(change.actor, work.row["kabupaten"], coop_id)
    if change.workflow.stage(work.row["stage"]).final:
        raise RefusedError("{coop} is dissolved", coop=coop_id)
    new: list[str] = []
    for code in partners:
        change.plugins.partner(code)  # unknown partner: error naming the known ones
        if code not in work.partners and code not in new:
            new.append(code)
    if not new:
        return Outcome(coop_id, True, _("already enrolled"), stage=work.row["stage"])
    memos = _memos(change)
    _check(change, work, new, memos)
    version = change.update_coop(coop_id, work.row["version"])
    details = {"partners": new, "coop_version": version, "plugins": change.fingerprint()}
    seq = change.event("partner.enrolled", coop_id, details, change.encoded_fingerprint())
    actor, now = change.actor.name, change.now
    for code in new:
        change.insert_row("enrollment", _ENROLLMENT, (coop_id, code, actor, now, seq))
    work.partners.update(new)
    change.notify(work, "partner.enrolled", details, seq)  # the outbox row, with the change
    # The same few texts for every cooperative of a bulk enrolment.
    key = (tuple(new), get_language())
    message = memos.messages.get(key)
    if message is None:
        message = memos.messages[key] = _("enrolled with {partners}", partners=", ".join(new))
    return Outcome(coop_id, True, message, seq, work.row["stage"])


def _check(change: Change, work: CoopWork, partners: list[str], memos: _Memos) -> None:
    """Refuse the enrolment if any partner's rules or any plugin's guard give a reason."""
    refused: list[str] = []
    reasons: list[str] = []
    for code in partners:
        found = partner_rules(change, work, change.plugins.partner(code), memos)
        if memos.guarded:  # the view costs (issue #5)
            guard = change.plugins.guard_enroll(coop=change.view(work), partner=code)
            # The engine's reasons name the partner; a plugin's need not, so with several
            # partners each of its reasons says which one it is about.
            found += [f"{code}: {r}" for r in guard] if len(partners) > 1 else guard
        if found:
            refused.append(code)
            reasons += found
    if refused:
        raise RefusedError(
            "{coop} cannot be enrolled with {partner}",
            reasons,
            coop=work.id,
            partner=", ".join(refused),
        )


def partner_rules(change: Change, work: CoopWork, spec: PartnerSpec, memos: _Memos) -> list[str]:
    """The reasons ``spec``'s own enrolment rules give to refuse ``work`` (none: allowed).

    A suspended cooperative is judged by the stage it will resume in. A cooperative before
    the stage is refused for that alone; the steps are checked once it is there.
    """
    wf = change.workflow
    reasons: list[str] = []
    if spec.enroll_from is not None:
        start = memos.start.get(spec.code)
        if start is None:
            start = memos.start[spec.code] = _main_stage(change, spec)
        current = work.row["stage"]
        if wf.stage(current).side and work.row["previous_stage"]:
            current = work.row["previous_stage"]
        if wf.main_index(current) < wf.main_index(start):
            # The stage alone: the steps are asked for once it is reached (a bulk summary
            # then groups these refusals by stage, not by every mix of missing steps).
            return [
                _(
                    "{partner} enrolls cooperatives from stage {start} on; it is in stage {stage}",
                    partner=spec.code,
                    start=_stage(wf, start),
                    stage=_stage(wf, current),
                )
            ]
    required = memos.required.get(spec.code)
    if required is None:
        required = memos.required[spec.code] = _required_steps(change, spec)
    missing = [key for key in required if not work.is_done(key)]
    if missing:
        reasons.append(
            _(
                "{partner} needs these steps done first: {steps}",
                partner=spec.code,
                steps=listed([Named(key, _label(wf, key)) for key in missing]),
            )
        )
    return reasons


def _main_stage(context: Context, spec: PartnerSpec) -> str:
    """``spec.enroll_from``, checked against the workflow in use."""
    wf = context.workflow
    stage = str(spec.enroll_from)
    if wf.main_index(stage) < 0:
        raise PluginError(
            context.plugins.owner(spec.code),
            "plugin {plugin}: partner {partner} enrolls from stage {stage}, which is not a "
            "stage of the main line of workflow {workflow}; its stages: {stages}",
            partner=spec.code,
            stage=stage,
            workflow=wf.name,
            stages=", ".join(s.id for s in wf.main_stages()),
        )
    return stage


def _required_steps(context: Context, spec: PartnerSpec) -> tuple[str, ...]:
    """``spec.enroll_requires``, checked against the workflow in use."""
    wf = context.workflow
    unknown = [key for key in spec.enroll_requires if wf.step(key) is None]
    if unknown:
        raise PluginError(
            context.plugins.owner(spec.code),
            "plugin {plugin}: partner {partner} requires steps the workflow {workflow} does "
            "not have before enrolment: {steps}",
            partner=spec.code,
            workflow=wf.name,
            steps=", ".join(unknown),
        )
    return spec.enroll_requires


def steps_read(context: Context, partners: Iterable[str]) -> list[str]:
    """The workflow steps the enrolment rules of ``partners`` read."""
    keys: list[str] = []
    for code in partners:
        keys += [k for k in context.plugins.partner(code).enroll_requires if k not in keys]
    return keys


def enroll_op(partners: Sequence[str]) -> BulkOp[str]:
    """Bulk enrolment of the cooperatives named with ``partners``: the same checks and audit
    event per cooperative as a single enrolment, one transaction per chunk (issue #5)."""

    def load(
        change: Change, ids: list[str], _items: Mapping[str, list[str]]
    ) -> dict[str, CoopWork]:
        change.plugins.raise_if_broken()
        plugins = change.plugins
        if plugins.implements("kopflow_guard_enroll") or plugins.implements(NOTIFY_HOOK):
            # A plugin's guard or notification sees the whole cooperative.
            return change.load(ids, columns=BULK_COLUMNS)
        # Without a guard only the steps the partners' rules read are loaded (issue #5).
        steps = steps_read(change, partners)
        return change.load(ids, views=False, steps=steps, columns=BULK_COLUMNS)

    return BulkOp(
        name="partner.enroll",
        apply=lambda change, work, _items: [enroll(change, work, partners)],
        load=load,
        log_context={"partners": list(partners)},
    )


def select_in_area(
    workspace: Workspace, *, kecamatan: str | None, kabupaten: str | None
) -> list[str]:
    """The ids of the cooperatives of one kabupaten or kecamatan, not dissolved, that the actor
    may change, for a bulk enrolment; an area naming no cooperative is refused."""
    from sqlalchemy import select

    from kopflow.names import check_area
    from kopflow.store import tables

    final = [s.id for s in workspace.workflow.stages if s.final]
    table = tables.coop
    with workspace.reading() as conn:
        actor = workspace.actor(conn)
        authz.require_write(actor)
        query = select(table.c.id).where(table.c.stage.not_in(final)).order_by(table.c.id)
        region = authz.scope_region(actor) or kabupaten
        if region and kabupaten and region != kabupaten:
            authz.require_coop(actor, kabupaten, "-")
        if region:
            query = query.where(table.c.kabupaten == region)
        if kecamatan:
            query = query.where(table.c.kecamatan == kecamatan)
        ids = list(conn.execute(query).scalars())
        if not ids:
            check_area(conn, kecamatan=kecamatan, kabupaten=kabupaten)
    return ids


def _stage(workflow: Workflow, stage_id: str) -> Named:
    """A stage id that a message shows as its label (issue #12)."""
    known = {s.id: s.label for s in workflow.stages}
    return Named(stage_id, known.get(stage_id))


def _label(workflow: Workflow, key: str) -> dict[str, str] | None:
    spec = workflow.step(key)
    return spec.label if spec is not None else None
