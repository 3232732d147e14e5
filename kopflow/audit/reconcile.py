"""Reconciling the audit log with the tables (issue #14): replay every event into the state it
implies and compare that state with what the tables hold.

The chain proves the log was not changed; it says nothing about the tables. A stage set in
``coop`` by raw SQL, a step record inserted or an enrolment deleted, an actor's role changed:
none of these touches ``audit_event``, so ``audit verify`` stays green. Replaying finds them.

Memory stays bounded by the number of cooperatives and actors, not of events: the events are
streamed in sequence order and each cooperative keeps one small record (:class:`_Coop`). The
tables whose rows each name the event that wrote them (``step_record``, ``transition``,
``enrollment``, ``unique_value``: their ``audit_seq``) are streamed sorted by that column
alongside the events, a merge join that holds one event's rows at a time. ``coop``,
``coop_village`` and ``actor`` are streamed at the end and compared with the replayed records.

What each action writes is the rules modules' business (``kopflow/rules``); this module mirrors
it and must change with it: ``tests/test_reconcile_state.py`` drives random command sequences
through the engine and fails when a change writes what the replay does not expect.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kopflow.audit.chain import iter_rows, utc_iso
from kopflow.i18n import N_, Named, _
from kopflow.text import excerpt

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.flow.spec import StepSpec, Workflow

# At most this many differences are kept (each one a sentence); the rest are only counted. A
# table rewritten wholesale would otherwise fill memory with millions of identical lines.
KEEP = 1000

# Names of the compared columns as a sentence shows them (translated when shown).
_FIELDS = {
    "name": N_("name"),
    "village": N_("village"),
    "kecamatan": N_("kecamatan"),
    "kabupaten": N_("kabupaten"),
    "provinsi": N_("provinsi"),
    "workflow": N_("workflow"),
    "workflow_version": N_("workflow version"),
    "stage": N_("stage"),
    "stage_since": N_("stage since"),
    "previous_stage": N_("previous stage"),
    "version": N_("version"),
    "updated_at": N_("last change at"),
    "updated_by": N_("last changed by"),
    "villages": N_("villages"),
    "role": N_("role"),
    "region": N_("region"),
    "partner": N_("partner"),
    "enabled": N_("enabled"),
    "created_at": N_("added at"),
    "created_by": N_("added by"),
    "status": N_("status"),
    "evidence": N_("evidence"),
    "reason": N_("reason"),
    "actor": N_("actor"),
    "at": N_("time"),
    "event": N_("event"),
    "source": N_("from stage"),
    "dest": N_("to stage"),
    "released_seq": N_("released by event"),
}

# The actions whose events name a step of a cooperative, and those that end a step version's
# hold on its unique identifiers (rules/steps.py releases them on correction and undo).
_STEP_ACTIONS = frozenset({"step.completed", "step.corrected", "step.undone"})
_RELEASING = frozenset({"step.corrected", "step.undone"})


@dataclass(frozen=True)
class Difference:
    """One way the tables differ from the log: ``kind`` for scripts, ``message`` for people."""

    kind: str
    message: str
    coop: str | None = None
    seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "coop": self.coop, "seq": self.seq, "message": self.message}


@dataclass
class ReconcileResult:
    """What reconciling found: the first :data:`KEEP` differences and how many in all."""

    events: int = 0
    cooperatives: int = 0
    actors: int = 0
    total: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.total == 0

    def report(
        self, kind: str, message: str, *, coop: str | None = None, seq: int | None = None
    ) -> None:
        self.total += 1
        if len(self.differences) < KEEP:
            self.differences.append(Difference(kind, message, coop, seq))

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "cooperatives": self.cooperatives,
            "actors": self.actors,
            "differences_total": self.total,
            "differences": [d.as_dict() for d in self.differences],
        }


# The ``coop`` columns the log determines, compared one by one with the table's row.
_COOP_COLUMNS = (
    "name",
    "village",
    "kecamatan",
    "kabupaten",
    "provinsi",
    "workflow",
    "workflow_version",
    "stage",
    "stage_since",
    "previous_stage",
    "version",
    "updated_at",
    "updated_by",
)


class _Coop:
    """A cooperative as the log leaves it: the columns of its ``coop`` row and its villages."""

    __slots__ = (*_COOP_COLUMNS, "villages", "registered")

    def __init__(self, seq: int, at: str, actor: str, details: dict[str, Any]) -> None:
        villages = [tuple(str(x) for x in v) for v in details.get("villages") or []]
        first = villages[0] if villages else ("", "", "")
        # registration names a cooperative after its first village (regions.CoopSeed.name)
        self.name = f"KDKMP {first[1]}"
        self.village = first[1]
        self.kecamatan = first[2]
        self.kabupaten = details.get("kabupaten")
        self.provinsi = details.get("provinsi")
        self.workflow = details.get("workflow")
        self.workflow_version = details.get("workflow_version")
        self.stage: str | None = None  # set by the caller: the definition's initial stage
        self.stage_since = at
        self.previous_stage: str | None = None
        self.version = 1
        self.updated_at = at
        self.updated_by = actor
        self.villages = tuple(sorted(villages))
        self.registered = seq


class _Rows:
    """Rows of one table sorted by ``audit_seq``, read alongside the events (a merge join)."""

    def __init__(self, kind: str, rows: Iterator[dict[str, Any]]) -> None:
        self.kind = kind  # step, transition, enrolment or identifier: a difference's kind
        self._rows = rows
        self.head: dict[str, Any] | None = next(rows, None)

    def before(self, seq: int) -> list[dict[str, Any]]:
        """The rows naming an event before ``seq`` that no event has claimed."""
        found: list[dict[str, Any]] = []
        while self.head is not None and self.head["audit_seq"] < seq:
            found.append(self.head)
            self.head = next(self._rows, None)
        return found

    def at(self, seq: int) -> list[dict[str, Any]]:
        """The rows naming event ``seq``."""
        if self.head is None or self.head["audit_seq"] != seq:
            return []  # most events write no row of a given table: the common case, made quick
        found = []
        while self.head is not None and self.head["audit_seq"] == seq:
            found.append(self.head)
            self.head = next(self._rows, None)
        return found

    def rest(self) -> Iterator[dict[str, Any]]:
        while self.head is not None:
            yield self.head
            self.head = next(self._rows, None)


def _stream(conn: Connection, table: str, order: str, batch: int) -> Iterator[dict[str, Any]]:
    """Every row of ``table`` in ``order``, typed (datetimes aware), ``batch`` at a time."""
    from sqlalchemy import select, text

    from kopflow.store import tables

    query = select(tables.metadata.tables[table]).order_by(text(order))
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    for part in result.mappings().partitions(batch):
        yield from (dict(r) for r in part)


def _shown(value: Any) -> str:
    """A value as a difference quotes it: bounded and with control characters escaped, since a
    tampered table may hold anything (kopflow.text, issue #14)."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, (dict, list, tuple)):
        return excerpt(json.dumps(value, ensure_ascii=False, sort_keys=True), 200)
    return excerpt(value)


def _field(name: str) -> str:
    return _(_FIELDS.get(name, name))


class Reconciler:
    """Replays a log and compares it with the tables of the same database.

    Args:
        conn: a :func:`kopflow.audit.chain.snapshot` connection (one moment of the database).
        workflows: the definition of a workflow by name (stage labels, and which stages are
            side or final: a transition's ``previous_stage`` follows from them).
        steps: a step's spec by key (``nib``, ``bri.account``), None if unknown: its labels,
            and its unique fields (the identifiers a step event claims).
    """

    def __init__(
        self,
        conn: Connection,
        *,
        workflows: Callable[[str], Workflow | None],
        steps: Callable[[str], StepSpec | None] | None = None,
        batch: int = 5_000,
    ) -> None:
        self.conn = conn
        self._workflows = workflows
        self._wf_cache: dict[str, Workflow | None] = {}
        self._find_step = steps or (lambda _key: None)
        self._steps: dict[str, StepSpec | None] = {}
        self.batch = batch
        self.result = ReconcileResult()
        self.coops: dict[str, _Coop] = {}
        self.actors: dict[str, dict[str, Any]] = {}
        # (coop, step) -> identifiers its current version holds: (scope, value, released_seq)
        self.held: dict[tuple[str, str], list[tuple[str, str, int | None]]] = {}

    # --- naming things as the user does ---------------------------------------------------

    def _wf(self, name: Any) -> Workflow | None:
        key = str(name)
        if key not in self._wf_cache:
            self._wf_cache[key] = self._workflows(key)
        return self._wf_cache[key]

    def _stage(self, coop_id: str, stage: Any) -> str:
        state = self.coops.get(coop_id)
        wf = self._wf(state.workflow) if state is not None else None
        texts = None
        if wf is not None:
            texts = next((s.label for s in wf.stages if s.id == stage), None)
        if stage is None:
            return "-"
        return format(Named(str(stage), texts)) if texts else _shown(stage)

    def _step(self, key: str) -> str:
        spec = self._spec(key)
        return format(Named(key, spec.label if spec is not None else None))

    def _spec(self, key: str) -> StepSpec | None:
        if key not in self._steps:
            self._steps[key] = self._find_step(key)
        return self._steps[key]

    def _coop(self, coop_id: str, name: str | None = None) -> str:
        state = self.coops.get(coop_id)
        name = name or (state.name if state is not None else None)
        return _("cooperative {name} ({coop})", name=name, coop=coop_id) if name else coop_id

    def _value(self, coop_id: str, column: str, value: Any) -> str:
        if column in ("stage", "previous_stage", "source", "dest") and value is not None:
            return self._stage(coop_id, value)
        return _shown(value)

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> ReconcileResult:
        conn, batch = self.conn, self.batch
        steps = _Rows("step", _stream(conn, "step_record", "audit_seq, id", batch))
        moves = _Rows("transition", _stream(conn, "transition", "audit_seq, id", batch))
        enrolments = _Rows("enrolment", _stream(conn, "enrollment", "audit_seq, partner", batch))
        values = _Rows(
            "identifier", _stream(conn, "unique_value", "audit_seq, scope, value", batch)
        )
        children = (steps, moves, enrolments, values)
        for row in iter_rows(conn, batch):
            seq, at, actor, role, action, coop_id = row[:6]
            self.result.events += 1
            for rows in children:
                for extra in rows.before(seq):
                    self._orphan(rows, extra)
            try:
                details = json.loads(row[6]).get("details")
            except (ValueError, AttributeError):
                details = None
            if not isinstance(details, dict):
                self.result.report(
                    "event.unreadable",
                    _("event {seq} cannot be read: its body is not a JSON object", seq=seq),
                    seq=seq,
                )
                details = {}
            self._attribution(seq, actor, role, action, details)
            if action in ("db.init", "actor.added", "actor.disabled"):
                self._actor_event(seq, at, actor, action, details)
            elif coop_id is not None:
                self._coop_event(seq, at, actor, action, coop_id, details)
            self._children(seq, at, actor, action, coop_id, details, children)
        for rows in children:
            for extra in rows.rest():
                self._orphan(rows, extra)
        self._left_held()
        self._compare_coops()
        self._compare_villages()
        self._compare_actors()
        self.result.cooperatives = len(self.coops)
        self.result.actors = len(self.actors)
        return self.result

    # --- who acted --------------------------------------------------------------------------

    def _attribution(
        self, seq: int, actor: str, role: str, action: str, details: dict[str, Any]
    ) -> None:
        """An event must name an enabled actor with the role the log gave them: kopflow writes
        no other (Workspace.actor), so anything else was written around it."""
        if action == "db.init":
            return  # it creates its actor (checked when the admin is replayed)
        known = self.actors.get(actor)
        if action == "db.grant" and role == "owner" and (known is None or not known["enabled"]):
            return  # the database owner, who is no actor, may grant (rules/roles.py)
        if known is None:
            self.result.report(
                "event.actor",
                _(
                    "event {seq} names {actor} as its actor, but no event added them",
                    seq=seq,
                    actor=actor,
                ),
                seq=seq,
            )
        elif known["role"] != role:
            self.result.report(
                "event.role",
                _(
                    "event {seq} names {actor} with role {role}, but the audit log gave them role {known}",
                    seq=seq,
                    actor=actor,
                    role=role,
                    known=known["role"],
                ),
                seq=seq,
            )
        elif not known["enabled"]:
            self.result.report(
                "event.disabled",
                _("event {seq} names {actor}, who was disabled before it", seq=seq, actor=actor),
                seq=seq,
            )

    def _actor_event(
        self, seq: int, at: str, actor: str, action: str, details: dict[str, Any]
    ) -> None:
        if action == "db.init":
            name = str(details.get("admin"))
            self.actors[name] = {
                "role": "admin",
                "region": None,
                "partner": None,
                "enabled": True,
                "created_at": at,
                "created_by": name,
                "seq": seq,
            }
        elif action == "actor.added":
            self.actors[str(details.get("name"))] = {
                "role": details.get("role"),
                "region": details.get("region"),
                "partner": details.get("partner"),
                "enabled": True,
                "created_at": at,
                "created_by": actor,
                "seq": seq,
            }
        else:
            known = self.actors.get(str(details.get("name")))
            if known is not None:
                known["enabled"] = False

    # --- the cooperative's row ----------------------------------------------------------------

    def _coop_event(
        self, seq: int, at: str, actor: str, action: str, coop_id: str, details: dict[str, Any]
    ) -> None:
        state = self.coops.get(coop_id)
        if action == "coop.registered":
            if state is not None:
                self.result.report(
                    "coop.registered_twice",
                    _(
                        "{coop} is registered again by event {seq} (first by event {first})",
                        coop=self._coop(coop_id),
                        seq=seq,
                        first=state.registered,
                    ),
                    coop=coop_id,
                    seq=seq,
                )
            state = self.coops[coop_id] = _Coop(seq, at, actor, details)
            wf = self._wf(state.workflow)
            state.stage = wf.initial if wf is not None else None
            return
        if state is None:
            self.result.report(
                "coop.unregistered",
                _(
                    "event {seq} is about {coop}, which no earlier event registered",
                    seq=seq,
                    coop=coop_id,
                ),
                coop=coop_id,
                seq=seq,
            )
            return
        if "coop_version" in details:
            state.version = details["coop_version"]
        state.updated_at, state.updated_by = at, actor
        if action == "coop.transition":
            source, dest = details.get("from"), details.get("to")
            if source != state.stage:
                self.result.report(
                    "coop.transition_source",
                    _(
                        "event {seq} moves {coop} from stage {source}, but the audit log had it in {stage}",
                        seq=seq,
                        coop=self._coop(coop_id),
                        source=self._stage(coop_id, source),
                        stage=self._stage(coop_id, state.stage),
                    ),
                    coop=coop_id,
                    seq=seq,
                )
            wf = self._wf(state.workflow)
            spec = None
            if wf is not None:
                spec = next((s for s in wf.stages if s.id == dest), None)
            # As rules/transition.fire_one: a side stage remembers where to resume; a final
            # one keeps what was remembered; any other stage forgets it.
            if spec is not None and spec.side and not spec.final:
                state.previous_stage = source
            elif spec is None or not spec.final:
                state.previous_stage = None
            state.stage, state.stage_since = dest, at
        elif action == "workflow.migrated":
            state.workflow_version = details.get("to")

    def _compare_coops(self) -> None:
        seen: set[str] = set()
        for row in _stream(self.conn, "coop", "id", self.batch):
            coop_id = row["id"]
            seen.add(coop_id)
            state = self.coops.get(coop_id)
            if state is None:
                self.result.report(
                    "coop.no_event",
                    _(
                        "{coop} is in the table, but no event registered it",
                        coop=self._coop(coop_id, row["name"]),
                    ),
                    coop=coop_id,
                )
                continue
            for column in _COOP_COLUMNS:
                found = row[column]
                if isinstance(found, datetime):
                    found = utc_iso(found)
                expected = getattr(state, column)
                if found != expected:
                    self._differs(coop_id, column, found, expected)
        for coop_id, state in self.coops.items():
            if coop_id not in seen:
                self.result.report(
                    "coop.missing",
                    _(
                        "{coop} was registered by event {seq}, but its row is missing from the table",
                        coop=self._coop(coop_id),
                        seq=state.registered,
                    ),
                    coop=coop_id,
                    seq=state.registered,
                )

    def _differs(self, coop_id: str, column: str, found: Any, expected: Any) -> None:
        self.result.report(
            f"coop.{column}",
            _(
                "{coop}: the table says {field} {found}, the audit log says {expected}",
                coop=self._coop(coop_id),
                field=_field(column),
                found=self._value(coop_id, column, found),
                expected=self._value(coop_id, column, expected),
            ),
            coop=coop_id,
        )

    def _compare_villages(self) -> None:
        def report(coop_id: str, found: list[tuple[str, ...]]) -> None:
            state = self.coops.get(coop_id)
            if state is not None and tuple(found) != state.villages:
                shown = ", ".join(f"{v[1]} ({v[0]})" for v in found) or "-"
                expected = ", ".join(f"{v[1]} ({v[0]})" for v in state.villages) or "-"
                self._differs(coop_id, "villages", shown, expected)

        current: str | None = None
        found: list[tuple[str, ...]] = []
        seen: set[str] = set()
        for row in _stream(self.conn, "coop_village", "coop_id, region_id", self.batch):
            seen.add(row["coop_id"])
            if row["coop_id"] != current:
                if current is not None:
                    report(current, found)
                current, found = row["coop_id"], []
            found.append((row["region_id"], row["name"], row["kecamatan"]))
        if current is not None:
            report(current, found)
        for coop_id in self.coops.keys() - seen:
            report(coop_id, [])

    def _compare_actors(self) -> None:
        seen: set[str] = set()
        for row in _stream(self.conn, "actor", "name", self.batch):
            name = row["name"]
            seen.add(name)
            known = self.actors.get(name)
            if known is None:
                self.result.report(
                    "actor.no_event",
                    _("actor {name} is in the table, but no event added them", name=name),
                )
                continue
            for column in ("role", "region", "partner", "enabled", "created_at", "created_by"):
                found = row[column]
                if isinstance(found, datetime):
                    found = utc_iso(found)
                if found != known[column]:
                    self.result.report(
                        f"actor.{column}",
                        _(
                            "actor {name}: the table says {field} {found}, the audit log says {expected}",
                            name=name,
                            field=_field(column),
                            found=_shown(found),
                            expected=_shown(known[column]),
                        ),
                    )
        for name, known in self.actors.items():
            if name not in seen:
                self.result.report(
                    "actor.missing",
                    _(
                        "actor {name} was added by event {seq}, but is missing from the table",
                        name=name,
                        seq=known["seq"],
                    ),
                    seq=known["seq"],
                )

    # --- the rows that name their event -------------------------------------------------------

    def _children(
        self,
        seq: int,
        at: str,
        actor: str,
        action: str,
        coop_id: str | None,
        details: dict[str, Any],
        children: tuple[_Rows, _Rows, _Rows, _Rows],
    ) -> None:
        steps, moves, enrolments, values = children
        expected_steps: list[dict[str, Any]] = []
        expected_moves: list[dict[str, Any]] = []
        expected_enrolments: list[dict[str, Any]] = []
        step = str(details.get("step", ""))
        if action in _STEP_ACTIONS:
            undone = action == "step.undone"
            expected_steps.append(
                {
                    "coop_id": coop_id,
                    "step": step,
                    "version": details.get("version"),
                    "status": "undone" if undone else "done",
                    "evidence": {} if undone else details.get("evidence"),
                    "reason": details.get("reason"),
                    "actor": actor,
                    "at": at,
                }
            )
        elif action == "coop.transition":
            expected_moves.append(
                {
                    "coop_id": coop_id,
                    "event": details.get("event"),
                    "source": details.get("from"),
                    "dest": details.get("to"),
                    "reason": details.get("reason"),
                    "actor": actor,
                    "at": at,
                }
            )
        elif action == "partner.enrolled":
            expected_enrolments += [
                {"coop_id": coop_id, "partner": p, "actor": actor, "at": at}
                for p in details.get("partners") or []
            ]
        self._match(seq, steps, expected_steps, ("coop_id", "step", "version"))
        self._match(seq, moves, expected_moves, ("coop_id",))
        self._match(seq, enrolments, expected_enrolments, ("coop_id", "partner"))
        if action in _RELEASING and coop_id is not None:
            self._released(seq, coop_id, step)
        claimed = values.at(seq)
        if action in ("step.completed", "step.corrected") and coop_id is not None:
            self._expect_claims(seq, coop_id, step, details, claimed)
        for row in claimed:
            self._claimed(seq, action, coop_id, details, row)

    def _expect_claims(
        self,
        seq: int,
        coop_id: str,
        step: str,
        details: dict[str, Any],
        claimed: list[dict[str, Any]],
    ) -> None:
        """The identifiers the step's unique fields hold must each have their row (as
        rules/evidence.unique_pairs makes them); a step whose spec is unknown is skipped."""
        spec = self._spec(step)
        if spec is None:
            return
        evidence = details.get("evidence") or {}
        have = {(r["scope"], r["value"]) for r in claimed}
        for f in spec.fields:
            value = evidence.get(f.name)
            if not f.unique or value in (None, ""):
                continue
            want = (f"{step}.{f.name}", str(value).strip())
            if want not in have:
                row = {"coop_id": coop_id, "step": step, "scope": want[0], "value": want[1]}
                self.result.report(
                    "identifier.missing",
                    _(
                        "{coop}: event {seq} recorded {record}, which is missing from the table",
                        coop=self._coop(coop_id),
                        seq=seq,
                        record=self._record(_IDENTIFIERS, row),
                    ),
                    coop=coop_id,
                    seq=seq,
                )

    def _match(
        self, seq: int, rows: _Rows, expected: list[dict[str, Any]], key: tuple[str, ...]
    ) -> None:
        here = rows.at(seq)
        if not expected and not here:
            return
        found = {tuple(r[k] for k in key): r for r in here}
        for want in expected:
            row = found.pop(tuple(want[k] for k in key), None)
            if row is None:
                coop_id = str(want["coop_id"])
                self.result.report(
                    f"{rows.kind}.missing",
                    _(
                        "{coop}: event {seq} recorded {record}, which is missing from the table",
                        coop=self._coop(coop_id),
                        seq=seq,
                        record=self._record(rows, want),
                    ),
                    coop=coop_id,
                    seq=seq,
                )
                continue
            differing = []
            for column, value in want.items():
                stored = row[column]
                if isinstance(stored, datetime):
                    stored = utc_iso(stored)
                elif column == "evidence":
                    try:
                        stored = json.loads(stored)
                    except ValueError:
                        pass
                if stored != value:
                    differing.append(
                        _(
                            "{field} {found} (the log: {expected})",
                            field=_field(column),
                            found=self._value(str(want["coop_id"]), column, stored),
                            expected=self._value(str(want["coop_id"]), column, value),
                        )
                    )
            if differing:
                coop_id = str(want["coop_id"])
                self.result.report(
                    f"{rows.kind}.differs",
                    _(
                        "{coop}: {record} differs from event {seq}: {differences}",
                        coop=self._coop(coop_id),
                        record=self._record(rows, want),
                        seq=seq,
                        differences="; ".join(differing),
                    ),
                    coop=coop_id,
                    seq=seq,
                )
        for row in found.values():
            self._orphan(rows, row)

    def _orphan(self, rows: _Rows, row: dict[str, Any]) -> None:
        """A row naming an event that did not write it."""
        coop_id = str(row["coop_id"])
        self.result.report(
            f"{rows.kind}.no_event",
            _(
                "{coop}: {record} has no event in the audit log (it names event {seq})",
                coop=self._coop(coop_id),
                record=self._record(rows, row),
                seq=row["audit_seq"],
            ),
            coop=coop_id,
            seq=row["audit_seq"],
        )

    def _record(self, rows: _Rows, row: dict[str, Any]) -> str:
        coop_id = str(row["coop_id"])
        if rows.kind == "identifier":
            return _(
                "identifier {value} ({scope}) of step {step}",
                value=row["value"],
                scope=row["scope"],
                step=self._step(str(row["step"])),
            )
        if rows.kind == "enrolment":
            return _("the enrolment with {partner}", partner=row["partner"])
        if rows.kind == "transition":
            return _(
                "the move from stage {source} to {dest}",
                source=self._stage(coop_id, row["source"]),
                dest=self._stage(coop_id, row["dest"]),
            )
        return _(
            "version {version} of step {step}",
            version=row["version"],
            step=self._step(str(row["step"])),
        )

    # --- unique identifiers: claimed by a step event, released by the next correction or undo

    def _claimed(
        self,
        seq: int,
        action: str,
        coop_id: str | None,
        details: dict[str, Any],
        row: dict[str, Any],
    ) -> None:
        step = str(row["step"])
        scope, value = str(row["scope"]), str(row["value"])
        evidence = details.get("evidence") or {}
        field_name = scope[len(step) + 1 :] if scope.startswith(step + ".") else None
        if (
            action not in ("step.completed", "step.corrected")
            or row["coop_id"] != coop_id
            or details.get("step") != step
            or field_name is None
            or str(evidence.get(field_name, "")).strip() != value
        ):
            self._orphan(_IDENTIFIERS, row)
            return
        self.held.setdefault((str(coop_id), step), []).append((scope, value, row["released_seq"]))

    def _released(self, seq: int, coop_id: str, step: str) -> None:
        for scope, value, released in self.held.pop((coop_id, step), []):
            if released != seq:
                self._wrong_release(coop_id, step, scope, value, released, seq)

    def _left_held(self) -> None:
        for (coop_id, step), held in self.held.items():
            for scope, value, released in held:
                if released is not None:
                    self._wrong_release(coop_id, step, scope, value, released, None)

    def _wrong_release(
        self,
        coop_id: str,
        step: str,
        scope: str,
        value: str,
        found: int | None,
        expected: int | None,
    ) -> None:
        row = {"coop_id": coop_id, "scope": scope, "value": value, "step": step}
        self.result.report(
            "identifier.released_seq",
            _(
                "{coop}: {record}: the table says {field} {found}, the audit log says {expected}",
                coop=self._coop(coop_id),
                record=self._record(_IDENTIFIERS, row),
                field=_field("released_seq"),
                found=_shown(found),
                expected=_shown(expected),
            ),
            coop=coop_id,
        )


_IDENTIFIERS = _Rows("identifier", iter(()))  # names an identifier row outside the join


def reconcile(
    conn: Connection,
    *,
    workflows: Callable[[str], Workflow | None],
    steps: Callable[[str], StepSpec | None] | None = None,
    batch: int = 5_000,
) -> ReconcileResult:
    """Replay the log of ``conn``'s database and compare it with its tables (see the module)."""
    return Reconciler(conn, workflows=workflows, steps=steps, batch=batch).run()
