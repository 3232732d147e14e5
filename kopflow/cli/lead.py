"""``kopflow lead ...``: a cooperative's partnership with a partner, from interest to a signed
agreement (issue #16): add one or many, advance, list.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kopflow.cli import TranslatedGroup
from kopflow.cli._files import force_option, protected_files
from kopflow.cli._output import (
    bulk_summary,
    emit_json,
    json_option,
    ok,
    progress,
    report_outcome,
    table,
    verbose_option,
)
from kopflow.errors import InputError
from kopflow.i18n import N_, _

if TYPE_CHECKING:
    from kopflow.cli import App

STATES = ["interest", "intent", "agreement", "declined", "lapsed"]
STATE_NAMES = {
    "interest": N_("interest"),
    "intent": N_("letter of intent"),
    "agreement": N_("agreement signed"),
    "declined": N_("declined"),
    "lapsed": N_("lapsed"),
}


def state_name(status: str) -> str:
    """A lead's state as people read it, in the language in force."""
    msgid = STATE_NAMES.get(status, status)
    return _(msgid)


SHEET_COLUMNS = {
    "coop": ("coop", "koperasi", "desa", "village"),
    "partner": ("partner", "mitra"),
    "commodity": ("commodity", "komoditas", "service", "layanan"),
    "quantity": ("quantity", "jumlah", "quota", "kuota"),
    "forum": ("forum",),
}


@click.group(
    "lead",
    cls=TranslatedGroup,
    help=N_("Leads with partners: interest, letter of intent, agreement."),
)
def lead_group() -> None:
    """Leads with partners."""


@lead_group.command(
    "add",
    help=N_(
        "Record COOP's interest in a PARTNER's COMMODITY or service (e.g. beras-sphp, "
        "minyak-goreng, lpg-3kg, pupuk-bersubsidi, kur, agenbrilink), with the monthly quantity "
        "and the forum where it was born. A quantity over the partner's cap is refused. "
        "With --from-file, many (CSV or XLSX: columns coop, partner, commodity, quantity, forum); "
        "each cooperative's rows are all recorded or all refused."
    ),
)
@click.argument("coop", required=False)
@click.argument("partner", required=False)
@click.argument("commodity", required=False)
@click.option("--quantity", type=int, help=N_("How much a month, in the partner's unit."))
@click.option("--forum", help=N_("The forum where the interest was shown."))
@click.option(
    "--from-file",
    "sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("A sheet of leads, CSV or XLSX."),
)
@click.option("--dry-run", is_flag=True, help=N_("Check everything, write nothing."))
@verbose_option
@json_option
@click.pass_obj
def lead_add(
    app: App,
    coop: str | None,
    partner: str | None,
    commodity: str | None,
    quantity: int | None,
    forum: str | None,
    sheet: Path | None,
    dry_run: bool,
    verbose: bool,
    as_json: bool,
) -> None:
    """Record a new lead."""
    engine = app.engine
    if sheet is not None:
        if coop or partner or commodity:
            raise InputError("give either COOP PARTNER COMMODITY or --from-file FILE, not both")
        items, rows = _read_leads(sheet, forum)
        with progress(len(items), _("recording"), enabled=not as_json) as advance:
            result = engine.lead_add_bulk(items, dry_run=dry_run, progress=advance)
        bulk_summary(
            result,
            as_json=as_json,
            verb=N_("recorded"),
            verbose=verbose or bool(app.options.get("verbose")),
            items=len(items),
            rows=rows,
        )
        return
    if not (coop and partner and commodity):
        raise InputError(
            "give COOP PARTNER COMMODITY, e.g. kopflow lead add Banjar pertamina lpg-3kg --quantity 150"
        )
    if dry_run:
        raise InputError("--dry-run goes with --from-file")
    outcome = engine.lead_add(coop, partner, commodity, quantity=quantity, forum=forum)
    report_outcome(outcome, as_json=as_json)


def _read_leads(
    path: Path, forum: str | None
) -> tuple[list[tuple[str, str, str, int | None, str | None]], dict[str, list[int]]]:
    from kopflow.report.sheets import read_sheet

    items: list[tuple[str, str, str, int | None, str | None]] = []
    numbers: dict[str, list[int]] = {}
    problems: list[str] = []
    for number, values in read_sheet(path, {k: list(v) for k, v in SHEET_COLUMNS.items()}):
        text = values.get("quantity", "")
        quantity: int | None = None
        if text:
            try:
                quantity = int(float(text))
            except ValueError:
                problems.append(
                    _("row {row}: quantity {value!r} is not a number", row=number, value=text)
                )
                continue
        if not values.get("partner") or not values.get("commodity"):
            problems.append(_("row {row}: a partner and a commodity are needed", row=number))
            continue
        ref = values["coop"]
        numbers.setdefault(ref, []).append(number)
        items.append(
            (ref, values["partner"], values["commodity"], quantity, values.get("forum") or forum)
        )
    if problems:
        raise InputError(
            "{path}: {problems}; nothing was recorded: correct the sheet and run again",
            path=str(path),
            problems="; ".join(problems),
        )
    return items, numbers


