"""``kopflow demo``: the quick start's main job, on the embedded SQLite default.

Creates the database, imports a kabupaten from the areaid data, drives a few cooperatives
through the stages with sample evidence (partner steps included) and prints the status table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kopflow.cli import TranslatedCommand
from kopflow.cli._output import ok
from kopflow.i18n import N_, _, label

if TYPE_CHECKING:
    from kopflow.cli import App


@click.command(
    "demo",
    cls=TranslatedCommand,
    help=N_(
        "Create the demo's own database (./kopflow-demo.db unless --db names one), import a "
        "kabupaten, drive a few cooperatives through the stages with made-up evidence, and "
        "print the status table. It never writes into a database that holds other work."
    ),
)
@click.option(
    "--region",
    default="Kabupaten Buleleng",
    show_default=True,
    metavar="KABUPATEN",
    help=N_("The kabupaten to import."),
)
@click.pass_obj
def demo_cmd(app: App, region: str) -> None:
    from kopflow import regions
    from kopflow.audit.chain import read_head
    from kopflow.cli.flow import print_status
    from kopflow.engine import DEMO_DB
    from kopflow.flow.samples import issue_after, sample_evidence

    # A kabupaten that does not exist is refused before any database is made.
    seeds = list(regions.seeds_from_areaid(kabupaten=region))
    if not app.options.get("db"):
        # Only an explicit --db moves the demo: KOPFLOW_DB names the officer's own data.
        app.options["db"] = DEMO_DB
    engine = app.engine
    given = str(app.options["db"])
    shown = engine.display_name if "://" in given else given  # as the user would type it
    engine.init(demo=True)
    ok(_("demo database: {db} (made-up evidence, apart from your data)", db=shown))
    added, skipped = engine.register(seeds, source=f"areaid:{region}")
    ok(
        _(
            "{added} cooperatives registered, {skipped} already registered",
            added=added,
            skipped=skipped,
        )
    )
    wf = engine.workflow
    coops = [r["id"] for r in engine.list_coops(kabupaten=region, stage=wf.initial, limit=24)]
    # Fewer cooperatives get further, as in the field: of 24 started, 12 finish formation, 6 ...
    main = wf.main_stages()
    partners = list(wf.required_partners) + [p for p in ("pos",) if p in engine.plugins.partners]
    # Run again, in a new process, the demo goes on in its own database: the identifiers one
    # cooperative holds alone (NIB, decree numbers) are issued from a thousand per event
    # recorded so far. A run issues fewer than a thousand and records an event with each it
    # keeps, so none repeats what an earlier run recorded. The seeds start again: they date
    # the steps in order.
    with engine.reading() as conn:
        issue_after(read_head(conn).seq * 1000)
    seed = 0
    for stage in main[:-1]:
        keep = coops[: (len(coops) + 1) // 2]
        rows = []
        for coop in keep:
            if stage.id == wf.onboarding_stage:
                for code in partners:
                    for step in engine.plugins.partner(code).steps:
                        if step.required:
                            seed += 1
                            rows.append((coop, f"{code}.{step.id}", sample_evidence(step, seed)))
            for step in stage.steps:
                if step.required:
                    seed += 1
                    rows.append((coop, step.id, sample_evidence(step, seed)))
        if stage.id == wf.onboarding_stage:
            # Refused one by one, as the steps are: a cooperative that did not get this far
            # does not stop the demo.
            engine.enroll_bulk(keep, partners)
        engine.complete_steps_bulk(rows)
        result = engine.advance_bulk(stage=stage.id, kabupaten=region)
        moved = len(result.done)
        ok(
            _(
                "{stage}: {done} cooperatives moved on",
                stage=label(stage.label, stage.id),
                done=moved,
            )
        )
        coops = keep
    print_status(wf, engine.status_counts(kabupaten=region), by=None, title=region)
    ok(_("The demo's made-up evidence is only in {db}. Look around:", db=shown))
    ok(f"  kopflow --db {shown} coop list")
