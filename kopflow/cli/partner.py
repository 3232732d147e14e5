"""``kopflow partner ...``: enroll cooperatives with partners, list the partners, a cooperative's
partner steps, and where the enrolled cooperatives stand.

Partner steps themselves are completed with ``kopflow step complete COOP bri.account --set ...``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kopflow.cli import TranslatedGroup
from kopflow.cli._output import (
    bulk_summary,
    emit_json,
    json_option,
    ok,
    report_outcome,
    table,
    verbose_option,
)
from kopflow.cli.coop import evidence_lines
from kopflow.errors import InputError
from kopflow.i18n import N_, Named, _, listed

if TYPE_CHECKING:
    from kopflow.cli import App


@click.group("partner", cls=TranslatedGroup, help=N_("Partner onboarding: enroll, steps, status."))
def partner_group() -> None:
    """Partner onboarding: enroll, steps, status."""


@partner_group.command(
    "enroll",
    help=N_(
        "Enroll COOP with one or more partners (e.g. bri pos). Their required steps must then be "
        "done before the cooperative can start operating. Enrolling again changes nothing. A "
        "partner may enroll only from a stage on, and only once some steps are done: see "
        "'kopflow partner list'. With --from-file or --region, enroll many cooperatives with "
        "the partners named; each is enrolled whole or not at all, and refusals are listed "
        "grouped by reason."
    ),
)
@click.argument("names", nargs=-1, required=True, metavar="[COOP] PARTNER...")
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(path_type=Path, allow_dash=True),
    help=N_(
        "Enroll the cooperatives listed in a file, one id or village name a line ('-': stdin)."
    ),
)
@click.option(
    "--region", metavar="KABUPATEN", help=N_("Enroll every cooperative of this kabupaten/kota.")
)
@click.option("--kecamatan", help=N_("Enroll every cooperative of this kecamatan."))
@click.option("--dry-run", is_flag=True, help=N_("Check everything, write nothing."))
@verbose_option
@json_option
@click.pass_obj
def partner_enroll(
    app: App,
    names: tuple[str, ...],
    from_file: Path | None,
    region: str | None,
    kecamatan: str | None,
    dry_run: bool,
    verbose: bool,
    as_json: bool,
) -> None:
    """Enroll a cooperative, or many, with partners."""
    engine = app.engine
    if from_file is not None or region or kecamatan:
        if from_file is not None and (region or kecamatan):
            raise InputError("give either --from-file FILE or --region/--kecamatan, not both")
        partners = list(names)
        if from_file is not None:
            coops = _read_refs(from_file)
            result = engine.enroll_bulk(coops, partners, dry_run=dry_run)
        else:
            result = engine.enroll_area(
                partners, kabupaten=region, kecamatan=kecamatan, dry_run=dry_run
            )
        bulk_summary(
            result,
            as_json=as_json,
            verb=N_("enrolled"),
            verbose=verbose or bool(app.options.get("verbose")),
        )
        return
    if len(names) < 2:
        raise InputError(
            "give COOP and one or more partners, e.g. kopflow partner enroll KDMP-050509 bri pos"
        )
    if verbose:
        raise InputError("--verbose goes with --from-file or --region")
    outcome = engine.enroll(names[0], list(names[1:]), dry_run=dry_run)
    if as_json:
        emit_json(
            {
                "coop": outcome.coop_id,
                "message": outcome.message,
                "audit_seq": None if dry_run else outcome.audit_seq,
                "stage": outcome.stage,
                "dry_run": dry_run,
            }
        )
        return
    if dry_run:
        ok(_("Dry run: nothing was written. A real run would give:"))
    report_outcome(outcome, as_json=False)


def _read_refs(path: Path) -> list[str]:
    """The cooperatives a file names, one id or village name a line; blank lines and lines
    starting with ``#`` are skipped."""
    try:
        if str(path) == "-":
            text = sys.stdin.read()
        else:
            text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        error = err.strerror if isinstance(err, OSError) else str(err)
        raise InputError("cannot read {path}: {error}", path=str(path), error=error) from None
    refs = [line.strip() for line in text.splitlines()]
    refs = [ref for ref in refs if ref and not ref.startswith("#")]
    if not refs:  # an empty run would look like a successful one
        raise InputError("{path} names no cooperative", path=str(path))
    return refs


