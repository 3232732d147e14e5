"""kopflow against its floor, on this machine, in one run: ``python bench/run.py [--quick]``.

Each measurement runs in a fresh child process (``--child``), so its time and its peak memory
(``os.wait4``) are its own; kopflow and the floor alternate, and medians are taken over the
repeats. See ``bench/README.md`` for what each line measures and the targets of issue #5.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PG_SERVER = os.environ.get("KOPFLOW_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
COUNTRY = 82_503

FULL = {
    "bulk": [(10_000, 5), (COUNTRY, 3)],  # (cooperatives, repeats); issue #15: 5 at 10k; 3 for
    # the country, whose single run moved its ratio and the per-event growth by up to 2x
    "import_region": None,  # the whole country
    "import_repeats": 3,
    "verify_events": 1_000_000,
    "verify_repeats": 5,  # one run's three pairs read 0.56, 0.70 and 0.81: three is too few
    "cli_small": 1_000,
    "cli_runs": 7,
    "pg": (10_000, 5),
    "partner": (10_000, 5),
}
QUICK = {
    "bulk": [(40, 1), (80, 1)],
    "import_region": "Kabupaten Buleleng",
    "import_repeats": 1,
    "verify_events": None,  # 1 + 12.5 events per cooperative of the imported region
    "verify_repeats": 1,
    "cli_small": 30,
    "cli_runs": 1,
    "pg": (30, 1),
    "partner": (40, 1),
}
SECTIONS = ("import", "bulk", "verify", "cli", "pg", "partner", "peers", "internals")
# Up to this size the old floors (issues #5 to #14) run beside the tight ones, for the history.
OLD_FLOOR_MAX = 10_000


# --- running children ----------------------------------------------------------------------


class Child:
    """One finished child process: exit code, output, wall seconds and peak RSS in MB."""

    def __init__(self, cmd: list[str], env: dict[str, str], log: Path) -> None:
        with open(log, "a+b") as out, tempfile.TemporaryFile() as stdout:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=stdout, stderr=out, env=env)
            _pid, status, usage = os.wait4(proc.pid, 0)
            self.wall = time.perf_counter() - start
            proc.returncode = self.code = os.waitstatus_to_exitcode(status)
            self.rss_mb = usage.ru_maxrss / 1024  # KiB on Linux
            # The whole process's CPU (start-up included): what the CLI lines compare.
            self.cpu = usage.ru_utime + usage.ru_stime
            stdout.seek(0)
            self.stdout = stdout.read().decode("utf-8", "replace")
            out.seek(0, 2)
        self.cmd = cmd

    def result(self) -> dict[str, Any]:
        """The JSON a ``--child`` task printed last, with wall time and memory added."""
        if self.code != 0:
            raise RuntimeError(f"{' '.join(self.cmd[:6])} ... failed with exit code {self.code}; "
                               f"see the log")  # fmt: skip
        data: dict[str, Any] = json.loads(self.stdout.strip().splitlines()[-1])
        data.update(wall=self.wall, rss_mb=self.rss_mb, process_cpu=self.cpu)
        return data


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cfg = QUICK if args.quick else FULL
        if args.workdir:
            Path(args.workdir).mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="kopflow-bench-", dir=args.workdir))
        self.log = self.work / "bench.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
        self.env.update(
            KOPFLOW_LOG=str(self.work / "kopflow.log"), KOPFLOW_LANG="en", KOPFLOW_ACTOR="bench"
        )
        # On PostgreSQL the database login is the actor (issue #4).
        self.pg_env = {k: v for k, v in self.env.items() if k != "KOPFLOW_ACTOR"}
        self.results: dict[str, Any] = {}
        self.targets: list[dict[str, Any]] = []
        self.kopflow = shutil.which("kopflow", path=str(Path(sys.executable).parent)) or "kopflow"

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    def child(self, task: str, *args: Any, env: dict[str, str] | None = None) -> dict[str, Any]:
        cmd = [sys.executable, str(HERE / "run.py"), "--child", task, json.dumps(args)]
        return Child(cmd, env or self.env, self.log).result()

    def run(self, cmd: list[str]) -> Child:
        return Child(cmd, self.env, self.log)

    def path(self, name: str) -> str:
        return str(self.work / name)

    def copy(self, source: str, name: str) -> str:
        target = self.path(name)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(target + suffix):
                os.remove(target + suffix)
        shutil.copyfile(source, target)
        return target

    def drop(self, *paths: str) -> None:
        for path in paths:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)

    def target(self, name: str, value: float, goal: str, ok: bool) -> None:
        self.targets.append({"name": name, "value": value, "target": goal, "ok": ok})

    # --- set-up --------------------------------------------------------------------------

    def setup(self) -> None:
        self.say(f"work folder {self.work}")
        self.empty = self.path("empty.db")
        self.child("init", self.empty)
        self.plan = self.path("plan.json")
        info = self.child("plan", self.empty, self.plan)
        self.per_coop = info["events_per_coop"]
        self.country: str | None = None

    def template(self, n: int) -> str:
        if self.country is not None and n >= self.country_coops:
            return self.country
        path = self.path(f"template-{n}.db")
        if not os.path.exists(path):
            self.say(f"registering {n:,} cooperatives for a template")
            self.child("register", path, n)
        return path

    # --- sections ------------------------------------------------------------------------

    def section_import(self) -> None:
        region = self.cfg["import_region"]
        scope = ["--region", region] if region else ["--all"]
        source = "areaid:" + (region or "Indonesia")
        runs: dict[str, list[dict[str, Any]]] = {"kopflow": [], "floor": []}
        for rep in range(self.cfg["import_repeats"]):
            self.say(f"import {scope[-1]}: repeat {rep + 1}")
            db = self.copy(self.empty, "import-kopflow.db")
            child = self.run([self.kopflow, "--db", db, "coop", "import", *scope, "--json"])
            if child.code != 0:
                raise RuntimeError(f"kopflow coop import failed with exit code {child.code}")
            data = {**json.loads(child.stdout), "wall": child.wall, "rss_mb": child.rss_mb,
                    "process_cpu": child.cpu}  # fmt: skip
            runs["kopflow"].append(data)
            if self.country is None:
                self.child("checkpoint", db)
                self.country = self.copy(db, "country.db")
                self.country_coops = data["added"]
            floor_db = self.copy(self.empty, "import-floor.db")
            runs["floor"].append(self.child("floor_import", floor_db, self.plan, source, region))
            if self.args.check and rep == 0:
                self.check(db, floor_db, "import")
            self.drop(db, floor_db)
        # Both sides as whole processes (start-up, reading areaid, writing): what a user runs.
        k, f = _median(runs["kopflow"], "wall"), _median(runs["floor"], "wall")
        kc, fc = _median(runs["kopflow"], "process_cpu"), _median(runs["floor"], "process_cpu")
        self.results["import"] = {
            "coops": runs["kopflow"][0]["added"], "kopflow_s": k, "floor_s": f,
            "kopflow_cpu_s": kc, "floor_cpu_s": fc, "ratio": kc / fc, "wall_ratio": k / f,
            "kopflow_rss_mb": _max(runs["kopflow"]), "floor_rss_mb": _max(runs["floor"]),
            "runs": runs,
        }  # fmt: skip
        self.target("national import CPU vs the executemany script", kc / fc, "<= 1.5",
                    kc / fc <= 1.5)  # fmt: skip

    def section_bulk(self) -> None:
        out: dict[str, Any] = {}
        for n, repeats in self.cfg["bulk"]:
            template = self.template(n)
            old = n <= OLD_FLOOR_MAX
            runs: dict[str, list[dict[str, Any]]] = {"kopflow": [], "floor": [], "old_floor": []}
            for rep in range(repeats):
                self.say(f"bulk lifecycle SQLite N={n:,}: repeat {rep + 1}/{repeats}")
                db = self.copy(template, "bulk-kopflow.db")
                runs["kopflow"].append(self.child("lifecycle", db, self.plan))
                floor_db = self.copy(template, "bulk-floor.db")
                runs["floor"].append(self.child("floor_lifecycle", floor_db, self.plan, "tight"))
                old_db = self.copy(template, "bulk-old-floor.db") if old else ""
                if old:
                    runs["old_floor"].append(
                        self.child("floor_lifecycle", old_db, self.plan, "old")
                    )
                if self.args.check and rep == 0 and n <= 10_000:
                    self.check(db, floor_db, f"bulk {n}")
                    if old:
                        self.check(db, old_db, f"bulk {n} old floor")
                self.drop(db, floor_db, *([old_db] if old else []))
            out[str(n)] = _rates(runs)
        self.results["bulk_sqlite"] = out
        sizes = [str(n) for n, _r in self.cfg["bulk"]]
        for size in sizes:
            ratio = out[size]["ratio"]
            self.target(f"bulk lifecycle SQLite N={int(size):,} vs tight floor (CPU)", ratio,
                        ">= 0.5", ratio >= 0.5)  # fmt: skip
        small, big = out[sizes[0]], out[sizes[-1]]
        growth = big["kopflow_cpu_us_per_event"] / small["kopflow_cpu_us_per_event"] - 1
        out["per_event_growth"] = growth
        self.target(f"per-event CPU cost N={int(sizes[-1]):,} vs N={int(sizes[0]):,}", growth,
                    "within 10%", abs(growth) <= 0.10)  # fmt: skip
        self.target(f"bulk lifecycle peak memory N={int(sizes[-1]):,} (MB)",
                    big["kopflow_rss_mb"], "< 120", big["kopflow_rss_mb"] < 120)  # fmt: skip

    def big_db(self) -> str:
        """82,503 cooperatives (the import) grown to 1,000,000 audit events."""
        path = self.path("big.db")
        if not os.path.exists(path):
            if self.country is None:
                self.country = self.template(COUNTRY if not self.args.quick else 148)
                self.country_coops = self._coops(self.country)
            n = self._coops(self.country)
            target = self.cfg["verify_events"] or 1 + 12 * n + n // 2
            self.say(f"building the {target:,}-event database of {n:,} cooperatives")
            self.copy(self.country, "big.db")
            self.big_info = self.child("build", path, self.plan, target)
        return path

    def section_verify(self) -> None:
        db = self.big_db()
        runs: dict[str, list[dict[str, Any]]] = {"kopflow": [], "floor": [], "old_floor": []}
        for rep in range(self.cfg["verify_repeats"]):
            self.say(f"audit verify: repeat {rep + 1}")
            runs["kopflow"].append(self.child("verify", db))
            runs["floor"].append(self.child("floor_verify", db, "bare"))
            runs["old_floor"].append(self.child("floor_verify", db, "old"))
        rates = _rates(runs)
        cli = self.run([self.kopflow, "--db", db, "audit", "verify"])
        rates["cli"] = {"wall": cli.wall, "cpu": cli.cpu, "rss_mb": cli.rss_mb,
                        "exit_code": cli.code}  # fmt: skip
        self.results["verify"] = rates
        self.target("audit verify vs the bare hashlib loop (CPU)", rates["ratio"], ">= 0.7",
                    rates["ratio"] >= 0.7)  # fmt: skip
        self.target("audit verify peak memory (MB)", rates["kopflow_rss_mb"], "< 150 (bounded)",
                    rates["kopflow_rss_mb"] < 150)  # fmt: skip

    def section_cli(self) -> None:
        # Time what an installed kopflow costs: pip compiles a wheel's modules to bytecode at
        # install time, but a checkout run under PYTHONDONTWRITEBYTECODE (set on some machines)
        # would compile kopflow's own modules from source at every start, ~90 ms of CPU.
        import compileall

        for package in ("kopflow", "plugins"):
            compileall.compile_dir(str(HERE.parent / package), quiet=1)
        big = self.big_db()
        n = self.cfg["cli_small"]
        small = self.path("small.db")
        if not os.path.exists(small):
            shutil.copyfile(self.template(n), small)
            self.child("build", small, self.plan, 1 + 12 * n + n // 2)
        runs = self.cfg["cli_runs"]
        plan = json.loads(Path(self.plan).read_text(encoding="utf-8"))
        evidence = plan["raw"]["assistant_assigned"][0]
        sets = [a for k, v in evidence.items() for a in ("--set", f"{k}={v}")]
        picks = {name: _pick(path, runs + 1) for name, path in (("big", big), ("small", small))}
        commands = {
            "status": lambda db, p, i: ["status"],
            "show": lambda db, p, i: ["coop", "show", p["show"][i]],
            "step": lambda db, p, i: [
                "step",
                "complete",
                p["step"][i],
                "assistant_assigned",
                *sets,
            ],
            "advance": lambda db, p, i: ["advance", p["advance"][i]],
        }
        times: dict[str, list[Child]] = {}
        first = 1 if self.args.quick else 0  # round 0 warms the page cache, not counted
        for i in range(first, runs + 1):
            self.say(f"single-cooperative commands: round {i}/{runs}")
            for name, cmd in (("sqlmodel", [sys.executable, "-c", "import sqlmodel"]),
                              ("help", [self.kopflow, "--help"])):  # fmt: skip
                child = self.run(cmd)
                if i:
                    times.setdefault(name, []).append(child)
            for name, make in commands.items():
                for size, db in (("big", big), ("small", small)):
                    child = self.run([self.kopflow, "--db", db, *make(db, picks[size], i)])
                    if child.code != 0:
                        raise RuntimeError(f"{name} on {size}: exit {child.code}")
                    if i:
                        times.setdefault(f"{name}_{size}", []).append(child)
        # CPU of each whole process (os.wait4), wall beside it; medians over the rounds.
        med = {k: statistics.median(c.wall for c in v) for k, v in times.items()}
        cpu = {k: statistics.median(c.cpu for c in v) for k, v in times.items()}
        rss = {k: max(c.rss_mb for c in v) for k, v in times.items()}
        base = cpu["sqlmodel"]
        out: dict[str, Any] = {"median_s": med, "median_cpu_s": cpu, "rss_mb": rss,
                               "runs": runs, "big_events": self._events(big),
                               "big_coops": self._coops(big), "small_coops": n}  # fmt: skip
        self.target("kopflow --help (ms wall)", med["help"] * 1000, "< 100", med["help"] < 0.100)
        for name in commands:
            ratio = cpu[f"{name}_big"] / base
            flat = cpu[f"{name}_big"] / cpu[f"{name}_small"] - 1
            out[f"{name}_vs_sqlmodel"], out[f"{name}_growth"] = ratio, flat
            out[f"{name}_wall_vs_sqlmodel"] = med[f"{name}_big"] / med["sqlmodel"]
            if name != "advance":  # issue #15's targets: status, coop show, step complete
                self.target(f"{name}: CPU vs import sqlmodel (big db)", ratio, "<= 0.6",
                            ratio <= 0.6)  # fmt: skip
        self.results["cli"] = out

    def section_pg(self) -> None:
        n, repeats = self.cfg["pg"]
        probe = self.child("pg_available", PG_SERVER, env=self.pg_env)
        if not probe["ok"]:
            self.say(f"PostgreSQL not reachable, skipped: {probe['error']}")
            self.results["pg"] = {"skipped": probe["error"]}
            return
        tag = f"kb{os.getpid()}"
        schemas = [f"{tag}_tpl", f"{tag}_k", f"{tag}_f", f"{tag}_o"]
        try:
            self.say(f"PostgreSQL: registering {n:,} cooperatives in a template schema")
            env = self.pg_env
            self.child("pg_template", PG_SERVER, schemas[0], n, env=env)
            plan = self.path("plan-pg.json")
            self.child("plan", _pg_url(schemas[0]), plan, env=env)
            runs: dict[str, list[dict[str, Any]]] = {"kopflow": [], "floor": [], "old_floor": []}
            for rep in range(repeats):
                self.say(f"bulk lifecycle PostgreSQL N={n:,}: repeat {rep + 1}/{repeats}")
                self.child("pg_clone", PG_SERVER, schemas[0], schemas[1], env=env)
                runs["kopflow"].append(self.child("lifecycle", _pg_url(schemas[1]), plan, env=env))
                for side, kind, schema in (("floor", "tight", schemas[2]),
                                           ("old_floor", "old", schemas[3])):  # fmt: skip
                    self.child("pg_clone", PG_SERVER, schemas[0], schema, env=env)
                    runs[side].append(
                        self.child("floor_lifecycle", _pg_url(schema), plan, kind, env=env)
                    )
                if self.args.check and rep == 0:
                    for side, schema in (("", schemas[2]), (" old floor", schemas[3])):
                        found = self.child("pg_compare", PG_SERVER, schemas[1], schema, env=env)
                        self._checked(found, f"pg {n}{side}")
        finally:
            self.child("pg_drop", PG_SERVER, *schemas, env=self.pg_env)
        rates = _rates(runs)
        lost = sum(r.get("server_cpu_lost", 0) for side in runs.values() for r in side)
        if lost:  # see _work.Clock: a server process's CPU that could not be accounted for
            self.say(f"PostgreSQL: server CPU unknown in {lost} measured block(s), counted as none")
        self.results["pg"] = {str(n): {**rates, "server_cpu_lost": lost}}
        self.target(f"bulk lifecycle PostgreSQL N={n:,} vs COPY floor (CPU)", rates["ratio"],
                    ">= 0.5", rates["ratio"] >= 0.5)  # fmt: skip

    def section_partner(self) -> None:
        """Issue #16: bulk attendance at a forum and bulk lead creation, N cooperatives each,
        through the engine's bulk path, against the same writes with sqlite3."""
        n, repeats = self.cfg["partner"]
        template = self.path(f"partner-{n}.db")
        if not os.path.exists(template):
            self.say(f"registering {n:,} cooperatives of one kabupaten and a forum")
            self.child("partner_template", template, n)
        runs: dict[str, list[dict[str, Any]]] = {"kopflow": [], "floor": []}
        for rep in range(repeats):
            self.say(f"partnership SQLite N={n:,}: repeat {rep + 1}/{repeats}")
            db = self.copy(template, "partner-kopflow.db")
            runs["kopflow"].append(self.child("partnership", db))
            floor_db = self.copy(template, "partner-floor.db")
            runs["floor"].append(self.child("floor_partnership", floor_db, self.plan))
            if self.args.check and rep == 0:
                self.check(db, floor_db, f"partnership {n}")
            self.drop(db, floor_db)
        rates = _rates(runs)
        self.results["partner"] = {str(n): rates}
        self.target(f"bulk attendance + leads SQLite N={n:,} vs sqlite3 (CPU)", rates["ratio"],
                    ">= 0.5", rates["ratio"] >= 0.5)  # fmt: skip

    def _script(self, name: str) -> dict[str, Any] | None:
        """Run ``bench/NAME.py --out FILE [--quick]`` (written beside this one) and read its
        JSON; None, with a note in the results, when the script is not there."""
        script = HERE / f"{name}.py"
        if not script.exists():
            self.say(f"{name}: bench/{name}.py is missing, section skipped")
            self.results[name] = {"skipped": f"bench/{name}.py is missing"}
            return None
        out = self.path(f"{name}.json")
        cmd = [sys.executable, str(script), "--out", out, *(["--quick"] if self.args.quick else [])]
        self.say(f"{name}: {' '.join(cmd[1:])}")
        child = self.run(cmd)
        if child.code != 0:
            raise RuntimeError(f"bench/{name}.py failed with exit code {child.code}; see the log")
        data: dict[str, Any] = json.loads(Path(out).read_text(encoding="utf-8"))
        return data

    def section_peers(self) -> None:
        """Issue #15: the same lifecycle by the libraries a team would pick instead."""
        data = self._script("peers")
        if data is None:
            return
        self.results["peers"] = data
        # A peer whose library is not installed has a status and no figures: not measured.
        same = _measured(data["same_rows"]["rows"])
        kopflow = _row(same, "kopflow")
        others = [r for r in same if r is not kopflow and _is_peer(r)]
        lead = min((kopflow["cpu_ratio"] / r["cpu_ratio"] for r in others), default=float("inf"))
        self.target("peers same rows: kopflow ahead of every peer (CPU, worst)", lead, "> 1.0",
                    lead > 1.0)  # fmt: skip
        simple = _measured(data["simple"]["rows"])
        glue = next(r for r in simple if "transitions (shared Machine) + sqlite3" in r["name"])
        share = _row(simple, "kopflow")["cpu_ratio"] / glue["cpu_ratio"]
        self.target("peers simple schema: kopflow vs transitions+sqlite3 (CPU)", share,
                    ">= 0.75", share >= 0.75)  # fmt: skip

    def section_internals(self) -> None:
        """What each reliance on a library's internals gains (issue #15 point 5)."""
        data = self._script("internals")
        if data is not None:
            self.results["internals"] = data

    # --- helpers -------------------------------------------------------------------------

    def check(self, kopflow_db: str, floor_db: str, what: str) -> None:
        # In a child: the parent must stay small, since a child's peak RSS counts the
        # launching process's own (Linux carries it across fork and exec).
        self._checked(self.child("compare", kopflow_db, floor_db), what)

    def _checked(self, found: dict[str, Any], what: str) -> None:
        self.results.setdefault("checks", {})[what] = found
        if found["problems"]:
            raise RuntimeError(f"the floor did not write what kopflow wrote ({what}): "
                               f"{found['problems'][:3]}")  # fmt: skip
        self.say(f"check {what}: same rows, {found['events_compared']:,} events compared")

    @staticmethod
    def _coops(db: str) -> int:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM coop").fetchone()[0])

    @staticmethod
    def _events(db: str) -> int:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT seq FROM chain_head").fetchone()[0])


