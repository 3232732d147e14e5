"""Issue #4 acceptance: each permission case is refused through the CLI with one ``Error:`` line,
leaves the database unchanged, and is logged; on SQLite and PostgreSQL.

On SQLite the actor is ``--actor``; on PostgreSQL it is the login in the URL, made by
``kopflow db grant``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from db_helpers import db_state, drop_roles, login_url, run_as, tag

BULELENG, KEDIRI = "Kabupaten Buleleng", "Kabupaten Kediri"


@dataclass
class Scene:
    """A database with cooperatives of two kabupaten and one actor per case."""

    url: str
    backend: str
    bul: list[str]
    kdr: list[str]
    names: dict[str, str] = field(default_factory=dict)

    def as_(self, who: str) -> list[str]:
        """The global options that make ``who`` the actor."""
        name = self.names.get(who, who)
        if self.backend == "postgresql":
            return ["--db", login_url(self.url, name)]
        return ["--db", self.url, "--actor", name]


@pytest.fixture
def scene(db_url: str, request: pytest.FixtureRequest) -> Scene:
    from kopflow.engine import Kopflow
    from kopflow.regions import seeds_from_areaid

    backend = "sqlite" if "://" not in db_url else "postgresql"
    suffix = "_" + tag()
    names = {k: k + suffix for k in ("officer", "bri", "auditor", "gone", "stranger")}
    if backend == "postgresql":
        request.addfinalizer(lambda: drop_roles(db_url, list(names.values())))
    engine = Kopflow(db_url)
    engine.init()
    ids = {}
    for region in (BULELENG, KEDIRI):
        seeds = list(islice(seeds_from_areaid(kabupaten=region), 2))
        engine.register(seeds, source="test")
        ids[region] = [s.coop_id for s in seeds]
    engine.add_actor(names["officer"], role="officer", region=BULELENG, partner=None)
    engine.add_actor(names["bri"], role="partner", region=None, partner="bri")
    engine.add_actor(names["auditor"], role="auditor", region=None, partner=None)
    engine.add_actor(names["gone"], role="officer", region=BULELENG, partner=None)
    if backend == "postgresql":
        from sqlalchemy import create_engine, text

        engine.grant()
        # A server login that kopflow never made an actor.
        admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE {names['stranger']} LOGIN"))
        admin.dispose()
    # Disabled after the grant: kopflow itself refuses the login it still has.
    engine.disable_actor(names["gone"])
    return Scene(db_url, backend, ids[BULELENG], ids[KEDIRI], names)


def refusals(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [entry for entry in lines if entry.get("event") == "refused"]


def assert_refused(scene: Scene, runner: Any, who: str, args: list[str], expect: str) -> str:
    """Run a command as ``who``: exit 5, one Error line naming ``expect``, nothing changed,
    one refusal logged."""
    from kopflow.cli import cli

    log = Path.cwd() / "kopflow.log"
    before, logged = db_state(scene.url), len(refusals(log))
    result = runner.invoke(cli, [*scene.as_(who), *args])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 5, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert expect in lines[0]
    assert db_state(scene.url) == before
    new = refusals(log)[logged:]
    assert len(new) == 1 and new[0]["reason"] == lines[0][len("Error: ") :]
    return lines[0]


STEP = ["step", "complete"]
DATE = ["--set", "date=2025-06-01"]


def test_officer_of_buleleng_may_not_act_in_kediri(scene: Scene, runner: Any) -> None:
    """An officer acts only on cooperatives of their own kabupaten (issue #4)."""
    coop = scene.kdr[0]
    line = assert_refused(scene, runner, "officer", [*STEP, coop, "socialisation", *DATE], KEDIRI)
    assert BULELENG in line
    assert_refused(scene, runner, "officer", ["advance", coop, "suspend", "--reason", "x"], KEDIRI)
    assert_refused(
        scene,
        runner,
        "officer",
        ["advance", "--where-stage", "formation", "--region", KEDIRI],
        KEDIRI,
    )
    assert_refused(scene, runner, "officer", ["coop", "import", "--region", KEDIRI], KEDIRI)
    assert_refused(scene, runner, "officer", ["partner", "enroll", coop, "bri"], KEDIRI)


def test_officer_still_acts_in_own_kabupaten(scene: Scene, runner: Any) -> None:
    """The same officer's own cooperatives are open to them: the refusals above are scope."""
    from kopflow.cli import cli

    before = db_state(scene.url)["head"].seq
    result = runner.invoke(
        cli, [*scene.as_("officer"), *STEP, scene.bul[0], "socialisation", *DATE]
    )
    assert result.exit_code == 0, result.output
    assert db_state(scene.url)["head"].seq > before


def test_bri_staff_may_not_complete_a_telkom_step(scene: Scene, runner: Any) -> None:
    """A partner's staff complete only their own partner's steps (issue #4)."""
    args = [*STEP, scene.bul[0], "telkom.connection", "--set", "service_id=T-1", *DATE]
    assert_refused(scene, runner, "bri", args, "telkom.connection")
    assert_refused(scene, runner, "bri", ["advance", scene.bul[0]], "bri")
    assert_refused(scene, runner, "bri", ["partner", "enroll", scene.bul[0], "bri"], "bri")


def test_auditor_may_not_complete_a_step(scene: Scene, runner: Any) -> None:
    """An auditor only reads (issue #4); reading still works."""
    from kopflow.cli import cli

    assert_refused(
        scene, runner, "auditor", [*STEP, scene.bul[0], "socialisation", *DATE], "auditor"
    )
    assert runner.invoke(cli, [*scene.as_("auditor"), "status", "--json"]).exit_code == 0


def test_disabled_actor_is_refused(scene: Scene, runner: Any) -> None:
    """A disabled actor does nothing, even where their role and kabupaten would allow it."""
    assert_refused(scene, runner, "gone", [*STEP, scene.bul[0], "socialisation", *DATE], "disabled")


def test_unknown_actor_is_refused(scene: Scene, runner: Any) -> None:
    """Someone kopflow does not know: on SQLite a name, on PostgreSQL a login it never made."""
    expect = "unknown actor" if scene.backend == "sqlite" else "sees no schema"
    assert_refused(scene, runner, "stranger", [*STEP, scene.bul[0], "socialisation", *DATE], expect)


def test_audit_table_refuses_an_auditors_update(scene: Scene) -> None:
    """The database itself refuses an UPDATE of audit events: on PostgreSQL the auditor's role
    has no UPDATE privilege (SQLSTATE 42501, before any trigger); SQLite's trigger refuses it."""
    from sqlalchemy.exc import DBAPIError

    before = db_state(scene.url)
    sql = "UPDATE audit_event SET actor = 'someone else' WHERE seq = 1"
    if scene.backend == "postgresql":
        with pytest.raises(DBAPIError) as refused:
            run_as(scene.url, scene.names["auditor"], sql)
        assert refused.value.orig.sqlstate == "42501"  # type: ignore[union-attr]
        assert "permission denied for table audit_event" in str(refused.value.orig)
    else:
        import sqlite3

        with sqlite3.connect(scene.url) as conn, pytest.raises(sqlite3.DatabaseError) as err:
            conn.execute(sql)
        assert "append-only" in str(err.value)
    assert db_state(scene.url) == before


@pytest.mark.parametrize("backend", ["postgresql"], ids=["postgresql"])
def test_actor_option_must_be_the_login_on_postgresql(
    backend: str, pg_url: str, runner: Any
) -> None:
    """On PostgreSQL --actor may only repeat the login: the audit log and the database's grants
    must name the same person (docs/database.md)."""
    from kopflow.cli import cli
    from kopflow.engine import Kopflow

    Kopflow(pg_url).init()
    refused = runner.invoke(cli, ["--db", pg_url, "--actor", "someone", "status"])
    assert refused.exit_code == 5
    assert "act as your database login postgres, not as someone" in refused.stderr
    same = runner.invoke(cli, ["--db", pg_url, "--actor", "postgres", "status", "--json"])
    assert same.exit_code == 0, same.output