@partner_group.command(
    "list",
    help=N_(
        "Every partner the installed plugins declare: code, name, plugin, and how many required "
        "and optional steps it has."
    ),
)
@json_option
@click.pass_obj
def partner_list(app: App, as_json: bool) -> None:
    """List the partners."""
    _warn_broken(app.plugins)
    rows = app.engine.partner_rows()
    if as_json:
        emit_json(rows)
        return
    wf = app.engine.workflow
    stages = {s.id: s.label for s in wf.stages}
    steps = {st.id: st.label for s in wf.stages for st in s.steps}
    shown = [
        {
            **r,
            "for_all": _("yes") if r["required_for_every_coop"] else "",
            # The enrolment rules as an officer reads them: labels, the ids in brackets.
            "enroll_from": format(Named(r["enroll_from"], stages.get(r["enroll_from"])))
            if r["enroll_from"]
            else "",
            "enroll_requires": listed([Named(k, steps.get(k)) for k in r["enroll_requires"]]),
        }
        for r in rows
    ]
    columns = [
        ("code", N_("Code")),
        ("name", N_("Partner")),
        ("plugin", N_("Plugin")),
        ("required_steps", N_("Required steps")),
        ("optional_steps", N_("Optional steps")),
        ("for_all", N_("Every cooperative")),
        ("enroll_from", N_("Enrolls from stage")),
        ("enroll_requires", N_("Needs before enrolment")),
    ]
    table(
        _("{count} partners", count=len(rows)),
        columns,
        shown,
        optional=("enroll_requires", "plugin"),
    )


@partner_group.command(
    "steps",
    help=N_(
        "The steps of PARTNER for COOP in order: done, missing (required) or optional, which "
        "can be done now, and the evidence recorded."
    ),
)
@click.argument("coop")
@click.argument("partner")
@json_option
@click.pass_obj
def partner_steps(app: App, coop: str, partner: str, as_json: bool) -> None:
    """Show one cooperative's steps with one partner."""
    data = app.engine.partner_steps(coop, partner)
    if as_json:
        emit_json(data)
        return
    states = {"done": _("done"), "missing": _("missing"), "optional": _("optional")}
    rows = [
        {
            **s,
            "state": states[s["status"]],
            "now": _("yes") if s["ready"] else "",
            "after": ", ".join(s["after"]),
            "evidence": evidence_lines(app.engine, s["step"], s["evidence"]),
        }
        for s in data["steps"]
    ]
    title = _("{coop} with {partner}", coop=data["coop"], partner=data["partner"])
    columns = [
        ("order", N_("#")),
        ("step", N_("Step")),
        ("label", N_("Name")),
        ("state", N_("State")),
        ("after", N_("After")),
        ("now", N_("Can be done now")),
        ("evidence", N_("Evidence")),
    ]
    table(title, columns, rows, optional=("after", "label", "order"))
    if not data["enrolled"]:
        ok(
            _(
                "{coop} is not enrolled with {partner}: kopflow partner enroll {coop} {partner}",
                coop=data["coop"],
                partner=data["partner"],
            )
        )
    elif data["complete"]:
        ok(_("Every required step of {partner} is done.", partner=data["partner"]))


@partner_group.command(
    "status",
    help=N_(
        "How many enrolled cooperatives stand at each step of a partner (or of every partner). "
        "A cooperative stands at the first required step, in the partner's order, that is not "
        "done, or at 'complete'; 'Done' counts those that have done each step, optional ones too."
    ),
)
@click.option("--partner", metavar="CODE", help=N_("Only this partner."))
@click.option("--region", metavar="KABUPATEN", help=N_("Only this kabupaten/kota."))
@json_option
@click.pass_obj
def partner_status_cmd(app: App, partner: str | None, region: str | None, as_json: bool) -> None:
    """Count enrolled cooperatives per partner step."""
    from kopflow.engine import PARTNER_COMPLETE

    data = app.engine.partner_status(partner=partner, kabupaten=region)
    if as_json:
        emit_json(data)
        return
    rows: list[dict[str, Any]] = []
    for item in data:
        for step in item["steps"]:
            required = _("required") if step["required"] else _("optional")
            rows.append({**step, "partner": item["partner"], "required": required})
        rows.append(
            {
                "partner": item["partner"],
                "step": PARTNER_COMPLETE,
                "label": _("every required step done"),
                "at": item["complete"],
                "done": None,
            }
        )
    columns = [
        ("partner", N_("Partner")),
        ("order", N_("#")),
        ("step", N_("Step")),
        ("label", N_("Name")),
        ("required", N_("Required")),
        ("at", N_("Standing here")),
        ("done", N_("Done")),
    ]
    title = _("Enrolled cooperatives per partner step")
    table(title + (f" — {region}" if region else ""), columns, rows, optional=("label",))


def _warn_broken(host: Any) -> None:
    """One line on stderr per plugin that failed to load: its partners are missing."""
    for error in host.errors:
        click.echo(_("Warning") + f": {error}", err=True)
