"""The kopflow side of the benchmark, and the set-up both sides start from.

Every function here runs in a child process of ``run.py`` (``run.py --child NAME ARGS``) so its
time and peak memory are its own. Set-up (templates, the plan, the 1M-event database) is never
timed; the timed functions report the seconds of the measured part only.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from itertools import islice
from typing import Any

import _floor

SEEDS = 10  # distinct sample evidence per step; cooperative i uses seed i % SEEDS
STEP_CALL = 10_000  # cooperatives per complete_steps_bulk call (a province's upload at most)
PARTNERS = ["bri", "pos", "telkom", "pln"]


def _engine(db: str, actor: str | None = None) -> Any:
    from kopflow.engine import Kopflow
    from kopflow.log import configure

    configure()  # as the CLI does: JSON lines to the log file, nothing on stdout
    return Kopflow(db, actor=actor)


def _checkpoint(db: str) -> None:
    """Fold the WAL into the main file so a plain file copy is the whole database."""
    if "://" in db:
        from kopflow.store.db import dispose_engines

        dispose_engines()
        return
    from kopflow.store.db import dispose_engines

    dispose_engines()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


# --- set-up ----------------------------------------------------------------------------------


def checkpoint(db: str) -> dict[str, Any]:
    _checkpoint(db)
    return {}


def init(db: str, actor: str | None = "bench") -> dict[str, Any]:
    """An empty kopflow database, its audit log started and ``actor`` its admin."""
    _engine(db, actor).init()
    _checkpoint(db)
    return {}


def register(db: str, n: int, actor: str | None = "bench") -> dict[str, Any]:
    """An initialised database with the first ``n`` villages of areaid registered."""
    from kopflow.regions import seeds_from_areaid

    engine = _engine(db, actor)
    engine.init()
    added, _skipped = engine.register(islice(seeds_from_areaid(), n), source="areaid:bench")
    _checkpoint(db)
    return {"coops": added}


def plan(db: str, out: str) -> dict[str, Any]:
    """Write what both sides do: the phases of the lifecycle, evidence, actor, fingerprint.

    The lifecycle is every main stage but the last: its required steps, then its forward event;
    in the onboarding stage the cooperative is first enrolled with the four partners and then
    completes their required steps. With the KDKMP definition and the built-in partners that is
    26 audited changes per cooperative (21 steps, 1 enrolment, 4 transitions).
    """
    from kopflow.audit.canonical import CANON_VERSION
    from kopflow.flow.samples import sample_evidence
    from kopflow.pipeline.driver import batch_size

    conn = sqlite3.connect(db) if "://" not in db else None
    if conn is not None:
        actor, role = conn.execute("SELECT name, role FROM actor").fetchone()
        conn.close()
        engine = _engine(db, actor)
    else:
        engine = _engine(db)
        with engine.reading() as reading:
            actor_info = engine.actor(reading)
        actor, role = actor_info.name, actor_info.role
    wf, plugins = engine.workflow, engine.plugins
    loaded = sorted(p.name for p in plugins.plugins if p.status == "ok")
    if loaded != sorted(PARTNERS):
        raise SystemExit(f"the four partner plugins must be loaded, found {loaded}")
    phases: list[dict[str, Any]] = []
    raw: dict[str, list[dict[str, Any]]] = {}
    clean: dict[str, list[dict[str, Any]]] = {}
    unique: dict[str, list[list[Any]]] = {}
    for stage in wf.main_stages()[:-1]:
        keys: list[str] = []
        if stage.id == wf.onboarding_stage:
            phases.append({"kind": "enroll", "stage": stage.id, "partners": PARTNERS})
            for code in PARTNERS:
                keys += [f"{code}.{s.id}" for s in plugins.partner(code).steps if s.required]
        keys += [s.id for s in stage.steps if s.required]
        for key in keys:
            spec = engine.step_spec(key)[0]
            raw[key] = [sample_evidence(spec, seed) for seed in range(SEEDS)]
            clean[key] = [spec.validate(dict(r)) for r in raw[key]]
            unique[key] = [_own_shape(spec, f) for f in spec.fields if f.unique]
        phases.append({"kind": "steps", "stage": stage.id, "steps": keys})
        forward = wf.advance_event(stage.id)
        assert forward is not None
        phases.append(
            {"kind": "advance", "stage": stage.id, "event": forward.name, "dest": forward.dest}
        )
    data = {
        "actor": actor,
        "role": role,
        "plugins": plugins.fingerprint(),
        "canon": CANON_VERSION,
        # One setting batches every bulk operation, registration included (issue #11).
        "batch": batch_size(),
        "register_batch": batch_size(),
        "workflow": wf.name,
        "version": wf.version,
        "initial": wf.initial,
        "phases": phases,
        "raw": raw,
        "clean": clean,
        "unique": unique,
        "events_per_coop": sum(len(p["steps"]) if p["kind"] == "steps" else 1 for p in phases),
    }
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
    return {"events_per_coop": data["events_per_coop"]}


def _own_shape(spec: Any, field: Any) -> list[Any]:
    """[field, prefix, width] giving each cooperative an identifier the field accepts."""
    prefix = "" if field.pattern else f"{field.name.upper()}-"
    for width in range(8, 33):
        value = _floor.own_value(prefix, width, "KDMP-1")
        try:
            spec.validate({field.name: value, **_filler(spec, field)})
        except Exception:  # noqa: BLE001,S112 -- try the next width
            continue
        return [field.name, prefix, width]
    raise SystemExit(f"no per-cooperative value fits {spec.id}.{field.name}")


def _filler(spec: Any, field: Any) -> dict[str, Any]:
    """Valid values for the step's other fields."""
    from kopflow.flow.samples import sample_evidence

    return {k: v for k, v in sample_evidence(spec, 0).items() if k != field.name}


def load_plan(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)  # type: ignore[no-any-return]


def seeds_for(ids: list[str]) -> dict[str, int]:
    return {coop: i % SEEDS for i, coop in enumerate(ids)}


# --- the measured kopflow side ------------------------------------------------------------


def lifecycle(db: str, plan_path: str) -> dict[str, Any]:
    """Drive every cooperative through the lifecycle with the engine's bulk commands.

    Guards, evidence validation, the four partner plugins and the audit chain are all on, as
    for ``kopflow step complete --from-csv`` and ``kopflow advance --where-stage``.
    """
    p = load_plan(plan_path)
    engine = _engine(db, p["actor"] if "://" not in db else None)
    with engine.reading() as conn:
        from sqlalchemy import text

        ids = [row[0] for row in conn.execute(text("SELECT id FROM coop ORDER BY id"))]
    seed_of = seeds_for(ids)

    # Identifiers one cooperative holds alone (NIB, NPWP, ...) may not repeat across
    # cooperatives (issue #12): each cooperative gets its own, as the floor writes it, outside
    # the clock.
    def own(key: str, coop: str) -> dict[str, Any]:
        evidence: dict[str, Any] = p["raw"][key][seed_of[coop]]
        if not p["unique"].get(key):
            return evidence
        return {**evidence, **{f: _floor.own_value(pre, w, coop) for f, pre, w in p["unique"][key]}}

    # Start-up is measured by the CLI section: import the write path and load the plugins,
    # the workflow and its machine before the clock starts.
    import kopflow.pipeline.change
    import kopflow.rules.enrollment
    import kopflow.rules.steps
    import kopflow.rules.transition  # noqa: F401
    from kopflow.flow.machine import machine_for

    _import_lazy()
    machine_for(engine.workflow)
    engine.plugins.fingerprint()
    clock = Clock(pg="://" in db)
    phases = []
    for phase in p["phases"]:
        kind, stage = phase["kind"], phase["stage"]
        if kind == "steps":
            # One call per CSV-sized part (a province at most), as offices upload them; the
            # parts' rows are built outside the clock (wall and CPU alike).
            events = 0
            for part in _floor.chunks(ids, STEP_CALL):
                rows = [(c, key, own(key, c)) for c in part for key in phase["steps"]]
                with clock:
                    result = engine.complete_steps_bulk(rows)
                _refused(result, kind, stage)
                events += len(result.done)
                rows = result = None  # type: ignore[assignment]
        else:
            with clock:
                if kind == "enroll":
                    result = engine.enroll_bulk(ids, phase["partners"])
                else:
                    result = engine.advance_bulk(stage=stage)
            _refused(result, kind, stage)
            events = len(result.done)
            result = None
        phases.append({"kind": kind, "stage": stage, "events": events, **clock.lap()})
    return _totals(phases, coops=len(ids))


