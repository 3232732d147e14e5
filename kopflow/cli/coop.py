"""``kopflow coop ...``: register cooperatives, list them, show one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kopflow.cli import TranslatedGroup
from kopflow.cli._files import force_option, protected_files
from kopflow.cli._output import emit_json, json_option, ok, progress, table
from kopflow.errors import InputError
from kopflow.i18n import N_, Named, _, label

if TYPE_CHECKING:
    from kopflow.cli import App
    from kopflow.engine import Kopflow

as_of_option = click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help=N_("Look at this day (YYYY-MM-DD) instead of today."),
)


@click.group("coop", cls=TranslatedGroup, help=N_("Register, list and show cooperatives."))
def coop_group() -> None:
    pass


@coop_group.command(
    "import",
    help=N_(
        "Register one cooperative per desa/kelurahan: of a kabupaten (--region), a province "
        "(--province) or the whole country (--all) from the areaid data, or from your own CSV "
        "file (columns: region_code, village, kecamatan, kabupaten, provinsi, and optionally "
        "postal_code and coop_id). Running it again adds nothing."
    ),
)
@click.argument("csv_file", required=False, type=click.Path(path_type=Path))
@click.option(
    "--region", metavar="KABUPATEN", help=N_("A kabupaten/kota, e.g. 'Kabupaten Buleleng'.")
)
@click.option("--province", metavar="NAME", help=N_("A whole province, e.g. 'Bali'."))
@click.option("--all", "everything", is_flag=True, help=N_("Every village in the country."))
@json_option
@click.pass_obj
def coop_import(
    app: App,
    csv_file: Path | None,
    region: str | None,
    province: str | None,
    everything: bool,
    as_json: bool,
) -> None:
    from kopflow import regions

    chosen = [x for x in (csv_file, region, province, everything or None) if x]
    if len(chosen) != 1:
        raise InputError("give exactly one of FILE.csv, --region, --province or --all")
    if csv_file is not None:
        seeds = regions.seeds_from_csv(csv_file)
        source = f"csv:{csv_file.name}"
    else:
        seeds = list(regions.seeds_from_areaid(kabupaten=region, provinsi=province))
        source = "areaid:" + (region or province or "Indonesia")
    with progress(len(seeds), _("importing"), enabled=not as_json) as advance:
        added, skipped = app.engine.register(seeds, source=source, progress=advance)
    if as_json:
        emit_json({"added": added, "already_registered": skipped, "source": source})
    else:
        ok(
            _(
                "{added} cooperatives registered, {skipped} already registered",
                added=added,
                skipped=skipped,
            )
        )


@coop_group.command(
    "list", help=N_("List cooperatives, optionally by stage, kecamatan, kabupaten or overdue.")
)
@click.option("--stage", help=N_("Only this stage."))
@click.option("--kecamatan", help=N_("Only this kecamatan."))
@click.option("--region", metavar="KABUPATEN", help=N_("Only this kabupaten/kota."))
@click.option(
    "--overdue",
    is_flag=True,
    help=N_("Only cooperatives past their stage's deadline, oldest first."),
)
@as_of_option
@click.option("--limit", type=click.IntRange(min=1), help=N_("At most this many rows."))
@json_option
@click.pass_obj
def coop_list(
    app: App,
    stage: str | None,
    kecamatan: str | None,
    region: str | None,
    overdue: bool,
    as_of: datetime | None,
    limit: int | None,
    as_json: bool,
) -> None:
    engine = app.engine
    rows = engine.list_coops(
        stage=stage,
        kecamatan=kecamatan,
        kabupaten=region,
        overdue=overdue,
        as_of=as_of.date() if as_of else None,
        limit=limit,
    )
    if as_json:
        emit_json(rows)
        return
    columns = [
        ("id", N_("Cooperative")),
        ("village", N_("Village")),
        ("kecamatan", N_("Kecamatan")),
        ("stage", N_("Stage")),
        ("stage_since", N_("Since")),
        ("days_overdue", N_("Days overdue")),
    ]
    stage_label = {s.id: label(s.label, s.id) for s in engine.workflow.stages}
    shown = [{**r, "stage": stage_label.get(r["stage"], r["stage"])} for r in rows]
    table(
        _("{count} cooperatives", count=len(rows)),
        columns,
        shown,
        optional=("stage_since",) if overdue else ("days_overdue", "stage_since"),
    )


@coop_group.command(
    "show", help=N_("Show a cooperative: stage, steps done and missing, evidence and timeline.")
)
@click.argument("coop")
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_(
        "Also write the whole record (steps, evidence, every change) as a printable HTML page."
    ),
)
@force_option
@json_option
@click.pass_obj
def coop_show(app: App, coop: str, html_out: Path | None, force: bool, as_json: bool) -> None:
    engine = app.engine
    data = engine.coop_record(coop)
    if html_out is not None:
        from kopflow.report.timeline import write_timeline

        write_timeline(engine, data, html_out, force=force, protected=protected_files(app.options))
        if not as_json:
            ok(_("Written: {path}", path=str(html_out)))
            return
    if as_json:
        emit_json(data)
        return
    _print_show(engine, data)


def evidence_lines(engine: Kopflow, step: str, evidence: dict[str, Any] | None) -> str:
    """A step's evidence as ``field: value`` lines, values as people read them (issue #12)."""
    from kopflow.cli._fields import shown_value
    from kopflow.errors import KopflowError

    try:
        fields = {f.name: f for f in engine.step_spec(step)[0].fields}
    except KopflowError:  # a step of a partner no longer installed: its records still show
        fields = {}
    return "\n".join(f"{k}: {shown_value(fields.get(k), v)}" for k, v in (evidence or {}).items())


