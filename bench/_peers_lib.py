"""What every peer of ``peers.py`` shares: the lifecycle, its definitions, the deciders.

The lifecycle is six states on a line, ``s0 -> s1 -> ... -> s5``, moved by the events
``e1 .. e5``. A *decider* is one library's own machinery choosing the move (transitions,
python-statemachine, SpiffWorkflow, or a plain dict for the raw peers); a *writer* records it
(``_peers_simple`` on the peers' own schema, ``_peers_rows`` with kopflow's rows). Importing
this module imports no peer library and no kopflow: each child imports only what its peer
uses, so its peak memory is its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

STATES = [f"s{k}" for k in range(6)]
EVENTS = [f"e{k}" for k in range(1, 6)]
EDGES = {f"e{k}": (f"s{k - 1}", f"s{k}") for k in range(1, 6)}  # event -> (source, dest)
AFTER = {event: dest for event, (_src, dest) in EDGES.items()}
BATCH = 2_000  # objects per transaction, kopflow's default batch (KOPFLOW_BATCH)
GENESIS = "0" * 64
# kopflow.store.db.SQLITE_PRAGMAS, written out so the raw peers import no kopflow (their
# peak memory would carry SQLAlchemy's); peers.py's set-up child checks they still agree.
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON")
# The canonical JSON every peer writes (sorted keys, no spaces), one encoder built once.
dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode
sha256 = hashlib.sha256

# kopflow's definition of the same lifecycle: no steps, so no step is required to leave a
# stage; ``onboarding_stage`` is mandatory in the format and harmless without partners.
_STAGE_LINES = "\n".join(f"  - {{id: {s}, label: {{id: {s}, en: {s}}}}}" for s in STATES)
_EVENT_LINES = "\n".join(
    f"  - {{name: {e}, label: {{id: {e}, en: {e}}}, from: {a}, to: {b}, advance: true}}"
    for e, (a, b) in EDGES.items()
)
WORKFLOW_YAML = f"""\
# The peers benchmark's lifecycle (bench/peers.py): six stages on a line, five events.
name: peers
version: 1
label: {{id: Peers, en: Peers}}
roles: [admin]
onboarding_stage: s4
initial: s0
stages:
{_STAGE_LINES}
events:
{_EVENT_LINES}
"""


def bpmn_xml() -> bytes:
    """A BPMN process: start, five manual tasks named ``e1 .. e5`` in sequence, end."""
    nodes = ['<bpmn:startEvent id="start"/>']
    flows, prev = [], "start"
    for i, event in enumerate(EVENTS, 1):
        nodes.append(f'<bpmn:manualTask id="{event}" name="{event}"/>')
        flows.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{prev}" targetRef="{event}"/>')
        prev = event
    nodes.append('<bpmn:endEvent id="end"/>')
    flows.append(f'<bpmn:sequenceFlow id="f_end" sourceRef="{prev}" targetRef="end"/>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="peers" targetNamespace="http://bpmn.io/schema/bpmn">'
        f'<bpmn:process id="lifecycle" isExecutable="true">{"".join(nodes + flows)}'
        "</bpmn:process></bpmn:definitions>"
    ).encode()


def object_ids(n: int) -> list[str]:
    """Ids kopflow accepts for cooperatives (as ``_work.partner_template`` makes them)."""
    return [f"KDMP-B{i:06d}" for i in range(n)]


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Obj:
    """One object as a peer holds it: id, state, version, and its library's handle.

    No ``__slots__``: pytransitions binds its trigger methods onto the model instance.
    """

    def __init__(self, id: str, state: str, version: int) -> None:
        self.id, self.state, self.version = id, state, version
        self.handle: Any = None


# --- deciders: each library's own machinery chooses the move ------------------------------


class Decider:
    """Binds loaded objects to a library, then fires events on them.

    ``fire`` returns (source, dest) as the library decided it, and leaves ``obj.state`` at
    dest; a library that refuses the event raises.
    """

    name = "plain dict"

    def prepare(self) -> None:
        """Build the definition (machine, class, spec) once, before the clock."""

    def bind(self, objs: list[Any]) -> list[Any]:
        return objs

    def fire(self, obj: Any, event: str) -> tuple[str, str]:
        source, dest = EDGES[event]
        if obj.state != source:
            raise RuntimeError(f"{obj.id} is in {obj.state}, cannot fire {event}")
        obj.state = dest
        return source, dest


class SharedMachine(Decider):
    """pytransitions: one ``Machine``; every object is a model added to it."""

    name = "transitions"

    def prepare(self) -> None:
        from transitions import Machine

        self.machine = Machine(
            model=None, states=STATES, transitions=[[e, a, b] for e, (a, b) in EDGES.items()],
            initial=STATES[0], auto_transitions=False,
        )  # fmt: skip

    def bind(self, objs: list[Any]) -> list[Any]:
        by_state: dict[str, list[Any]] = {}
        for obj in objs:
            by_state.setdefault(obj.state, []).append(obj)
        for state, models in by_state.items():
            self.machine.add_model(models, initial=state)
        return objs

    def fire(self, obj: Any, event: str) -> tuple[str, str]:
        source = obj.state
        if not obj.trigger(event):
            raise RuntimeError(f"transitions refused {event} for {obj.id}")
        return source, obj.state


class MachinePerObject(SharedMachine):
    """pytransitions: a ``Machine`` of its own per object (the tutorial's pattern)."""

    def prepare(self) -> None:
        from transitions import Machine

        self.make = Machine
        self.transitions = [[e, a, b] for e, (a, b) in EDGES.items()]

    def bind(self, objs: list[Any]) -> list[Any]:
        make, transitions = self.make, self.transitions
        for obj in objs:
            obj.handle = make(model=obj, states=STATES, transitions=transitions,
                              initial=obj.state, auto_transitions=False)  # fmt: skip
        return objs


class PyStateMachine(Decider):
    """python-statemachine: a ``StateMachine`` subclass instance per object, bound to it as
    its model (``state_field``), so the machine reads and writes ``obj.state``."""

    name = "python-statemachine"

    def prepare(self) -> None:
        from statemachine import State, StateMachine

        attrs: dict[str, Any] = {
            s: State(initial=(i == 0), final=(i == len(STATES) - 1)) for i, s in enumerate(STATES)
        }
        for event, (a, b) in EDGES.items():
            attrs[event] = attrs[a].to(attrs[b])
        self.cls = type("Lifecycle", (StateMachine,), attrs)

    def bind(self, objs: list[Any]) -> list[Any]:
        cls = self.cls
        for obj in objs:
            obj.handle = cls(model=obj, state_field="state")
        return objs

    def fire(self, obj: Any, event: str) -> tuple[str, str]:
        source = obj.state
        obj.handle.send(event)
        return source, obj.state


class Spiff(Decider):
    """SpiffWorkflow: a ``BpmnWorkflow`` per object of a five-task BPMN process; an event is
    running the READY manual task of that name, then the engine steps to the next one. The
    state is the last task completed, as the engine reports it."""

    name = "SpiffWorkflow"

    def prepare(self) -> None:
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.util.task import TaskState

        parser = BpmnParser()
        parser.add_bpmn_str(bpmn_xml())
        self.spec = parser.get_spec("lifecycle")
        self.workflow, self.ready = BpmnWorkflow, TaskState.READY

    def bind(self, objs: list[Any]) -> list[Any]:
        for obj in objs:
            if obj.state != STATES[0]:
                raise RuntimeError("the BPMN peer starts every object at s0")
            wf = obj.handle = self.workflow(self.spec)
            wf.do_engine_steps()
        return objs

    def fire(self, obj: Any, event: str) -> tuple[str, str]:
        wf = obj.handle
        task = wf.get_next_task(state=self.ready, manual=True)
        if task is None or task.task_spec.bpmn_id != event:
            raise RuntimeError(f"SpiffWorkflow has no READY task {event} for {obj.id}")
        task.run()
        wf.do_engine_steps()
        source = obj.state
        obj.state = AFTER[task.task_spec.bpmn_id]
        return source, obj.state


DECIDERS: dict[str, type[Decider]] = {
    "plain": Decider,
    "transitions": SharedMachine,
    "transitions_each": MachinePerObject,
    "statemachine": PyStateMachine,
    "spiff": Spiff,
}


def lifecycle(decider: Decider, write: Any, objs: list[Any], batch: int) -> int:
    """Fire ``e1 .. e5`` in turn on every object, ``batch`` objects per ``write`` call (one
    transaction); ``write(moves)`` gets (id, version read, event, source, dest) per object
    and returns the audit events it wrote."""
    fire, events = decider.fire, 0
    for event in EVENTS:
        for chunk in chunks(objs, batch):
            moves = []
            for obj in chunk:
                seen = obj.version
                source, dest = fire(obj, event)
                obj.version = seen + 1
                moves.append((obj.id, seen, event, source, dest))
            events += write(moves)
    return events


def sqlalchemy_engine(path: str) -> Any:
    """A SQLAlchemy engine on ``path`` set up as kopflow sets up its own: the same pragmas,
    ``BEGIN IMMEDIATE`` for a write transaction (kopflow.store.db)."""
    from sqlalchemy import create_engine, event

    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None  # the driver opens no transaction of its own
        cur = dbapi.cursor()
        for pragma in PRAGMAS:
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def connect(path: str) -> Any:
    """A ``sqlite3`` connection in autocommit mode with kopflow's pragmas."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn
