"""The checks a partner spec must pass before kopflow accepts it from a plugin.

Pure functions over :mod:`kopflow.plugin` values, returning translated problem sentences;
``plugin_manager`` turns the first one into a ``PluginError`` naming the plugin.
"""

from __future__ import annotations

import re
from decimal import Decimal

from kopflow.flow.patterns import pattern_problem
from kopflow.flow.spec import FIELD_TYPES, FieldSpec
from kopflow.i18n import _
from kopflow.plugin import PartnerSpec, StepSpec
from kopflow.text import excerpt

IDENT = re.compile(r"[a-z][a-z0-9_]*\Z")
MAX_CODE = 40  # the width of the partner column in kopflow.store.models
MAX_STEP_KEY = 80  # "bri.account" is stored in an 80-character step column


def partner_problems(spec: object) -> list[str]:
    """Everything wrong with a partner spec a plugin registered (empty when it is sound).

    Args:
        spec: what the plugin passed to ``register``.

    Returns:
        One translated sentence per problem, the most basic first.
    """
    if not isinstance(spec, PartnerSpec):
        return [_("expected a PartnerSpec, got {kind}", kind=describe(spec))]
    code = spec.code
    if not isinstance(code, str) or not IDENT.match(code) or len(code) > MAX_CODE:
        return [_("partner code {code} must match [a-z][a-z0-9_]* (at most 40)", code=repr(code))]
    problems: list[str] = []
    if not is_label(spec.name):
        problems.append(
            _("{what} of {where} needs non-empty id and en texts", what=_("name"), where=code)
        )
    if spec.description is not None and not is_label(spec.description):
        what = _("description")
        problems.append(
            _("{what} of {where} needs non-empty id and en texts", what=what, where=code)
        )
    problems += _enroll_problems(spec)
    if not isinstance(spec.steps, tuple) or not spec.steps:
        return [*problems, _("partner {code} declares no steps", code=code)]
    steps: dict[str, StepSpec] = {}
    for step in spec.steps:
        if not isinstance(step, StepSpec):
            problems.append(
                _("partner {code}: expected a StepSpec, got {kind}", code=code, kind=describe(step))
            )
        elif (
            not isinstance(step.id, str)
            or not IDENT.match(step.id)
            or len(spec.key(step.id)) > MAX_STEP_KEY
        ):
            problems.append(
                _(
                    "partner {code}: step id {step} must match [a-z][a-z0-9_]*",
                    code=code,
                    step=repr(step.id),
                )
            )
        elif step.id in steps:
            problems.append(
                _("partner {code}: step {step} is declared twice", code=code, step=step.id)
            )
        else:
            steps[step.id] = step
            problems += _step_problems(spec.key(step.id), step)
    problems += _order_problems(code, steps)
    return problems


def _enroll_problems(spec: PartnerSpec) -> list[str]:
    """The enrolment rules' form (issue #13). Whether the workflow has the stage and the steps
    named is checked at enrolment: the workflow in use is not known while plugins load."""
    problems: list[str] = []
    stage = spec.enroll_from
    if stage is not None and (not isinstance(stage, str) or not IDENT.match(stage)):
        problems.append(
            _(
                "partner {code}: enroll_from must be a stage id such as onboarding, or None",
                code=spec.code,
            )
        )
    steps = spec.enroll_requires
    if not isinstance(steps, tuple) or not all(
        isinstance(s, str) and IDENT.match(s) for s in steps
    ):
        problems.append(
            _(
                "partner {code}: enroll_requires must be a tuple of workflow step ids "
                "such as sk_ahu",
                code=spec.code,
            )
        )
    return problems


