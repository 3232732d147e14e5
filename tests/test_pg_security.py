"""Issue #14, point 1: PostgreSQL itself enforces what kopflow enforces, so a login with psql can
do no more than kopflow lets it; and no writer waits for ever on a lock.

Every attack runs as the officer, partner and auditor logins ``kopflow db grant`` made, on the
real server, and must be refused by PostgreSQL (SQLSTATE 42501, or for an UPDATE outside the
login's row-level scope: no row reached) with the database unchanged and the chain verifying.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import pytest
from click.testing import CliRunner
from db_helpers import db_state, drop_roles, login_url, run_as, tag
from engine_helpers import drive_to
from sqlalchemy.exc import DBAPIError

from kopflow.flow.samples import sample_evidence
from tests.cli.clihelp import error_line, run, sets

BULELENG = "Kabupaten Buleleng"
JEMBRANA = "Kabupaten Jembrana"
ATTACKERS = ("officer", "partner", "auditor")


@dataclass
class Office:
    """A PostgreSQL database after ``db grant``, with logins in two kabupaten and two partners.

    ``ours`` is a Buleleng cooperative in onboarding, enrolled with BRI and Pos; ``theirs`` is a
    Jembrana cooperative. ``officer`` is Buleleng's officer and ``partner`` BRI's staff.
    """

    url: str
    owner: str
    logins: dict[str, str]
    ours: str
    theirs: str

    def engine(self, who: str) -> Any:
        from kopflow.engine import Kopflow

        return Kopflow(login_url(self.url, self.logins[who]))

    def as_login(self, who: str) -> str:
        return login_url(self.url, self.logins[who])


# Parametrised so the node ids say postgresql: CI counts the PostgreSQL tests that ran.
@pytest.fixture(params=["postgresql"])
def office(pg_url: str) -> Iterator[Office]:
    from kopflow.engine import Kopflow
    from kopflow.regions import seeds_from_areaid

    suffix = "_" + tag()
    who = ("officer", "officer_jembrana", "partner", "partner_pos", "auditor", "admin")
    logins = {w: w + suffix for w in who}
    owner = Kopflow(pg_url)
    owner.init()
    ours = next(islice(seeds_from_areaid(kabupaten=BULELENG), 1))
    theirs = next(islice(seeds_from_areaid(kabupaten=JEMBRANA), 1))
    owner.register([ours, theirs], source="test")
    drive_to(owner, ours.coop_id, "onboarding")
    owner.enroll(ours.coop_id, ["bri", "pos"])
    owner.add_actor(logins["officer"], role="officer", region=BULELENG, partner=None)
    owner.add_actor(logins["officer_jembrana"], role="officer", region=JEMBRANA, partner=None)
    owner.add_actor(logins["partner"], role="partner", region=None, partner="bri")
    owner.add_actor(logins["partner_pos"], role="partner", region=None, partner="pos")
    owner.add_actor(logins["auditor"], role="auditor", region=None, partner=None)
    owner.add_actor(logins["admin"], role="admin", region=None, partner=None)
    try:
        owner.grant()
        with owner.reading() as conn:
            name = conn.exec_driver_sql("SELECT current_user").scalar_one()
        yield Office(pg_url, name, logins, ours.coop_id, theirs.coop_id)
    finally:
        drop_roles(pg_url, list(logins.values()))


def busy_line(result: Any) -> str:
    """The one error line of a command that met a busy database (exit 75), in either language."""
    assert result.exit_code == 75, result.output + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(("Error: ", "Galat: ")), result.stderr
    return str(lines[0])


def refused(office: Office, who: str, sql: str, **params: Any) -> str:
    """Run ``sql`` as ``who``; PostgreSQL must refuse it for lack of privilege (42501)."""
    with pytest.raises(DBAPIError) as err:
        run_as(office.url, office.logins[who], sql, **params)
    assert err.value.orig.sqlstate == "42501", str(err.value.orig)  # type: ignore[union-attr]
    return str(err.value.orig)


def unchanged(office: Office, before: dict[str, Any]) -> None:
    """Nothing changed, and the chain still verifies up to the head."""
    from kopflow.audit.chain import snapshot, verify_database
    from kopflow.store import db

    assert db_state(office.url) == before
    with snapshot(db.resolve_url(office.url)) as conn:
        assert verify_database(conn, strict=True).ok


def forged_event(
    office: Office,
    *,
    actor: str,
    role: str,
    prev: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The next audit event, computed exactly as kopflow computes it, in ``actor``'s name."""
    import hashlib

    from kopflow.audit.canonical import CANON_VERSION, canonical_bytes
    from kopflow.audit.chain import read_head
    from kopflow.store import db

    with db.read_connection(db.resolve_url(office.url)) as conn:
        head = read_head(conn)
    at = "2026-01-01T00:00:00.000000Z"
    link = head.hash if prev is None else prev
    body = canonical_bytes(
        {
            "v": CANON_VERSION,
            "seq": head.seq + 1,
            "at": at,
            "actor": actor,
            "role": role,
            "action": "actor.added",
            "coop": None,
            "details": {"name": "mallory"} if details is None else details,
            "prev": link,
        }
    )
    return {
        "seq": [head.seq + 1],
        "at": [at],
        "actor": [actor],
        "role": [role],
        "action": ["actor.added"],
        "coop": [None],
        "body": [body.decode()],
        "prev": [link],
        "hash": [hashlib.sha256(body).hexdigest()],
    }