@lead_group.command(
    "advance",
    help=N_(
        "Move LEAD to its next STATE: intent (a letter of intent: --number, --date, --document), "
        "agreement (signed: --number and --date required; --term, --document), declined or "
        "lapsed (--reason required). When the partner has a plugin, an agreement offers its "
        "onboarding; --enroll enrols the cooperative at once."
    ),
)
@click.argument("lead")
@click.argument("state", type=click.Choice(STATES[1:]))
@click.option("--number", help=N_("The letter's or agreement's number."))
@click.option("--date", metavar="YYYY-MM-DD", help=N_("The day it was signed."))
@click.option("--term", help=N_("The agreement's term, e.g. '2 tahun' or an end date."))
@click.option("--document", help=N_("Where the signed document is (a path or a reference)."))
@click.option("--reason", help=N_("Why the lead was declined or lapsed."))
@click.option(
    "--enroll", is_flag=True, help=N_("Enrol the cooperative with the partner's onboarding.")
)
@json_option
@click.pass_obj
def lead_advance(
    app: App,
    lead: str,
    state: str,
    number: str | None,
    date: str | None,
    term: str | None,
    document: str | None,
    reason: str | None,
    enroll: bool,
    as_json: bool,
) -> None:
    """Advance a lead."""
    engine = app.engine
    if enroll and state != "agreement":
        raise InputError("--enroll goes with an agreement")
    fields = {"number": number, "date": date, "term": term, "document": document, "reason": reason}
    outcome, partner = engine.lead_advance(lead, state, fields)
    has_plugin = partner in engine.plugins.partners
    offer = state == "agreement" and has_plugin
    if not as_json:
        ok(f"{outcome.coop_id}: {outcome.message}")
    enrolled = None
    if offer and enroll:
        # The engine's own enrolment, a change of its own once the agreement is recorded: the
        # partner's enrolment rules apply (a refusal leaves the agreement signed and says why).
        enrolled = engine.enroll(outcome.coop_id, [partner])
    if as_json:
        emit_json(
            {
                "coop": outcome.coop_id,
                "message": outcome.message,
                "audit_seq": outcome.audit_seq,
                "partner": partner,
                "plugin": has_plugin,
                "enrolled": None
                if enrolled is None
                else {"message": enrolled.message, "audit_seq": enrolled.audit_seq},
            }
        )
    elif enrolled is not None:
        ok(f"{enrolled.coop_id}: {enrolled.message}")
    elif offer:
        ok(
            _(
                "{partner} has onboarding steps in kopflow: enrol the cooperative with "
                "'kopflow partner enroll {coop} {partner}' (or advance with --enroll).",
                partner=partner,
                coop=outcome.coop_id,
            )
        )


@lead_group.command(
    "list",
    help=N_(
        "Leads with their current state, filtered by cooperative, partner, forum, kabupaten or "
        "state. --export writes them as CSV or XLSX."
    ),
)
@click.option("--coop", help=N_("Only this cooperative."))
@click.option("--partner", help=N_("Only this partner."))
@click.option("--forum", help=N_("Only the leads born at this forum."))
@click.option("--region", metavar="KABUPATEN", help=N_("Only this kabupaten/kota."))
@click.option("--state", type=click.Choice(STATES), help=N_("Only leads in this state."))
@click.option(
    "--export",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Also write them to FILE.csv or FILE.xlsx."),
)
@force_option
@json_option
@click.pass_obj
def lead_list(
    app: App,
    coop: str | None,
    partner: str | None,
    forum: str | None,
    region: str | None,
    state: str | None,
    export: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """List leads."""
    leads = app.engine.lead_list(
        coop=coop,
        partner=partner,
        forum=forum.lower() if forum else None,
        kabupaten=region,
        status=state,
    )
    if export is not None:
        from kopflow.report.sheets import write_table

        header = [
            _("Lead"), _("Cooperative"), _("Name"), _("Kecamatan"), _("Kabupaten"), _("Partner"),
            _("Commodity"), _("Quantity"), _("Forum"), _("State"), _("Date"), _("Number"),
        ]  # fmt: skip
        count = write_table(
            export,
            header,
            (
                [
                    x["id"],
                    x["coop_id"],
                    x["name"],
                    x["kecamatan"],
                    x["kabupaten"],
                    x["partner"],
                    x["commodity"],
                    x["quantity"],
                    x["forum_id"],
                    state_name(x["status"]),
                    x["on_date"],
                    x["details"].get("number"),
                ]  # fmt: skip
                for x in leads
            ),
            force=force,
            protected=protected_files(app.options),
        )
        if not as_json:
            ok(_("Written: {path} ({count} rows)", path=str(export), count=count))
    if as_json:
        emit_json(leads)
        return
    lead_rows(_("{count} leads", count=len(leads)), leads)


def lead_rows(title: str, leads: list[dict[str, Any]]) -> None:
    """Leads as a table (``lead list``, ``forum show``)."""
    shown = [
        {**x, "state": state_name(x["status"]), "number": x["details"].get("number")} for x in leads
    ]
    table(
        title,
        [
            ("id", N_("Lead")),
            ("coop_id", N_("Cooperative")),
            ("name", N_("Name")),
            ("partner", N_("Partner")),
            ("commodity", N_("Commodity")),
            ("quantity", N_("Quantity")),
            ("state", N_("State")),
            ("on_date", N_("Date")),
            ("number", N_("Number")),
        ],
        shown,
        optional=("name", "number", "on_date", "quantity"),
    )
