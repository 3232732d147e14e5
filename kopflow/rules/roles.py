"""PostgreSQL roles (``kopflow db grant``): a NOLOGIN group role per kopflow role, a LOGIN role
per actor, and exact grants on the kopflow tables of the schema in use.

No role made here may write ``audit_event`` or ``chain_head`` at all: writers append through
``kopflow_chain_append`` and lock the head through ``kopflow_chain_lock``, functions the owner
owns that check every event on the server (migration 0004, issue #14). Row-level security
(same migration) scopes what the writers' grants reach. The owner of the tables is none of
these roles and can still do anything; docs/database.md says what that leaves open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.errors import InputError, PermissionDeniedError
from kopflow.i18n import N_
from kopflow.store import db

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.pipeline.change import Workspace

# Every group role may SELECT every kopflow table. Beyond that, per table and kopflow role:
_INSERT = ("INSERT",)
WRITES: dict[str, dict[str, tuple[str, ...]]] = {
    "actor": {"admin": ("INSERT", "UPDATE (enabled)")},
    "alembic_version": {},
    # Only through the functions below (issue #14): a login can neither pick the actor of an
    # event nor move the head.
    "audit_event": {},
    "chain_head": {},
    "coop": {
        "officer": ("INSERT", "UPDATE"),
        # A partner's step only moves the cooperative's version, never its stage.
        "partner": ("UPDATE (version, updated_at, updated_by)",),
        "admin": ("INSERT", "UPDATE"),
    },
    "coop_village": {"officer": _INSERT, "admin": _INSERT},
    "enrollment": {"officer": _INSERT, "admin": _INSERT},
    # Partner notifications (issue #13): written by the change they are about, marked by
    # `partner deliver`, which a partner's staff or an admin runs.
    "outbox": {
        "officer": _INSERT,
        "partner": ("INSERT", "UPDATE (status, attempts, last_error, delivered_at)"),
        "admin": ("INSERT", "UPDATE (status, attempts, last_error, delivered_at)"),
    },
    "step_record": {"officer": _INSERT, "partner": _INSERT, "admin": _INSERT},
    "transition": {"officer": _INSERT, "admin": _INSERT},
    # A step's identifiers (issue #12); a correction or an undo marks the old ones released.
    "unique_value": {
        "officer": ("INSERT", "UPDATE (released_seq)"),
        "partner": ("INSERT", "UPDATE (released_seq)"),
        "admin": ("INSERT", "UPDATE (released_seq)"),
    },
    "workflow_def": {"officer": _INSERT, "partner": _INSERT, "admin": _INSERT},
    # Partnership (issue #16): every row is added, none changed. Officers record forums and
    # leads; a partner's staff their own leads and agreements; the directory is the Dinas'.
    "partner_org": {"officer": _INSERT, "admin": _INSERT},
    "partner_cap": {"officer": _INSERT, "admin": _INSERT},
    "forum": {"officer": _INSERT, "admin": _INSERT},
    "forum_partner": {"officer": _INSERT, "admin": _INSERT},
    "forum_attendance": {"officer": _INSERT, "admin": _INSERT},
    "lead": {"officer": _INSERT, "partner": _INSERT, "admin": _INSERT},
    "lead_record": {"officer": _INSERT, "partner": _INSERT, "admin": _INSERT},
}
WRITERS = ("officer", "partner", "admin")
# The owner's SECURITY DEFINER functions (migration 0004) and who may run them.
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "kopflow_chain_lock()": WRITERS,
    "kopflow_chain_append(integer[], text[], text[], text[], text[], text[], text[], text[], "
    "text[])": WRITERS,
}
# What `db grant` did to each login; the CLI translates them when it shows them.
ACTIONS = (
    N_("created"),
    N_("granted"),
    N_("unchanged"),
    N_("revoked"),
    N_("disabled"),
    N_("skipped"),
)
_RESERVED = N_("reserved role name")
_OWNER = N_("owner or superuser: keeps its own rights")
_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def group_role(schema: str, role: str) -> str:
    """The group role of kopflow ``role`` for tables in ``schema``.

    ``kopflow_officer`` for the ``public`` schema, ``kopflow_<schema>_officer`` for any other:
    PostgreSQL roles belong to the whole server, so two kopflow schemas must not share them.
    """
    if not _PLAIN_NAME.fullmatch(schema) or len(schema) > 40:
        raise InputError(
            "schema {schema} cannot name kopflow's roles: use a lower-case name of letters, "
            "digits and _ of at most 40 characters",
            schema=schema,
        )
    return f"kopflow_{role}" if schema == "public" else f"kopflow_{schema}_{role}"


@dataclass
class LoginChange:
    """What ``db grant`` does to one actor's login."""

    actor: str
    role: str
    action: str  # created, granted, unchanged, revoked, disabled, skipped
    why: str = ""