def account(engine: Any) -> dict[str, Any]:
    """Sample evidence for BRI's ``account`` step."""
    (spec,) = [s for s in engine.plugins.partner("bri").steps if s.id == "account"]
    return dict(sample_evidence(spec, 5))


APPEND = (
    "SELECT kopflow_chain_append(CAST(:seq AS integer[]), CAST(:at AS text[]), "
    "CAST(:actor AS text[]), CAST(:role AS text[]), CAST(:action AS text[]), "
    "CAST(:coop AS text[]), CAST(:body AS text[]), CAST(:prev AS text[]), CAST(:hash AS text[]))"
)


# --- point 1: the chain head -------------------------------------------------------------------


@pytest.mark.parametrize("who", ATTACKERS)
def test_no_login_touches_the_chain_head(office: Office, who: str) -> None:
    """Zeroing the head's hash, moving its seq, or locking it: refused to every kopflow role."""
    before = db_state(office.url)
    for sql in (
        "UPDATE chain_head SET hash = repeat('0', 64)",
        "UPDATE chain_head SET seq = 5",
        "SELECT seq FROM chain_head FOR UPDATE",
        "SELECT seq FROM chain_head FOR NO KEY UPDATE",
        "SELECT seq FROM chain_head FOR SHARE",
    ):
        refused(office, who, sql)
    unchanged(office, before)
    # ... and kopflow's next write chains on as before.
    bri = office.engine("partner")
    assert bri.complete_step(office.ours, "bri.account", account(bri)).audit_seq


# --- point 2: state changes and forged attribution ---------------------------------------------


@pytest.mark.parametrize("who", ATTACKERS)
def test_no_login_moves_another_kabupatens_cooperative(office: Office, who: str) -> None:
    """The Buleleng officer's ``UPDATE coop SET stage=..., kabupaten=...`` on a Jembrana
    cooperative reaches no row (row-level security); the other roles have no such grant."""
    before = db_state(office.url)
    sql = (
        "UPDATE coop SET stage = 'operating', kabupaten = :kab, updated_by = session_user "
        "WHERE id = :coop"
    )
    if who == "officer":
        assert run_as(office.url, office.logins[who], sql, kab=BULELENG, coop=office.theirs) == 0
    else:
        refused(office, who, sql, kab=BULELENG, coop=office.theirs)
    unchanged(office, before)


def test_officer_cannot_move_a_cooperative_out_of_scope_or_sign_as_another(
    office: Office,
) -> None:
    """``WITH CHECK``: the officer's own cooperative cannot be given away to another
    kabupaten, nor changed in another login's name."""
    before = db_state(office.url)
    refused(
        office,
        "officer",
        "UPDATE coop SET kabupaten = :kab, updated_by = session_user WHERE id = :coop",
        kab=JEMBRANA,
        coop=office.ours,
    )
    refused(
        office,
        "officer",
        "UPDATE coop SET stage = 'operating', updated_by = :other WHERE id = :coop",
        other=office.logins["officer_jembrana"],
        coop=office.ours,
    )
    unchanged(office, before)


STEP_RECORD = (
    "INSERT INTO step_record (coop_id, step, version, status, evidence, actor, at, audit_seq) "
    "VALUES (:coop, :step, 99, 'done', '{}', :actor, now(), 1)"
)


@pytest.mark.parametrize("who", ATTACKERS)
def test_no_login_records_a_step_in_another_logins_name(office: Office, who: str) -> None:
    """BRI's login inserting a ``pos.pks`` record in the Pos login's name, or its own step in
    another's name, or out of its scope: refused, as for the other roles."""
    before = db_state(office.url)
    pos = office.logins["partner_pos"]
    mine = office.logins[who]
    for coop, step, actor in (
        (office.ours, "pos.pks", pos),  # another partner's step, in its login's name
        (office.ours, "pos.pks", mine),  # another partner's step, in one's own name
        (office.ours, "bri.qris", pos),  # one's own step in another's name
        (office.theirs, "bri.qris", mine),  # a cooperative not enrolled with BRI
        (office.theirs, "socialisation", mine),  # another kabupaten
    ):
        if who == "officer" and coop == office.ours and actor == mine:
            continue  # Buleleng's officer may record Pos's step on a Buleleng cooperative
        refused(office, who, STEP_RECORD, coop=coop, step=step, actor=actor)
    for sql in (
        "INSERT INTO transition (coop_id, event, source, dest, actor, at, audit_seq) "
        "VALUES (:coop, 'advance', 'a', 'b', :actor, now(), 1)",
        "INSERT INTO enrollment (coop_id, partner, actor, at, audit_seq) "
        "VALUES (:coop, 'telkom', :actor, now(), 1)",
    ):
        refused(office, who, sql, coop=office.theirs, actor=mine)
        refused(office, who, sql, coop=office.ours, actor=pos)
    unchanged(office, before)


