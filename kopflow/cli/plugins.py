"""``kopflow plugins list|check``: which plugins were found, what they add, and whether they are
sound. Both work with a broken plugin installed: that is when they are needed most.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from kopflow.cli import TranslatedGroup
from kopflow.cli._output import emit_json, json_option, ok, table
from kopflow.i18n import N_, _

if TYPE_CHECKING:
    from kopflow.cli import App
    from kopflow.flow.spec import Workflow
    from kopflow.host.manager import PluginHost

PREFIX = "kopflow_"


@click.group("plugins", cls=TranslatedGroup, help=N_("List and check installed plugins."))
def plugins_group() -> None:
    """List and check installed plugins."""


@plugins_group.command(
    "list",
    help=N_(
        "Every plugin found: version, status (ok, disabled, replaced, error), partners, the hooks "
        "it implements, the commands it adds and where it was loaded from."
    ),
)
@json_option
@click.pass_obj
def plugins_list(app: App, as_json: bool) -> None:
    """List the plugins."""
    host = app.plugins
    app.plugin_commands()  # runs kopflow_register_commands, so each plugin's commands are known
    rows = plugin_rows(host)
    if as_json:
        emit_json(rows)
        return
    shown = [
        {
            **r,
            "version": r["version"] or "-",
            "partners": ", ".join(r["partners"]),
            "hooks": ", ".join(h.removeprefix(PREFIX) for h in r["hooks"]),
            "commands": ", ".join(r["commands"]),
        }
        for r in rows
    ]
    columns = [
        ("name", N_("Plugin")),
        ("version", N_("Version")),
        ("status", N_("Status")),
        ("partners", N_("Partners")),
        ("hooks", N_("Hooks (kopflow_...)")),
        ("commands", N_("Commands")),
        ("source", N_("Loaded from")),
    ]
    table(_("{count} plugins", count=len(rows)), columns, shown)
    for row in rows:
        if row["error"] or (row["note"] and row["status"] == "ok"):  # "replaced" says enough
            ok(f"{row['name']}: {row['error'] or row['note']}")


def plugin_rows(host: PluginHost) -> list[dict[str, Any]]:
    """One row per plugin, in load order: the ``--json`` form of ``plugins list``.

    Returns:
        ``name``, ``version``, ``status``, ``error``, ``note`` (which copy of a plugin replaced
        which), ``source``, ``partners``, ``hooks`` and ``commands`` (the top-level commands it
        added; ask for them first, see ``App``).
    """
    return [
        {
            "name": p.name,
            "version": p.version,
            "status": p.status,
            "error": p.error,
            "note": p.note,
            "source": p.source,
            "partners": list(p.partners),
            "hooks": list(p.hooks),
            "commands": list(p.commands),
        }
        for p in host.plugins
    ]


@plugins_group.command(
    "check",
    help=N_(
        "Strict check for CI: one line per problem (a plugin that failed to load or to add its "
        "commands, a hook that does not exist, a setting naming a plugin that is not installed); "
        "exits with status 6 if there is any."
    ),
)
@json_option
@click.pass_obj
def plugins_check(app: App, as_json: bool) -> None:
    """Check the plugins strictly."""
    host = app.plugins
    app.plugin_commands()  # a plugin failing to add its commands is a problem too
    problems = host.check(workflow=_workflow())
    loaded = sum(1 for p in host.plugins if p.status == "ok")
    if as_json:
        emit_json({"ok": not problems, "plugins": loaded, "problems": problems})
    else:
        for problem in problems:
            click.echo(problem)
        if not problems:
            ok(_("{count} plugins loaded, no problems", count=loaded))
    if problems:
        raise SystemExit(6)  # PluginError's exit code: a broken plugin, as for any command


def _workflow() -> Workflow | None:
    """The workflow the commands run, for the step keys plugins name (``for_steps``): read
    from its file, no database opened. None when it cannot be read: ``kopflow workflow check``
    names that problem, and the plugins' other problems are still listed."""
    from kopflow.errors import KopflowError
    from kopflow.flow.spec import find_workflow

    try:
        return find_workflow()
    except KopflowError:
        return None
