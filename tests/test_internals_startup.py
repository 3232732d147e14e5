"""The library internals kopflow's start-up and state machine rely on (issue #15, point 5).

Each test fails with a message saying which internal changed and what to do, never by only
getting slower. ``bench/internals.py`` shows what each one gains on the machine at hand
(lines ``rich-blocked`` and ``direct-routes``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(code: str, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    env["KOPFLOW_LOG"] = str(tmp_path / "kopflow.log")
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


# --- sys.modules["rich"] = None while structlog is imported (kopflow/log.py) -----------------


def test_structlog_still_imports_rich_by_itself(tmp_path: Path) -> None:
    """What the block is for: a plain ``import structlog`` imports rich when it is installed."""
    imported = run("import sys, structlog; print('rich' in sys.modules)", tmp_path)
    assert imported == "True", (
        "structlog no longer imports rich on its own: sys.modules['rich'] = None in "
        "kopflow/log.py (_import_structlog) gains nothing now; remove it, this test and the "
        "rich-blocked line of bench/internals.py"
    )


def test_blocking_rich_leaves_structlog_working_without_it(tmp_path: Path) -> None:
    """The internal: Python refuses ``import rich`` while ``sys.modules["rich"]`` is None (the
    import system's documented rule), and structlog imports and writes JSON lines without it."""
    out = run(
        "import sys, kopflow.log as log\n"
        "log.configure()\n"
        "log.get_logger().info('probe', n=1)\n"
        "print('rich' in sys.modules)\n",
        tmp_path,
    )
    assert out == "False", "structlog was imported with rich despite the block"
    assert '"event": "probe"' in (tmp_path / "kopflow.log").read_text(encoding="utf-8"), (
        "structlog imported under sys.modules['rich'] = None no longer writes kopflow's JSON "
        "lines: drop the block in kopflow/log.py (_import_structlog)"
    )


def test_the_block_is_lifted_for_everyone_else(tmp_path: Path) -> None:
    """After structlog is in, ``import rich`` works again (tables, progress bars), and a console
    log (``-v``) gets structlog with rich as usual."""
    out = run(
        "import sys, kopflow.log as log\n"
        "log.configure()\n"
        "log.get_logger().info('probe')\n"
        "import rich.console\n"
        "print(sys.modules['rich'] is not None)\n",
        tmp_path,
    )
    assert out == "True", "kopflow.log left sys.modules['rich'] blocked"
    verbose = run(
        "import sys, kopflow.log as log\n"
        "log.configure(verbose=True)\n"
        "log.get_logger().info('probe')\n"
        "print('rich' in sys.modules)\n",
        tmp_path,
    )
    assert verbose == "True", "a console log should get structlog's rich tracebacks"


# --- direct_routes: transitions through its public API only (kopflow/flow/machine.py) --------


def test_transitions_public_api_kopflow_uses() -> None:
    """``Machine(model=None, ...)``, ``get_transitions(trigger=, source=)`` returning transitions
    with ``.source``/``.dest``, an event's ``trigger(model)``, ``MachineError``: if one of these
    changes, kopflow/flow/machine.py and the pin in pyproject.toml change with it."""
    from transitions import Machine, MachineError

    machine = Machine(
        model=None, states=["a", "b", "c"], initial="a", auto_transitions=False,
        send_event=True,
        transitions=[{"trigger": "go", "source": "a", "dest": "b"},
                     {"trigger": "go", "source": "b", "dest": "c"}],
    )  # fmt: skip
    held = machine.get_transitions(trigger="go", source="a")
    assert [(t.source, t.dest) for t in held] == [("a", "b")], (
        "transitions' get_transitions(trigger=, source=) changed: kopflow.flow.machine."
        "_direct checks each direct route with it"
    )

    class Model:
        state = "b"

    model = Model()
    assert machine.events["go"].trigger(model) is True and model.state == "c"
    with pytest.raises(MachineError):
        machine.events["go"].trigger(model)  # no transition from c


def test_direct_routes_are_every_single_candidate_move_of_the_definition() -> None:
    """The forward moves, suspend and dissolve go direct; ``resume`` (``@previous``: one
    candidate per stage it may return to) goes through the machine. A change here means the
    machine or the declaration changed: tests/test_fast_paths.py checks both ways agree."""
    from kopflow.flow.machine import direct_routes, machine_for
    from kopflow.flow.spec import PREVIOUS, find_workflow

    wf = find_workflow()
    routes = direct_routes(wf)
    expected = {
        (event.name, source): event.dest
        for event in wf.events
        if event.dest != PREVIOUS
        for source in event.sources
    }
    assert routes == expected, "direct_routes no longer lists every single-candidate move"
    machine = machine_for(wf)
    for (event, source), dest in routes.items():
        (move,) = machine.get_transitions(trigger=event, source=source)
        assert move.dest == dest
    previous = [e for e in wf.events if e.dest == PREVIOUS]
    assert previous and all((e.name, s) not in routes for e in previous for s in e.sources)
