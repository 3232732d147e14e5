"""``kopflow report``: the district report as one self-contained HTML file (or a PDF of it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from kopflow.cli import TranslatedCommand
from kopflow.cli._files import force_option, protected_files
from kopflow.cli._output import ok
from kopflow.cli.coop import as_of_option
from kopflow.i18n import LANGUAGES, N_, _, get_language, set_language

if TYPE_CHECKING:
    from datetime import datetime


def report_language(ctx: click.Context, chosen: str | None) -> str:
    """The report's language: ``--lang`` here or on ``kopflow``, else ``KOPFLOW_LANG``, else id.

    Unlike terminal messages, the system locale (``LANG``) is not asked: the report is a
    document for the Dinas, in Bahasa Indonesia unless English is asked for.
    """
    if chosen:
        return chosen
    if ctx.find_root().get_parameter_source("lang") == ParameterSource.COMMANDLINE:
        return get_language()
    env = os.environ.get("KOPFLOW_LANG", "").split("_")[0].lower()
    return env if env in LANGUAGES else "id"


@click.command(
    "report",
    cls=TranslatedCommand,
    help=N_(
        "Write the report of one kabupaten/kota as a single HTML file that needs no network to "
        "open or print: the stage funnel, each kecamatan, each partner's pipeline, the "
        "cooperatives past their stage's deadline with what they still miss, the workflow "
        "diagram and the audit status. In Bahasa Indonesia unless --lang en. --format pdf "
        "prints it with Chromium if one is installed; else print the HTML from a browser."
    ),
)
@click.option(
    "--region",
    required=True,
    metavar="KABUPATEN",
    help=N_("The kabupaten/kota, e.g. 'Kabupaten Buleleng'."),
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("The file to write."),
)
@force_option
@click.option(
    "--lang", "lang", type=click.Choice(LANGUAGES), help=N_("Language of the report (default: id).")
)
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "pdf"]),
    default="html",
    show_default=True,
    help=N_("html, or pdf (needs Chromium or Google Chrome on this machine)."),
)
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=N_("A signed checkpoint to compare the audit chain with (with --key)."),
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=N_("The public key file that signed --checkpoint."),
)
@click.pass_context
def report_cmd(
    ctx: click.Context,
    region: str,
    out: Path,
    lang: str | None,
    as_of: datetime | None,
    fmt: str,
    checkpoint: Path | None,
    key: Path | None,
    force: bool,
) -> None:
    from kopflow.report.data import build_report
    from kopflow.store.outfile import check_target, write_file

    protected = protected_files(ctx.obj.options)
    # Refused before the report is built, not after minutes of work; checked again on writing.
    check_target(out, force=force, protected=protected)
    set_language(report_language(ctx, lang))
    document = build_report(
        ctx.obj.engine,
        region,
        as_of=as_of.date() if as_of else None,
        checkpoint=checkpoint,
        key=key,
    )
    if fmt == "pdf":
        import tempfile

        from kopflow.report.chromium import print_pdf

        with tempfile.TemporaryDirectory(prefix="kopflow-report-") as folder:
            page = Path(folder) / "report.html"
            page.write_text(document, encoding="utf-8")
            # Chromium writes where it is told, so it prints into the private folder; the
            # PDF then takes its name the way every output does.
            pdf = Path(folder) / "report.pdf"
            print_pdf(page, pdf)
            content = pdf.read_bytes()
    else:
        content = document.encode("utf-8")
    write_file(out, lambda handle: handle.write(content), force=force, protected=protected)
    ok(_("Report written to {path}", path=str(out)))