def _import_lazy() -> None:
    """Import what a write imports on first use (its first audit event, its first log line):
    start-up, which the CLI section measures, and the floor imports its modules before its
    clock too (about 2% of the N=2,000 lifecycle otherwise)."""
    import kopflow.audit.chain
    import kopflow.names
    import kopflow.store.rows
    import kopflow.store.tables  # noqa: F401
    from kopflow.log import _import_structlog

    _import_structlog(console=False)  # as a log line to the file imports it: without rich


class Clock:
    """Wall, client CPU and (on PostgreSQL) server CPU seconds of the ``with`` blocks since
    the last :meth:`lap`."""

    def __init__(self, pg: bool) -> None:
        self.pg = pg
        self.seconds = self.cpu_seconds = self.server_cpu_seconds = 0.0
        self.server_lost = 0

    def __enter__(self) -> None:
        self._server = server_cpu() if self.pg else 0.0
        self._start, self._cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._start
        self.cpu_seconds += time.process_time() - self._cpu
        if self.pg:
            used = server_cpu() - self._server
            if used < 0:
                # A server process counted when the block began was gone at its end without
                # its CPU showing in another's (seen once in a CI run, its tests using the
                # same server meanwhile; never on an idle server): the block's server CPU is
                # not known. It counts as none, and the lap says how many blocks that was.
                used = 0.0
                self.server_lost += 1
            self.server_cpu_seconds += used

    def lap(self) -> dict[str, float]:
        done = {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds,
                "server_cpu_seconds": self.server_cpu_seconds,
                "server_cpu_lost": self.server_lost}  # fmt: skip
        self.seconds = self.cpu_seconds = self.server_cpu_seconds = 0.0
        self.server_lost = 0
        return done


