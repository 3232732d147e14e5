"""Evidence that contradicts evidence (issue #12): the checks a step's fields declare against
other steps' fields and other cooperatives, run when the step is recorded.

What is checked is declared on the fields (``not_before``, ``min_date``, ``min_date_unless``,
``unique``: docs/workflows.md), for the definition's steps and partners' steps alike; this
module only knows how to check each kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from kopflow.errors import EvidenceError, KopflowError
from kopflow.i18n import N_, label

if TYPE_CHECKING:
    from kopflow.flow.spec import FieldSpec, StepSpec
    from kopflow.pipeline.change import Change
    from kopflow.pipeline.work import CoopWork


@dataclass(frozen=True, slots=True)
class DateRule:
    """``field`` of a step may not be before (``later``) or after ``other_field`` of
    ``other_step``; each ``not_before`` gives one rule to each of its two steps."""

    field: str
    other_step: str
    other_field: str
    later: bool


def split_ref(ref: str) -> tuple[str, str]:
    """``"sk_ahu.decree_date"`` -> ``("sk_ahu", "decree_date")``; a partner's step keeps its
    code: ``"bri.account.date"`` -> ``("bri.account", "date")``."""
    step, _sep, field = ref.rpartition(".")
    return step, field


def _all_steps(change: Change) -> Iterable[tuple[str, StepSpec]]:
    for stage in change.workflow.stages:
        for step in stage.steps:
            yield step.id, step
    for code, partner in sorted(change.plugins.partners.items()):
        for step in partner.steps:
            yield f"{code}.{step.id}", step


_Index = tuple[dict[str, list[DateRule]], dict[str, set[str]]]


def _index(change: Change) -> _Index:
    """Per step key: its date rules, and the other steps whose evidence its checks read."""
    return change.memoized("evidence_rules", partial(_build_index, change))


def _build_index(change: Change) -> _Index:
    rules: dict[str, list[DateRule]] = {}
    reads: dict[str, set[str]] = {}
    for key, step in _all_steps(change):
        for field in step.fields:
            for ref in field.not_before:
                other, other_field = split_ref(ref)
                rules.setdefault(key, []).append(DateRule(field.name, other, other_field, True))
                rules.setdefault(other, []).append(DateRule(other_field, key, field.name, False))
                reads.setdefault(key, set()).add(other)
                reads.setdefault(other, set()).add(key)
            for ref in field.min_date_unless or {}:
                reads.setdefault(key, set()).add(split_ref(ref)[0])
    return rules, reads


def steps_read(change: Change, step: str) -> set[str]:
    """The other steps whose evidence recording ``step`` reads (for bulk loads)."""
    return _index(change)[1].get(step, set())


def evidence_of(work: CoopWork, step: str) -> Mapping[str, Any]:
    state = work.steps.get(step)
    if state is None and work.rest is not None and step not in work.rest.loaded:
        state = work.rest().get(step)
    if state is None or not state.done or not state.evidence_json:
        return {}
    return state.evidence()


def _field_spec(change: Change, step: str, field: str) -> tuple[StepSpec, FieldSpec] | None:
    try:
        spec = change.step_spec(step)[0]
    except KopflowError:
        return None  # a partner that is not installed: nothing to compare with
    found = next((f for f in spec.fields if f.name == field), None)
    return (spec, found) if found is not None else None


def unique_pairs(
    change: Change, step: str, spec: StepSpec, evidence: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """The (key, value) identifiers ``evidence`` of ``step`` holds alone."""
    return pairs(unique_keys(change, step, spec), evidence)


# The unique fields of a step: each one's key (``"nib.nib"``) and name.
UniqueKeys = tuple[tuple[str, str], ...]


def pairs(keys: UniqueKeys, evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (key, value) identifiers ``evidence`` holds in the unique fields ``keys``."""
    found: list[tuple[str, str]] = []
    # Most steps have none; a bulk completion asks three times per row (issue #15).
    for key, name in keys:
        value = evidence.get(name)
        if value not in (None, ""):
            found.append((key, str(value).strip()))
    return found


def unique_keys(change: Change, step: str, spec: StepSpec) -> UniqueKeys:
    """The unique fields of ``step`` (none: its evidence holds no identifier, as for most
    steps), for :func:`pairs`; a bulk run asks once per step, not per row."""
    # Keyed by the step alone in a dict of their own, with each field's key: no key text built
    # per row (issue #15).
    memo: dict[str, UniqueKeys] = change.memoized("unique", dict)
    found = memo.get(step)
    if found is None:
        found = memo[step] = tuple((f"{step}.{f.name}", f.name) for f in spec.fields if f.unique)
    return found


@dataclass(frozen=True, slots=True)
class Checks:
    """What :func:`check` looks at for one step: the fields with an earliest date, the date
    rules, the unique fields. The caller works it out once per transaction (issue #15)."""

    bounded: tuple[FieldSpec, ...]
    rules: tuple[DateRule, ...]
    unique: UniqueKeys


