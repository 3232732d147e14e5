"""What each library internal kopflow relies on gains, on this machine (issue #15, point 5).

One line per internal: CPU seconds (medians) with the internal and with the public
alternative it replaces, and the gain (public / internal; above 1 the internal pays)::

    .venv/bin/python bench/internals.py [--quick] [--out FILE.json]

* ``c_make_encoder``: kopflow.audit.canonical's one-shot C encoder vs ``JSONEncoder.encode``
  with the same options, over typical audit bodies (the same bytes, checked);
* ``rich-blocked``: ``sys.modules["rich"] = None`` while structlog is imported (kopflow.log) vs
  letting structlog import rich: a fresh process that sets up kopflow's logging and writes one
  line, its whole CPU;
* ``coopview-new``: ``CoopView._build`` (``object.__new__`` on the frozen dataclass) vs its
  constructor, with the same arguments (equal views, checked);
* ``gc-paused``: the collector paused per transaction (``kopflow.pipeline.change._gc_paused``) vs
  left on, over the bulk lifecycle of ``run.py --only bulk`` for 2,000 cooperatives, its
  measured part (each in a fresh process on a copy of the same database). A bulk command's
  process holds its input and results meanwhile, which every full collection walks again: on
  a fresh process completing one stage the pause gained nothing, on the lifecycle 8-14%;
* ``direct-routes``: ``kopflow.flow.machine.fire`` taking the direct route vs firing the event
  through the transitions machine, the same moves.

Each compares the two ways in the same run; the internal is worth keeping while its gain is
clearly above 1 (tests/test_internals_startup.py fails loudly when one of them changes).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def need(module: str, name: str) -> Any:
    """``module.name``, or a clear stop when a parallel change renamed or removed it."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise SystemExit(
            f"bench/internals.py: {module}.{name} is gone ({exc}); the internal it measures was "
            "renamed or removed: update this script and tests/test_internals_startup.py"
        ) from None


def cpu_median(fn: Callable[[], object], repeat: int) -> float:
    """Median CPU seconds of ``fn()`` over ``repeat`` runs (after one unmeasured warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def child_cpu(argv: list[str], env: dict[str, str] | None = None) -> float:
    """User + system CPU seconds of one child process, start to exit."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bench/internals.py: {argv[1:3]} exited with {proc.returncode}")
    return usage.ru_utime + usage.ru_stime


def line(name: str, internal: float, public: float) -> dict[str, Any]:
    gain = public / internal if internal > 0 else float("inf")
    print(f"{name:14s} internal {internal:8.4f} s  public {public:8.4f} s  gain {gain:5.2f}×")
    return {"name": name, "internal_cpu_s": internal, "public_cpu_s": public, "gain": gain}


# --- (a) the one-shot C encoder ---------------------------------------------------------------


def audit_bodies(count: int) -> list[dict[str, Any]]:
    """Bodies shaped as kopflow's step events: version, action, cooperative, actor, time, the
    step's sample evidence."""
    from kopflow.flow.samples import sample_evidence
    from kopflow.flow.spec import find_workflow

    steps = [step for stage in find_workflow().stages for step in stage.steps]
    return [
        {
            "v": "kopflow-audit-v1",
            "action": "step.complete",
            "coop": f"KDMP-{i:06d}",
            "actor": "bench",
            "role": "admin",
            "at": "2026-12-07T05:00:00.000000+00:00",
            "step": steps[i % len(steps)].id,
            "version": 1 + i % 7,
            "evidence": sample_evidence(steps[i % len(steps)], i % 10),
        }
        for i in range(count)
    ]


def encoder_line(quick: bool) -> dict[str, Any]:
    one_shot = need("kopflow.audit.canonical", "_one_shot")()
    public = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
        check_circular=False,
    ).encode  # fmt: skip
    bodies = audit_bodies(2_000 if quick else 20_000)
    if [one_shot(b) for b in bodies] != [public(b) for b in bodies]:
        raise SystemExit("bench/internals.py: the one-shot encoder's text differs from json's")
    repeat = 3 if quick else 7
    return line(
        "c_make_encoder",
        cpu_median(lambda: [one_shot(b) for b in bodies], repeat),
        cpu_median(lambda: [public(b) for b in bodies], repeat),
    )


# --- (b) structlog without rich ---------------------------------------------------------------

_LOG_CHILD = """
import sys
if sys.argv[1] == "public":
    import structlog  # as a plain import does: structlog.dev imports rich when it is there
import kopflow.log as log
log.configure()
log.get_logger().info("bench")
assert ("rich" in sys.modules) == (sys.argv[1] == "public"), sorted(sys.modules)[:5]
"""


def rich_line(quick: bool) -> dict[str, Any]:
    need("kopflow.log", "_import_structlog")
    repeat = 3 if quick else 7
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "KOPFLOW_LOG": str(Path(folder) / "kopflow.log")}
        runs: dict[str, list[float]] = {"internal": [], "public": []}
        for _ in range(repeat):  # alternating, so a burst of load hits both
            for way in runs:
                runs[way].append(child_cpu([sys.executable, "-c", _LOG_CHILD, way], env))
    return line(
        "rich-blocked", statistics.median(runs["internal"]), statistics.median(runs["public"])
    )


