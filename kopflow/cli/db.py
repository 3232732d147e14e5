"""``kopflow init`` and ``kopflow db ...``: create and upgrade the schema."""

from __future__ import annotations

import click

from kopflow.cli import TranslatedCommand, TranslatedGroup
from kopflow.cli._output import emit_json, json_option, ok
from kopflow.i18n import N_, _


@click.command("init", cls=TranslatedCommand, help=N_("Create the database (or upgrade it) and start the audit log. The first person to initialise it becomes its admin."))
@json_option
@click.pass_obj
def init_cmd(app, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    info = app.engine.init()
    if as_json:
        emit_json({**info, "db": app.engine.url})
        return
    ok(_("database ready: {url} (schema {schema})", url=app.engine.url, schema=info["schema"]))
    if info["admin"]:
        ok(_("{admin} is its admin", admin=info["admin"]))


@click.group("db", cls=TranslatedGroup, help=N_("Database schema and maintenance."))
def db_group() -> None:
    pass


@db_group.command("upgrade", help=N_("Upgrade the database schema to this version of kopflow."))
@click.pass_obj
def db_upgrade(app) -> None:  # type: ignore[no-untyped-def]
    from kopflow import db

    before, after = db.upgrade_schema(app.engine.url)
    ok(_("schema {before} -> {after}", before=before or "-", after=after))