def _step_problems(where: str, step: StepSpec) -> list[str]:
    problems: list[str] = []
    if not is_label(step.label):
        problems.append(
            _("{what} of {where} needs non-empty id and en texts", what=_("label"), where=where)
        )
    if not isinstance(step.role, str) or not step.role:
        problems.append(_("step {step}: role must be a role name such as partner", step=where))
    if not isinstance(step.after, tuple) or not all(isinstance(a, str) for a in step.after):
        problems.append(_("step {step}: after must be a tuple of step ids", step=where))
    names: set[str] = set()
    for field in step.fields:
        if field.name in names:
            problems.append(
                _("step {step}: field {field} is declared twice", step=where, field=field.name)
            )
        names.add(field.name)
        if field.type not in FIELD_TYPES:
            types = ", ".join(FIELD_TYPES)
            problems.append(
                _("step {step}: field {field} has unknown type {type}; use one of {types}",
                  step=where, field=field.name, type=field.type, types=types)
            )  # fmt: skip
        elif field.type == "choice" and not field.choices:
            problems.append(
                _(
                    "step {step}: choice field {field} lists no choices",
                    step=where,
                    field=field.name,
                )
            )
        # The engine matches with RE2 (kopflow.flow.patterns): refuse what it refuses.
        if field.pattern is not None and (error := pattern_problem(field.pattern)) is not None:
            problems.append(
                _("step {step}: field {field} has a broken pattern: {error}",
                  step=where, field=field.name, error=excerpt(error))
            )  # fmt: skip
        problems += _typed_field_problems(where, field)
        if not is_label(field.label):
            what = _("field {field}", field=field.name)
            problems.append(
                _("{what} of {where} needs non-empty id and en texts", what=what, where=where)
            )
    return problems


def _typed_field_problems(where: str, field: FieldSpec) -> list[str]:
    """Issue #13: a decimal's bounds are exact, a unit and choice labels are labels."""
    problems: list[str] = []
    for key in ("min", "max"):
        bound = getattr(field, key)
        if bound is not None and (
            isinstance(bound, bool | float) or not isinstance(bound, int | Decimal)
        ):
            problems.append(
                _("step {step}: field {field}: {key} must be a whole number or a Decimal, not {value}",
                  step=where, field=field.name, key=key, value=repr(bound))
            )  # fmt: skip
    if field.exclusive not in (True, False, "min", "max"):
        problems.append(
            _("step {step}: field {field}: exclusive must be True, False, min or max",
              step=where, field=field.name)
        )  # fmt: skip
    if field.unit is not None and not is_label(field.unit):
        what = _("the unit of field {field}", field=field.name)
        problems.append(
            _("{what} of {where} needs non-empty id and en texts", what=what, where=where)
        )
    labels = field.choice_labels or {}
    for value in field.choices if labels else ():
        if not is_label(labels.get(value)):
            what = _("choice {value} of field {field}", value=value, field=field.name)
            problems.append(
                _("{what} of {where} needs non-empty id and en texts", what=what, where=where)
            )
    return problems


def _order_problems(code: str, steps: dict[str, StepSpec]) -> list[str]:
    problems: list[str] = []
    for step in steps.values():
        for dep in step.after if isinstance(step.after, tuple) else ():
            if dep not in steps:
                problems.append(
                    _("partner {code}: step {step} comes after unknown step {after}",
                      code=code, step=step.id, after=dep)
                )  # fmt: skip
            elif step.required and not steps[dep].required:
                # The optional step would silently become required: say so instead.
                problems.append(
                    _("partner {code}: required step {step} comes after optional step {after}",
                      code=code, step=step.id, after=dep)
                )  # fmt: skip
    graph = {s.id: [d for d in s.after if d in steps] for s in steps.values()}
    cycle = find_cycle(graph)
    if cycle:
        circle = " -> ".join(cycle)
        problems.append(
            _(
                "partner {code}: steps {steps} wait for each other in a circle",
                code=code,
                steps=circle,
            )
        )
    return problems


def find_cycle(graph: dict[str, list[str]]) -> list[str]:
    """A cycle in ``graph`` as ``[a, b, a]``, or ``[]`` (depth-first search with three colours)."""
    state: dict[str, int] = {}  # absent: unseen, 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for start in graph:
        if start not in state and (found := visit(start)):
            return found
    return []


def is_label(value: object) -> bool:
    """Whether ``value`` is a ``{"id": ..., "en": ...}`` label with both texts non-empty."""
    return isinstance(value, dict) and all(
        isinstance(value.get(k), str) and value[k].strip() for k in ("id", "en")
    )


def describe(value: object) -> str:
    """A short description of a wrong value for an error line: its type and a clipped repr."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"