# --- (c) object.__new__ on the frozen CoopView ------------------------------------------------


def view_line(quick: bool) -> dict[str, Any]:
    view_type = need("kopflow.plugin", "CoopView")
    build = getattr(view_type, "_build", None)
    if build is None:
        raise SystemExit("bench/internals.py: kopflow.plugin.CoopView._build is gone")
    evidence = {"nib": {"nib": "1234567890123", "date": "2025-05-01"}}
    fields = dict(
        id="KDMP-000001", name="Koperasi Desa Merah Putih Banjar", kabupaten="Kabupaten Buleleng",
        kecamatan="Banjar", villages=("5108010001",), stage="formation", workflow="kdkmp",
        partners=("bri", "pos"),
    )  # fmt: skip
    if build(fields, evidence) != view_type(**fields, evidence=evidence):
        raise SystemExit("bench/internals.py: CoopView._build and CoopView(...) differ")
    count = 20_000 if quick else 200_000
    repeat = 3 if quick else 7
    return line(
        "coopview-new",
        cpu_median(lambda: [build(fields, evidence) for _ in range(count)], repeat),
        cpu_median(lambda: [view_type(**fields, evidence=evidence) for _ in range(count)], repeat),
    )


# --- (d) the collector paused per transaction ---------------------------------------------------

_GC_CHILD = """
import contextlib, sys
sys.path.insert(0, sys.argv[4])
import kopflow.pipeline.change as change
if sys.argv[3] == "public":
    change._gc_paused = contextlib.nullcontext  # the collector stays on
import _work
print(_work.lifecycle(sys.argv[1], sys.argv[2])["cpu_seconds"])
"""


def child_timed(argv: list[str], env: dict[str, str]) -> float:
    """The CPU seconds a child prints as its last line: the measured part alone, since the
    child's start-up (imports, plugins) would otherwise dilute what it gains."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench/internals.py: {argv[1:3]} exited with {done.returncode}")
    return float(done.stdout.split()[-1])


def gc_line(quick: bool) -> dict[str, Any]:
    need("kopflow.pipeline.change", "_gc_paused")
    here = str(Path(__file__).resolve().parent)
    sys.path.insert(0, here)
    import _work

    coops = 300 if quick else 2_000
    repeat = 1 if quick else 3
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "KOPFLOW_LOG": str(Path(folder) / "kopflow.log")}
        os.environ["KOPFLOW_LOG"] = env["KOPFLOW_LOG"]
        template, plan = str(Path(folder) / "template.db"), str(Path(folder) / "plan.json")
        _work.register(template, coops)
        _work.plan(template, plan)
        _work.checkpoint(template)
        runs: dict[str, list[float]] = {"internal": [], "public": []}
        for _ in range(repeat):
            for way in runs:
                db = str(Path(folder) / f"{way}.db")
                shutil.copyfile(template, db)
                argv = [sys.executable, "-c", _GC_CHILD, db, plan, way, here]
                runs[way].append(child_timed(argv, env))
                os.remove(db)
    return line("gc-paused", statistics.median(runs["internal"]), statistics.median(runs["public"]))


# --- (e) direct routes --------------------------------------------------------------------------


def routes_line(quick: bool) -> dict[str, Any]:
    fire = need("kopflow.flow.machine", "fire")
    direct_routes = need("kopflow.flow.machine", "direct_routes")
    machine_for = need("kopflow.flow.machine", "machine_for")
    coop_state = need("kopflow.flow.machine", "CoopState")
    from kopflow.flow.spec import find_workflow

    wf = find_workflow()
    moves = sorted(direct_routes(wf).items())
    if not moves:
        raise SystemExit("bench/internals.py: direct_routes lists no move")
    machine = machine_for(wf)

    def allow(*_args: object) -> list[str]:
        return []

    count = 2_000 if quick else 20_000

    def by_route() -> None:
        for i in range(count):
            (event, source), _dest = moves[i % len(moves)]
            fire(wf, coop_state(source, None, allow), event)

    def by_machine() -> None:
        for i in range(count):
            (event, source), _dest = moves[i % len(moves)]
            machine.events[event].trigger(coop_state(source, None, allow))

    for (event, source), dest in moves:  # the same moves both ways
        state = coop_state(source, None, allow)
        machine.events[event].trigger(state)
        if state.state != dest or fire(wf, coop_state(source, None, allow), event) != dest:
            raise SystemExit(f"bench/internals.py: {event} from {source} moves differently")
    repeat = 3 if quick else 7
    return line("direct-routes", cpu_median(by_route, repeat), cpu_median(by_machine, repeat))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--out", help="write the lines as JSON to this file")
    args = parser.parse_args(argv)
    lines = [
        encoder_line(args.quick),
        rich_line(args.quick),
        view_line(args.quick),
        gc_line(args.quick),
        routes_line(args.quick),
    ]
    if args.out:
        Path(args.out).write_text(json.dumps({"lines": lines}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