@pytest.mark.parametrize("who", ATTACKERS)
def test_no_login_writes_an_audit_event_as_the_owner(office: Office, who: str) -> None:
    """An event in the owner's name with role admin, correctly hashed and linked: refused
    directly (no INSERT) and through the append function (the actor is the login)."""
    before = db_state(office.url)
    event = forged_event(office, actor=office.owner, role="admin")
    refused(
        office,
        who,
        "INSERT INTO audit_event (seq, at, actor, role, action, coop_id, body, prev_hash, hash) "
        "VALUES (:seq, :at, :actor, :role, :action, :coop, :body, :prev, :hash)",
        **{key: values[0] for key, values in event.items()},
    )
    message = refused(office, who, APPEND, **event)
    if who != "auditor":  # the auditor may not even run the function
        assert "only as itself" in message
    unchanged(office, before)


def test_a_writer_cannot_fork_the_chain_in_its_own_name(office: Office) -> None:
    """An event in the officer's own name that does not continue the head (a zero link, a
    wrong hash, a body whose fixed parts disagree with its columns) is refused too."""
    before = db_state(office.url)
    me = office.logins["officer"]
    zeros = forged_event(office, actor=me, role="officer", prev="0" * 64)
    bad_hash = {**forged_event(office, actor=me, role="officer"), "hash": ["0" * 64]}
    other_action = {**forged_event(office, actor=me, role="officer"), "action": ["coop.added"]}
    for event in (zeros, bad_hash, other_action):
        with pytest.raises(DBAPIError) as err:
            run_as(office.url, me, APPEND, **event)
        assert err.value.orig.sqlstate == "23514", str(err.value.orig)  # type: ignore[union-attr]
    unchanged(office, before)


def rehashed(event: dict[str, Any], body: str) -> dict[str, Any]:
    """``event`` with ``body`` in place of its own, hashed and linked as kopflow would."""
    import hashlib

    return {**event, "body": [body], "hash": [hashlib.sha256(body.encode()).hexdigest()]}


def test_the_append_function_refuses_a_body_that_is_not_json(office: Office) -> None:
    """A body that continues the chain (hash, link, the parts around ``details``) but whose
    ``details`` is not JSON: refused (22P02), nothing written."""
    before = db_state(office.url)
    me = office.logins["officer"]
    event = forged_event(office, actor=me, role="officer")
    for broken in ('"name":mallory', '"name":"mallory",', '"name" "mallory"'):
        body = event["body"][0].replace('"name":"mallory"', broken)
        with pytest.raises(DBAPIError) as err:
            run_as(office.url, me, APPEND, **rehashed(event, body))
        assert err.value.orig.sqlstate == "22P02", str(err.value.orig)  # type: ignore[union-attr]
    unchanged(office, before)


def test_the_append_function_refuses_arrays_of_another_length_or_shape(office: Office) -> None:
    """Arrays that do not line up event by event (one longer, one numbered from 0, one of two
    dimensions) are refused (22023) before anything is checked or written."""
    before = db_state(office.url)
    me = office.logins["officer"]
    event = forged_event(office, actor=me, role="officer")
    (digest,), (seq,) = event["hash"], event["seq"]
    # Strings are array literals to the server's CAST.
    for wrong in (
        {"hash": [digest, "0" * 64]},
        {"hash": "[0:0]={" + digest + "}"},
        {"seq": "{{" + str(seq) + "}}"},
    ):
        with pytest.raises(DBAPIError) as err:
            run_as(office.url, me, APPEND, **{**event, **wrong})
        assert err.value.orig.sqlstate == "22023", str(err.value.orig)  # type: ignore[union-attr]
    unchanged(office, before)


def test_the_append_function_takes_a_nul_character_as_kopflow_encodes_it(office: Office) -> None:
    """U+0000 in a string is ``\\u0000`` in a canonical body: JSON, and appended (revision
    0006 validates bodies as ``json``; ``jsonb`` refused it, kopflow's own event included)."""
    me = office.logins["officer"]
    event = forged_event(office, actor=me, role="officer", details={"name": "mal\x00lory"})
    assert "\\u0000" in event["body"][0]
    assert run_as(office.url, me, APPEND, **event) == 1
    from kopflow.audit.chain import snapshot, verify_database
    from kopflow.store import db

    with snapshot(db.resolve_url(office.url)) as conn:
        assert verify_database(conn, strict=True).ok


# --- kopflow's own work still runs as the logins ----------------------------------------------


