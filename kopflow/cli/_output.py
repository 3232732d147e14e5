"""How commands show results: JSON for scripts, rich tables for people, progress bars.

Every read command renders through here, so ``--json`` means the same everywhere.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from kopflow.i18n import N_, _

json_option = click.option("--json", "as_json", is_flag=True, help=N_("Print JSON for scripts."))


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def table(title: str, columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]) -> None:
    """Print ``rows`` as a table; ``columns`` are (key, header msgid) pairs."""
    if not _on_terminal():
        plain_table(title, columns, rows)
        return
    from rich.console import Console
    from rich.table import Table

    view = Table(title=title, title_justify="left")
    for key, header in columns:
        numeric = bool(rows) and isinstance(rows[0].get(key), int)
        view.add_column(_(header), justify="right" if numeric else "left")
    for row in rows:
        view.add_row(*("" if row.get(k) is None else str(row.get(k)) for k, _h in columns))
    Console(width=max(100, _terminal_width())).print(view)


def _on_terminal() -> bool:
    """Whether stdout is a terminal (a person reading) rather than a pipe or a file."""
    try:
        return sys.stdout.isatty()
    except ValueError:  # closed
        return False


def plain_table(
    title: str, columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]
) -> None:
    """``table`` for a pipe or a file (issue #12): plain text, every value whole.

    The title, then a header line and one line per row, columns padded to their widest value
    and two spaces apart: no frame, no colour, nothing cut to a width, so ``grep``, ``head``
    and ``cut`` see each value as it is.
    """
    headers = [_(header) for _key, header in columns]
    cells = [
        ["" if row.get(k) is None else " ".join(str(row.get(k)).split()) for k, _h in columns]
        for row in rows
    ]
    numeric = [bool(rows) and isinstance(rows[0].get(k), int) for k, _h in columns]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]
    click.echo(title)
    for line in [headers, *cells]:
        padded = (
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(line, widths, numeric, strict=True)
        )
        click.echo("  ".join(padded).rstrip())


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns


@contextmanager
def progress(total: int, label: str, *, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for long runs, only on a terminal (never with --json)."""
    if not enabled or not sys.stderr.isatty() or total < 200:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def bulk_summary(result: Any, *, as_json: bool, verb: str) -> None:
    """Report a bulk command: how many done and refused, and why each refusal happened.

    Exits with status 3 when every cooperative was refused, so scripts notice.
    """
    data = {
        "dry_run": result.dry_run,
        "done": len(result.done),
        "refused": len(result.refused),
        "refusals": [{"coop": o.coop_id, "reason": o.message} for o in result.refused],
    }
    if as_json:
        emit_json(data)
    else:
        _print_summary(result, data, verb)
    if result.refused and not result.done:
        raise SystemExit(3)


def _print_summary(result: Any, data: dict[str, Any], verb: str) -> None:
    prefix = _("dry run, nothing written: ") if result.dry_run else ""
    click.echo(
        prefix
        + _(
            "{verb}: {done} done, {refused} refused",
            verb=_(verb),
            done=data["done"],
            refused=data["refused"],
        )
    )
    for refusal in data["refusals"]:
        click.echo(f"  {refusal['coop']}: {refusal['reason']}")


def report_outcome(result: Any, *, as_json: bool) -> None:
    """Report one change to one cooperative: JSON for scripts, one line for people."""
    if as_json:
        emit_json(
            {
                "coop": result.coop_id,
                "message": result.message,
                "audit_seq": result.audit_seq,
                "stage": result.stage,
            }
        )
    else:
        ok(f"{result.coop_id}: {result.message}")


def ok(message: str) -> None:
    """One line telling the user what was done."""
    click.echo(message)