def _print_show(engine: Kopflow, data: dict[str, Any]) -> None:
    row = data["coop"]
    stage = engine.workflow.stage(row["stage"])
    ok(f"{row['id']}  {row['name']}")
    ok(
        _(
            "Kecamatan {kecamatan}, {kabupaten}, {provinsi}",
            kecamatan=row["kecamatan"],
            kabupaten=row["kabupaten"],
            provinsi=row["provinsi"],
        )
    )
    ok(
        _(
            "Stage: {stage} since {since} (version {version})",
            stage=label(stage.label, stage.id),
            since=row["stage_since"][:10],
            version=row["version"],
        )
    )
    if data["partners"]:
        ok(_("Partners: {partners}", partners=", ".join(data["partners"])))
    stage_names = {s.id: label(s.label, s.id) for s in engine.workflow.stages}
    rows = [
        {
            "group": stage_names.get(s["group"], s["group"]),  # a partner's code stays
            "step": s["step"],
            "label": s["label"],
            "state": _("done") if s["done"] else (_("missing") if s["required"] else _("optional")),
            "evidence": evidence_lines(engine, s["step"], s["evidence"]),
        }
        for s in data["steps"]
    ]
    table(
        _("Steps"),
        [
            ("group", N_("Stage")),
            ("step", N_("Step")),
            ("label", N_("Name")),
            ("state", N_("State")),
            ("evidence", N_("Evidence")),
        ],
        rows,
        optional=("group", "label"),
    )
    nxt = data["next"]
    if nxt["reasons"]:
        event = next(e for e in engine.workflow.events if e.name == nxt["advance_event"])
        ok(
            _(
                "Before {event}: {missing}",
                event=Named(event.name, event.label),
                missing="; ".join(nxt["reasons"]),
            )
        )
    _print_partnerships(data.get("partnerships"))
    from kopflow.cli._history import Names, describe, timeline_sentences

    names = Names(engine)
    said = timeline_sentences(names, data["timeline"])
    events = [
        {
            "seq": e["audit_seq"],
            "at": e["at"].replace("T", " ").removesuffix("Z"),
            "actor": e["actor"],
            "what": sentence,
        }
        for e, sentence in zip(data["timeline"], said, strict=True)
    ]
    first = data.get("registered")
    if first:
        said_first = describe(names, "coop.registered", first["details"])
        events.insert(
            0,
            {
                "seq": first["audit_seq"],
                "at": first["at"].replace("T", " ").removesuffix("Z"),
                "actor": first["actor"],
                "what": said_first,
            },
        )
    table(
        _("Timeline"),
        [
            ("seq", N_("Audit #")),
            ("at", N_("Time (UTC)")),
            ("actor", N_("Actor")),
            ("what", N_("What")),
        ],
        events,
    )


def _print_partnerships(data: dict[str, Any] | None) -> None:
    """The forums a cooperative attended and its leads with partners (issue #16)."""
    if not data or not (data["forums"] or data["leads"]):
        return
    if data["forums"]:
        ok(
            _(
                "Forums attended: {forums}",
                forums="; ".join(f"{f['id']} ({f['starts']})" for f in data["forums"]),
            )
        )
    if data["leads"]:
        from kopflow.cli.lead import state_name

        rows = [{**x, "state": state_name(x["status"])} for x in data["leads"]]
        table(
            _("Partnerships"),
            [
                ("id", N_("Lead")),
                ("partner", N_("Partner")),
                ("commodity", N_("Commodity")),
                ("quantity", N_("Quantity")),
                ("state", N_("State")),
                ("on_date", N_("Date")),
                ("number", N_("Number")),
            ],
            rows,
            optional=("number", "on_date", "quantity"),
        )
