"""``kopflow db grant`` (issue #4): PostgreSQL itself refuses what a kopflow role may not do.

Each test connects as the logins ``db grant`` made and shows the server refusing with SQLSTATE
42501 (insufficient privilege), which is checked before any trigger runs: the grants hold on
their own, not only the append-only triggers behind them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import pytest
from db_helpers import db_state, drop_roles, login_url, run_as, schema_of, tag
from sqlalchemy.exc import DBAPIError

from kopflow.authz import ROLES

ALL_ROLES = ("officer", "partner", "auditor", "admin")


@dataclass
class Granted:
    """A database after ``db grant``: its URL, one login per kopflow role, and cooperatives."""

    url: str
    logins: dict[str, str]
    coops: list[str]

    def engine(self, role: str, *, plugins: Any = None) -> Any:
        from kopflow.engine import Kopflow

        return Kopflow(login_url(self.url, self.logins[role]), plugins=plugins)


@pytest.fixture(params=["postgresql"])
def granted(request: pytest.FixtureRequest, pg_url: str) -> Iterator[Granted]:
    from kopflow.engine import Kopflow
    from kopflow.regions import seeds_from_areaid

    suffix = "_" + tag()
    logins = {role: role + suffix for role in ALL_ROLES}
    engine = Kopflow(pg_url)
    engine.init()
    seeds = list(islice(seeds_from_areaid(kabupaten="Kabupaten Buleleng"), 3))
    engine.register(seeds, source="test")
    engine.add_actor(logins["officer"], role="officer", region="Kabupaten Buleleng", partner=None)
    engine.add_actor(logins["partner"], role="partner", region=None, partner="bri")
    engine.add_actor(logins["auditor"], role="auditor", region=None, partner=None)
    engine.add_actor(logins["admin"], role="admin", region=None, partner=None)
    try:
        engine.grant()
        yield Granted(pg_url, logins, [s.coop_id for s in seeds])
    finally:
        drop_roles(pg_url, [*logins.values(), "extra" + suffix])


def refused(url: str, login: str, sql: str, **params: Any) -> str:
    """Run ``sql`` as ``login``; it must fail for lack of privilege. Returns the message."""
    with pytest.raises(DBAPIError) as err:
        run_as(url, login, sql, **params)
    assert err.value.orig.sqlstate == "42501", str(err.value.orig)  # type: ignore[union-attr]
    return str(err.value.orig)


def test_auditor_may_only_select(granted: Granted) -> None:
    """Auditors read everything and change nothing, audit tables included."""
    auditor = granted.logins["auditor"]
    before = db_state(granted.url)
    assert run_as(granted.url, auditor, "SELECT * FROM audit_event") > 0
    for sql in (
        "INSERT INTO audit_event (seq, at, actor, role, action, body, prev_hash, hash) "
        "VALUES (999, 'x', 'x', 'x', 'x', 'x', 'x', 'x')",
        "UPDATE audit_event SET actor = 'x'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "UPDATE chain_head SET seq = 0",
        "SELECT seq FROM chain_head FOR UPDATE",
        "UPDATE coop SET stage = 'operating'",
        "DELETE FROM step_record",
        "INSERT INTO actor (name, role, enabled, created_at, created_by) "
        "VALUES ('x', 'admin', true, now(), 'x')",
    ):
        refused(granted.url, auditor, sql)
    assert db_state(granted.url) == before


@pytest.mark.parametrize("role", ALL_ROLES, ids=list(ALL_ROLES))
def test_no_kopflow_role_may_rewrite_the_audit_log(granted: Granted, role: str) -> None:
    """UPDATE, DELETE and TRUNCATE of audit events, and any chain-head change other than
    moving seq and hash, are refused to every role kopflow creates."""
    login = granted.logins[role]
    before = db_state(granted.url)
    for sql in (
        "UPDATE audit_event SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
        "TRUNCATE audit_event",
        "DELETE FROM chain_head",
        "TRUNCATE chain_head",
        "UPDATE chain_head SET log_id = 'forged'",
        "INSERT INTO chain_head (id, seq, hash, log_id) VALUES (2, 0, 'x', 'x')",
        "UPDATE step_record SET evidence = '{}'",
        "DELETE FROM transition",
        "DELETE FROM coop",
    ):
        refused(granted.url, login, sql)
    assert db_state(granted.url) == before


def test_grants_in_the_catalog(granted: Granted) -> None:
    """The privileges themselves, as PostgreSQL reports them for each group role."""
    from sqlalchemy import create_engine, text

    from kopflow.rules.roles import group_role
    from kopflow.store import db

    engine = create_engine(db.resolve_url(granted.url))
    schema = schema_of(granted.url)
    try:
        with engine.connect() as conn:

            def has(role: str, table: str, privilege: str) -> bool:
                return bool(
                    conn.execute(
                        text("SELECT has_table_privilege(:r, :t, :p)"),
                        {"r": group_role(schema, role), "t": f"{schema}.{table}", "p": privilege},
                    ).scalar()
                )

            tables = list(
                conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
                ).scalars()
            )
            for role in ROLES:
                for table in tables:
                    assert has(role, table, "SELECT")
                    for privilege in ("DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
                        assert not has(role, table, privilege), (role, table, privilege)
                # Issue #14: events and the head only through the owner's functions.
                for privilege in ("INSERT", "UPDATE"):
                    assert not has(role, "audit_event", privilege)
                    assert not has(role, "chain_head", privilege)
                for column in ("seq", "hash", "log_id"):
                    may_move_head = bool(
                        conn.execute(
                            text("SELECT has_column_privilege(:r, :t, :c, 'UPDATE')"),
                            {
                                "r": group_role(schema, role),
                                "t": f"{schema}.chain_head",
                                "c": column,
                            },
                        ).scalar()
                    )
                    assert not may_move_head, (role, column)
                for function in ("kopflow_chain_lock()", "kopflow_chain_append"):
                    signature = (
                        function
                        if function.endswith(")")
                        else (
                            function
                            + "(integer[], text[], text[], text[], text[], text[], text[], "
                            "text[], text[])"
                        )
                    )
                    may_run = conn.execute(
                        text("SELECT has_function_privilege(:r, :f, 'EXECUTE')"),
                        {"r": group_role(schema, role), "f": f"{schema}.{signature}"},
                    ).scalar()
                    assert may_run == (role != "auditor"), (role, function)
            for table in tables:
                for privilege in ("INSERT", "UPDATE"):
                    assert not has("auditor", table, privilege), table
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], ids=["postgresql"])
def test_every_table_has_a_grant_rule(backend: str, pg_url: str) -> None:
    """A new table must be given a decision in ``pgroles.WRITES`` (else writers would meet a
    permission error on PostgreSQL only, or get rights nobody chose)."""
    from sqlalchemy import inspect

    from kopflow.rules.roles import WRITES
    from kopflow.store import db

    db.upgrade_schema(pg_url)
    with db.read_connection(db.resolve_url(pg_url)) as conn:
        assert set(inspect(conn).get_table_names()) == set(WRITES)


def test_roles_work_through_kopflow(granted: Granted) -> None:
    """The grants are enough for each role's real work, and no more."""
    from kopflow.audit.chain import verify_database
    from kopflow.errors import PermissionDeniedError
    from kopflow.flow.samples import sample_evidence

    coop = granted.coops[0]
    officer = granted.engine("officer")
    spec = officer.workflow.step("socialisation")
    assert officer.complete_step(coop, "socialisation", sample_evidence(spec)).audit_seq
    assert officer.advance(coop, "suspend", reason="test").stage == "suspended"
    assert officer.advance(coop, "resume").stage == "formation"
    # Enrolling writes an enrollment row: a partner without enrolment rules (issue #13) takes
    # this cooperative in formation, which BRI would refuse before any write.
    from pathlib import Path

    from kopflow.host.manager import make_plugin_host

    rules = Path(__file__).parent / "plugins" / "enroll_rules.py"
    enroller = granted.engine("officer", plugins=make_plugin_host(extra_modules=[str(rules)]))
    assert enroller.enroll(granted.coops[1], ["gudang"]).audit_seq
    # The partner moves a cooperative's version, never its stage.
    refused(granted.url, granted.logins["partner"], "UPDATE coop SET stage = 'operating'")
    run_as(granted.url, granted.logins["partner"], "UPDATE coop SET version = version WHERE false")
    refused(granted.url, granted.logins["partner"], "INSERT INTO transition (coop_id) VALUES ('x')")
    # A kopflow admin who is not the owner manages actors.
    admin = granted.engine("admin")
    extra = "extra" + granted.logins["admin"][len("admin") :]
    admin.add_actor(extra, role="auditor", region=None, partner=None)
    admin.disable_actor(extra)
    refused(granted.url, granted.logins["admin"], "UPDATE actor SET role = 'admin'")
    # Reading works for the auditor; writing is refused before the chain is touched.
    auditor = granted.engine("auditor")
    with auditor.reading() as conn:
        assert verify_database(conn).ok
    with pytest.raises(PermissionDeniedError, match="auditor"):
        auditor.complete_step(coop, "socialisation", sample_evidence(spec))


