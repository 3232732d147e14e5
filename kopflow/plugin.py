"""The public plugin API: the only kopflow module a partner plugin may import.

Owns the ``hookimpl`` marker, the API version and the value types that cross the plugin
boundary. Must stay light (pluggy, dataclasses and the workflow specs only) and must never hand
a plugin a database object: hooks see a read-only :class:`CoopView`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import pluggy

from kopflow.flow.spec import FieldSpec, StepSpec
from kopflow.i18n import get_language

# FieldSpec's checks against other evidence (issue #12), for partners' steps as for the
# definition's: ``unique=True`` (no two cooperatives record the same value), ``not_before``
# (``"step.field"`` or ``"code.step.field"`` date fields this date may not precede),
# ``min_date`` (``"YYYY-MM-DD"``) and ``min_date_unless`` (``{"step.field": (choices...)}``
# lifting it). docs/plugins.md lists every parameter.

__all__ = [
    "PLUGIN_API_VERSION",
    "CoopDetail",
    "CoopView",
    "FieldSpec",
    "PartnerSpec",
    "PluginInfo",
    "Queries",
    "StepInfo",
    "StepSpec",
    "for_steps",
    "hookimpl",
    "localize",
    "pass_queries",
    "queries",
]

#: The version of the hook contract. It changes only when a hook changes incompatibly; new
#: hooks and new keyword arguments (pluggy lets an implementation ignore them) do not bump it.
PLUGIN_API_VERSION = 1

#: Mark every hook implementation with ``@hookimpl`` (pluggy's marker for the ``kopflow``
#: project). A function named ``kopflow_*`` without it is still picked up, as pytest does, in a
#: plugin module, class or object; one whose name is no hook breaks the plugin at load (a
#: misspelling would otherwise never be called), unless marked ``@hookimpl(optionalhook=True)``.
hookimpl = pluggy.HookimplMarker("kopflow")

#: Where :func:`for_steps` keeps its step keys on the function it marks.
FOR_STEPS_ATTR = "kopflow_for_steps"

_F = TypeVar("_F", bound=Callable[..., object])
# A partner code and a step id are both ``[a-z][a-z0-9_]*``; a workflow step has no code.
_STEP_KEY = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?")


def for_steps(*keys: str) -> Callable[[_F], _F]:
    """Call this ``kopflow_validate_step`` implementation only for the steps ``keys`` names::

        @hookimpl
        @for_steps("pln.power_connection")
        def kopflow_validate_step(coop, partner, step, evidence): ...

    Keys are full step keys, as ``kopflow workflow show`` lists them: ``"<code>.<step>"`` for a
    partner's step (``"bri.account"``), the step id for a step of the workflow
    (``"musdesus"``). Without it the implementation is called for every step. A bulk command
    validates each row: a plugin that checks a few steps says which, and the others are
    recorded without calling it (or building its view). Marks stacked on one function add up.

    A key naming a step that neither the workflow in use nor a registered partner has refuses
    every step completion (exit 6) until it is fixed: a misspelt key would quietly switch the
    check off. Keys of a partner that is not registered are skipped when steps are completed
    (that partner's plugin may be switched off); ``kopflow plugins check`` names them too.

    Raises:
        TypeError: no key, or one that is not a step key (lower case ``a-z``, digits and
            ``_``, at most one dot between two such names).
    """
    bad = [k for k in keys if not isinstance(k, str) or not _STEP_KEY.fullmatch(k)]
    if not keys or bad:
        raise TypeError(
            f"for_steps() takes step keys such as 'bri.account' or 'musdesus', not {bad!r}"
            if bad
            else "for_steps() takes one step key or more, such as 'bri.account'"
        )

    def mark(function: _F) -> _F:
        found: frozenset[str] = getattr(function, FOR_STEPS_ATTR, frozenset())
        setattr(function, FOR_STEPS_ATTR, found | frozenset(keys))
        return function

    return mark


@dataclass(frozen=True)
class PluginInfo:
    """Who a plugin is, returned by its ``kopflow_plugin_info`` hook.

    Args:
        name: the plugin's name as users see it in ``kopflow plugins list`` and pass to
            ``--disable-plugin``; use the entry-point name (``"bri"``, ``"pertamina"``).
        version: the plugin's version; recorded with every change the plugin takes part in.
        api_version: the :data:`PLUGIN_API_VERSION` the plugin was written for. kopflow refuses
            to load a plugin whose ``api_version`` differs from its own.
    """

    name: str
    version: str
    api_version: int = PLUGIN_API_VERSION


@dataclass(frozen=True)
class PartnerSpec:
    """A partner and its onboarding steps, handed to ``register`` in ``kopflow_register_partners``.

    Steps are declared with short ids (``"account"``); kopflow addresses them as
    ``<code>.<id>`` (``"bri.account"``) in commands, evidence and the audit trail, so neither the
    code nor a step id may change once cooperatives have records under them.

    Args:
        code: short stable code, ``[a-z][a-z0-9_]*`` and at most 40 characters (``"bri"``).
        name: display name, ``{"id": ..., "en": ...}``.
        steps: the onboarding steps in display order. ``StepSpec.after`` names step ids of the
            same partner that must be complete first; ``StepSpec.required`` says whether the
            step must be done before the cooperative's onboarding with this partner is complete.
            A required step may not come after an optional one.
        description: optional ``{"id": ..., "en": ...}`` text for ``kopflow partner list``.
        enroll_from: the workflow stage (``"onboarding"``) from which a cooperative may be
            enrolled: one in an earlier stage of the main line is refused, naming both stages.
            ``None`` (the default) sets no stage: any cooperative that is not dissolved may be
            enrolled, as before this rule existed (issue #13), so an outside plugin written
            earlier refuses nothing it used to accept.
        enroll_requires: ids of the workflow's own steps (``"sk_ahu"``, ``"bank_account"``)
            that must be done before a cooperative may be enrolled; a refusal names the
            missing ones. Empty by default, for the same reason.
    """

    code: str
    name: dict[str, str]
    steps: tuple[StepSpec, ...]
    description: dict[str, str] | None = None
    # Enrolment rules (issue #13); kept together, after ``description``.
    enroll_from: str | None = None
    enroll_requires: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A list is the natural thing to write; store a tuple so the spec stays immutable.
        if isinstance(self.steps, list):
            object.__setattr__(self, "steps", tuple(self.steps))
        if isinstance(self.enroll_requires, list):
            object.__setattr__(self, "enroll_requires", tuple(self.enroll_requires))

    def step(self, step_id: str) -> StepSpec | None:
        """The step with the short id ``step_id``, or ``None``."""
        return next((s for s in self.steps if s.id == step_id), None)

    def key(self, step_id: str) -> str:
        """The full step key kopflow uses for ``step_id``: ``"account"`` -> ``"bri.account"``."""
        return f"{self.code}.{step_id}"


@dataclass(frozen=True)
class CoopView:
    """A read-only view of one cooperative, as every hook that concerns a cooperative receives it.

    It is a snapshot taken by the engine for the call, never a database object: changing it
    changes nothing, and ``evidence`` is wrapped so it cannot be changed by accident.

    Args:
        id: the cooperative's stable id.
        name: its name.
        kabupaten: the kabupaten (district) it belongs to.
        kecamatan: the kecamatan (sub-district).
        villages: the region codes of the villages it covers (usually one).
        stage: its current stage id (``"formation"``, ``"onboarding"``, ...).
        workflow: the name of the workflow definition it runs.
        partners: the codes of the partners it is enrolled with.
        evidence: the current evidence of every completed step, by full step key
            (``"musdesus"``, ``"bri.loan_agreement"``), each a read-only mapping of field name
            to value as parsed by :meth:`FieldSpec.parse` (dates are ISO ``YYYY-MM-DD``
            strings, rupiah and integers are ``int``, a multiple choice is a tuple here). It is
            read from the engine on demand, so reading one step does not load the others.
    """

    id: str
    name: str
    kabupaten: str
    kecamatan: str
    villages: tuple[str, ...]
    stage: str
    workflow: str
    partners: tuple[str, ...]
    evidence: Mapping[str, Mapping[str, object]] = field(hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.evidence, _ReadOnlyEvidence):
            object.__setattr__(self, "evidence", _ReadOnlyEvidence(self.evidence))
        object.__setattr__(self, "villages", tuple(self.villages))
        object.__setattr__(self, "partners", tuple(self.partners))

    @classmethod
    def _build(
        cls, fields: Mapping[str, object], evidence: Mapping[str, Mapping[str, object]]
    ) -> CoopView:
        """The view ``CoopView(**fields, evidence=evidence)`` builds, for the engine only.

        A bulk batch builds one per step (issue #5), and a frozen dataclass's ``__init__`` sets
        every field through ``object.__setattr__``; this sets them at once, as
        ``__post_init__`` would leave them. The engine passes every other field, ``villages``
        and ``partners`` as tuples already, in one mapping it builds once per cooperative.
        """
        view = object.__new__(cls)
        state = view.__dict__
        state.update(fields)
        state["evidence"] = _ReadOnlyEvidence(evidence)
        return view

    def is_done(self, step_id: str) -> bool:
        """Whether the step with full key ``step_id`` (``"bri.account"``) is complete."""
        return step_id in self.evidence

    def evidence_of(self, step_id: str) -> Mapping[str, object]:
        """The current evidence of the step ``step_id``, or an empty mapping if it is not done."""
        return self.evidence.get(step_id, MappingProxyType({}))


class _ReadOnlyEvidence(Mapping[str, Mapping[str, object]]):
    """Evidence per step, read-only at every level, taken from the engine's mapping on access.

    The engine may pass a lazy mapping (parsed per step when first read): never copy it whole.
    """

    __slots__ = ("_source",)

    def __init__(self, source: Mapping[str, Mapping[str, object]]) -> None:
        self._source = source

    def __getitem__(self, key: str) -> Mapping[str, object]:
        fields = self._source[key]
        return MappingProxyType(
            {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
        )

    def __contains__(self, key: object) -> bool:
        return key in self._source

    def __iter__(self) -> Iterator[str]:
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)

    def __repr__(self) -> str:
        return f"ReadOnlyEvidence(steps={list(self._source)!r})"


def _read_only(evidence: Mapping[str, object]) -> Mapping[str, object]:
    """The ``evidence`` a hook receives: one hook cannot change what the next one sees (#13).

    A read-only view of a new dict when some value is a list (a multiple choice, given as a
    tuple), else of ``evidence`` itself: the engine hands over a dict of its own for the call.
    Runs once per hook call, not per plugin; a bulk run makes one per step (issue #5), so it
    copies nothing it need not.
    """
    if type(evidence) is MappingProxyType:
        return evidence
    for value in evidence.values():
        if type(value) is list:
            evidence = {k: tuple(v) if type(v) is list else v for k, v in evidence.items()}
            break
    return MappingProxyType(evidence)


def localize(texts: Mapping[str, str], **params: object) -> str:
    """Pick the user's language from ``{"id": ..., "en": ...}`` and fill ``{placeholders}``.

    Plugins use it for the reasons they return, so an officer reads them in the language the
    rest of kopflow speaks (``--lang``, ``KOPFLOW_LANG``)::

        localize({"id": "Plafon Rp {max} terlampaui", "en": "Ceiling Rp {max} exceeded"}, max=x)

    Args:
        texts: the text per language code; ``"en"`` is the fallback.
        **params: values for the placeholders.

    Returns:
        The text in the current language with placeholders filled.
    """
    text = texts.get(get_language()) or texts.get("en") or next(iter(texts.values()), "")
    return text.format(**params) if params else text


# -------------------------------------------------------------------------------------------
# Issue #13: what a plugin's commands read. kopflow's data reaches a plugin only through a
# Queries object the engine implements (kopflow.rules.reads); this module declares its shape
# and how a command gets it, and imports nothing heavy to do so (no database at import: a
# plugin is imported by every command that loads plugins).

#: Where the CLI leaves the factory of the invocation's :class:`Queries` (``click``'s
#: ``Context.meta``, shared by every context of one command line).
QUERIES_KEY = "kopflow.queries"

_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass(frozen=True)
class StepInfo:
    """One step of one cooperative, as :class:`Queries` reports it.

    Args:
        key: the full step key (``"musdesus"``, ``"pertamina.verified"``).
        label: the step's label, ``{"id": ..., "en": ...}`` (pass it to :func:`localize`).
        partner: the partner code of a partner's step, ``None`` for a workflow step.
        stage: the stage a workflow step belongs to, ``None`` for a partner's step.
        required: whether the step must be done (before advancing; for a partner's step,
            before the onboarding with that partner is complete).
        status: ``"done"``, ``"missing"`` (required, not done) or ``"optional"`` (not
            required, not done); an undone step is not done.
        version: how many versions were recorded (0: never).
        evidence: the current evidence of a done step, read-only and typed as
            :meth:`FieldSpec.parse` gives it (a decimal as ``Decimal``), else ``None``.
    """

    key: str
    label: dict[str, str]
    partner: str | None
    stage: str | None
    required: bool
    status: str
    version: int
    evidence: Mapping[str, object] | None


@dataclass(frozen=True)
class CoopDetail:
    """One cooperative with its steps: :meth:`Queries.cooperative`.

    Args:
        coop: the cooperative, as hooks see it.
        steps: the workflow's steps of every stage in order, then the steps of each partner
            it is enrolled with (by partner code, in the partner's order), each once.
    """

    coop: CoopView
    steps: tuple[StepInfo, ...]


class Queries(Protocol):
    """Read-only questions a plugin's command may ask about kopflow's data (issue #13).

    Get it with :func:`pass_queries` (or :func:`queries`). It reads as the actor running the
    command (``--actor``, ``KOPFLOW_ACTOR``, the database login) and shows what that actor may
    read: an officer, the cooperatives of their own kabupaten; a partner's staff, the
    cooperatives enrolled with their partner and, of their steps, the workflow's and their
    partner's only; an auditor or an admin, everything. Asking for what the actor may not read
    raises kopflow's permission error (``Error: ...``, exit code 4). Names are taken as users
    type them (``"pasuruan"`` or ``"Kabupaten Pasuruan"``, a stage's id or label, a village or
    a cooperative id); a name that names nothing raises kopflow's error with the known ones.
    Every answer is a snapshot: nothing it returns holds a connection, and nothing writes.
    """

    def cooperatives(
        self,
        *,
        kabupaten: str | None = None,
        kecamatan: str | None = None,
        stage: str | None = None,
        partner: str | None = None,
        partner_state: str | None = None,
    ) -> list[CoopView]:
        """The cooperatives matching every filter given, by id, with their evidence.

        Args:
            kabupaten: a kabupaten/kota (``"Kabupaten Pasuruan"``, ``"pasuruan"``).
            kecamatan: a kecamatan (of ``kabupaten`` when given).
            stage: a stage id or label (``"onboarding"``).
            partner: only cooperatives enrolled with this partner (code or name).
            partner_state: with ``partner``: only those that stand at this step of it (its
                short id ``"verified"`` or key ``"pertamina.verified"``), or ``"complete"``.
                A cooperative stands at the first required step not done, as in ``kopflow
                partner status``.
        """
        ...

    def cooperative(self, coop: str) -> CoopDetail:
        """One cooperative (an id or an unambiguous village name) with all its steps."""
        ...

    def partner_steps(self, coop: str, partner: str) -> tuple[StepInfo, ...]:
        """One cooperative's steps with one partner, in the partner's order."""
        ...

    def standing(self, coop: CoopView, partner: str) -> str:
        """Where ``coop`` stands with ``partner``: the key of the first required step not done
        (``"pertamina.verified"``), or ``"complete"``. Reads nothing: ``coop`` knows."""
        ...

    def counts(self, *, kabupaten: str | None = None, partner: str | None = None) -> dict[str, int]:
        """How many cooperatives: per stage id, or with ``partner`` per step key they stand at
        (and ``"complete"``), as ``kopflow status`` and ``kopflow partner status`` count them.
        A partner's staff count their own partner's (``partner`` may be left out)."""
        ...


def queries() -> Queries:
    """The :class:`Queries` of the ``kopflow`` command running now, for a plugin's command.

    Raises:
        RuntimeError: called outside a command that ``kopflow`` runs (at import, in a hook).
    """
    import click  # the CLI has loaded it already; a hook-only plugin never pays for it

    ctx = click.get_current_context(silent=True)
    factory = ctx.meta.get(QUERIES_KEY) if ctx is not None else None
    if factory is None:
        raise RuntimeError("kopflow.plugin.queries() works only inside a command kopflow runs")
    found: Queries = factory()
    return found


def pass_queries(command: Callable[Concatenate[Queries, _P], _R]) -> Callable[_P, _R]:
    """Decorate a plugin's click command so it receives :class:`Queries` first::

        @pertamina_group.command(name="allocation")
        @click.argument("region")
        @pass_queries
        def allocation(kopflow: Queries, region: str) -> None:
            for coop in kopflow.cooperatives(kabupaten=region, partner="pertamina"):
                ...

    Like ``click.pass_obj``: put it under the click decorators. The object is made when the
    command runs, so ``--help`` and the commands of other plugins open no database.
    """
    import functools

    @functools.wraps(command)
    def with_queries(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        return command(queries(), *args, **kwargs)

    return with_queries
