"""The bulk commands' shortcuts (issue #5) decide exactly what the general path decides.

Each shortcut is checked against the path it stands in for: the same moves, the same
refusals with the same messages, the same rows.
"""

from __future__ import annotations

from typing import Any

import pytest

from kopflow.errors import RefusedError
from kopflow.machine import CoopState, direct_routes, fire, machine_for
from kopflow.workflow import find_workflow


def _by_machine(state: CoopState, event: str) -> tuple[Any, ...]:
    """What the transitions machine itself does with ``event``: the reference."""
    from transitions import MachineError

    try:
        moved = machine_for(find_workflow()).events[event].trigger(state)
    except MachineError:
        return ("impossible",)
    return (moved, state.state, state.refusals)


def _by_fire(state: CoopState, event: str) -> tuple[Any, ...]:
    try:
        dest = fire(find_workflow(), state, event)
    except RefusedError as err:
        if "possible now" in str(err):
            return ("impossible",)
        return (False, state.state, state.refusals)
    return (True, dest, state.refusals)


@pytest.mark.parametrize("refuse", [False, True])
def test_direct_routes_move_as_the_machine_does(refuse: bool) -> None:
    """Every event from every stage: the same move (or refusal) and the same guard calls."""
    wf = find_workflow()
    assert direct_routes(wf), "the forward moves of the definition take the direct route"
    for stage in wf.stages:
        for event in wf.events:
            for previous in (None, "legal"):
                outcomes = []
                for judge in (_by_machine, _by_fire):
                    calls: list[tuple[str, str, str]] = []

                    def guard(s: CoopState, e: str, src: str, dst: str) -> list[str]:
                        calls.append((e, src, dst))  # noqa: B023 -- called before the loop moves on
                        return ["not yet"] if refuse else []

                    state = CoopState(stage.id, previous, guard)
                    outcomes.append((judge(state, event.name), calls))
                assert outcomes[0] == outcomes[1], (stage.id, event.name, previous)
