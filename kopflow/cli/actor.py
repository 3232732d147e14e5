"""``kopflow actor ...``: who may use kopflow, with which role and scope."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kopflow.cli import TranslatedGroup
from kopflow.cli._output import emit_json, json_option, ok, table
from kopflow.i18n import N_, _

if TYPE_CHECKING:
    from kopflow.cli import App


@click.group("actor", cls=TranslatedGroup, help=N_("Who may use kopflow, with which role."))
def actor_group() -> None:
    pass


@actor_group.command(
    "add",
    help=N_(
        "Add an actor: an officer of one kabupaten (--region), a partner's staff (--partner), "
        "an auditor (read only) or an admin."
    ),
)
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["officer", "partner", "auditor", "admin"]),
    help=N_("The actor's role."),
)
@click.option(
    "--region", metavar="KABUPATEN", help=N_("For an officer: the kabupaten/kota they act for.")
)
@click.option(
    "--partner", metavar="CODE", help=N_("For partner staff: the partner code, e.g. bri.")
)
@click.pass_obj
def actor_add(app: App, name: str, role: str, region: str | None, partner: str | None) -> None:
    app.engine.add_actor(name, role=role, region=region, partner=partner)
    ok(_("actor {name} added as {role}", name=name, role=role))


@actor_group.command("list", help=N_("Every actor, enabled or not."))
@json_option
@click.pass_obj
def actor_list(app: App, as_json: bool) -> None:
    rows = app.engine.list_actors()
    if as_json:
        emit_json(rows)
        return
    table(
        _("Actors"),
        [
            ("name", N_("Name")),
            ("role", N_("Role")),
            ("region", N_("Kabupaten")),
            ("partner", N_("Partner")),
            ("enabled", N_("Enabled")),
        ],
        rows,
    )


@actor_group.command(
    "disable", help=N_("Disable an actor; their past actions stay in the audit log.")
)
@click.argument("name")
@click.pass_obj
def actor_disable(app: App, name: str) -> None:
    app.engine.disable_actor(name)
    ok(_("actor {name} disabled", name=name))
