"""The one model-less ``transitions.Machine`` per workflow definition, and how to fire it.

Cooperatives are never attached to the machine for long (``add_model`` is quadratic and a
SQLModel row cannot be a model, NOTES.md): the engine hands one lightweight :class:`CoopState`
to an event, the machine moves it or the guard refuses, and the engine persists the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kopflow.errors import RefusedError
from kopflow.workflow import PREVIOUS

if TYPE_CHECKING:
    from transitions import Machine

    from kopflow.workflow import Workflow

# The guard the engine supplies: (state, event name, source, dest) -> reasons to refuse.
Guard = Callable[["CoopState", str, str, str], list[str]]


@dataclass(slots=True)
class CoopState:
    """What the machine moves: a stage, where a suspension came from, and the guard's verdict."""

    state: str
    previous_stage: str | None
    guard: Guard
    refusals: list[str] = field(default_factory=list)


def _check_guard(event_data: Any) -> bool:
    model: CoopState = event_data.model
    transition = event_data.transition
    model.refusals = model.guard(model, event_data.event.name, transition.source, transition.dest)
    return not model.refusals


def _returns_to(target: str) -> Callable[[Any], bool]:
    def came_from(event_data: Any) -> bool:
        return bool(event_data.model.previous_stage == target)

    return came_from


_machines: dict[tuple[str, int, str], Machine] = {}


def _build(workflow: Workflow) -> Machine:
    from transitions import Machine

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
    return Machine(
        model=None,
        states=[stage.id for stage in workflow.stages],
        transitions=transitions,
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
    try:
        moved = trigger.trigger(state)
    except MachineError:
        possible = ", ".join(e.name for e in workflow.events_from(source)) or "-"
        raise RefusedError(
            "cannot {event} from stage {stage}; possible now: {possible}",
            event=event,
            stage=source,
            possible=possible,
        ) from None
    if not moved:
        raise RefusedError(
            "cannot {event} from stage {stage}", state.refusals, event=event, stage=source
        )
    return state.state