def test_kopflow_commands_work_as_each_login(office: Office, runner: CliRunner) -> None:
    """The officer, both partners and the admin do their ordinary work through kopflow; the
    events name them; the auditor verifies."""
    from kopflow.audit.chain import snapshot, verify_database
    from kopflow.engine import Kopflow
    from kopflow.errors import PermissionDeniedError
    from kopflow.store import db

    officer = office.engine("officer")
    pos_step = officer.plugins.partner("pos").steps[0]
    bri = office.engine("partner")
    assert bri.complete_step(office.ours, "bri.account", account(bri)).audit_seq
    pos = office.engine("partner_pos")
    assert pos.complete_step(office.ours, "pos.pks", sample_evidence(pos_step, 1)).audit_seq
    with pytest.raises(PermissionDeniedError):  # kopflow refuses it before the database does
        bri.complete_step(office.ours, "pos.agent", {})
    assert officer.advance(office.ours, "suspend", reason="test").stage == "suspended"
    assert officer.advance(office.ours, "resume").stage == "onboarding"
    jembrana = office.engine("officer_jembrana")
    spec = jembrana.workflow.step("socialisation")
    assert jembrana.complete_step(office.theirs, "socialisation", sample_evidence(spec)).audit_seq
    admin = office.engine("admin")
    admin.add_actor("extra" + office.logins["admin"][5:], role="auditor", region=None, partner=None)
    # Through the CLI too, as a login.
    result = run(runner, office.as_login("officer"), "--lang", "en", "coop", "show", office.ours)
    assert result.exit_code == 0, result.output
    # Each event names the login that wrote it; the chain verifies for the auditor.
    with Kopflow(office.as_login("auditor")).reading() as conn:
        actors = set(conn.exec_driver_sql("SELECT actor FROM audit_event WHERE seq > 1").scalars())
    assert {office.logins[w] for w in ("officer", "partner", "partner_pos", "admin")} <= actors
    with snapshot(db.resolve_url(office.as_login("auditor"))) as conn:
        assert verify_database(conn, strict=True).ok


def test_grant_is_idempotent_with_the_functions(office: Office) -> None:
    """A second ``db grant`` has nothing left to change: its plan is the same statements and
    every login is unchanged."""
    from kopflow.engine import Kopflow

    plan = Kopflow(office.url).grant(dry_run=True)
    assert {c.action for c in plan.logins} <= {"unchanged", "skipped"}
    Kopflow(office.url).grant()
    assert Kopflow(office.url).grant(dry_run=True).statements == plan.statements


# --- a held lock: the busy error, not a hang -----------------------------------------------------


HOLDERS = {
    # The owner (or a superuser) can always lock the head row itself.
    "owner-locks-chain-head": (None, "SELECT seq FROM chain_head FOR UPDATE"),
    # A writer's login may take the chain lock the way kopflow does, and then sit on it.
    "officer-holds-chain-lock": ("officer", "SELECT * FROM kopflow_chain_lock()"),
    # Any table a writer needs: the cooperative row the change updates.
    "officer-locks-coop-row": ("officer", "SELECT id FROM coop WHERE id = :coop FOR UPDATE"),
}


@pytest.mark.parametrize("holder", list(HOLDERS))
@pytest.mark.parametrize("lang", ["en", "id"])
def test_a_held_lock_makes_a_write_busy_not_hang(
    office: Office, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, holder: str, lang: str
) -> None:
    from sqlalchemy import create_engine, text

    who, sql = HOLDERS[holder]
    url = office.as_login(who) if who else office.url
    from kopflow.store import db

    engine = create_engine(db.resolve_url(url))
    monkeypatch.setenv("KOPFLOW_LOCK_TIMEOUT", "0.2")
    before = db_state(office.url)
    try:
        with engine.connect() as held:
            held.execute(text(sql), {"coop": office.ours})  # the transaction stays open
            result = run(
                runner,
                office.as_login("partner"),
                "--lang",
                lang,
                "step",
                "complete",
                office.ours,
                "bri.account",
                *sets(account(office.engine("partner"))),
            )
            line = busy_line(result)
            held.rollback()
    finally:
        engine.dispose()
    busy = "the database is busy" if lang == "en" else "basis data sedang sibuk"
    again = "try again" if lang == "en" else "coba lagi"
    assert busy in line and again in line and "KOPFLOW_LOCK_TIMEOUT" in line, line
    unchanged(office, before)


