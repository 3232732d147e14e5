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

KIND_LABELS = {
    "bumn": N_("BUMN"),
    "bumd": N_("BUMD"),
    "bank": N_("bank"),
    "private": N_("private"),
    "government": N_("government"),
}


@click.group(
    "partner",
    cls=TranslatedGroup,
    help=N_("Partners: the directory, onboarding (enroll, steps, status)."),
)
def partner_group() -> None:
    """Partners: the directory, onboarding (enroll, steps, status)."""


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
        "Every partner: those the installed plugins declare (with their onboarding steps) and "
        "those of the partner directory (kopflow partner add, kopflow partner seed), together. "
        "The Source column marks each: plugin, directory, or both."
    ),
)
@json_option
@click.pass_obj
def partner_list(app: App, as_json: bool) -> None:
    """List the partners."""
    _warn_broken(app.plugins)
    rows = app.engine.partner_directory()
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
            "source": _source(r),
            "kind": kind_name(r["kind"]),
        }
        for r in rows
    ]
    columns = [
        ("code", N_("Code")),
        ("name", N_("Partner")),
        ("source", N_("Source")),
        ("kind", N_("Kind")),
        ("office", N_("Office")),
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
        optional=("enroll_requires", "optional_steps", "office", "for_all", "plugin", "kind"),
    )


def kind_name(kind: str | None) -> str:
    """A partner's kind as people read it, in the language in force."""
    msgid = KIND_LABELS.get(kind or "", kind or "")
    return _(msgid) if msgid else ""


def _source(row: dict[str, Any]) -> str:
    if row["plugin"] and row["in_directory"]:
        return _("plugin + directory")
    return _("plugin") if row["plugin"] else _("directory")


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
    waiting = outbox_counts_table(app, partner)  # issue #13: notifications not yet delivered
    if as_json:
        for item in data:
            item["outbox"] = waiting.get(item["partner"], {"pending": 0, "failed": 0})
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
    for code, counts in sorted(waiting.items()):
        ok(
            _(
                "Notifications to {partner}: {pending} pending, {failed} failed "
                "(kopflow partner outbox {partner})",
                partner=code,
                pending=counts["pending"],
                failed=counts["failed"],
            )
        )


def _warn_broken(host: Any) -> None:
    """One line on stderr per plugin that failed to load: its partners are missing."""
    for error in host.errors:
        click.echo(_("Warning") + f": {error}", err=True)


# --- the outbox (issue #13): deliver the notifications partners asked for, list them ----------


@partner_group.command(
    "deliver",
    help=N_(
        "Deliver the notifications waiting for PARTNER (or every partner) to its system, in "
        "the order of the audit log, through its plugin. A failed delivery is retried with "
        "backoff; if it still fails the row is marked failed with the error and that partner's "
        "later rows wait for the next run. Run it again at any time: nothing is lost and each "
        "row carries its audit number as the key against duplicates."
    ),
)
@click.argument("partner", required=False)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    metavar="N",
    help=N_("Tries after the first per row (default: KOPFLOW_DELIVER_RETRIES, else 4)."),
)
@click.option(
    "--backoff",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help=N_(
        "Wait before the first retry, doubled for each next one, at most 60 s "
        "(default: KOPFLOW_DELIVER_BACKOFF, else 1)."
    ),
)
@json_option
@click.pass_obj
def partner_deliver(
    app: App, partner: str | None, retries: int | None, backoff: float | None, as_json: bool
) -> None:
    """Deliver the waiting partner notifications."""
    from kopflow.errors import PluginError

    result = app.engine.deliver(partner, retries=retries, backoff=backoff)
    if as_json:
        emit_json(result.as_dict())
    else:
        delivered = sum(result.delivered.values())
        ok(_("{count} notifications delivered", count=delivered))
    if not result.failed:
        return
    # Always visible (issue #13): one line per partner on stderr, at the end, and exit 6.
    for failure in result.failed:
        waiting = result.waiting.get(failure["partner"], 0)
        click.echo(
            _("Warning")
            + ": "
            + _(
                "notification {key} to {partner} not delivered ({error}); {waiting} more wait "
                "behind it; see 'kopflow partner outbox {partner} --failed'",
                key=failure["key"],
                partner=failure["partner"],
                error=failure["error"],
                waiting=waiting,
            ),
            err=True,
        )
    raise click.exceptions.Exit(PluginError.exit_code)


@partner_group.command(
    "outbox",
    help=N_(
        "The notifications for PARTNER (or every partner) not yet delivered, in the order of "
        "the audit log: key (the audit number), cooperative, what happened, state, attempts "
        "and the last error."
    ),
)
@click.argument("partner", required=False)
@click.option("--failed", is_flag=True, help=N_("Only the notifications whose delivery failed."))
@click.option("--all", "everything", is_flag=True, help=N_("The delivered ones too."))
@json_option
@click.pass_obj
def partner_outbox(
    app: App, partner: str | None, failed: bool, everything: bool, as_json: bool
) -> None:
    """List the outbox."""
    rows = app.engine.outbox(partner, failed=failed, everything=everything)
    if as_json:
        emit_json(rows)
        return
    states = {"pending": _("pending"), "failed": _("failed"), "delivered": _("delivered")}
    shown = [{**r, "state": states.get(r["status"], r["status"])} for r in rows]
    columns = [
        ("key", N_("Key")),
        ("partner", N_("Partner")),
        ("coop", N_("Cooperative")),
        ("action", N_("Change")),
        ("state", N_("State")),
        ("attempts", N_("Attempts")),
        ("created_at", N_("Written")),
        ("error", N_("Last error")),
    ]
    table(_("{count} notifications", count=len(rows)), columns, shown, optional=("error",))


def outbox_counts_table(app: App, partner: str | None) -> dict[str, dict[str, int]]:
    """The pending and failed notifications per partner, as ``partner status`` shows them."""
    counts = app.engine.outbox_counts()
    if partner:
        code = app.engine.partner_code(partner)
        counts = {c: n for c, n in counts.items() if c == code}
    return counts


# --- the partner directory (issue #16): add, seed, cap, show ---------------------------------


@partner_group.command(
    "add",
    help=N_(
        "Add a partner to the directory: a BUMN, BUMD, bank, private buyer or government office, "
        "with or without a plugin (a plugin's partner is linked by the same CODE). "
        "Each --offer is COMMODITY[:UNIT[:CAP]], CAP being the monthly quantity per cooperative."
    ),
)
@click.argument("code")
@click.option("--name", required=True, help=N_("The partner's name, e.g. 'Perum Bulog'."))
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["bumn", "bumd", "bank", "private", "government"]),
    help=N_("What kind of partner it is."),
)
@click.option("--office", help=N_("Its local office, e.g. 'BRI Cabang Singaraja'."))
@click.option("--contact", help=N_("Who to contact there (name, telephone, e-mail)."))
@click.option(
    "--offer",
    "offers",
    multiple=True,
    metavar="COMMODITY[:UNIT[:CAP]]",
    help=N_("A commodity or service it offers, e.g. lpg-3kg:tabung:200 (repeatable)."),
)
@click.pass_obj
def partner_add(
    app: App,
    code: str,
    name: str,
    kind: str,
    office: str | None,
    contact: str | None,
    offers: tuple[str, ...],
) -> None:
    """Add a partner to the directory."""
    from kopflow.engine import PartnerInput, parse_offer

    partner = PartnerInput(
        code=code,
        name=name,
        kind=kind,
        office=office,
        contact=contact,
        offers=tuple(parse_offer(o) for o in offers),
    )
    seq = app.engine.partner_add(partner)
    ok(_("Partner {code} added to the directory (audit #{seq}).", code=code.lower(), seq=seq))


@partner_group.command(
    "seed",
    help=N_(
        "Add the built-in directory's partners that are not there yet: the BUMN, banks and "
        "plugin partners of the district forums kopflow knows (Bulog, Pertamina Patra Niaga, "
        "Pupuk Indonesia, ID Food, Kimia Farma, BRI, Mandiri, BNI, Telkom, Pos, PLN)."
    ),
)
@click.pass_obj
def partner_seed(app: App) -> None:
    """Seed the partner directory."""
    added = app.engine.partner_seed()
    if added:
        ok(_("Added to the directory: {codes}.", codes=", ".join(added)))
    else:
        ok(_("Every built-in partner is in the directory already."))


@partner_group.command(
    "cap",
    help=N_(
        "Set a district's own monthly cap per cooperative for a partner's commodity (e.g. "
        "pertamina lpg-3kg 150); leads over it are refused. Without one, the partner's cap for "
        "every district applies (LPG 3 kg: 200 tabung)."
    ),
)
@click.argument("partner")
@click.argument("commodity")
@click.argument("cap", type=click.IntRange(min=1))
@click.option("--region", metavar="KABUPATEN", required=True, help=N_("The kabupaten/kota."))
@click.pass_obj
def partner_cap(app: App, partner: str, commodity: str, cap: int, region: str) -> None:
    """Set a district's cap."""
    seq = app.engine.partner_cap(partner, commodity, cap, kabupaten=region)
    ok(_("Cap recorded (audit #{seq}).", seq=seq))


@partner_group.command(
    "show",
    help=N_(
        "A partner: its directory entry, offers and caps, and its leads, signed agreements and "
        "enrolled cooperatives by kecamatan."
    ),
)
@click.argument("partner")
@click.option("--region", metavar="KABUPATEN", help=N_("Only this kabupaten/kota."))
@json_option
@click.pass_obj
def partner_show(app: App, partner: str, region: str | None, as_json: bool) -> None:
    """Show a partner and its numbers."""
    data = app.engine.partner_report(partner, kabupaten=region)
    if as_json:
        emit_json(data)
        return
    ok(f"{data['code']}  {data['name']}  ({_source(data)})")
    if data["kind"]:
        kind = kind_name(data["kind"])
        ok(_("Kind: {kind}", kind=kind) + (f"; {data['office']}" if data["office"] else ""))
    if data["contact"]:
        ok(_("Contact: {contact}", contact=data["contact"]))
    if data["offers"]:
        ok(_("Offers: {offers}", offers=", ".join(o["commodity"] for o in data["offers"])))
    for cap in data["caps"]:
        where = cap["kabupaten"] or _("every district")
        ok(
            _(
                "Cap: {cap} {unit} of {commodity} a month per cooperative ({where})",
                cap=cap["cap"],
                unit=cap["unit"],
                commodity=cap["commodity"],
                where=where,
            )
        )
    ok(
        _(
            "Leads: {leads}; agreements signed: {agreements}; enrolled: {enrolled}",
            leads=data["leads"],
            agreements=data["agreements"],
            enrolled=data["enrolled"],
        )
    )
    if data["by_kecamatan"]:
        table(
            _("By kecamatan"),
            [
                ("kecamatan", N_("Kecamatan")),
                ("leads", N_("Leads")),
                ("agreements", N_("Agreements")),
                ("enrolled", N_("Enrolled")),
            ],
            data["by_kecamatan"],
        )
