"""``kopflow step ...``: record a step's evidence, correct it, or undo it; one or many."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from kopflow.cli import TranslatedGroup
from kopflow.cli._output import (
    bulk_summary,
    json_option,
    progress,
    report_outcome,
    verbose_option,
)
from kopflow.errors import InputError
from kopflow.i18n import N_, _

if TYPE_CHECKING:
    from kopflow.cli import App


@click.group(
    "step", cls=TranslatedGroup, help=N_("Complete, correct or undo a step with its evidence.")
)
def step_group() -> None:
    pass


def _parse_sets(values: tuple[str, ...]) -> dict[str, str]:
    evidence: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError("--set takes field=value, got {item!r}", item=item)
        if name.strip() in evidence:
            # Keeping the last value silently hid typos (issue #12).
            raise InputError(
                "--set {field} is given twice; give each field once "
                "(several choices as one comma-separated list, e.g. units=sembako,apotek)",
                field=name.strip(),
            )
        evidence[name.strip()] = value
    return evidence


@step_group.command(
    "complete",
    help=N_(
        "Record the evidence of STEP for COOP (a partner's step is PARTNER.STEP, e.g. bri.account). "
        "A step already done is corrected as a new version when --reason is given. "
        "With --from-csv, complete many: columns coop and step, then one column per evidence field; "
        "each cooperative's rows are all recorded or all refused."
    ),
)
@click.argument("coop", required=False)
@click.argument("step", required=False)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="FIELD=VALUE",
    help=N_("An evidence field (repeatable)."),
)
@click.option("--reason", help=N_("Why a done step's evidence is being corrected."))
@click.option(
    "--expect-version",
    type=int,
    help=N_("Refuse if the cooperative changed since you saw this version."),
)
@click.option(
    "--from-csv",
    "from_csv",
    type=click.Path(path_type=Path),
    help=N_("Complete the steps listed in a CSV file."),
)
@click.option("--dry-run", is_flag=True, help=N_("Check everything, write nothing."))
@verbose_option
@json_option
@click.pass_obj
def step_complete(
    app: App,
    coop: str | None,
    step: str | None,
    sets: tuple[str, ...],
    reason: str | None,
    expect_version: int | None,
    from_csv: Path | None,
    dry_run: bool,
    verbose: bool,
    as_json: bool,
) -> None:
    engine = app.engine
    if from_csv is not None:
        if coop or step or sets:
            raise InputError("give either COOP STEP --set ... or --from-csv FILE, not both")
        rows, row_numbers = _read_csv(from_csv)
        if not rows:  # an empty run would look like a successful one
            raise InputError("{path} has no rows below its header", path=str(from_csv))
        with progress(len(rows), _("recording"), enabled=not as_json) as advance:
            result = engine.complete_steps_bulk(rows, dry_run=dry_run, progress=advance)
        bulk_summary(
            result,
            as_json=as_json,
            verb=N_("recorded"),
            verbose=verbose or bool(app.options.get("verbose")),
            items=len(rows),
            rows=row_numbers,
        )
        return
    if not coop or not step:
        raise InputError(
            "give COOP and STEP, e.g. kopflow step complete KDMP-050509 musdesus --set date=2025-06-01"
        )
    if dry_run:
        raise InputError("--dry-run goes with --from-csv")
    outcome = engine.complete_step(
        coop, step, _parse_sets(sets), reason=reason, expect_version=expect_version
    )
    report_outcome(outcome, as_json=as_json)


def _read_csv(path: Path) -> tuple[list[tuple[str, str, dict[str, str]]], dict[str, list[int]]]:
    """The rows of a CSV of steps, and each cooperative reference's row numbers as a
    spreadsheet shows them (the header is row 1), for the summary to name (issue #12)."""
    from kopflow.csvfile import CsvRows

    reader = CsvRows(path)  # encoding and csv errors name the file and the row (issue #14)
    names = [n for n in reader.fieldnames if n]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        # csv keeps the last of two columns with one name, silently (issue #12).
        raise InputError(
            "{path}: the column {column} is given twice; give each field once",
            path=str(path),
            column=twice[0],
        )
    if not {"coop", "step"} <= set(reader.fieldnames):
        raise InputError(
            "{path}: the first row must name the columns coop and step, then evidence fields",
            path=str(path),
        )
    rows = []
    numbers: dict[str, list[int]] = {}
    for line, row in reader:
        evidence = {
            k: v for k, v in row.items() if k not in ("coop", "step") and k and v not in (None, "")
        }
        coop = (row["coop"] or "").strip()
        rows.append((coop, (row["step"] or "").strip(), evidence))
        numbers.setdefault(coop, []).append(line)
    return rows, numbers


@step_group.command(
    "undo", help=N_("Mark a step of the current stage as not done; its history is kept.")
)
@click.argument("coop")
@click.argument("step")
@click.option("--reason", required=True, help=N_("Why the step is undone."))
@json_option
@click.pass_obj
def step_undo(app: App, coop: str, step: str, reason: str, as_json: bool) -> None:
    report_outcome(app.engine.undo_step(coop, step, reason=reason), as_json=as_json)
