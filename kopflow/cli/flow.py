"""``kopflow next``, ``advance`` and ``status``: where cooperatives stand and moving them on."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from kopflow.cli import TranslatedCommand
from kopflow.cli._output import bulk_summary, emit_json, json_option, ok, table, verbose_option
from kopflow.cli.coop import as_of_option
from kopflow.errors import InputError
from kopflow.i18n import N_, Named, _, label, listed

if TYPE_CHECKING:
    from kopflow.cli import App
    from kopflow.flow.spec import Workflow


@click.command(
    "next",
    cls=TranslatedCommand,
    help=N_("What can be done now for COOP, and what is missing before it can advance."),
)
@click.argument("coop")
@json_option
@click.pass_obj
def next_cmd(app: App, coop: str, as_json: bool) -> None:
    from kopflow.cli._fields import field_json, print_open_steps

    data = app.engine.next_actions(coop)
    # Each open step's fields, up front (issue #12): what to type before typing it.
    specs = [(key, app.engine.step_spec(key)[0]) for key in data["open_steps"]]
    if as_json:
        data["fields"] = {key: [field_json(f) for f in spec.fields] for key, spec in specs}
        emit_json(data)
        return
    wf = app.engine.workflow
    stage = wf.stage(data["stage"])
    ok(_("{coop} is in stage {stage}", coop=data["coop"], stage=Named(stage.id, stage.label)))
    open_now = [Named(key, spec.label) for key, spec in specs]
    ok(_("Steps open now: {steps}", steps=listed(open_now) or "-"))
    print_open_steps(data["coop"], specs)
    click.echo("")
    if data["advance_event"]:
        if data["can_advance"]:
            ok(_("Ready: kopflow advance {coop}", coop=data["coop"]))
        else:
            ok(
                _(
                    "Before {event}: {missing}",
                    event=_event(wf, data["advance_event"]),
                    missing="; ".join(data["reasons"]),
                )
            )
    events = listed([_event(wf, e) for e in data["events"]])
    ok(_("Events from this stage: {events}", events=events or "-"))


def _event(workflow: Workflow, name: str) -> Named:
    """An event name a sentence shows as its label, the name in brackets (issue #12)."""
    return Named(name, next((e.label for e in workflow.events if e.name == name), None))


@click.command(
    "advance",
    cls=TranslatedCommand,
    help=N_(
        "Fire EVENT for COOP (default: move it to the next stage). With --where-stage, move every "
        "cooperative in that stage (optionally of one kecamatan or kabupaten); each one moves "
        "whole or not at all, and refusals are listed with their reasons."
    ),
)
@click.argument("coop", required=False)
@click.argument("event", required=False)
@click.option("--reason", help=N_("Why (required to suspend or dissolve)."))
@click.option("--where-stage", metavar="STAGE", help=N_("Move every cooperative in this stage."))
@click.option("--kecamatan", help=N_("With --where-stage: only this kecamatan."))
@click.option(
    "--region", metavar="KABUPATEN", help=N_("With --where-stage: only this kabupaten/kota.")
)
@click.option(
    "--event",
    "bulk_event",
    help=N_("With --where-stage: fire this event instead of the forward one."),
)
@click.option(
    "--expect-version",
    type=int,
    help=N_("Refuse if the cooperative changed since you saw this version."),
)
@click.option("--dry-run", is_flag=True, help=N_("Check everything, write nothing."))
@verbose_option
@json_option
@click.pass_obj
def advance_cmd(
    app: App,
    coop: str | None,
    event: str | None,
    reason: str | None,
    where_stage: str | None,
    kecamatan: str | None,
    region: str | None,
    bulk_event: str | None,
    expect_version: int | None,
    dry_run: bool,
    verbose: bool,
    as_json: bool,
) -> None:
    engine = app.engine
    if where_stage:
        if coop or event:
            raise InputError("give either COOP [EVENT] or --where-stage STAGE, not both")
        result = engine.advance_bulk(
            stage=where_stage,
            kecamatan=kecamatan,
            kabupaten=region,
            event=bulk_event,
            reason=reason,
            dry_run=dry_run,
        )
        bulk_summary(
            result,
            as_json=as_json,
            verb=N_("moved on"),
            verbose=verbose or bool(app.options.get("verbose")),
        )
        return
    if not coop:
        raise InputError("give COOP, or --where-stage STAGE for many")
    if dry_run or kecamatan or region or bulk_event or verbose:
        raise InputError(
            "--dry-run, --kecamatan, --region, --event and --verbose go with --where-stage"
        )
    outcome = engine.advance(coop, event, reason=reason, expect_version=expect_version)
    if as_json:
        emit_json({"coop": outcome.coop_id, "stage": outcome.stage, "audit_seq": outcome.audit_seq})
    else:
        stage = app.engine.workflow.stage(outcome.stage or "")
        ok(
            _(
                "{coop}: now in stage {stage}",
                coop=outcome.coop_id,
                stage=Named(stage.id, stage.label),
            )
        )


@click.command(
    "status",
    cls=TranslatedCommand,
    help=N_("Count cooperatives per stage, with how many are overdue."),
)
@click.option(
    "--by",
    type=click.Choice(["kecamatan", "kabupaten"]),
    help=N_("Also split by kecamatan or kabupaten."),
)
@click.option("--region", metavar="KABUPATEN", help=N_("Only this kabupaten/kota."))
@as_of_option
@json_option
@click.pass_obj
def status_cmd(
    app: App, by: str | None, region: str | None, as_of: datetime | None, as_json: bool
) -> None:
    engine = app.engine
    rows = engine.status_counts(by=by, kabupaten=region, as_of=as_of.date() if as_of else None)
    if as_json:
        emit_json(rows)
        return
    title = engine.kabupaten_name(region) if region else None  # as stored, not as typed
    print_status(engine.workflow, rows, by=by, title=title)


def print_status(
    workflow: Workflow, rows: list[dict[str, Any]], *, by: str | None, title: str | None
) -> None:
    """The status table: stages in workflow order, a total row."""
    order = {s.id: i for i, s in enumerate(workflow.stages)}
    names = {s.id: label(s.label, s.id) for s in workflow.stages}
    rows = sorted(
        rows,
        key=lambda r: (r.get("kabupaten", ""), r.get("kecamatan", ""), order.get(r["stage"], 99)),
    )
    shown = [{**r, "stage": names.get(r["stage"], r["stage"])} for r in rows]
    total = sum(r["count"] for r in rows)
    shown.append({"stage": _("Total"), "count": total, "overdue": sum(r["overdue"] for r in rows)})
    columns = [("stage", N_("Stage")), ("count", N_("Cooperatives")), ("overdue", N_("Overdue"))]
    if by == "kecamatan":
        columns.insert(0, ("kecamatan", N_("Kecamatan")))
    if by in ("kecamatan", "kabupaten"):
        columns.insert(0, ("kabupaten", N_("Kabupaten")))
    table(_("Cooperatives per stage") + (f" — {title}" if title else ""), columns, shown)
