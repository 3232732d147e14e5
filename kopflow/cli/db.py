"""``kopflow init`` and ``kopflow db ...``: create and upgrade the schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kopflow.cli import TranslatedCommand, TranslatedGroup
from kopflow.cli._output import emit_json, json_option, ok
from kopflow.i18n import N_, _

if TYPE_CHECKING:
    from kopflow.cli import App


@click.command(
    "init",
    cls=TranslatedCommand,
    help=N_(
        "Create the database (or upgrade it) and start the audit log. The first person to initialise it becomes its admin."
    ),
)
@json_option
@click.pass_obj
def init_cmd(app: App, as_json: bool) -> None:
    info = app.engine.init()
    if as_json:
        emit_json({**info, "db": app.engine.url})
        return
    ok(_("database ready: {url} (schema {schema})", url=app.engine.url, schema=info["schema"]))
    if info["admin"]:
        ok(_("{admin} is its admin", admin=info["admin"]))
    if info["demo"]:
        ok(
            _(
                "This is the demo's database: 'kopflow demo' made it, and its evidence is made "
                "up. For real work use another file, e.g. the default ./kopflow.db."
            )
        )


@click.group("db", cls=TranslatedGroup, help=N_("Database schema and maintenance."))
def db_group() -> None:
    pass


@db_group.command("upgrade", help=N_("Upgrade the database schema to this version of kopflow."))
@click.pass_obj
def db_upgrade(app: App) -> None:
    before, after = app.engine.upgrade_schema()
    ok(_("schema {before} -> {after}", before=before or "-", after=after))


@db_group.command(
    "grant",
    help=N_(
        "PostgreSQL: create a group role per kopflow role and a login per actor, and grant "
        "exactly what each role needs (auditors read only; nobody may change audit events). "
        "Run as the owner of the tables, again after 'actor add', 'actor disable' and 'db upgrade'."
    ),
)
@click.option("--dry-run", is_flag=True, help=N_("Print the SQL statements, run nothing."))
@json_option
@click.pass_obj
def db_grant(app: App, dry_run: bool, as_json: bool) -> None:
    plan = app.engine.grant(dry_run=dry_run)
    if as_json:
        emit_json({**plan.as_dict(), "dry_run": dry_run, "statements": plan.statements})
        return
    if dry_run:
        for statement in plan.statements:
            click.echo(statement + ";")
        return
    for role, group in plan.groups.items():
        ok(_("{role}: group role {group}", role=role, group=group))
    for change in plan.logins:
        ok(
            _(
                "login {actor} ({role}): {action}",
                actor=change.actor,
                role=change.role,
                action=_(change.action),
            )
            + (f" ({_(change.why)})" if change.why else "")
        )
    for table in plan.unknown_tables:
        ok(_("table {table} has no grant rule: SELECT only", table=table))


@db_group.command(
    "migrate-to",
    help=N_(
        "Copy this database (a district's SQLite file) into an empty database, usually the "
        "national PostgreSQL one: every table, the audit chain byte for byte, verified there "
        "with the same head hash before it commits."
    ),
)
@click.argument("target", metavar="URL")
@json_option
@click.pass_obj
def db_migrate_to(app: App, target: str, as_json: bool) -> None:
    result = app.engine.migrate_to(target)
    if as_json:
        emit_json(result.__dict__)
        return
    for table, count in result.counts.items():
        ok(_("{table}: {count} rows copied", table=table, count=count))
    ok(
        _(
            "audit chain verified on {target}: {count} events, head {hash}",
            target=result.target,
            count=result.head_seq,
            hash=result.head_hash,
        )
    )