@pytest.mark.parametrize("lang", ["en", "id"])
def test_sqlite_locked_is_busy_too(
    sqlite_url: str, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """SQLite's "database is locked" after ``KOPFLOW_LOCK_TIMEOUT`` is the same busy error."""
    from kopflow.engine import Kopflow
    from kopflow.store import db

    Kopflow(sqlite_url).init()
    db.dispose_engines()  # the next engine is made with the short timeout
    monkeypatch.setenv("KOPFLOW_LOCK_TIMEOUT", "0.1")
    path = db.resolve_url(sqlite_url)[len("sqlite:///") :]
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        result = run(
            runner, sqlite_url, "--lang", lang, "actor", "add", "budi", "--role", "auditor"
        )
        line = busy_line(result)
    finally:
        holder.rollback()
        holder.close()
        db.dispose_engines()
    assert ("busy" if lang == "en" else "sibuk") in line


@pytest.mark.parametrize("backend", ["postgresql"])
def test_busy_as_a_subprocess(pg_url: str, tmp_path: Any, backend: str) -> None:
    """The real program, as a shell runs it: a held head lock ends in exit 75 and one line."""
    from sqlalchemy import create_engine, text

    from kopflow.engine import Kopflow
    from kopflow.store import db

    Kopflow(pg_url).init()
    engine = create_engine(db.resolve_url(pg_url))
    env = {**os.environ, "KOPFLOW_LOCK_TIMEOUT": "0.3", "KOPFLOW_DB": pg_url}
    try:
        with engine.connect() as held:
            held.execute(text("SELECT seq FROM chain_head FOR UPDATE"))
            done = subprocess.run(
                [sys.executable, "-m", "kopflow", "--lang", "en", "actor", "add", "budi",
                 "--role", "auditor"],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp_path,
                timeout=300,  # a guard against a hang, not a timed assertion
                check=False,
            )  # fmt: skip
            held.rollback()
    finally:
        engine.dispose()
    assert done.returncode == 75, done.stderr
    assert done.stderr.strip().splitlines() == [
        "Error: the database is busy: another change held a lock longer than 0.3 s "
        "(KOPFLOW_LOCK_TIMEOUT); try again"
    ]


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan"])
def test_a_bad_timeout_setting_is_named(
    sqlite_url: str, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    from kopflow.store import db

    db.dispose_engines()
    monkeypatch.setenv("KOPFLOW_LOCK_TIMEOUT", value)
    result = run(runner, sqlite_url, "--lang", "en", "init")
    assert "KOPFLOW_LOCK_TIMEOUT" in error_line(result, 2)


def test_migration_checks_the_current_body_format() -> None:
    """The append function hard-codes the body format version of its revision: the newest
    revision that writes it (0006), and 0004, which a downgrade writes back."""
    import importlib

    from kopflow.audit.canonical import CANON_VERSION

    for name in ("0004_server_enforced_rules", "0006_cheaper_chain_append"):
        migration = importlib.import_module(f"kopflow.store.migrations.versions.{name}")
        assert migration.CANON_VERSION == CANON_VERSION, name


@pytest.mark.parametrize("backend", ["postgresql"])
def test_upgrade_takes_back_the_old_chain_grants(pg_url: str, backend: str) -> None:
    """A database granted before revision 0004 loses the writers' INSERT on events and UPDATE
    on the head by ``db upgrade`` alone, before ``db grant`` runs again."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from kopflow.store import db

    url = db.resolve_url(pg_url)
    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    login = "old_writer_" + tag()
    with db.write_transaction(url) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        conn.execute(text(f"CREATE ROLE {login} NOLOGIN"))
        conn.execute(text(f"GRANT INSERT ON audit_event TO {login}"))
        conn.execute(text(f"GRANT UPDATE (seq, hash) ON chain_head TO {login}"))
    try:
        db.upgrade_schema(url)
        with db.read_connection(url) as conn:
            held = conn.execute(
                text(
                    "SELECT has_table_privilege(:r, 'audit_event', 'INSERT'), "
                    "has_column_privilege(:r, 'chain_head', 'hash', 'UPDATE'), "
                    "has_column_privilege(:r, 'chain_head', 'seq', 'UPDATE')"
                ),
                {"r": login},
            ).one()
        assert tuple(held) == (False, False, False)
    finally:
        drop_roles(pg_url, [login])


@pytest.mark.parametrize("backend", ["postgresql"])
def test_downgrade_from_0006_puts_back_the_0004_append_function(pg_url: str, backend: str) -> None:
    """``alembic downgrade 0005`` leaves the append function exactly as revision 0004 made it
    (owner, grants and all: it is replaced in place), and the upgrade brings 0006's back."""
    import importlib
    from pathlib import Path

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from kopflow.engine import Kopflow
    from kopflow.store import db

    url = db.resolve_url(pg_url)
    Kopflow(pg_url).init()
    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    source = text(
        "SELECT prosrc FROM pg_proc WHERE proname = 'kopflow_chain_append' "
        "AND pronamespace = current_schema()::regnamespace"
    )
    older = importlib.import_module("kopflow.store.migrations.versions.0004_server_enforced_rules")
    with db.write_transaction(url) as conn:
        newest = conn.execute(source).scalar_one()
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        made_by_0004 = older._functions(schema)[1]
        assert conn.execute(source).scalar_one() in made_by_0004
        command.upgrade(config, "head")
        assert conn.execute(source).scalar_one() == newest
    assert "lag(v.hash)" in made_by_0004 and "lag(" not in newest


# --- the outbox (issue #13): notifications only with a change the login makes ------------------

OUTBOX_ROW = (
    "INSERT INTO outbox (audit_seq, partner, coop_id, action, payload, created_at, status, "
    "attempts) VALUES (:seq, :partner, :coop, :action, '{}', now(), :status, 0)"
)


def last_event(office: Office, action: str) -> tuple[int, str]:
    with db_engine(office).reading() as conn:
        seq, coop = conn.exec_driver_sql(
            "SELECT seq, coop_id FROM audit_event WHERE action = %(a)s ORDER BY seq DESC LIMIT 1",
            {"a": action},
        ).one()
    return int(seq), str(coop)


def db_engine(office: Office) -> Any:
    from kopflow.engine import Kopflow

    return Kopflow(office.url)


def test_outbox_rows_only_with_ones_own_change(office: Office) -> None:
    """Nobody but a partner's staff (or an admin) marks a partner's notifications delivered,
    and only their own partner's; nobody adds a notification outside a change of their own,
    nor one already delivered; the auditor writes nothing."""
    seq, coop = last_event(office, "partner.enrolled")  # the owner's enrolment of ours
    run_as(office.url, office.owner, OUTBOX_ROW, seq=seq, partner="pos", coop=coop,
           action="partner.enrolled", status="pending")  # fmt: skip
    before = db_state(office.url)
    deliver = "UPDATE outbox SET status = 'delivered', delivered_at = now() WHERE partner = :p"
    # The officer has no UPDATE at all; BRI's staff reach no row of Pos (row-level security).
    refused(office, "officer", deliver, p="pos")
    refused(office, "auditor", deliver, p="pos")
    assert run_as(office.url, office.logins["partner"], deliver, p="pos") == 0
    # Nor can BRI take Pos's row over (no grant on the column).
    refused(office, "partner", "UPDATE outbox SET partner = 'bri' WHERE partner = 'pos'")
    for who in ATTACKERS:
        for partner, status in (("telkom", "pending"), ("bri", "pending"), ("bri", "delivered")):
            # An existing event of someone else's change, on a cooperative in scope.
            refused(office, who, OUTBOX_ROW, seq=seq, partner=partner, coop=coop,
                    action="partner.enrolled", status=status)  # fmt: skip
    # An officer's notification about another kabupaten's cooperative.
    refused(office, "officer", OUTBOX_ROW, seq=seq, partner="telkom", coop=office.theirs,
            action="partner.enrolled", status="pending")  # fmt: skip
    unchanged(office, before)
    # Pos's own staff may mark Pos's row delivered.
    assert run_as(office.url, office.logins["partner_pos"], deliver, p="pos") == 1


def test_a_partners_step_still_notifies_another_partner(office: Office) -> None:
    """Within its own change a partner's login writes the notification another partner's
    plugin asks for (the sink's), and the officer's transition notifies too."""
    from pathlib import Path

    from kopflow.engine import Kopflow
    from kopflow.host.manager import make_plugin_host

    plugin = str(Path(__file__).parent / "plugins" / "outbox_sink.py")

    def host() -> Any:
        return make_plugin_host(extra_modules=[plugin])

    Kopflow(office.url, plugins=host()).enroll(office.ours, ["sink"])
    bri = Kopflow(office.as_login("partner"), plugins=host())
    step = bri.complete_step(office.ours, "bri.account", account(bri))
    officer = Kopflow(office.as_login("officer"), plugins=host())
    moved = officer.advance(office.ours, "suspend", reason="test")
    with db_engine(office).reading() as conn:
        rows = conn.exec_driver_sql(
            "SELECT audit_seq, partner, action FROM outbox WHERE audit_seq > %(s)s "
            "ORDER BY audit_seq",
            {"s": step.audit_seq - 1},
        ).all()
    assert [tuple(r) for r in rows] == [
        (step.audit_seq, "sink", "step.completed"),
        (moved.audit_seq, "sink", "coop.transition"),
    ]


# --- partnership (issue #16): forums, caps and leads in scope ---------------------------------

FORUM = (
    "INSERT INTO forum (id, name, kind, starts, ends, kabupaten, actor, at, audit_seq) "
    "VALUES (:id, 'x', 'rakor', '2025-10-22', '2025-10-22', :kab, :actor, now(), 1)"
)
FORUM_PARTNER = (
    "INSERT INTO forum_partner (forum_id, partner, status, actor, at, audit_seq) "
    "VALUES (:forum, 'bulog', 'present', :actor, now(), 1)"
)
ATTENDANCE = (
    "INSERT INTO forum_attendance (forum_id, coop_id, actor, at, audit_seq) "
    "VALUES (:forum, :coop, :actor, now(), 1)"
)
CAP = (
    "INSERT INTO partner_cap (partner, commodity, kabupaten, cap, unit, actor, at, audit_seq) "
    "VALUES ('pertamina', 'lpg-3kg', :kab, 10, 'tabung', :actor, now(), 1)"
)
PARTNER_ORG = (
    "INSERT INTO partner_org (code, name, kind, offers, actor, at, audit_seq) "
    "VALUES ('mallory', 'Mallory', 'private', '[]', :actor, now(), 1)"
)
LEAD = (
    "INSERT INTO lead (id, coop_id, partner, commodity, actor, at, audit_seq) "
    "VALUES ('L-999999', :coop, :partner, 'kur', :actor, now(), 1)"
)
LEAD_RECORD = (
    "INSERT INTO lead_record (lead_id, version, status, details, actor, at, audit_seq) "
    "VALUES (:lead, 99, 'agreement', '{}', :actor, now(), 1)"
)


@pytest.fixture
def forums(office: Office) -> dict[str, str]:
    """A forum in each kabupaten and, on ours, a lead with Pos; on theirs, a lead with BRI."""
    from kopflow.engine import ForumInput

    owner = db_engine(office)
    owner.partner_seed()
    made = {}
    for kab, code in ((BULELENG, "rakor-bll"), (JEMBRANA, "rakor-jbr")):
        owner.forum_create(
            ForumInput(
                code=code,
                name="Rakor",
                kind="rakor",
                starts="2025-10-22",
                ends=None,
                kabupaten=kab,
                place=None,
                office=None,
            )  # fmt: skip
        )
        made[kab] = code
    owner.lead_add(office.ours, "pos", "agen-pos")
    owner.lead_add(office.theirs, "bri", "kur")
    with owner.reading() as conn:
        leads = dict(conn.exec_driver_sql("SELECT coop_id, id FROM lead").all())
    return {
        "ours_forum": made[BULELENG],
        "theirs_forum": made[JEMBRANA],
        "pos_lead": leads[office.ours],
        "theirs_lead": leads[office.theirs],
    }


@pytest.mark.parametrize("who", ATTACKERS)
def test_no_login_records_partnership_out_of_scope(
    office: Office, forums: dict[str, str], who: str
) -> None:
    """The Buleleng officer records no forum, attendance, cap or lead of Jembrana; BRI's staff
    no lead or lead record of Pos's; nobody in another login's name; the auditor nothing. Each
    refused by PostgreSQL itself (42501), the database unchanged."""
    before = db_state(office.url)
    me, other = office.logins[who], office.logins["officer_jembrana"]
    attacks: list[tuple[str, dict[str, Any]]] = [
        # Another kabupaten's records, in one's own name.
        (FORUM, {"id": "rakor-x", "kab": JEMBRANA, "actor": me}),
        (FORUM_PARTNER, {"forum": forums["theirs_forum"], "actor": me}),
        (ATTENDANCE, {"forum": forums["theirs_forum"], "coop": office.theirs, "actor": me}),
        # A Jembrana cooperative at Buleleng's forum, and the reverse.
        (ATTENDANCE, {"forum": forums["ours_forum"], "coop": office.theirs, "actor": me}),
        (ATTENDANCE, {"forum": forums["theirs_forum"], "coop": office.ours, "actor": me}),
        (CAP, {"kab": JEMBRANA, "actor": me}),
        # A "declared" cap for no kabupaten, without the directory entry it belongs to.
        (CAP, {"kab": "", "actor": me}),
        (LEAD, {"coop": office.theirs, "partner": "pos", "actor": me}),
        # Jembrana's lead is BRI's: its staff may add to it (below, Pos's they may not).
        *(
            [(LEAD_RECORD, {"lead": forums["theirs_lead"], "actor": me})]
            if who != "partner"
            else []
        ),
        # One's own kabupaten, in another login's name.
        (FORUM, {"id": "rakor-y", "kab": BULELENG, "actor": other}),
        (FORUM_PARTNER, {"forum": forums["ours_forum"], "actor": other}),
        (ATTENDANCE, {"forum": forums["ours_forum"], "coop": office.ours, "actor": other}),
        (CAP, {"kab": BULELENG, "actor": other}),
        (PARTNER_ORG, {"actor": other}),
        (LEAD, {"coop": office.ours, "partner": "bri", "actor": other}),
        (LEAD_RECORD, {"lead": forums["pos_lead"], "actor": other}),
    ]
    if who == "partner":
        attacks += [
            # Another partner's lead on a cooperative enrolled with BRI, and its records.
            (LEAD, {"coop": office.ours, "partner": "pos", "actor": me}),
            (LEAD_RECORD, {"lead": forums["pos_lead"], "actor": me}),
            # The Dinas' records: no grant at all.
            (FORUM, {"id": "rakor-z", "kab": BULELENG, "actor": me}),
            (CAP, {"kab": BULELENG, "actor": me}),
            (PARTNER_ORG, {"actor": me}),
        ]
    for sql, params in attacks:
        refused(office, who, sql, **params)
    unchanged(office, before)


def test_partnership_commands_work_as_the_logins(
    office: Office, forums: dict[str, str], runner: CliRunner
) -> None:
    """``forum create``/``attend``, ``partner add``/``cap`` and ``lead add``/``advance`` as
    the officer and BRI's staff, through the CLI; the rows name the logins."""
    officer, bri = office.as_login("officer"), office.as_login("partner")
    steps = [
        (officer, "forum", "create", "bm-bll", "--name", "Business matching", "--kind",
         "business-matching", "--date", "2025-11-01", "--region", BULELENG, "--invite", "bri"),
        (officer, "forum", "attend", "bm-bll", office.ours, "--rep-name", "I Made",
         "--rep-role", "ketua"),
        (officer, "partner", "add", "koperasi-x", "--name", "Mitra X", "--kind", "private",
         "--offer", "beras:kg:50"),
        (officer, "partner", "cap", "pertamina", "lpg-3kg", "150", "--region", BULELENG),
        (officer, "lead", "add", office.ours, "bulog", "beras-sphp", "--forum", "bm-bll"),
        (bri, "lead", "add", office.ours, "bri", "agenbrilink", "--forum", "bm-bll"),
        (bri, "lead", "add", office.theirs, "bri", "rekening"),  # a lead needs no enrolment
    ]  # fmt: skip
    for url, *args in steps:
        result = run(runner, url, "--lang", "en", *args)
        assert result.exit_code == 0, (args, result.output, result.stderr)
    with db_engine(office).reading() as conn:
        leads = dict(
            conn.exec_driver_sql(
                "SELECT partner || ':' || coop_id, id FROM lead WHERE actor <> %(o)s",
                {"o": office.owner},
            ).all()
        )
    for url, lead, args in (
        (officer, leads[f"bulog:{office.ours}"], ("intent", "--date", "2025-11-02")),
        (bri, leads[f"bri:{office.ours}"], ("agreement", "--number", "PKS/1", "--date",
                                            "2025-11-03")),
        (bri, leads[f"bri:{office.theirs}"], ("declined", "--reason", "no need")),
    ):  # fmt: skip
        result = run(runner, url, "--lang", "en", "lead", "advance", lead, *args)
        assert result.exit_code == 0, (lead, result.output, result.stderr)
    # BRI's staff are refused Pos's lead by kopflow first (exit 5), as the database would.
    result = run(runner, bri, "--lang", "en", "lead", "advance", forums["pos_lead"], "intent")
    assert result.exit_code == 5, result.output
    with db_engine(office).reading() as conn:
        actors = dict(
            conn.exec_driver_sql(
                "SELECT t, string_agg(DISTINCT actor, ',' ORDER BY actor) FROM ("
                "SELECT 'forum' t, actor FROM forum UNION ALL "
                "SELECT 'attendance', actor FROM forum_attendance UNION ALL "
                "SELECT 'cap', actor FROM partner_cap UNION ALL "
                "SELECT 'record', actor FROM lead_record WHERE version > 1) x "
                "WHERE actor <> %(o)s GROUP BY t",
                {"o": office.owner},
            ).all()
        )
    me, staff = office.logins["officer"], office.logins["partner"]
    assert actors == {
        "forum": me,
        "attendance": me,
        "cap": me,
        "record": ",".join(sorted([me, staff])),
    }


def test_upgrade_from_0004_keeps_a_granted_database_working(
    office: Office, runner: CliRunner
) -> None:
    """A database granted at revision 0004 (the partnership tables not there yet): ``kopflow
    db upgrade`` adds them with their policies and their grants, so the logins work at once,
    in scope only, and a second ``db grant`` finds nothing to change on them."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    from kopflow.store import db

    url = db.resolve_url(office.url)
    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    with db.write_transaction(url) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
    result = run(runner, office.url, "--lang", "en", "db", "upgrade")
    assert result.exit_code == 0, result.output + result.stderr
    with db_engine(office).reading() as conn:
        secured = dict(
            conn.exec_driver_sql(
                "SELECT relname, relrowsecurity FROM pg_class WHERE relnamespace = "
                "current_schema()::regnamespace AND relname = ANY(%(t)s) AND relkind = 'r'",
                {
                    "t": [
                        "partner_org",
                        "partner_cap",
                        "forum",
                        "forum_partner",
                        "forum_attendance",
                        "lead",
                        "lead_record",
                    ]
                },  # fmt: skip
            ).all()
        )
    assert len(secured) == 7 and all(secured.values()), secured
    db_engine(office).partner_seed()
    officer, bri = office.as_login("officer"), office.as_login("partner")
    for url_, *args in (
        (officer, "forum", "create", "rakor-bll", "--name", "Rakor", "--kind", "rakor",
         "--date", "2025-10-22", "--region", BULELENG),
        (bri, "lead", "add", office.ours, "bri", "kur"),
        (office.as_login("auditor"), "forum", "list"),
    ):  # fmt: skip
        result = run(runner, url_, "--lang", "en", *args)
        assert result.exit_code == 0, (args, result.output, result.stderr)
    refused(office, "partner", LEAD, coop=office.ours, partner="pos",
            actor=office.logins["partner"])  # fmt: skip
    plan = db_engine(office).grant(dry_run=True)
    assert {c.action for c in plan.logins} <= {"unchanged", "skipped"}, plan.logins