def _pg_url(schema: str) -> str:
    return f"{PG_SERVER}?options=-csearch_path%3D{schema}"


def _pick(db: str, count: int) -> dict[str, list[str]]:
    """Cooperatives for the single-cooperative commands: each run changes a different one."""
    with sqlite3.connect(db) as conn:
        consolidation = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM coop WHERE stage = 'consolidation' ORDER BY id LIMIT ?", (count,)
            )
        ]
        legal = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM coop WHERE stage = 'legal' ORDER BY id DESC LIMIT ?", (2 * count,)
            )
        ]
    if len(consolidation) < count or len(legal) < 2 * count:
        raise RuntimeError(f"{db}: not enough cooperatives in consolidation and legal")
    return {"step": consolidation, "advance": legal[:count], "show": legal[count:]}


def _row(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for r in rows if r["name"] == name)


def _measured(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("status", "ok") == "ok"]


def _is_peer(row: dict[str, Any]) -> bool:
    """A peer library's row, not a raw-driver baseline (``"peer": false`` or a name starting
    with "raw" or "sqlite3")."""
    if "peer" in row:
        return bool(row["peer"])
    return not row["name"].lower().startswith(("raw", "sqlite3"))


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def _max(runs: list[dict[str, Any]]) -> float:
    return max(r["rss_mb"] for r in runs)


