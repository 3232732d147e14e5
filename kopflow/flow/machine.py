"""The one model-less ``transitions.Machine`` per workflow definition, and how to fire it.

Cooperatives are never attached to the machine for long (``add_model`` is quadratic and a
SQLModel row cannot be a model: docs/decisions.md, "One model-less state machine per process"):
the engine hands one lightweight :class:`CoopState` to an event, the machine moves it or the
guard refuses, and the engine persists the result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kopflow.errors import RefusedError
from kopflow.flow.spec import PREVIOUS
from kopflow.i18n import Named, listed

if TYPE_CHECKING:
    from transitions import Machine

    from kopflow.flow.spec import Workflow

# The guard the engine supplies: (state, event name, source, dest) -> reasons to refuse.
Guard = Callable[["CoopState", str, str, str], list[str]]


@dataclass(slots=True)
class CoopState:
    """What the machine moves: a stage, where a suspension came from, and the guard's verdict."""

    state: str
    previous_stage: str | None
    guard: Guard
    refusals: list[str] = field(default_factory=list)


def _judge(model: CoopState, event: str, source: str, dest: str) -> bool:
    """Ask the engine's guard about one candidate move; its reasons stay on the model."""
    model.refusals = model.guard(model, event, source, dest)
    return not model.refusals


def _check_guard(event_data: Any) -> bool:
    transition = event_data.transition
    return _judge(event_data.model, event_data.event.name, transition.source, transition.dest)


def _returns_to(target: str) -> Callable[[Any], bool]:
    def came_from(event_data: Any) -> bool:
        return bool(event_data.model.previous_stage == target)

    return came_from


_machines: dict[tuple[str, int, str], Machine] = {}
_routes: dict[tuple[str, int, str], dict[tuple[str, str], str]] = {}


def _declare(workflow: Workflow) -> list[dict[str, Any]]:
    """The transitions the machine is built from: one per event and source stage, or one per
    stage it may return to for ``@previous``. No callback anywhere, on purpose (direct_routes)."""
    main = [stage.id for stage in workflow.stages if not stage.side]
    transitions: list[dict[str, Any]] = []
    for event in workflow.events:
        for source in event.sources:
            if event.dest == PREVIOUS:
                # One candidate per stage it may return to; the first whose condition holds wins.
                for target in main:
                    transitions.append(
                        {
                            "trigger": event.name,
                            "source": source,
                            "dest": target,
                            "conditions": [_returns_to(target), _check_guard],
                        }
                    )
            else:
                transitions.append(
                    {
                        "trigger": event.name,
                        "source": source,
                        "dest": event.dest,
                        "conditions": [_check_guard],
                    }
                )
    return transitions


def _build(workflow: Workflow) -> Machine:
    from transitions import Machine

    return Machine(
        model=None,
        states=[stage.id for stage in workflow.stages],
        transitions=_declare(workflow),
        initial=workflow.initial,
        auto_transitions=False,
        send_event=True,
    )


def machine_for(workflow: Workflow) -> Machine:
    """The machine built from ``workflow`` (built once per definition per process)."""
    key = (workflow.name, workflow.version, workflow.digest)
    machine = _machines.get(key)
    if machine is None:
        machine = _machines[key] = _build(workflow)
    return machine


def direct_routes(workflow: Workflow) -> dict[tuple[str, str], str]:
    """``(event, source) -> dest`` for the moves the machine makes with nothing but the guard.

    A move is listed when kopflow declared it as the event's one candidate from that stage with
    the guard as its one condition (every move but ``@previous``'s: ``_declare`` gives none a
    callback), and the built machine, asked through its public ``get_transitions``, holds
    exactly that one transition. Firing it is then exactly: ask the guard, and on no refusal
    set the stage. Everything else goes through the machine. Issue #5: the machine's event
    dispatch cost more per move than the rest of a bulk advance's work for that cooperative;
    issue #15: read from kopflow's own declaration, not from transitions' condition objects,
    so any transitions release whose public API holds keeps it right
    (tests/test_internals_startup.py fires every move both ways).
    """
    key = (workflow.name, workflow.version, workflow.digest)
    routes = _routes.get(key)
    if routes is None:
        routes = _routes[key] = _direct(workflow, machine_for(workflow))
    return routes


def _direct(workflow: Workflow, machine: Machine) -> dict[tuple[str, str], str]:
    declared = _declare(workflow)
    candidates = Counter((move["trigger"], move["source"]) for move in declared)
    routes: dict[tuple[str, str], str] = {}
    for move in declared:
        name, source, dest = move["trigger"], move["source"], move["dest"]
        if candidates[(name, source)] != 1 or move["conditions"] != [_check_guard]:
            continue
        held = machine.get_transitions(trigger=name, source=source)
        if len(held) == 1 and held[0].dest == dest:
            routes[(name, source)] = dest
    return routes


def fire(workflow: Workflow, state: CoopState, event: str) -> str:
    """Fire ``event`` for one cooperative and return the stage it moves to.

    Raises:
        RefusedError: the event is unknown, not possible from the current stage (a stage would
            be skipped), or a guard refused; the reasons name what is missing.
    """
    from transitions import MachineError

    machine = machine_for(workflow)
    trigger = machine.events.get(event)
    if trigger is None:
        raise RefusedError(
            "unknown event {event}; events of this workflow: {known}",
            event=event,
            known=", ".join(machine.events),
        )
    source = state.state
    dest = direct_routes(workflow).get((event, source))
    if dest is not None:
        moved = _judge(state, event, source, dest)
        if moved:
            state.state = dest
    else:
        try:
            moved = trigger.trigger(state)
        except MachineError:
            possible = listed([Named(e.name, e.label) for e in workflow.events_from(source)])
            raise RefusedError(
                "cannot {event} from stage {stage}; possible now: {possible}",
                event=_named_event(workflow, event),
                stage=_named_stage(workflow, source),
                possible=possible or "-",
            ) from None
    if not moved:
        raise RefusedError(
            "cannot {event} from stage {stage}",
            state.refusals,
            event=_named_event(workflow, event),
            stage=_named_stage(workflow, source),
        )
    return state.state


def _named_stage(workflow: Workflow, stage_id: str) -> Named:
    """A stage id that a message shows as its label (issue #12)."""
    return Named(stage_id, next((s.label for s in workflow.stages if s.id == stage_id), None))


def _named_event(workflow: Workflow, name: str) -> Named:
    """An event name that a message shows as its label (issue #12)."""
    return Named(name, next((e.label for e in workflow.events if e.name == name), None))