def _totals(phases: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    keys = ("events", "seconds", "cpu_seconds", "server_cpu_seconds", "server_cpu_lost")
    return {**{k: sum(ph.get(k, 0) for ph in phases) for k in keys}, **extra, "phases": phases}


def _refused(result: Any, kind: str, stage: str) -> None:
    if result.refused:
        first = result.refused[0]
        raise SystemExit(f"{kind} {stage}: {len(result.refused)} refused: {first.message}")


def server_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL server processes of this machine.

    On PostgreSQL much of the work runs in the server (kopflow's ``kopflow_chain_append``
    checks, the parsing of COPY), which the client's ``process_time`` never sees: a ratio of
    client CPU alone would flatter whichever side sends its work to the server. The benchmark's
    server is local (127.0.0.1), so every ``postgres`` process's own CPU is read from ``/proc``,
    plus its waited-for children's (``cutime``/``cstime``: a backend that exits is counted in
    the postmaster's). Other users of the same server would be counted too: run on an idle
    machine.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                raw = stat.read()
        except OSError:  # gone between the listing and the read
            continue
        name_end = raw.rindex(b")")
        if raw[raw.index(b"(") + 1 : name_end] != b"postgres":
            continue
        fields = raw[name_end + 2 :].split()
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def verify(db: str) -> dict[str, Any]:
    """``kopflow.audit.chain.verify_database`` on the whole chain, timed without imports."""
    from kopflow.audit.chain import verify_database
    from kopflow.store.db import read_connection, resolve_url

    with read_connection(resolve_url(db)) as conn:
        start, cpu = time.perf_counter(), time.process_time()
        result = verify_database(conn)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if not result.ok:
        raise SystemExit(f"kopflow verify failed: {result.problem}")
    return {"events": result.count, "seconds": seconds, "cpu_seconds": cpu}


# --- the measured floor side (no kopflow import on this path) ----------------------------


FLOORS = {"tight": _floor.TightFloor, "old": _floor.Floor}


def floor_lifecycle(db: str, plan_path: str, kind: str = "tight") -> dict[str, Any]:
    """The lifecycle written by a floor: ``tight`` (spliced bodies, COPY on PostgreSQL) or
    ``old`` (a dict encoded per event, executemany), the floor of issues #5 to #14."""
    p = load_plan(plan_path)
    conn = _floor_connect(db)
    floor = FLOORS[kind](conn, p)
    ids = floor.ids_in(p["initial"])
    seed_of = seeds_for(ids)
    clock = Clock(pg="://" in db)
    phases = []
    for phase in p["phases"]:
        with clock:
            events = floor.run_phase(phase, ids, seed_of)
        phases.append({"kind": phase["kind"], "stage": phase["stage"], "events": events,
                       **clock.lap()})  # fmt: skip
    conn.close()
    return _totals(phases, coops=len(ids))


def floor_import(db: str, plan_path: str, source: str, kabupaten: str | None) -> dict[str, Any]:
    p = load_plan(plan_path)
    conn = _floor.connect_sqlite(db)
    start, cpu = time.perf_counter(), time.process_time()
    count = _floor.import_villages(conn, p, source, kabupaten)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    return {"coops": count, "seconds": seconds, "cpu_seconds": cpu}


def floor_verify(db: str, kind: str = "bare") -> dict[str, Any]:
    """The chain checked by ``bare`` (hashlib, no JSON) or ``old`` (json.loads per event)."""
    check = _floor.verify_bare if kind == "bare" else _floor.verify_chain
    conn = sqlite3.connect(db)
    start, cpu = time.perf_counter(), time.process_time()
    count, problem = check(conn)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if problem:
        raise SystemExit(f"floor verify failed: {problem}")
    return {"events": count, "seconds": seconds, "cpu_seconds": cpu}


def _floor_connect(db: str) -> Any:
    if "://" not in db:
        return _floor.connect_sqlite(db)
    import psycopg

    return psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://"))


# --- the database of the single-cooperative commands ---------------------------------------


def build(db: str, plan_path: str, target: int) -> dict[str, Any]:
    """Grow a registered database to exactly ``target`` audit events by running the lifecycle
    (with the floor's writer: the same rows kopflow writes) on the first cooperatives by id.

    Phase by phase, each takes as many cooperatives as the events left allow, so the database
    ends with cooperatives spread over stages, as the program's would be.
    """
    p = load_plan(plan_path)
    conn = _floor.connect_sqlite(db)
    floor = _floor.Floor(conn, p)
    ids = floor.ids_in(p["initial"])
    seed_of = seeds_for(ids)
    remaining = target - conn.execute("SELECT seq FROM chain_head").fetchone()[0]
    cap = len(ids)
    for phase in p["phases"]:
        per = len(phase["steps"]) if phase["kind"] == "steps" else 1
        take = min(cap, remaining // per)
        if take <= 0:
            break
        here = floor.ids_in(phase["stage"])
        remaining -= floor.run_phase(phase, here, seed_of, limit=take)
        cap = take
    stages = dict(conn.execute("SELECT stage, count(*) FROM coop GROUP BY stage").fetchall())
    events = conn.execute("SELECT seq FROM chain_head").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"events": events, "stages": stages}


# --- partnership (issue #16): bulk attendance and bulk leads ------------------------------

BENCH_KAB = "Kabupaten Bench"
FORUM = "bench-rakor"
LEAD = ("pertamina", "lpg-3kg", 150)  # under the seeded cap of 200 tabung a month


def partner_template(db: str, n: int, actor: str | None = "bench") -> dict[str, Any]:
    """``n`` cooperatives of one kabupaten (a forum's attendance is its own kabupaten's), the
    seeded partner directory and one forum: what both sides start from. Not timed."""
    from kopflow.engine import ForumInput
    from kopflow.regions import CoopSeed

    engine = _engine(db, actor)
    engine.init()
    seeds = [
        CoopSeed(f"KDMP-B{i:06d}", BENCH_KAB, "Provinsi Bench",
                 [(f"bench-{i}", f"Desa {i}", f"Kec {i % 40}", None)])
        for i in range(n)
    ]  # fmt: skip
    engine.register(seeds, source="bench")
    engine.partner_seed()
    engine.forum_create(ForumInput(FORUM, "Rakor", "rakor", "2025-10-22", None, BENCH_KAB))
    _checkpoint(db)
    return {"coops": n}


def partnership(db: str) -> dict[str, Any]:
    """Every cooperative attends the forum (``forum_attend``), then gets an LPG lead
    (``lead_add_bulk``): both through the engine's bulk path, permissions, the cap and the
    audit chain on."""
    engine = _engine(db, "bench" if "://" not in db else None)
    with engine.reading() as conn:
        from sqlalchemy import text

        ids = [row[0] for row in conn.execute(text("SELECT id FROM coop ORDER BY id"))]
    import kopflow.rules.partnership
    import kopflow.rules.partnership_reads  # noqa: F401  (start-up is the CLI section's)

    _import_lazy()
    engine.workflow  # noqa: B018  (loaded on first use: start-up, as lifecycle's)
    engine.plugins.fingerprint()
    attendees = [(c, f"Ketua {c}", "ketua") for c in ids]
    rows = [(c, *LEAD, FORUM) for c in ids]
    phases = []
    for kind, call in (
        ("attend", lambda: engine.forum_attend(FORUM, attendees)),
        ("leads", lambda: engine.lead_add_bulk(rows)),
    ):
        start, cpu = time.perf_counter(), time.process_time()
        result = call()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        _refused(result, kind, "partnership")
        phases.append({"kind": kind, "events": len(result.done), "seconds": seconds,
                       "cpu_seconds": cpu})  # fmt: skip
    return {
        "events": sum(ph["events"] for ph in phases),
        "seconds": sum(ph["seconds"] for ph in phases),
        "cpu_seconds": sum(ph["cpu_seconds"] for ph in phases),
        "coops": len(ids),
        "phases": phases,
    }


def floor_partnership(db: str, plan_path: str) -> dict[str, Any]:
    p = load_plan(plan_path)
    conn = _floor_connect(db)
    floor = _floor.Floor(conn, p)
    ids = floor.ids_in(p["initial"])
    phases = []
    for kind, call in (
        ("attend", lambda: floor.attend(ids, FORUM)),
        ("leads", lambda: floor.leads(ids, *LEAD, FORUM)),
    ):
        start, cpu = time.perf_counter(), time.process_time()
        events = call()
        phases.append({"kind": kind, "events": events, "seconds": time.perf_counter() - start,
                       "cpu_seconds": time.process_time() - cpu})  # fmt: skip
    conn.close()
    return {
        "events": sum(ph["events"] for ph in phases),
        "seconds": sum(ph["seconds"] for ph in phases),
        "cpu_seconds": sum(ph["cpu_seconds"] for ph in phases),
        "coops": len(ids),
        "phases": phases,
    }


# --- checking that both sides wrote the same thing ------------------------------------------

_SAME = {
    "unique_value": "SELECT scope, value, coop_id, step, audit_seq, released_seq "
    "FROM unique_value ORDER BY audit_seq, scope",
    "coop": "SELECT id, stage, previous_stage, version, updated_by FROM coop ORDER BY id",
    "step_record": "SELECT coop_id, step, version, status, evidence, reason, actor, audit_seq "
    "FROM step_record ORDER BY audit_seq",
    "transition": "SELECT coop_id, event, source, dest, reason, actor, audit_seq "
    "FROM transition ORDER BY audit_seq",
    "enrollment": "SELECT coop_id, partner, actor, audit_seq FROM enrollment "
    "ORDER BY coop_id, partner",
    "coop_village": "SELECT region_id, coop_id, name, kecamatan, postal_code FROM coop_village "
    "ORDER BY region_id",
    "forum_attendance": "SELECT forum_id, coop_id, rep_name, rep_role, actor, audit_seq "
    "FROM forum_attendance ORDER BY audit_seq",
    "lead": "SELECT id, coop_id, partner, commodity, quantity, forum_id, actor, audit_seq "
    "FROM lead ORDER BY audit_seq",
    "lead_record": "SELECT lead_id, version, status, details, on_date, actor, audit_seq "
    "FROM lead_record ORDER BY audit_seq",
}


def compare(kopflow_db: str, floor_db: str) -> dict[str, Any]:
    """Row by row: the floor wrote what kopflow wrote, apart from timestamps and hashes."""
    return _compare(sqlite3.connect(kopflow_db), sqlite3.connect(floor_db))


def pg_compare(server: str, kopflow_schema: str, floor_schema: str) -> dict[str, Any]:
    """:func:`compare` on two PostgreSQL schemas (both chains verified by both loops)."""
    import psycopg

    dsn = server.replace("postgresql+psycopg://", "postgresql://")
    with (
        psycopg.connect(dsn, options=f"-csearch_path={kopflow_schema}") as a,
        psycopg.connect(dsn, options=f"-csearch_path={floor_schema}") as b,
    ):
        return _compare(a, b)


def _compare(a: Any, b: Any) -> dict[str, Any]:
    problems: list[str] = []
    for table, query in _SAME.items():
        rows_a, rows_b = a.execute(query).fetchall(), b.execute(query).fetchall()
        if len(rows_a) != len(rows_b):
            problems.append(
                f"{table}: {len(rows_a)} rows in kopflow's, {len(rows_b)} in the floor's"
            )
        elif rows_a != rows_b:
            first = next((x, y) for x, y in zip(rows_a, rows_b, strict=True) if x != y)
            problems.append(f"{table}: first difference {first}")
    # Bodies byte for byte: the floor's body must be kopflow's with only the two values that
    # cannot agree (the moment and, through it, the previous hash) swapped for its own.
    query = "SELECT seq, actor, role, action, coop_id, at, prev_hash, body FROM audit_event " \
        "ORDER BY seq"  # fmt: skip
    count = 0
    for row_a, row_b in zip(a.execute(query), b.execute(query), strict=True):
        body_a, body_b = row_a[7], row_b[7]
        expected = body_a.replace(f'"at":"{row_a[5]}"', f'"at":"{row_b[5]}"', 1).replace(
            f'"prev":"{row_a[6]}"', f'"prev":"{row_b[6]}"', 1
        )
        if row_a[:5] != row_b[:5] or body_b != expected:
            problems.append(f"audit event {row_a[0]} differs: {row_a} vs {row_b}")
            break
        count += 1
    if count and not problems:  # and the bodies are canonical JSON, as kopflow's strict verify
        for (body,) in b.execute("SELECT body FROM audit_event ORDER BY seq"):
            if _floor._dumps(json.loads(body)) != body:
                problems.append(f"floor body not canonical: {body[:200]}")
                break
    for name, conn in (("kopflow", a), ("floor", b)):
        for check in (_floor.verify_chain, _floor.verify_bare):
            _events, problem = check(conn)
            if problem:
                problems.append(f"{name} chain ({check.__name__}): {problem}")
    return {"events_compared": count, "problems": problems}


# --- PostgreSQL schemas -------------------------------------------------------------------


def pg_url(server: str, schema: str) -> str:
    return f"{server}?options=-csearch_path%3D{schema}"


def _pg_admin(server: str) -> Any:
    import psycopg

    return psycopg.connect(
        server.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    )


def pg_template(server: str, schema: str, n: int) -> dict[str, Any]:
    """A schema with kopflow initialised and ``n`` cooperatives registered (copied per run)."""
    with _pg_admin(server) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.execute(f"CREATE SCHEMA {schema}")
    return register(pg_url(server, schema), n, actor=None)


_PG_TABLES = ("actor", "workflow_def", "chain_head", "coop", "coop_village", "audit_event")


def pg_clone(server: str, template: str, schema: str) -> dict[str, Any]:
    """A fresh schema (alembic's, triggers included) holding a copy of the template's rows."""
    from kopflow.store.db import dispose_engines, upgrade_schema

    with _pg_admin(server) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.execute(f"CREATE SCHEMA {schema}")
    upgrade_schema(pg_url(server, schema))
    dispose_engines()
    with _pg_admin(server) as admin:
        for table in _PG_TABLES:
            admin.execute(f"INSERT INTO {schema}.{table} SELECT * FROM {template}.{table}")
        admin.execute(f"ANALYZE {schema}.coop")
    return {}


def pg_drop(server: str, *schemas: str) -> dict[str, Any]:
    with _pg_admin(server) as admin:
        for schema in schemas:
            admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return {}


def pg_available(server: str) -> dict[str, Any]:
    try:
        with _pg_admin(server) as admin:
            admin.execute("SELECT 1")
    except Exception as err:  # noqa: BLE001 -- any failure means "no server here"
        return {"ok": False, "error": str(err).strip().splitlines()[0]}
    return {"ok": True}
