"""``kopflow forum ...``: partnership forums (rakor, business matching, kontak bisnis,
socialisation, seminar): create one, invite partners, record attendance one by one, for a
kabupaten or kecamatan at once or from the attendance sheet, show and list (issue #16).
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
    table,
    verbose_option,
)
from kopflow.errors import InputError
from kopflow.i18n import N_, _

if TYPE_CHECKING:
    from kopflow.cli import App

KIND_CHOICES = ["rakor", "business-matching", "kontak-bisnis", "socialisation", "seminar"]
ROLE_CHOICES = ["ketua", "pengurus", "pengawas", "manajer"]
# The headers an attendance sheet may use for each column (the first is the documented one).
SHEET_COLUMNS = {
    "coop": ("coop", "koperasi", "desa", "village", "desa/kelurahan"),
    "name": ("name", "nama", "representative", "perwakilan"),
    "role": ("role", "jabatan"),
    "kecamatan": ("kecamatan", "kec", "kec."),
}


@click.group(
    "forum",
    cls=TranslatedGroup,
    help=N_("Partnership forums: create, invite, attendance, show, list."),
)
def forum_group() -> None:
    """Partnership forums."""


@forum_group.command(
    "create",
    help=N_(
        "Record a forum a district office held: CODE (e.g. rakor-buleleng-2025), its name, kind, "
        "date (or first and last day), place, organising office and kabupaten, and the partners "
        "invited."
    ),
)
@click.argument("code")
@click.option("--name", required=True, help=N_("The forum's name as the invitation gives it."))
@click.option(
    "--kind", required=True, type=click.Choice(KIND_CHOICES), help=N_("What kind of forum.")
)
@click.option("--date", "starts", required=True, metavar="YYYY-MM-DD", help=N_("Its (first) day."))
@click.option(
    "--until", "ends", metavar="YYYY-MM-DD", help=N_("Its last day, if it lasted several.")
)
@click.option(
    "--region", metavar="KABUPATEN", required=True, help=N_("The kabupaten/kota that held it.")
)
@click.option("--place", help=N_("Where it was held."))
@click.option("--office", help=N_("The organising office."))
@click.option(
    "--invite",
    multiple=True,
    metavar="PARTNER",
    help=N_("A partner invited (repeatable)."),
)
@click.pass_obj
def forum_create(
    app: App,
    code: str,
    name: str,
    kind: str,
    starts: str,
    ends: str | None,
    region: str,
    place: str | None,
    office: str | None,
    invite: tuple[str, ...],
) -> None:
    """Record a forum."""
    from kopflow.engine import ForumInput

    forum = ForumInput(
        code=code,
        name=name,
        kind=kind,
        starts=starts,
        ends=ends,
        kabupaten=region,
        place=place,
        office=office,
    )
    seq = app.engine.forum_create(forum, invite=invite)
    ok(_("Forum {code} recorded (audit #{seq}).", code=code.lower(), seq=seq))


@forum_group.command(
    "invite",
    help=N_(
        "Record partners invited to FORUM, or with --present the partners who came. "
        "A partner already recorded is left as it is."
    ),
)
@click.argument("forum")
@click.argument("partners", nargs=-1, required=True)
@click.option("--present", is_flag=True, help=N_("The partners were present, not only invited."))
@click.pass_obj
def forum_invite(app: App, forum: str, partners: tuple[str, ...], present: bool) -> None:
    """Record partners invited or present."""
    seq = app.engine.forum_partners(forum, partners, present=present)
    if seq:
        ok(_("Recorded (audit #{seq}).", seq=seq))
    else:
        ok(_("Nothing new: every partner named is recorded already."))


@forum_group.command(
    "attend",
    help=N_(
        "Record the cooperatives that attended FORUM: one (COOP with --rep-name and --rep-role), "
        "every cooperative of the forum's kabupaten (--all) or of one kecamatan (--kecamatan), "
        "or those of the attendance sheet (--from-file, CSV or XLSX: columns coop, name, role). "
        "A sheet row naming no cooperative refuses the whole sheet, naming its row. "
        "Try it first with --dry-run."
    ),
)
@click.argument("forum")
@click.argument("coop", required=False)
@click.option("--rep-name", help=N_("Who represented the cooperative."))
@click.option("--rep-role", type=click.Choice(ROLE_CHOICES), help=N_("Their role in it."))
@click.option(
    "--all", "everyone", is_flag=True, help=N_("Every cooperative of the forum's kabupaten.")
)
@click.option("--kecamatan", help=N_("Every cooperative of this kecamatan."))
@click.option(
    "--from-file",
    "sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("The attendance sheet, CSV or XLSX."),
)
@click.option("--dry-run", is_flag=True, help=N_("Check everything, write nothing."))
@verbose_option
@json_option
@click.pass_obj
def forum_attend(
    app: App,
    forum: str,
    coop: str | None,
    rep_name: str | None,
    rep_role: str | None,
    everyone: bool,
    kecamatan: str | None,
    sheet: Path | None,
    dry_run: bool,
    verbose: bool,
    as_json: bool,
) -> None:
    """Record attendance."""
    engine = app.engine
    chosen = [x for x in (coop, everyone or None, kecamatan, sheet) if x]
    if len(chosen) != 1:
        raise InputError("give exactly one of COOP, --all, --kecamatan or --from-file")
    rows: dict[str, list[int]] | None = None
    if sheet is not None:
        items, rows = _read_attendance(app, forum, sheet)
    elif coop:
        items = [(coop, rep_name, rep_role)]
    else:
        items = [(i, None, None) for i in engine.forum_area(forum, kecamatan=kecamatan)]
        if not items:
            raise InputError("no cooperative to record: the forum's area has none registered")
    with progress(len(items), _("recording"), enabled=not as_json) as advance:
        result = engine.forum_attend(forum, items, dry_run=dry_run, progress=advance)
    bulk_summary(
        result,
        as_json=as_json,
        verb=N_("recorded"),
        verbose=verbose or bool(app.options.get("verbose")),
        rows=rows,
    )


def _read_attendance(
    app: App, forum: str, path: Path
) -> tuple[list[tuple[str, str | None, str | None]], dict[str, list[int]]]:
    """The sheet's attendees by cooperative id, and each id's row numbers; refuses the whole
    sheet, before anything is written, when a row names no cooperative (or several: a
    kecamatan column tells villages of one name apart) or an unknown role."""
    from kopflow.report.sheets import read_sheet

    sheet = read_sheet(path, {k: list(v) for k, v in SHEET_COLUMNS.items()})
    wanted: list[tuple[int, tuple[str, str | None], str | None, str | None]] = []
    problems: list[str] = []
    for number, values in sheet:
        ref = values.get("coop", "")
        role = values.get("role") or None
        if not ref:
            problems.append(_("row {row}: no cooperative or village named", row=number))
            continue
        if role is not None and role.lower() not in ROLE_CHOICES:
            problems.append(
                _(
                    "row {row}: unknown role {role!r} (roles: {roles})",
                    row=number,
                    role=role,
                    roles=", ".join(ROLE_CHOICES),
                )
            )
            continue
        key = (ref, values.get("kecamatan") or None)
        wanted.append((number, key, values.get("name") or None, role.lower() if role else None))
    found = app.engine.forum_sheet_refs(forum, list(dict.fromkeys(w[1] for w in wanted)))
    numbers: dict[str, list[int]] = {}
    items: list[tuple[str, str | None, str | None]] = []
    for number, key, name, role in wanted:
        coop = found[key]
        if not isinstance(coop, str):
            problems.append(_("row {row}: {error}", row=number, error=str(coop)))
            continue
        numbers.setdefault(coop, []).append(number)
        items.append((coop, name, role))
    if problems:
        problems.sort(key=_row_number)
        raise InputError(
            "{path}: {problems}; nothing was recorded: correct the sheet and run again",
            path=str(path),
            problems="; ".join(problems),
        )
    return items, numbers


def _row_number(problem: str) -> int:
    digits = "".join(c for c in problem.split(":", 1)[0] if c.isdigit())
    return int(digits or 0)


@forum_group.command(
    "show",
    help=N_(
        "A forum: its partners invited and present, attendance and its rate among the kabupaten's "
        "cooperatives, the leads born there and the agreements signed within 30, 60 and 90 days. "
        "--export writes its attendance and leads as CSV or XLSX."
    ),
)
@click.argument("forum")
@click.option(
    "--export",
    "export",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Also write the attendance and leads to FILE.csv or FILE.xlsx."),
)
@force_option
@json_option
@click.pass_obj
def forum_show(app: App, forum: str, export: Path | None, force: bool, as_json: bool) -> None:
    """Show a forum."""
    data = app.engine.forum_report(forum)
    if export is not None:
        count = _export(data, export, force=force, protected=protected_files(app.options))
        if not as_json:
            ok(_("Written: {path} ({count} rows)", path=str(export), count=count))
    if as_json:
        emit_json(data)
        return
    f = data["forum"]
    days = f["starts"] if f["starts"] == f["ends"] else f"{f['starts']} – {f['ends']}"
    ok(f"{f['id']}  {f['name']}")
    ok(
        _(
            "{kind}, {days}, {place}; {kabupaten}",
            kind=f["kind"],
            days=days,
            place=f["place"] or "-",
            kabupaten=f["kabupaten"],
        )
    )
    ok(_("Partners invited: {partners}", partners=", ".join(data["partners_invited"]) or "-"))
    ok(_("Partners present: {partners}", partners=", ".join(data["partners_present"]) or "-"))
    ok(
        _(
            "Attended: {attended} of the {region} cooperatives of {kabupaten} ({rate:.0%})",
            attended=data["attended"],
            region=data["region_coops"],
            kabupaten=f["kabupaten"],
            rate=data["attendance_rate"],
        )
    )
    within = data["agreements_within"]
    ok(
        _(
            "Leads born here: {leads} (cooperatives: {coops}); agreements signed: {agreements} "
            "(within 30 days: {d30}, 60 days: {d60}, 90 days: {d90})",
            leads=data["leads"],
            coops=data["lead_coops"],
            agreements=data["agreements"],
            d30=within["30"],
            d60=within["60"],
            d90=within["90"],
        )
    )
    if data["lead_rows"]:
        _lead_table(_("Leads"), data["lead_rows"])


def _lead_table(title: str, leads: list[dict[str, Any]]) -> None:
    from kopflow.cli.lead import lead_rows

    lead_rows(title, leads)


def _export(data: dict[str, Any], path: Path, *, force: bool, protected: list[Path]) -> int:
    """The forum's attendance, one row per cooperative, with its leads' counts and states."""
    from kopflow.report.sheets import write_table

    leads: dict[str, list[dict[str, Any]]] = {}
    for lead in data["lead_rows"]:
        leads.setdefault(lead["coop_id"], []).append(lead)
    header = [
        _("Forum"), _("Cooperative"), _("Name"), _("Kecamatan"), _("Representative"), _("Role"),
        _("Leads"), _("Agreements"), _("Partners"),
    ]  # fmt: skip
    rows = []
    attended = {a["coop_id"] for a in data["attendees"]}
    for a in data["attendees"]:
        mine = leads.get(a["coop_id"], [])
        rows.append(
            [
                data["forum"]["id"],
                a["coop_id"],
                a["name"],
                a["kecamatan"],
                a["rep_name"],
                a["rep_role"],
                len(mine),
                sum(1 for x in mine if x["status"] == "agreement"),
                ", ".join(sorted({x["partner"] for x in mine})),
            ]  # fmt: skip
        )
    for coop_id, mine in leads.items():  # leads of cooperatives not on the attendance list
        if coop_id not in attended:
            first = mine[0]
            rows.append(
                [
                    data["forum"]["id"],
                    coop_id,
                    first["name"],
                    first["kecamatan"],
                    None,
                    None,
                    len(mine),
                    sum(1 for x in mine if x["status"] == "agreement"),
                    ", ".join(sorted({x["partner"] for x in mine})),
                ]  # fmt: skip
            )
    return write_table(path, header, rows, force=force, protected=protected)


@forum_group.command(
    "list", help=N_("The forums, newest first, with attendance and leads counted.")
)
@click.option("--region", metavar="KABUPATEN", help=N_("Only this kabupaten/kota."))
@json_option
@click.pass_obj
def forum_list(app: App, region: str | None, as_json: bool) -> None:
    """List forums."""
    rows = app.engine.forum_list(kabupaten=region)
    if as_json:
        emit_json(rows)
        return
    table(
        _("{count} forums", count=len(rows)),
        [
            ("id", N_("Forum")),
            ("name", N_("Name")),
            ("kind", N_("Kind")),
            ("starts", N_("Date")),
            ("kabupaten", N_("Kabupaten")),
            ("attended", N_("Attended")),
            ("leads", N_("Leads")),
        ],
        rows,
        optional=("kind", "kabupaten"),
    )