def checks(change: Change, step: str, spec: StepSpec) -> Checks:
    """What :func:`check` looks at for ``step``."""
    bounded = tuple(f for f in spec.fields if f.min_date)
    rules = tuple(_index(change)[0].get(step, ()))
    return Checks(bounded, rules, unique_keys(change, step, spec))


def check(
    change: Change,
    work: CoopWork,
    step: str,
    spec: StepSpec,
    evidence: Mapping[str, Any],
    plan: Checks,
) -> list[EvidenceError]:
    """Where ``evidence`` (the values that parsed) for ``step`` contradicts other evidence;
    ``plan``: :func:`checks` of the step."""
    problems: list[EvidenceError] = []
    bounded, rules, unique = plan.bounded, plan.rules, plan.unique
    for field in bounded:
        value = evidence.get(field.name)
        if isinstance(value, str) and field.min_date and value < field.min_date:
            problem = _too_early(change, work, step, evidence, field, value)
            if problem is not None:
                problems.append(problem)
    if not rules and not unique:
        return problems
    for rule in rules:
        mine = evidence.get(rule.field)
        if not isinstance(mine, str) or rule.other_step == step:
            continue
        other = evidence_of(work, rule.other_step).get(rule.other_field)
        if not isinstance(other, str):
            continue
        if not ((mine < other) if rule.later else (mine > other)):
            continue
        found = _field_spec(change, rule.other_step, rule.other_field)
        mine_spec = next((f for f in spec.fields if f.name == rule.field), None)
        if found is None or mine_spec is None:
            continue
        other_spec, other_field = found
        # An existing cooperative's older papers (their min_date lifted) are not ordered
        # against the program's own dates, only against each other.
        if _lifted(work, step, evidence, mine_spec) != _lifted(work, step, evidence, other_field):
            continue
        msgid = (
            N_("{field}: {value} is before {other} ({other_value}) of step {step}")
            if rule.later
            else N_("{field}: {value} is after {other} ({other_value}) of step {step}")
        )
        problems.append(
            EvidenceError(
                rule.field,
                msgid,
                value=mine,
                other=label(other_field.label, other_field.name),
                other_value=other,
                step=label(other_spec.label, other_spec.id),
            )
        )
    for key, value in pairs(unique, evidence):
        holder = change.owner(key, value)
        if holder is not None and holder != work.id:
            problems.append(
                EvidenceError(
                    key.rpartition(".")[2],
                    "{field}: {value} is already recorded for {other}",
                    value=value,
                    other=_coop_name(change, holder),
                )
            )
    return problems


def _lifted(work: CoopWork, step: str, evidence: Mapping[str, Any], field: FieldSpec) -> bool:
    """Whether ``field``'s ``min_date`` is lifted for this cooperative (``min_date_unless``)."""
    for ref, allowed in (field.min_date_unless or {}).items():
        other_step, other_field = split_ref(ref)
        source = evidence if other_step == step else evidence_of(work, other_step)
        given = source.get(other_field)
        if given in allowed or (isinstance(given, list) and set(given) & set(allowed)):
            return True
    return False


def _too_early(
    change: Change,
    work: CoopWork,
    step: str,
    evidence: Mapping[str, Any],
    field: FieldSpec,
    value: str,
) -> EvidenceError | None:
    unless = field.min_date_unless or {}
    if _lifted(work, step, evidence, field):
        return None
    if not unless:
        msgid = N_("{field}: {value} is before {min}, the earliest date this step accepts")
        return EvidenceError(field.name, msgid, value=value, min=field.min_date)
    conditions = []
    for ref, allowed in unless.items():
        found = _field_spec(change, *split_ref(ref))
        if found is None:
            continue
        other = found[1]
        names = change.workflow.choice_labels.get(other.choice_list or "", {})
        shown = ", ".join(label(names.get(v) or {}, v) for v in allowed)
        conditions.append(f"{label(other.label, other.name)}: {shown}")
    msgid = N_(
        "{field}: {value} is before {min}, the earliest date this step accepts unless {condition}"
    )
    return EvidenceError(
        field.name, msgid, value=value, min=field.min_date, condition="; ".join(conditions)
    )


def _coop_name(change: Change, coop_id: str) -> str:
    from sqlalchemy import select

    from kopflow.store import tables

    name = change.conn.execute(
        select(tables.coop.c.name).where(tables.coop.c.id == coop_id)
    ).scalar()
    return f"{name} ({coop_id})" if name else coop_id


def held(change: Change, step: str, spec: StepSpec, work: CoopWork) -> list[tuple[str, str]]:
    """The identifiers the cooperative's current evidence of ``step`` holds."""
    return unique_pairs(change, step, spec, evidence_of(work, step))