def _rates(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Events per CPU-second and per second of each side (medians of the repeats) and
    kopflow's share of each floor's: ``ratio`` (CPU, the one a target reads) and
    ``wall_ratio`` against the tight floor, ``old_floor_ratio`` and ``old_floor_wall_ratio``
    against the old one."""
    out: dict[str, Any] = {"runs": runs}
    for side, done in runs.items():
        if not done:
            continue
        wall = statistics.median(r["events"] / r["seconds"] for r in done)
        # On PostgreSQL the server's CPU is the work's too (see _work.server_cpu): 0 on SQLite.
        cpu = statistics.median(
            r["events"] / (r["cpu_seconds"] + r.get("server_cpu_seconds", 0.0)) for r in done
        )
        out.update({
            f"{side}_events": done[0]["events"], f"{side}_events_per_s": wall,
            f"{side}_events_per_cpu_s": cpu, f"{side}_us_per_event": 1e6 / wall,
            f"{side}_cpu_us_per_event": 1e6 / cpu, f"{side}_rss_mb": _max(done),
        })  # fmt: skip
        if side == "kopflow":
            continue
        if out["kopflow_events"] != out[f"{side}_events"]:
            raise RuntimeError(f"kopflow wrote {out['kopflow_events']} events, the {side} "
                               f"{out[f'{side}_events']}")  # fmt: skip
        prefix = "" if side == "floor" else f"{side}_"
        out[f"{prefix}ratio"] = out["kopflow_events_per_cpu_s"] / cpu
        out[f"{prefix}wall_ratio"] = out["kopflow_events_per_s"] / wall
    return out


# --- output ---------------------------------------------------------------------------------


def table(results: dict[str, Any], targets: list[dict[str, Any]]) -> str:
    lines = []
    add = lines.append
    add(f"{'measure (events per CPU-second)':<52} {'kopflow':>11} {'floor':>11} {'CPU':>6} "
        f"{'wall':>6}  peak MB k/f")  # fmt: skip
    fmt = "{:<52} {:>11} {:>11} {:>6.2f} {:>6.2f}  {:>5.0f} / {:.0f}"

    def rates(label: str, r: dict[str, Any], old: str) -> None:
        add(fmt.format(label, f"{r['kopflow_events_per_cpu_s']:,.0f}",
                       f"{r['floor_events_per_cpu_s']:,.0f}", r["ratio"], r["wall_ratio"],
                       r["kopflow_rss_mb"], r["floor_rss_mb"]))  # fmt: skip
        if "old_floor_ratio" in r:
            add(fmt.format(f"  against the {old}", "", f"{r['old_floor_events_per_cpu_s']:,.0f}",
                           r["old_floor_ratio"], r["old_floor_wall_ratio"], r["kopflow_rss_mb"],
                           r["old_floor_rss_mb"]))  # fmt: skip

    old_sql = "old floor (a dict encoded per event)"
    for size, r in results.get("bulk_sqlite", {}).items():
        if size.isdigit():
            rates(f"bulk lifecycle SQLite N={int(size):,}", r, old_sql)
    for size, r in results.get("pg", {}).items():
        if size.isdigit():
            rates(f"bulk lifecycle PostgreSQL N={int(size):,} (COPY)", r,
                  "executemany floor")  # fmt: skip
    for size, r in results.get("partner", {}).items():
        rates(f"bulk attendance + leads SQLite N={int(size):,}", r, "")
    if "import" in results:
        r = results["import"]
        add(fmt.format(f"import {r['coops']:,} cooperatives (CPU s, whole process)",
                       f"{r['kopflow_cpu_s']:.2f}", f"{r['floor_cpu_s']:.2f}", r["ratio"],
                       r["wall_ratio"], r["kopflow_rss_mb"], r["floor_rss_mb"]))  # fmt: skip
    if "verify" in results:
        r = results["verify"]
        rates(f"audit verify {r['kopflow_events']:,} events (bare hashlib)", r,
              "json + hashlib floor")  # fmt: skip
        cli = r["cli"]
        if cli["exit_code"] == 0:
            add(f"{'  kopflow audit verify, whole command (s wall / CPU)':<52} "
                f"{cli['wall']:>11.2f} {cli.get('cpu', 0):>11.2f}")  # fmt: skip
    if "cli" in results:
        r = results["cli"]
        cpu, med, rss = r["median_cpu_s"], r["median_s"], r["rss_mb"]
        add("")
        add(f"{'fresh-process command (median of ' + str(r['runs']) + ')':<44} "
            f"{'big CPU ms':>10} {'small CPU ms':>12} {'wall ms':>8} {'/sqlmodel':>9} "
            f"{'growth':>7}  peak MB")  # fmt: skip
        baseline = 'python -c "import sqlmodel"'
        add(f"{baseline:<44} {cpu['sqlmodel'] * 1000:>10.0f} {'':>12} "
            f"{med['sqlmodel'] * 1000:>8.0f} {1:>9.2f} {'':>7}  {rss['sqlmodel']:.0f}")  # fmt: skip
        add(f"{'kopflow --help':<44} {cpu['help'] * 1000:>10.0f} {'':>12} "
            f"{med['help'] * 1000:>8.0f} {cpu['help'] / cpu['sqlmodel']:>9.2f} {'':>7}  "
            f"{rss['help']:.0f}")  # fmt: skip
        for name, label in (("status", "kopflow status"), ("show", "kopflow coop show"),
                            ("step", "kopflow step complete"),
                            ("advance", "kopflow advance")):  # fmt: skip
            add(f"{label:<44} {cpu[name + '_big'] * 1000:>10.0f} "
                f"{cpu[name + '_small'] * 1000:>12.0f} {med[name + '_big'] * 1000:>8.0f} "
                f"{r[name + '_vs_sqlmodel']:>9.2f} {r[name + '_growth']:>+7.1%}  "
                f"{rss[name + '_big']:.0f}")  # fmt: skip
        add(f"(big db: {r.get('big_coops', 0):,} cooperatives, {r['big_events']:,} audit events; "
            f"small db: {r['small_coops']:,} cooperatives)")  # fmt: skip
    for name in ("peers", "internals"):
        if "skipped" in results.get(name, {}):
            add(f"\n{name}: skipped ({results[name]['skipped']})")
    if "rows" in results.get("peers", {}).get("simple", {}):
        for which, label in (("simple", "the peers' simple schema"),
                             ("same_rows", "kopflow's rows (tight floor's writer)")):  # fmt: skip
            add("")
            add(f"{'peers on ' + label:<52} {'events/s':>11} {'CPU ratio':>10}  peak MB")
            for row in results["peers"][which]["rows"]:
                if row.get("status", "ok") != "ok":
                    add(f"{row['name']:<52} {row['status']}")
                    continue
                add(f"{row['name']:<52} {row['events_per_s']:>11,.0f} "
                    f"{row['cpu_ratio']:>10.2f}  {row['rss_mb']:.0f}")  # fmt: skip
    if "lines" in results.get("internals", {}):
        add("")
        add(f"{'reliance on an internal':<52} {'internal CPU s':>14} {'public CPU s':>13} "
            f"{'gain':>6}")  # fmt: skip
        for line in results["internals"]["lines"]:
            add(f"{line['name']:<52} {line['internal_cpu_s']:>14.3f} "
                f"{line['public_cpu_s']:>13.3f} {line['gain']:>6.2f}")  # fmt: skip
    add("")
    add(f"{'target (CPU ratio unless said)':<62} {'value':>10} {'goal':>12}  met")
    for t in targets:
        value = t["value"]
        shown = f"{value:+.1%}" if "%" in t["target"] else f"{value:,.2f}"
        add(f"{t['name']:<62} {shown:>10} {t['target']:>12}  {'yes' if t['ok'] else 'NO'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--out", default="bench-results.json", help="JSON results file")
    parser.add_argument("--only", help="comma-separated sections: " + ",".join(SECTIONS))
    parser.add_argument("--workdir", help="folder for the databases (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--check", action="store_true",
                        help="compare kopflow's and the floor's databases row by row "
                        "(always on with --quick)")  # fmt: skip
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(*args.child)
    args.check = args.check or args.quick
    sections = args.only.split(",") if args.only else list(SECTIONS)
    bench = Bench(args)
    started = time.perf_counter()
    try:
        bench.setup()
        for name in SECTIONS:
            if name in sections:
                getattr(bench, f"section_{name}")()
    finally:
        if not args.keep:
            shutil.rmtree(bench.work, ignore_errors=True)
    elapsed = time.perf_counter() - started
    report = {
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },  # fmt: skip
        "quick": args.quick,
        "seconds": elapsed,
        "events_per_coop": bench.per_coop,
        "results": bench.results,
        "targets": bench.targets,
    }
    Path(args.out).write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(table(bench.results, bench.targets))
    print(f"\n{len(bench.targets) - sum(t['ok'] for t in bench.targets)} of "
          f"{len(bench.targets)} targets not met; {elapsed:.0f} s; results in {args.out}")  # fmt: skip
    return 0


def _child(task: str, args: str) -> int:
    sys.path.insert(0, str(HERE))
    import _work

    result = getattr(_work, task)(*json.loads(args))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
