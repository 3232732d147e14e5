"""``kopflow workflow ...``: show, validate, draw and migrate workflow definitions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from kopflow.cli import TranslatedGroup
from kopflow.cli._output import emit_json, json_option, ok, table, verbose_option
from kopflow.errors import WorkflowError
from kopflow.i18n import N_, _, label

if TYPE_CHECKING:
    from kopflow.cli import App
    from kopflow.flow.spec import StepSpec


@click.group(
    "workflow", cls=TranslatedGroup, help=N_("Show, check, draw and migrate workflow definitions.")
)
def workflow_group() -> None:
    pass


@workflow_group.command(
    "show", help=N_("The stages, steps, evidence fields and events of the workflow.")
)
@json_option
@click.pass_obj
def workflow_show(app: App, as_json: bool) -> None:
    wf = app.engine.workflow
    # Partners' steps belong to the onboarding stage (issue #12: they were missing here).
    partners = sorted(app.engine.plugins.partners.items())
    if as_json:
        import dataclasses

        data = dataclasses.asdict(wf)
        data["partners"] = {
            code: [dataclasses.asdict(step) for step in partner.steps] for code, partner in partners
        }
        emit_json(data)
        return
    ok(f"{label(wf.label, wf.name)} — {wf.name} v{wf.version} ({wf.path})")
    rows = []
    for stage in wf.stages:
        steps: list[tuple[str, StepSpec | None]] = [(s.id, s) for s in stage.steps]
        if stage.id == wf.onboarding_stage:
            steps += [(p.key(s.id), s) for _code, p in partners for s in p.steps]
        for key, step in steps or [("", None)]:
            rows.append(
                {
                    "stage": label(stage.label, stage.id),
                    "sla": stage.sla_days,
                    "step": key,
                    "required": (_("yes") if step.required else _("no")) if step else "",
                    "role": step.role if step else "",
                    # A required field is marked * (issue #12).
                    "fields": ", ".join(f.name + ("*" if f.required else "") for f in step.fields)
                    if step
                    else "",
                }
            )
    table(
        _("Stages and steps"),
        [
            ("stage", N_("Stage")),
            ("sla", N_("SLA (days)")),
            ("step", N_("Step")),
            ("required", N_("Required")),
            ("role", N_("Role")),
            ("fields", N_("Evidence")),
        ],
        rows,
        optional=("sla", "role"),
    )
    ok(_("* required field; 'kopflow next COOP' shows each field's type and hint"))
    events = [{"event": e.name, "from": ", ".join(e.sources), "to": e.dest} for e in wf.events]
    table(_("Events"), [("event", N_("Event")), ("from", N_("From")), ("to", N_("To"))], events)


@workflow_group.command(
    "validate", help=N_("Check workflow files; every error is listed with file and path.")
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def workflow_validate(files: tuple[Path, ...]) -> None:
    from kopflow.flow.spec import validate_file

    problems: list[str] = []
    for path in files:
        problems.extend(validate_file(path))
    if problems:
        for problem in problems[:-1]:
            click.echo(_("Error") + f": {problem}", err=True)
        raise WorkflowError(problems[-1:])
    ok(_("{count} file(s) valid", count=len(files)))


@workflow_group.command("diagram", help=N_("Draw the workflow as Mermaid or Graphviz dot text."))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help=N_("Diagram language."),
)
@click.pass_obj
def workflow_diagram(app: App, fmt: str) -> None:
    from kopflow.flow import diagram

    click.echo(
        diagram.mermaid(app.engine.workflow)
        if fmt == "mermaid"
        else diagram.dot(app.engine.workflow),
        nl=False,
    )


@workflow_group.command(
    "migrate",
    help=N_(
        "Move cooperatives that run an older version of the workflow onto the current one, "
        "explicitly and with an audit event each. Refused for a cooperative whose stage the new "
        "version no longer has."
    ),
)
@click.argument("coops", nargs=-1)
@click.option(
    "--all", "everything", is_flag=True, help=N_("Every cooperative on an older version.")
)
@click.option("--dry-run", is_flag=True, help=N_("Check everything, write nothing."))
@verbose_option
@json_option
@click.pass_obj
def workflow_migrate(
    app: App,
    coops: tuple[str, ...],
    everything: bool,
    dry_run: bool,
    verbose: bool,
    as_json: bool,
) -> None:
    from kopflow.cli._output import bulk_summary
    from kopflow.errors import InputError

    if bool(coops) == everything:
        raise InputError("give COOP ids or --all")
    result = app.engine.migrate_workflow(None if everything else list(coops), dry_run=dry_run)
    bulk_summary(
        result,
        as_json=as_json,
        verb=N_("migrated"),
        verbose=verbose or bool(app.options.get("verbose")),
    )