def test_officer_claims_and_releases_identifiers(granted: Granted) -> None:
    """Issue #12: an officer's login may record, correct and undo a unique identifier (insert
    and mark released), and may not delete one."""
    from kopflow.flow.samples import sample_evidence

    coop = granted.coops[2]
    officer = granted.engine("officer")
    for step in officer.workflow.stage("formation").steps:
        officer.complete_step(coop, step.id, sample_evidence(step, 1))
    decree = {"decree_number": "AHU-0000001", "decree_date": "2025-04-02"}
    officer.complete_step(coop, "sk_ahu", decree, reason="the decree's own number")
    officer.undo_step(coop, "sk_ahu", reason="wrong cooperative")
    refused(granted.url, granted.logins["officer"], "DELETE FROM unique_value")
    refused(granted.url, granted.logins["officer"], "UPDATE unique_value SET value = 'x'")


def test_disabled_actor_loses_the_database(granted: Granted, runner: Any) -> None:
    """After 'actor disable' and a new 'db grant', PostgreSQL refuses the login outright."""
    from kopflow.cli import cli
    from kopflow.engine import Kopflow

    owner = Kopflow(granted.url)
    officer = granted.logins["officer"]
    owner.disable_actor(officer)
    plan = owner.grant()
    assert {c.actor: c.action for c in plan.logins}[officer] == "revoked"
    message = refused(granted.url, officer, f"SELECT * FROM {schema_of(granted.url)}.coop")
    assert "permission denied for schema" in message
    result = runner.invoke(cli, ["--db", login_url(granted.url, officer), "status"])
    assert result.exit_code == 5
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")


