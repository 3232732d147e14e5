"""kopflow against the libraries a team would pick instead: ``python bench/peers.py``.

The same job for every peer: N objects (default 10,000) through a six-state line,
``s0 -> ... -> s5``, by the events ``e1 .. e5``; each transition an UPDATE of the object's
state and an INSERT of a SHA-256-chained audit row, in transactions of 2,000 objects. Two
tables, each the medians of 5 runs of every peer (``--repeats``), round after round, every run
in a fresh child process:

1. **simple schema**: the peers write ``objects`` and ``audit`` (what gluing a library to
   sqlite3 gives); kopflow writes its own schema, as it cannot do otherwise.
2. **same rows**: every peer writes exactly kopflow's rows into a kopflow database, so the
   table prices each engine's own work against kopflow's.

See ``bench/PEERS.md``. The peer libraries come with ``pip install .[bench]``; a missing one
is listed as such.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MISSING = "not installed (pip install .[bench])"
BASELINE = "raw"

# key: (row name, decider, writer, batching, modules it needs)
PEERS: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "raw": ("raw sqlite3 batched", "plain", "sqlite3", "batch", ()),
    "raw_all": ("raw sqlite3 executemany, 1 txn per event", "plain", "sqlite3", "all", ()),
    "raw_each": ("raw sqlite3 commit per object", "plain", "sqlite3", "one", ()),
    "core": ("SQLAlchemy Core", "plain", "core", "batch", ("sqlalchemy",)),
    "transitions": (
        "transitions (shared Machine) + sqlite3",
        "transitions",
        "sqlite3",
        "batch",
        ("transitions",),
    ),  # fmt: skip
    "transitions_each": (
        "transitions (Machine per object) + sqlite3",
        "transitions_each",
        "sqlite3",
        "batch",
        ("transitions",),
    ),  # fmt: skip
    "sqlmodel": ("SQLModel ORM", "plain", "orm", "batch", ("sqlmodel",)),
    "statemachine": (
        "python-statemachine + sqlite3",
        "statemachine",
        "sqlite3",
        "batch",
        ("statemachine",),
    ),  # fmt: skip
    "spiff": ("SpiffWorkflow (BPMN) + sqlite3", "spiff", "sqlite3", "batch", ("SpiffWorkflow",)),
    "kopflow": ("kopflow", "", "", "", ("kopflow",)),
}
TABLES = ("simple", "same_rows")

FOOTNOTES = {
    "simple": [
        "Peers write objects(id, state, version) + audit(seq, obj, event, src, dst,",
        "body, prev, hash); kopflow writes its own schema (coop, transition, audit_event",
        "with its canonical body, chain_head): it cannot write another.",
    ],
    "same_rows": [
        "Every peer writes kopflow's rows into a kopflow database: the sqlite3 peers",
        "through the tight floor's _floor.write_transitions, SQLAlchemy Core with its",
        "own constructs, SQLModel with ORM models; each checked equal to kopflow's run.",
    ],
}


# --- the children ----------------------------------------------------------------------


def _plan(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)  # type: ignore[no-any-return]


def _kopflow_engine(db: str, actor: str) -> Any:
    from kopflow.engine import Kopflow
    from kopflow.host.manager import PluginHost
    from kopflow.log import configure

    configure()  # as the CLI does: JSON lines to the log file, nothing on stdout
    # No plugins: the peers' definition has no partners, and a guard hook would load views.
    return Kopflow(db, actor=actor, plugins=PluginHost(), workflow="peers")


def child_template(db: str, n: int, plan_path: str) -> dict[str, Any]:
    """A kopflow database on the peers definition with ``n`` cooperatives in s0, and the
    plan the same-rows writers need (actor, role, body format, plugin fingerprint)."""
    from _peers_lib import PRAGMAS, dumps, object_ids

    from kopflow.audit.canonical import CANON_VERSION
    from kopflow.regions import CoopSeed
    from kopflow.store.db import SQLITE_PRAGMAS, dispose_engines

    if tuple(SQLITE_PRAGMAS) != PRAGMAS:
        raise SystemExit(f"kopflow's SQLite pragmas changed: {SQLITE_PRAGMAS}; update _peers_lib")
    engine = _kopflow_engine(db, "bench")
    engine.init()
    seeds = [
        CoopSeed(coop, "Kabupaten Bench", "Provinsi Bench",
                 [(f"bench-{i}", f"Desa {i}", f"Kec {i % 40}", None)])
        for i, coop in enumerate(object_ids(n))
    ]  # fmt: skip
    added, _skipped = engine.register(seeds, source="bench")
    with engine.reading() as conn:
        me = engine.actor(conn)
    plugins = engine.plugins.fingerprint()
    dispose_engines()
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    plan = {"actor": me.name, "role": me.role, "canon": CANON_VERSION, "plugins": plugins,
            "plugins_json": dumps(plugins)}  # fmt: skip
    with open(plan_path, "w", encoding="utf-8") as handle:
        json.dump(plan, handle)
    return {"coops": added}


def _measured(run: Any) -> dict[str, Any]:
    """Time ``run()`` (wall and this process's CPU), under cProfile if PEERS_PROFILE says
    where to write the stats."""
    profile_to = os.environ.get("PEERS_PROFILE")
    profiler = None
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
    start, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    events = run()
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if profiler:
        profiler.dump_stats(profile_to)
    return {"events": events, "seconds": seconds, "cpu_seconds": cpu}


def child_peer(table: str, key: str, db: str, n: int, plan_path: str) -> dict[str, Any]:
    """One peer's measured run, then its check (after the clock)."""
    if key == "kopflow":
        return _child_kopflow(db, n, plan_path)
    import _peers_lib

    _name, decider_key, writer, batching, _mods = PEERS[key]
    decider = _peers_lib.DECIDERS[decider_key]()
    # The CPU a library spends binding the loaded objects (add_model, a machine or workflow
    # per object) is part of the job, and also reported apart: it is where some peers lose.
    bound, spent = decider.bind, [0.0]

    def timed_bind(objs: list[Any]) -> list[Any]:
        start = time.process_time()
        objs = bound(objs)
        spent[0] += time.process_time() - start
        return objs

    decider.bind = timed_bind  # type: ignore[method-assign]
    batch = {"batch": _peers_lib.BATCH, "all": n, "one": 1}[batching]
    # Imports are start-up, not the job: the writer's layer is imported before the clock, as
    # kopflow's write path is.
    if writer in ("core", "orm"):
        import sqlalchemy.orm  # noqa: F401
    if writer == "orm":
        import sqlmodel  # noqa: F401
    if table == "simple":
        import _peers_simple as side

        side.create(db, n)  # outside the clock
        runner = side.RUNNERS[writer]
        decider.prepare()  # the definition (machine, class, BPMN spec): start-up, not the job
        result = _measured(lambda: runner(db, decider, batch))
        problem = side.verify(db, n)
    else:
        import _peers_rows as side

        plan = _plan(plan_path)
        runner = side.RUNNERS[writer]
        decider.prepare()
        result = _measured(lambda: runner(db, decider, batch, plan))
        problem = side.verify(db, n, plan)
    if problem:
        raise SystemExit(f"{key} wrote wrong rows: {problem}")
    result["bind_cpu_seconds"] = spent[0]
    if result["events"] != n * len(_peers_lib.EVENTS):
        raise SystemExit(f"{key}: {result['events']} events, expected {n * 5}")
    return result


def _child_kopflow(db: str, n: int, plan_path: str) -> dict[str, Any]:
    """kopflow's public engine API: ``advance_bulk`` for each stage but the last."""
    import _peers_lib
    import _peers_rows

    plan = _plan(plan_path)
    engine = _kopflow_engine(db, plan["actor"])
    # Start-up is not the job: the write path imported, the definition and its machine
    # loaded, the plugin host built, before the clock (as bench/_work.lifecycle does).
    import kopflow.pipeline.change
    import kopflow.rules.transition  # noqa: F401
    from kopflow.flow.machine import machine_for

    machine_for(engine.workflow)
    engine.plugins.fingerprint()
    with engine.reading():  # the database opened and its schema checked
        pass

    def run() -> int:
        events = 0
        for stage in _peers_lib.STATES[:-1]:
            result = engine.advance_bulk(stage=stage)
            if result.refused:
                raise SystemExit(f"kopflow refused {stage}: {result.refused[0].message}")
            events += len(result.done)
        return events

    result = _measured(run)
    from kopflow.store.db import dispose_engines

    dispose_engines()
    problem = _peers_rows.verify(db, n, plan)
    if problem:
        raise SystemExit(f"kopflow wrote wrong rows: {problem}")
    return result


def child_check(db: str, kopflow_db: str) -> dict[str, Any]:
    """A same-rows peer's database: equal to kopflow's run, and kopflow's own strict audit
    verification passes on it (not timed)."""
    import _peers_rows

    from kopflow.audit.chain import verify_database
    from kopflow.store.db import read_connection, resolve_url

    problem = _peers_rows.compare(db, kopflow_db)
    if problem:
        raise SystemExit(f"not kopflow's rows: {problem}")
    with read_connection(resolve_url(db)) as conn:
        result = verify_database(conn, strict=True)
    if not result.ok:
        raise SystemExit(f"kopflow audit verify --strict fails: {result.problem}")
    return {"events": result.count}


CHILDREN = {"template": child_template, "peer": child_peer, "check": child_check}


# --- the parent: runs children, keeps small -------------------------------------------------


class Child:
    """One finished child: exit code, output, wall seconds, CPU seconds (user + system, from
    ``os.wait4``) and peak resident set in MB."""

    def __init__(self, cmd: list[str], env: dict[str, str], log: Path) -> None:
        with open(log, "ab") as err, tempfile.TemporaryFile() as out:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
            _pid, status, usage = os.wait4(proc.pid, 0)
            self.wall = time.perf_counter() - start
            proc.returncode = self.code = os.waitstatus_to_exitcode(status)
            self.cpu = usage.ru_utime + usage.ru_stime
            self.rss_mb = usage.ru_maxrss / 1024  # KiB on Linux
            out.seek(0)
            self.stdout = out.read().decode("utf-8", "replace")
        self.cmd = cmd

    def result(self, log: Path) -> dict[str, Any]:
        if self.code != 0:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(
                f"{' '.join(self.cmd[3:6])} failed with exit code {self.code}:\n" + "\n".join(tail)
            )
        data: dict[str, Any] = json.loads(self.stdout.strip().splitlines()[-1])
        data.update(wall=self.wall, child_cpu_seconds=self.cpu, rss_mb=self.rss_mb)
        return data


class Peers:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.n: int = args.n or (200 if args.quick else 10_000)
        # Issue #15: medians of 5 runs for the 10,000 lines; one run was +-20% on this machine.
        self.repeats: int = (1 if args.quick else 5) if args.repeats is None else args.repeats
        if self.repeats < 1 or self.repeats % 2 == 0:
            raise SystemExit("--repeats takes an odd number from 1: the median is one run's")
        self.work = Path(tempfile.mkdtemp(prefix="kopflow-peers-", dir=args.workdir))
        self.log = self.work / "peers.log"
        wf_dir = self.work / "workflows"
        wf_dir.mkdir()
        from _peers_lib import WORKFLOW_YAML

        (wf_dir / "peers.yaml").write_text(WORKFLOW_YAML, encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
        self.env.update(KOPFLOW_WORKFLOWS=str(wf_dir), KOPFLOW_LOG=str(self.work / "kopflow.log"),
                        KOPFLOW_LANG="en", KOPFLOW_ACTOR="bench")  # fmt: skip
        self.env.pop("PEERS_PROFILE", None)
        self.only = [k.strip() for k in args.only.split(",")] if args.only else list(PEERS)
        unknown = [k for k in self.only if k not in PEERS]
        if unknown:
            raise SystemExit(f"unknown peers {unknown}; known: {', '.join(PEERS)}")

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    def child(self, task: str, *args: Any, env: dict[str, str] | None = None) -> dict[str, Any]:
        cmd = [sys.executable, str(HERE / "peers.py"), "--child", task, json.dumps(args)]
        return Child(cmd, env or self.env, self.log).result(self.log)

    def copy(self, source: Path, target: Path) -> str:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source, target)
        return str(target)

    def run(self) -> dict[str, Any]:
        self.say(f"work folder {self.work}; N = {self.n:,}")
        self.template, self.plan = self.work / "template.db", str(self.work / "plan.json")
        self.child("template", str(self.template), self.n, self.plan)
        out: dict[str, Any] = {"n": self.n}
        for table in self.args.tables.split(","):
            out[table] = {"rows": self.table(table)}
        return out

    def table(self, table: str) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        runs: dict[str, list[dict[str, Any]]] = {}
        # kopflow first in the same-rows table: every other peer's rows are compared with its.
        order = sorted(self.only, key=lambda k: table == "same_rows" and k != "kopflow")
        for key in order:
            name, _decider, writer, _batching, modules = PEERS[key]
            # "peer": a library a team would pick instead (run.py's targets), not a raw baseline.
            rows[key] = {"name": name, "key": key, "peer": not key.startswith("raw"),
                         "writer": _writer(table, key, writer)}  # fmt: skip
            if any(importlib.util.find_spec(m) is None for m in modules):
                rows[key]["status"] = MISSING
            else:
                runs[key] = []
        # Round after round, every peer once per round, each round starting one peer later:
        # the machine's drift falls on all alike. The first round keeps the table's order
        # (kopflow first on its rows: the others are checked against its database).
        keys = list(runs)
        for repeat in range(self.repeats):
            kopflow_db = None
            turn = repeat % len(keys) if keys else 0
            for key in keys[turn:] + keys[:turn]:
                self.say(f"{table}: {rows[key]['name']} ({repeat + 1}/{self.repeats})")
                db = self.database(table, key)
                env = self.env
                if self.args.profile and key in self.args.profile.split(","):
                    prof = self.work / f"{table}-{key}-{repeat + 1}.prof"
                    env = {**self.env, "PEERS_PROFILE": str(prof)}
                runs[key].append(self.child("peer", table, key, db, self.n, self.plan, env=env))
                if table == "same_rows" and repeat == 0:
                    if key == "kopflow":
                        kopflow_db = db
                    elif kopflow_db is not None:
                        self.child("check", db, kopflow_db)
                        rows[key]["same_as_kopflow"] = True
        for key, done in runs.items():
            rows[key].update(_median_run(done), runs=done, status="ok")
        found = sorted(rows.values(), key=lambda r: list(PEERS).index(r["key"]))
        _ratios(found)
        return found

    def database(self, table: str, key: str) -> str:
        """A fresh database for one run: none for a peer's own simple schema, else the
        template's copy."""
        if table == "simple" and key != "kopflow":
            db = str(self.work / f"{table}-{key}.db")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            return db
        return self.copy(self.template, self.work / f"{table}-{key}.db")


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One peer's figures from its runs: the median of each timing (each alone), the highest
    peak memory, the rest from the first run."""
    middle = len(runs) // 2  # an odd count of runs: the middle one
    found = {**runs[0], "rss_mb": max(r["rss_mb"] for r in runs)}
    for key in ("cpu_seconds", "seconds", "bind_cpu_seconds"):
        if all(key in r for r in runs):
            found[key] = sorted(r[key] for r in runs)[middle]
    return found


def _writer(table: str, key: str, writer: str) -> str:
    if key == "kopflow":
        return "kopflow advance_bulk (its own schema)" if table == "simple" else "kopflow"
    if table == "same_rows" and writer == "sqlite3":
        return "_floor.write_transitions"
    return {"sqlite3": "sqlite3", "core": "SQLAlchemy Core", "orm": "SQLModel ORM"}[writer]


def _ratios(rows: list[dict[str, Any]]) -> None:
    base = next((r for r in rows if r["key"] == BASELINE and r["status"] == "ok"), None)
    for row in rows:
        if row["status"] != "ok":
            row.update(events=None, seconds=None, cpu_seconds=None, events_per_s=None,
                       events_per_cpu_s=None, cpu_ratio=None, rss_mb=None)  # fmt: skip
            continue
        row["events_per_s"] = row["events"] / row["seconds"]
        row["events_per_cpu_s"] = row["events"] / row["cpu_seconds"]
        row["cpu_ratio"] = row["events_per_cpu_s"] / base["events_per_cpu_s"] if base else None


TITLES = {"simple": "simple schema", "same_rows": "same rows (kopflow's)"}


def render(results: dict[str, Any]) -> str:
    lines: list[str] = []
    for table in TABLES:
        if table not in results:
            continue
        lines.append(
            f"{'peers, ' + TITLES[table] + ', N=' + format(results['n'], ','):<42}"
            f"{'events/s':>9}{'ev/CPU-s':>10}{'CPU x':>8}{'peak MB':>9}"
        )
        for row in results[table]["rows"]:
            if row["status"] != "ok":
                lines.append(f"{row['name']:<42}{row['status']}")
                continue
            ratio = "-" if row["cpu_ratio"] is None else f"{row['cpu_ratio']:.2f}"
            lines.append(
                f"{row['name']:<42}{row['events_per_s']:>9,.0f}{row['events_per_cpu_s']:>10,.0f}"
                f"{ratio:>8}{row['rss_mb']:>9.0f}"
            )
        lines += [f"  {note}" for note in FOOTNOTES[table]]
        lines.append("  CPU x: events per CPU-second (inside the child, the measured part) over")
        lines.append("  raw sqlite3 batched's; events/s is wall clock; peak MB: the child's RSS.")
        bind = [
            f"{r['key']} {r['bind_cpu_seconds']:.2f} of {r['cpu_seconds']:.2f}"
            for r in results[table]["rows"]
            if r["status"] == "ok" and r.get("bind_cpu_seconds", 0) > 0.1 * r["cpu_seconds"]
        ]
        if bind:
            text = "  CPU s binding the loaded objects to the library (in the clock): "
            for part in bind:
                if len(text) + len(part) + 2 > 80:
                    lines.append(text.rstrip())
                    text = "    "
                text += part + "; "
            lines.append(text.rstrip("; "))
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, help="objects (default 10,000; 200 with --quick)")
    parser.add_argument("--quick", action="store_true", help="N = 200: a smoke test")
    parser.add_argument("--repeats", type=int,
                        help="runs of each peer, medians shown (odd; default 5, 1 with --quick)")  # fmt: skip
    parser.add_argument("--out", default="peers-results.json", help="the JSON results")
    parser.add_argument("--only", help=f"comma-separated peers of: {', '.join(PEERS)}")
    parser.add_argument("--tables", default=",".join(TABLES), help="simple,same_rows")
    parser.add_argument("--workdir", help="where the databases go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--profile", help="peers to run under cProfile (stats kept: --keep)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("child_args", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = CHILDREN[args.child](*json.loads(args.child_args))
        print(json.dumps(result))
        return 0
    peers = Peers(args)
    try:
        results = peers.run()
    finally:
        if not args.keep:
            shutil.rmtree(peers.work, ignore_errors=True)
        else:
            peers.say(f"kept {peers.work}")
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