@dataclass
class GrantPlan:
    """The statements of one ``db grant`` run and what they do, for showing or running."""

    schema: str
    login: str
    groups: dict[str, str]
    statements: list[str] = field(default_factory=list)
    logins: list[LoginChange] = field(default_factory=list)
    unknown_tables: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "by": self.login,
            "groups": self.groups,
            "logins": {c.actor: c.action for c in self.logins},
            "unknown_tables": self.unknown_tables,
        }


def plan_grants(conn: Connection) -> GrantPlan:
    """Read the server's roles and the actor table; return the statements that make them agree.

    Raises:
        InputError: not PostgreSQL.
        PermissionDeniedError: the login may not grant on the tables or create roles.
    """
    from sqlalchemy import select, text

    from kopflow.store import tables

    if conn.dialect.name != "postgresql":
        raise InputError(
            "db grant is for PostgreSQL; an SQLite file is protected by its file permissions"
        )
    schema, login, database = conn.execute(
        text("SELECT current_schema(), current_user, current_database()")
    ).one()
    groups = {role: group_role(schema, role) for role in authz.ROLES}
    _check_may_grant(conn, login)
    quote = conn.dialect.identifier_preparer.quote
    roles = {
        r[0]: (bool(r[1]), bool(r[2]))
        for r in conn.execute(text("SELECT rolname, rolsuper, rolcanlogin FROM pg_roles"))
    }
    members: dict[str, set[str]] = {}
    for member, group in conn.execute(
        text(
            "SELECT m.rolname, g.rolname FROM pg_auth_members a "
            "JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid "
            "WHERE g.rolname = ANY(:groups)"
        ),
        {"groups": list(groups.values())},
    ):
        members.setdefault(member, set()).add(group)
    table_names = sorted(
        conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
    )
    plan = GrantPlan(schema, login, groups)
    plan.unknown_tables = [t for t in table_names if t not in WRITES]
    add = plan.statements.append
    for group in groups.values():
        if group not in roles:
            # Race-safe: two owners granting at once must not fail on the second CREATE ROLE.
            add(
                f"DO $$ BEGIN CREATE ROLE {group} NOLOGIN; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )
    everyone = ", ".join(groups.values())
    writers = ", ".join(groups[r] for r in WRITERS)
    add(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {everyone}")
    add(f"REVOKE ALL ON ALL TABLES IN SCHEMA {quote(schema)} FROM PUBLIC, {everyone}")
    add(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {quote(schema)} FROM PUBLIC, {everyone}")
    for table in table_names:
        add(f"GRANT SELECT ON TABLE {quote(table)} TO {everyone}")
        for role, privileges in sorted(WRITES.get(table, {}).items()):
            add(f"GRANT {', '.join(privileges)} ON TABLE {quote(table)} TO {groups[role]}")
    add(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {writers}")
    for function, may_run in FUNCTIONS.items():
        add(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC, {everyone}")
        add(f"GRANT EXECUTE ON FUNCTION {function} TO {', '.join(groups[r] for r in may_run)}")

    actor_t = tables.actor
    actors = conn.execute(
        select(actor_t.c.name, actor_t.c.role, actor_t.c.enabled).order_by(actor_t.c.name)
    )
    for name, role, enabled in actors:
        plan.logins.append(
            _plan_login(plan, name, role, enabled, roles, members.get(name, set()), database)
        )
    return plan


def _check_may_grant(conn: Connection, login: str) -> None:
    from sqlalchemy import text

    row = conn.execute(
        text(
            "SELECT r.rolsuper, r.rolcreaterole, t.tableowner, "
            "pg_has_role(current_user, t.tableowner, 'MEMBER') "
            "FROM pg_roles r, pg_tables t WHERE r.rolname = current_user "
            "AND t.schemaname = current_schema() AND t.tablename = 'audit_event'"
        )
    ).one()
    superuser, createrole, owner, owns = row
    if not superuser and not (owns and createrole):
        raise PermissionDeniedError(
            "db grant runs as the owner of the kopflow tables ({owner}) with CREATEROLE, "
            "or as a superuser; {login} is neither",
            owner=owner,
            login=login,
        )


def _plan_login(
    plan: GrantPlan,
    name: str,
    role: str,
    enabled: bool,
    roles: dict[str, tuple[bool, bool]],
    member_of: set[str],
    database: str,
) -> LoginChange:
    from sqlalchemy.dialects.postgresql.base import PGDialect

    quote = PGDialect().identifier_preparer.quote  # type: ignore[no-untyped-call]  # SQLAlchemy 2.1 leaves the dialect constructor untyped
    add = plan.statements.append
    mine = set(plan.groups.values())
    if name.startswith("pg_") or name in mine or name.startswith("kopflow_"):
        return LoginChange(name, role, "skipped", _RESERVED)
    exists = name in roles
    if exists and (roles[name][0] or name == plan.login):
        return LoginChange(name, role, "skipped", _OWNER)
    if not enabled:
        for group in sorted(member_of & mine):
            add(f"REVOKE {group} FROM {quote(name)}")
        return LoginChange(name, role, "revoked" if member_of & mine else "disabled")
    want = plan.groups[role]
    action = "unchanged"
    if not exists:
        add(
            f"CREATE ROLE {quote(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT "
            "NOREPLICATION NOBYPASSRLS"
        )
        if plan.schema != "public":
            add(
                f"ALTER ROLE {quote(name)} IN DATABASE {quote(database)} "
                f"SET search_path = {quote(plan.schema)}"
            )
        action = "created"
    for group in sorted((member_of & mine) - {want}):
        add(f"REVOKE {group} FROM {quote(name)}")
        action = "granted" if action == "unchanged" else action
    if want not in member_of:
        add(f"GRANT {want} TO {quote(name)}")
        action = "granted" if action == "unchanged" else action
    return LoginChange(name, role, action)


def grant(workspace: Workspace, *, dry_run: bool = False) -> GrantPlan:
    """Create the group roles and actors' logins and set the grants; record it in the audit log.

    Runs as the owner of the kopflow tables (with CREATEROLE) or a superuser: PostgreSQL itself
    decides who may grant, so the runner need not be a kopflow actor. The event names the
    runner with their kopflow role, or ``owner`` when they are not an actor.

    Args:
        workspace: kopflow on a PostgreSQL database.
        dry_run: plan only; nothing is run or recorded.

    Returns:
        The plan that was run (or would be).
    """
    from sqlalchemy import select

    from kopflow.pipeline.change import Change
    from kopflow.store import tables

    if db.is_sqlite(workspace.url):
        raise InputError(
            "db grant is for PostgreSQL; an SQLite file is protected by its file permissions"
        )
    if dry_run:
        with workspace.reading() as conn:
            workspace.login_name(conn)
            return plan_grants(conn)
    with db.write_transaction(workspace.url) as conn:
        db.require_schema(conn)
        login = workspace.login_name(conn)
        plan = plan_grants(conn)
        table = tables.actor
        row = conn.execute(
            select(table.c.role, table.c.enabled).where(table.c.name == login)
        ).first()
        role = row[0] if row is not None and row[1] else "owner"
        actor = authz.ActorInfo(login, role)
        change = Change(workspace, conn, actor, datetime.now(UTC), workspace.workflow)
        for statement in plan.statements:
            conn.exec_driver_sql(statement)
        change.event("db.grant", None, plan.as_dict())
        change.flush()
    workspace.log.info("db grant", schema=plan.schema, logins=plan.as_dict()["logins"])
    return plan