def test_grant_twice_changes_nothing_and_dry_run_runs_nothing(
    granted: Granted, runner: Any
) -> None:
    """db grant is idempotent, records itself in the audit log, and --dry-run only prints."""
    import json

    from sqlalchemy import text

    from kopflow.audit.chain import verify_database
    from kopflow.cli import cli
    from kopflow.engine import Kopflow
    from kopflow.store import db

    owner = Kopflow(granted.url)
    extra = "extra" + granted.logins["admin"][len("admin") :]
    owner.add_actor(extra, role="auditor", region=None, partner=None)
    before = db_state(granted.url)
    dry = runner.invoke(cli, ["--db", granted.url, "db", "grant", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"CREATE ROLE {extra} LOGIN" in dry.output
    assert db_state(granted.url) == before
    with db.read_connection(db.resolve_url(granted.url)) as conn:
        roles = set(conn.execute(text("SELECT rolname FROM pg_roles")).scalars())
    assert extra not in roles

    first = runner.invoke(cli, ["--db", granted.url, "db", "grant", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["logins"][extra] == "created"
    again = json.loads(runner.invoke(cli, ["--db", granted.url, "db", "grant", "--json"]).output)
    assert set(again["logins"].values()) == {"unchanged", "skipped"}
    with db.read_connection(db.resolve_url(granted.url)) as conn:
        assert verify_database(conn).ok
        actions = list(
            conn.execute(text("SELECT action FROM audit_event ORDER BY seq DESC LIMIT 2")).scalars()
        )
    assert actions == ["db.grant", "db.grant"]
    assert run_as(granted.url, extra, "SELECT * FROM coop") == 3


def test_grant_needs_the_owner(granted: Granted, runner: Any) -> None:
    """A kopflow admin who does not own the tables cannot grant: PostgreSQL decides who may."""
    from kopflow.cli import cli

    url = login_url(granted.url, granted.logins["admin"])
    result = runner.invoke(cli, ["--db", url, "db", "grant"])
    assert result.exit_code == 5
    assert "owner of the kopflow tables" in result.stderr


def test_grant_refused_on_sqlite(sqlite_url: str, runner: Any) -> None:
    from kopflow.cli import cli

    assert runner.invoke(cli, ["--db", sqlite_url, "init"]).exit_code == 0
    result = runner.invoke(cli, ["--db", sqlite_url, "db", "grant"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: db grant is for PostgreSQL")


def test_group_role_names() -> None:
    from kopflow.errors import InputError
    from kopflow.rules.roles import group_role

    assert group_role("public", "auditor") == "kopflow_auditor"
    assert group_role("buleleng", "officer") == "kopflow_buleleng_officer"
    with pytest.raises(InputError):
        group_role('Odd"Name', "admin")


def test_login_url_keeps_the_schema() -> None:
    url = "postgresql://postgres:secret@127.0.0.1:5432/test?options=-csearch_path%3Dt_abc"
    assert login_url(url, "budi") == (
        "postgresql+psycopg://budi@127.0.0.1:5432/test?options=-csearch_path%3Dt_abc"
    )
