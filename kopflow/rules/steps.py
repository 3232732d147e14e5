"""Completing, correcting and undoing steps: the rules a step must pass before it is recorded.

Each function works on a :class:`~kopflow.pipeline.change.Change`: it queues rows and the audit
event and never commits. Bulk completion is a :class:`~kopflow.pipeline.driver.BulkOp`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from functools import lru_cache, partial
from json.encoder import encode_basestring
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.audit.canonical import MAX_SAFE_INT, encode_checked, object_text
from kopflow.errors import EvidenceError, InputError, KopflowError, RefusedError
from kopflow.flow.spec import stored as stored_form
from kopflow.i18n import Named, _, get_language, label, listed
from kopflow.pipeline.change import BULK_COLUMNS, NOTIFY_HOOK, STEP_RECORD
from kopflow.pipeline.driver import BulkOp, Refusal
from kopflow.pipeline.work import Outcome, StepState
from kopflow.rules import evidence as contradictions

if TYPE_CHECKING:
    from kopflow.flow.spec import StepSpec, Workflow
    from kopflow.pipeline.change import Change
    from kopflow.pipeline.work import CoopWork

# One row of a bulk completion as the caller gives it: the cooperative it names, the step and
# its raw evidence. The driver takes the rows themselves, so a national run builds no second
# tuple per row (issue #5: memory).
StepItem = tuple[str, str, Mapping[str, Any]]
# What a step's outcome message and the text of its audit details depend on besides the row:
# the step, whether it corrects, the reason and the language.
_DoneKey = tuple[str, bool, str | None, str]
_NOTHING_ENCODED: dict[str, str] = {}  # never changed; a dict's get is the quickest


class _Memos:
    """What step completion works out once per transaction rather than per row (issue #15),
    in one object a bulk visit holds, so that a row looks none of it up in ``Change.memo``.

    ``placed``: the (step, stage) pairs that passed the checks depending on them alone (a
    refusal names the cooperative, so it is not kept); ``steps``: each step's :class:`_Step`;
    ``permitted``: the (step, kabupaten) pairs the actor may complete; ``done``: see
    :func:`_done`; the plugin fingerprint every event records, and its canonical text; whether
    a plugin asks for outbox rows or for after-step calls; ``misfiled``: the first
    ``for_steps`` key naming no step, which refuses every completion as a broken plugin does.
    """

    __slots__ = (
        "after_hook",
        "done",
        "encoded",
        "fingerprint",
        "misfiled",
        "notify_hook",
        "permitted",
        "placed",
        "steps",
    )

    def __init__(self, change: Change) -> None:
        self.placed: set[tuple[str, str]] = set()
        self.steps: dict[str, _Step] = {}
        self.permitted: set[tuple[str, str]] = set()
        self.done: dict[_DoneKey, tuple[str, str | None, bool]] = {}
        self.fingerprint = change.fingerprint()
        self.encoded = change.encoded_fingerprint()
        self.notify_hook = change.implements(NOTIFY_HOOK)
        self.after_hook = change.implements("kopflow_after_step")
        problems = change.plugins.for_steps_problems(change.workflow)
        self.misfiled = problems[0] if problems else None


def _memos(change: Change) -> _Memos:
    return change.memoized("steps", partial(_Memos, change))


class _Step:
    """A step as completing it needs it, worked out once per transaction rather than per row
    (issue #15): its spec, partner code and stage, the full keys of the steps it comes after,
    and what the checks against other evidence look at (``checks``: None when nothing)."""

    __slots__ = ("after", "checks", "partner", "spec", "stage", "unique", "validate")

    def __init__(self, change: Change, step: str) -> None:
        # change.step_spec refuses an unknown step, as each of its rows is refused.
        self.spec, self.partner, self.stage = change.step_spec(step)
        # The plugins' validation of this step, as they stay during the change; None when no
        # plugin validates it (for_steps), and then no view is built for it.
        self.validate = change.plugins.step_validator(step)
        self.after = _after_keys(self.spec, self.partner)
        checks = contradictions.checks(change, step, self.spec)
        self.checks = checks if checks.bounded or checks.rules or checks.unique else None
        self.unique = checks.unique  # the fields whose values the evidence holds alone


def _check_place(change: Change, work: CoopWork, step: str, found: _Step, memos: _Memos) -> None:
    """Refuse a step the cooperative cannot take now: wrong stage, not enrolled, out of order."""
    spec, partner, stage = found.spec, found.partner, found.stage
    wf = change.workflow
    current = work.row["stage"]
    placed = memos.placed
    if (step, current) in placed:
        if partner is not None and partner not in work.partners:
            raise _not_enrolled(work, partner)
    else:
        if wf.stage(current).side:
            raise RefusedError(
                "{coop} is {stage}; resume it before recording steps",
                coop=work.id,
                stage=_stage(wf, current),
            )
        if partner is not None:
            if partner not in work.partners:
                raise _not_enrolled(work, partner)
            if wf.main_index(current) < wf.main_index(wf.onboarding_stage):
                raise RefusedError(
                    "partner steps start in stage {onboarding}; {coop} is in {stage}",
                    onboarding=_stage(wf, wf.onboarding_stage),
                    coop=work.id,
                    stage=_stage(wf, current),
                )
        elif stage is not None and wf.main_index(stage) > wf.main_index(current):
            raise RefusedError(
                "step {step} belongs to stage {step_stage}; {coop} is in {stage}: "
                "finish the current stage first",
                step=_step(change, step, spec),
                step_stage=_stage(wf, stage),
                coop=work.id,
                stage=_stage(wf, current),
            )
        placed.add((step, current))
    is_done = work.is_done
    for after in found.after:
        if is_done(after):
            continue
        missing = [key for key in found.after if not is_done(key)]
        raise RefusedError(
            "step {step} comes after {missing}, which is not done yet",
            step=_step(change, step, spec),
            missing=listed([_step(change, key) for key in missing]),
        )


def _not_enrolled(work: CoopWork, partner: str) -> RefusedError:
    return RefusedError(
        "{coop} is not enrolled with {partner}; run 'kopflow partner enroll {coop} {partner}'",
        coop=work.id,
        partner=partner,
    )


def _after_keys(spec: StepSpec, partner: str | None) -> list[str]:
    """The full keys of the steps ``spec`` comes after (a partner's own steps: prefixed)."""
    return [f"{partner}.{dep}" for dep in spec.after] if partner else list(spec.after)


def _steps_read(change: Change, items: Iterable[StepItem]) -> set[str]:
    """The steps whose state ``complete`` reads for these rows: each row's own step and the
    steps it comes after. An unknown step is refused when its row comes up."""
    keys: set[str] = set()
    # Each step once: a chunk's rows name a handful of steps thousands of times.
    for step in {step for _ref, step, _raw in items}:
        keys.add(step)
        try:
            spec, partner, _stage = change.step_spec(step)
        except KopflowError:
            continue
        keys.update(_after_keys(spec, partner))
        keys.update(contradictions.steps_read(change, step))
    return keys


class Visit:
    """What completing a cooperative's steps works out once for all its rows of a call rather
    than once per row (issue #15): that it runs this version of the definition and no plugin
    is broken (``checked`` once its first row has passed both), and the fields of the views
    its hooks get (its row and partners stay as they are meanwhile).

    Each row still gets its own checks that depend on the row, and each hook its own view
    with its own snapshot of the evidence, holding the rows recorded before it.
    """

    __slots__ = ("checked", "memos", "view")

    def __init__(self, change: Change, work: CoopWork) -> None:
        self.view = change.view_maker(work)
        self.checked = False
        self.memos = _memos(change)


def _permitted(
    change: Change, work: CoopWork, step: str, memos: _Memos, visit: Visit | None = None
) -> _Step:
    """The step, once the actor may touch it on this cooperative."""
    found = memos.steps.get(step)
    if found is None:
        found = memos.steps[step] = _Step(change, step)
    if visit is None or not visit.checked:
        change.check_version(work)
    # Allowed once, allowed for every cooperative of the kabupaten: the actor is the change's.
    allowed = memos.permitted
    key = (step, work.row["kabupaten"])
    if key not in allowed:
        authz.require_step(
            change.actor,
            step=step,
            step_role=found.spec.role,
            partner=found.partner,
            kabupaten=work.row["kabupaten"],
            coop_id=work.id,
        )
        allowed.add(key)
    return found


def complete(
    change: Change,
    work: CoopWork,
    step: str,
    raw: Mapping[str, Any],
    reason: str | None,
    visit: Visit | None = None,
) -> Outcome:
    """Validate and queue one step's evidence for one cooperative (``visit``: what a bulk
    completion has worked out for the cooperative already)."""
    memos = visit.memos if visit is not None else _memos(change)
    found = _permitted(change, work, step, memos, visit)
    spec = found.spec
    if visit is None or not visit.checked:
        # A broken plugin refuses every step, a workflow step too (issue #13: its validation
        # would silently be off), and so does a for_steps key naming no step (its check would
        # be). Plugins do not break during a change: a visit's first row asks for all.
        change.plugins.raise_if_broken()
        if memos.misfiled is not None:
            raise memos.misfiled
        if visit is not None:
            visit.checked = True
    _check_place(change, work, step, found, memos)
    existing = work.steps.get(step)
    correcting = existing is not None and existing.done
    if correcting and not reason:
        raise InputError(
            "step {step} of {coop} is done already; to correct its evidence give --reason",
            step=_step(change, step, spec),
            coop=work.id,
        )
    # Parsing only reads what it is given: the caller's own dictionary needs no copy.
    given = raw if isinstance(raw, dict) else dict(raw)
    previous: dict[str, Any] = {}
    if correcting:
        # A correction names only what changes; the rest of the current version carries over
        # (issue #12). An empty value given removes an optional field.
        previous = dict(contradictions.evidence_of(work, step))
        given = {**previous, **given}
    evidence, problems = spec.parse(given, today=change.today)
    if found.checks is not None:
        problems += contradictions.check(change, work, step, spec, evidence, found.checks)
    if problems:  # every missing, bad or contradicting field at once (issue #12)
        raise EvidenceError.combine(problems)
    view = visit.view if visit is not None else partial(change.view, work)
    validate = found.validate
    if validate is not None:
        # The hooks see the parsed evidence read-only and nothing changes it after (the
        # after-step hook gets a copy), so the record and the event share it. Without a list
        # in it, its read-only view is all a hook needs (the host then looks through no value
        # for one).
        shown = evidence if spec.has_list else MappingProxyType(evidence)
        reasons = validate(view(), found.partner, spec.id, shown)
        if reasons:
            step_named = _step(change, step, spec)
            raise RefusedError("evidence for {step} refused", reasons, step=step_named)
    version = (existing.version if existing else 0) + 1
    coop_version = change.update_coop(work.id, work.row["version"])
    # A Decimal is recorded as its exact text; only a decimal field's value is one.
    parsed, evidence = evidence, stored_form(evidence) if spec.has_decimal else evidence
    details: dict[str, Any] = {
        "step": step,
        "version": version,
        "evidence": evidence,
        "coop_version": coop_version,
        "plugins": memos.fingerprint,
    }
    if reason:
        details["reason"] = reason
    if correcting:
        details["changed"] = {
            name: {k: v for k, v in (("from", previous.get(name)), ("to", evidence.get(name)))
                   if v is not None}
            for name in sorted(set(previous) | set(evidence))
            if previous.get(name) != evidence.get(name)
        }  # fmt: skip
    key = (step, correcting, reason, get_language())
    done = memos.done.get(key)
    message, tail, holds = done if done is not None else _done(key, found, memos)
    # The evidence is checked and encoded once, for the record and the event (issue #15); a
    # value the audit log cannot hold is refused by the event, naming its place. Its members
    # are mostly text and whole numbers: object_text encodes those itself.
    try:
        stored: str | None = object_text(evidence, _NOTHING_ENCODED)
    except ValueError:
        stored = None
    encoded = memos.encoded
    text = None
    if stored is not None:
        if tail is not None and version <= MAX_SAFE_INT and coop_version <= MAX_SAFE_INT:
            # Both versions are ints this function and update_coop computed: formatted as their
            # plain decimal text, as canonical_bytes writes them.
            text = f'{{"coop_version":{coop_version},"evidence":{stored}{tail}{version}}}'
        else:
            encoded = {**encoded, "evidence": stored}
    seq = change.event(
        "step.corrected" if correcting else "step.completed", work.id, details, encoded, text
    )
    if holds:
        _hold_identifiers(change, work, step, found, evidence, seq, correcting)
    if stored is None:  # not reached: the event has refused it
        stored = encode_checked(evidence)
    record = (work.id, step, version, "done", stored, reason, change.actor.name, change.now, seq)
    change.insert_row("step_record", STEP_RECORD, record)
    # With its evidence as parsed from ``stored`` (equal values): a later row's date rule
    # reading it parses no JSON (issue #15). Nothing changes ``evidence`` after this.
    work.steps[step] = StepState(version, "done", stored, evidence)
    # In this transaction, with the step in the view: a refusal leaves no row (issue #13).
    if memos.notify_hook:
        action = "step.corrected" if correcting else "step.completed"
        change.notify(work, action, details, seq, view)
    notify = None
    if memos.after_hook:  # else nothing to keep (issue #5)
        notify = partial(_after_step, change, work, step, parsed, seq)  # lighter than a closure
    return Outcome(work.id, True, message, seq, work.row["stage"], notify)


def _done(key: _DoneKey, found: _Step, memos: _Memos) -> tuple[str, str | None, bool]:
    """The outcome's message, the step details' canonical text after the evidence up to the
    version's value, and whether identifiers are held or released, for ``key`` (step,
    correcting, reason, language), worked out once per transaction.

    The text has the members in code point order (coop_version, evidence, plugins, reason,
    step, version), each as canonical_bytes encodes it; it is None for a correction (its
    ``changed`` comes first) or a fingerprint that is not canonical (the event then refuses
    it, naming the place): the details are then encoded as a whole.
    """
    step, correcting, reason, language = key
    fingerprint = memos.encoded.get("plugins")
    tail = None
    if not correcting and fingerprint is not None and (not reason or type(reason) is str):
        said = f',"reason":{encode_basestring(reason)}' if reason else ""
        tail = f',"plugins":{fingerprint}{said},"step":{encode_basestring(step)},"version":'
    done = memos.done[key] = (
        _done_text(language, correcting, step, label(found.spec.label, step)),
        tail,
        correcting or bool(found.unique),
    )
    return done


def _hold_identifiers(
    change: Change,
    work: CoopWork,
    step: str,
    found: _Step,
    evidence: Mapping[str, Any],
    seq: int,
    correcting: bool,
) -> None:
    """Queue the step's unique identifiers, releasing what its previous version held."""
    if correcting:
        change.release(work.id, step, contradictions.held(change, step, found.spec, work), seq)
    for key, value in contradictions.pairs(found.unique, evidence):
        change.claim(work.id, step, key, value, seq)


@lru_cache(maxsize=1024)
def _done_text(language: str, correcting: bool, step: str, text: str) -> str:
    """The "completed LABEL (STEP)" text in ``language``, ``text`` being the step's label in it:
    the same few for every row of a bulk command.

    Interned: a national bulk run holds hundreds of thousands of them (issue #5: memory).
    """
    message = _("corrected {step}") if correcting else _("completed {step}")
    return sys.intern(message.format(step=Named(step, {language: text})))


def _after_step(
    change: Change, work: CoopWork, step: str, evidence: Mapping[str, Any], seq: int
) -> None:
    change.plugins.after_step(
        coop=change.view(work), step=step, evidence=dict(evidence), audit_seq=seq
    )


def undo(change: Change, work: CoopWork, step: str, reason: str) -> Outcome:
    """Queue an 'undone' version of a step of the current stage."""
    if not reason or not reason.strip():
        raise InputError("undoing a step needs --reason")
    found = _permitted(change, work, step, _memos(change))
    spec, partner, stage = found.spec, found.partner, found.stage
    current = work.row["stage"]
    own_stage = change.workflow.onboarding_stage if partner else stage
    if own_stage != current:
        raise RefusedError(
            "step {step} belongs to stage {step_stage} and {coop} is in {stage}; "
            "only steps of the current stage can be undone",
            step=_step(change, step, spec),
            step_stage=_stage(change.workflow, own_stage),
            coop=work.id,
            stage=_stage(change.workflow, current),
        )
    existing = work.steps.get(step)
    if existing is None or not existing.done:
        raise RefusedError(
            "step {step} of {coop} is not done", step=_step(change, step, spec), coop=work.id
        )
    prefix = f"{partner}." if partner else ""
    siblings = (
        change.plugins.partner(partner).steps if partner else change.workflow.stage(current).steps
    )
    dependents = [
        Named(prefix + s.id, s.label)
        for s in siblings
        if spec.id in s.after and work.is_done(prefix + s.id)
    ]
    if dependents:
        raise RefusedError(
            "undo {dependents} first: it comes after {step}",
            dependents=listed(dependents),
            step=_step(change, step, spec),
        )
    version = existing.version + 1
    coop_version = change.update_coop(work.id, work.row["version"])
    seq = change.event(
        "step.undone",
        work.id,
        {"step": step, "version": version, "reason": reason, "coop_version": coop_version},
    )
    record = (work.id, step, version, "undone", "{}", reason, change.actor.name, change.now, seq)
    change.insert_row("step_record", STEP_RECORD, record)
    change.release(work.id, step, contradictions.held(change, step, spec, work), seq)
    work.steps[step] = StepState(version, "undone", "{}")
    return Outcome(work.id, True, _("undid {step}", step=_step(change, step, spec)), seq, current)


def _complete_all(change: Change, work: CoopWork, items: list[StepItem]) -> list[Outcome]:
    """One cooperative's rows of a bulk completion: all recorded, or the first refusal."""
    outcomes: list[Outcome] = []
    visit = Visit(change, work)
    for _ref, step, raw in items:
        try:
            outcomes.append(complete(change, work, step, raw, None, visit))
        except KopflowError as err:
            # Name the step: an evidence error alone ("date: ...") does not say which row.
            raise Refusal(err, f"{step}: ", step=step) from err
    return outcomes


def _load_for_steps(
    change: Change, ids: list[str], items: Mapping[str, list[StepItem]]
) -> dict[str, CoopWork]:
    """What bulk completion reads: only the states of the rows' steps and of the steps they
    come after; the rest of each history (most of what a batch would read) is read only if a
    plugin's view asks for it (issue #5). Views built after the commit, for after-step hooks,
    are many: with such hooks everything is read here."""
    _prefetch_owners(change, items)
    if change.plugins.implements("kopflow_after_step"):
        return change.load(ids, columns=BULK_COLUMNS)
    needed = _steps_read(change, (item for rows in items.values() for item in rows))
    return change.load(ids, steps=needed, lazy_rest=True, columns=BULK_COLUMNS)


def _prefetch_owners(change: Change, items: Mapping[str, list[StepItem]]) -> None:
    """Who holds the chunk's unique identifiers, in one query, not one per row (issue #12)."""
    # The chunk's steps whose evidence holds identifiers, with their unique fields.
    holding: dict[str, contradictions.UniqueKeys] = {}
    for step in {step for rows in items.values() for _ref, step, _raw in rows}:
        try:
            spec = change.step_spec(step)[0]
        except KopflowError:
            continue  # refused when its row comes up
        keys = contradictions.unique_keys(change, step, spec)
        if keys:
            holding[step] = keys
    pairs: list[tuple[str, str]] = []
    for rows in items.values():
        for _ref, step, raw in rows:
            held = holding.get(step)
            if held is not None:
                pairs.extend(contradictions.pairs(held, raw))
    change.prefetch_owners(pairs)


def _row_ref(row: StepItem) -> str:
    return row[0]


COMPLETE_BULK: BulkOp[StepItem] = BulkOp(
    name="step.complete", apply=_complete_all, load=_load_for_steps, group=True, ref=_row_ref
)


def _stage(workflow: Workflow, stage_id: str | None) -> Named:
    """A stage id that a message shows as its label (issue #12)."""
    known = {s.id: s.label for s in workflow.stages}
    return Named(str(stage_id), known.get(str(stage_id)))


def _step(change: Change, key: str, spec: StepSpec | None = None) -> Named:
    """A step's full key (``nib``, ``bri.account``) that a message shows as its label."""
    if spec is None:
        try:
            spec = change.step_spec(key)[0]
        except KopflowError:
            return Named(key, None)
    return Named(key, spec.label)
