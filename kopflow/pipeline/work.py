"""What a change works on and gives back: a cooperative as a change sees it (:class:`CoopWork`,
its step states, the rest of its history read only if a plugin asks) and the outcome of each
cooperative (:class:`Outcome`, :class:`BulkResult`). Plain data: no database writes here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy import Connection


@dataclass(slots=True)  # a bulk command holds one per change (issue #5: memory, GC)
class Outcome:
    """What happened to one cooperative: done (with its audit event) or refused (with why)."""

    coop_id: str
    ok: bool
    message: str
    audit_seq: int | None = None
    stage: str | None = None
    # Plugin notifications to run once the change is committed (never before: issue #3).
    after: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    # What a bulk summary groups a refusal by (issue #12); None when done. One field, so the
    # many outcomes of a bulk run that were done pay one pointer for it.
    why: Why | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Why:
    """A bulk refusal as a summary reads it.

    Args:
        reason: the refusal's message with the cooperative's own name as ``COOP``: refusals
            with the same reason share one string (:meth:`BulkResult.reason`).
        item: the item of several that was refused (a step of a CSV's rows), if known.
        refs: the references that named the cooperative, where they differ from its id (a
            village name in a CSV), so the rows that named it can be found again.
        exit_code: the exit status of the error that refused it.
    """

    reason: str
    item: str | None = None
    refs: tuple[str, ...] = ()
    # the exit status of the refusal's error: a run refused only for permission exits as a
    # single command refused so would (5), not 3 (issue #14)
    exit_code: int = 3


@dataclass
class BulkResult:
    """The summary of a bulk command."""

    done: list[Outcome] = field(default_factory=list)
    refused: list[Outcome] = field(default_factory=list)
    dry_run: bool = False
    _reasons: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def reason(self, text: str) -> str:
        """``text`` as the one string this result holds for it: a national run refuses
        hundreds of thousands of cooperatives for a handful of reasons (issue #5: memory)."""
        return self._reasons.setdefault(text, text)


@dataclass(slots=True)
class StepState:
    """The newest version of one step of one cooperative.

    ``evidence_json`` is empty when the cooperative was loaded for a change that shows no
    plugin a view (``load_coops(..., views=False)``).
    """

    version: int
    status: str
    evidence_json: str
    # The evidence parsed, once: a bulk completion's date rules read another step's evidence
    # for each row that compares with it (issue #15). Never changed: readers get a Mapping.
    parsed: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self.status == "done"

    def evidence(self) -> Mapping[str, Any]:
        """The evidence as ``evidence_json`` holds it (parsed on first use)."""
        parsed = self.parsed
        if parsed is None:
            parsed = self.parsed = json.loads(self.evidence_json)
        return parsed


def newest_states(rows: Iterable[Sequence[Any]]) -> dict[str, dict[str, StepState]]:
    """Each cooperative's newest state of each step, from ``step_record`` rows of
    (coop_id, step, version, status, evidence), in the order the rows come."""
    found: dict[str, dict[str, StepState]] = {}
    for coop_id, step, version, status, evidence_json in rows:
        states = found.get(coop_id)
        if states is None:
            states = found[coop_id] = {}
        known = states.get(step)
        if known is None or known.version < version:
            states[step] = StepState(version, status, evidence_json)
    return found


class History:
    """One cooperative's step states as they stood at audit event ``seq``, read when first
    asked for: the steps a bulk change did not load, since only a plugin may read them.

    ``loaded`` names the steps the change did load. Step records are never changed and those
    written since carry later events, so the answer is the same whenever it is read: in the
    change's transaction or, once that has ended (a plugin kept a view), on a new connection.
    """

    __slots__ = ("_reading", "_conn", "_coop_id", "_seq", "loaded", "_states")

    def __init__(
        self,
        reading: Callable[[], AbstractContextManager[Connection]],
        conn: Connection,
        coop_id: str,
        seq: int,
        loaded: frozenset[str],
    ) -> None:
        self._reading, self._conn, self._coop_id, self._seq = reading, conn, coop_id, seq
        self.loaded = loaded
        self._states: dict[str, StepState] | None = None

    def __call__(self) -> dict[str, StepState]:
        if self._states is None:
            if self._conn.closed:
                with self._reading() as conn:
                    self._states = self._read(conn)
            else:
                self._states = self._read(self._conn)
        return self._states

    def _read(self, conn: Connection) -> dict[str, StepState]:
        from kopflow.store.rows import fetch, param_mark

        sql = (
            "SELECT coop_id, step, version, status, evidence FROM step_record "
            f"WHERE coop_id = {param_mark(conn)} AND audit_seq <= {param_mark(conn)}"
        )
        found = newest_states(fetch(conn, sql, (self._coop_id, self._seq)))
        return found.get(self._coop_id, {})


class LazyEvidence(Mapping[str, Mapping[str, Any]]):
    """Current evidence per completed step, parsed only when a plugin reads it.

    When the change loaded only some steps (``rest`` given), the others are read the first
    time a plugin asks about one of them or about all of them (issue #5).
    """

    def __init__(
        self,
        steps: Mapping[str, StepState],
        rest: History | None = None,
        decimals: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        # A snapshot: states are replaced, never changed, so a plain copy is enough, and
        # steps not done are skipped when read (a view is built for every step: issue #5).
        self._steps = dict(steps)
        self._rest = rest
        self._parsed: dict[str, Mapping[str, Any]] = {}
        # Issue #13: the decimal fields per step key, stored as their exact text and read back
        # as the Decimal FieldSpec.parse gave (kopflow.flow.spec.decimal_fields).
        self._decimals = decimals or {}

    def _whole(self) -> dict[str, StepState]:
        if self._rest is not None:
            # The history in its order, then what the change holds: the dictionary a full
            # load would have given and the change then updated.
            whole = dict(self._rest())
            whole.update(self._steps)
            self._steps, self._rest = whole, None
        return self._steps

    def _state(self, key: str) -> StepState | None:
        state = self._steps.get(key)
        if state is None and self._rest is not None and key not in self._rest.loaded:
            state = self._whole().get(key)
        return state

    def __getitem__(self, key: str) -> Mapping[str, Any]:
        parsed = self._parsed.get(key)
        if parsed is None:
            state = self._state(key)
            if state is None or not state.done:
                raise KeyError(key)
            parsed = json.loads(state.evidence_json)
            decimal = self._decimals.get(key)
            if decimal:
                parsed = {
                    k: Decimal(v) if k in decimal and isinstance(v, str) else v
                    for k, v in parsed.items()
                }
            self._parsed[key] = parsed
        return parsed

    def __contains__(self, key: object) -> bool:
        state = self._state(key) if isinstance(key, str) else None
        return state is not None and state.done

    def __iter__(self) -> Iterator[str]:
        return (k for k, v in self._whole().items() if v.done)

    def __len__(self) -> int:
        return sum(1 for v in self._whole().values() if v.done)


@dataclass
class CoopWork:
    """One cooperative as a change sees it: its row, step states and partners."""

    row: dict[str, Any]
    steps: dict[str, StepState]
    partners: set[str]
    # Region ids of the villages it covers (usually one), as plugins' CoopView.villages.
    villages: list[str] = field(default_factory=list)
    # The states of the steps ``steps`` was not loaded with, read on demand (see load_coops).
    rest: History | None = None

    # Read several times per change; a cooperative's id never changes. A plain attribute:
    # a cached_property costs a Python-level lookup on every read.
    id: str = field(init=False)

    def __post_init__(self) -> None:
        self.id = str(self.row["id"])

    def is_done(self, step: str) -> bool:
        state = self.steps.get(step)
        if state is None and self.rest is not None and step not in self.rest.loaded:
            state = self.rest().get(step)
        return state is not None and state.done
