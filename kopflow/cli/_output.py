"""How commands show results: JSON for scripts, rich tables for people, progress bars.

Every read command renders through here, so ``--json`` means the same everywhere.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import click

from kopflow.i18n import N_, _
from kopflow.text import escape

# Output and stored text (issue #14): everything shown on a terminal passes ``escape``, so a
# control character in a database written before input refused them (ESC sequences that retitle
# the window or clear the screen, bidi overrides that reorder a line) shows as ``\x1b``.

json_option = click.option("--json", "as_json", is_flag=True, help=N_("Print JSON for scripts."))


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout.

    JSON escapes C0 controls itself; C1 controls and bidi overrides are written as ``\\uXXXX``
    escapes too, which any JSON reader turns back into the same text.
    """
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    click.echo(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def table(
    title: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[dict[str, Any]],
    *,
    optional: Sequence[str] = (),
) -> None:
    """Print ``rows`` as a table; ``columns`` are (key, header msgid) pairs.

    ``optional`` names the keys of low-value columns, dropped in that order on a terminal too
    narrow for them (never into a pipe).

    On a terminal the table fits its width (issue #12): columns wrap between words, never
    inside one, so no id, step name or evidence value is cut; when even that is too wide each
    row is stacked as ``header: value`` lines. Into a pipe or a file the output is plain text,
    padded columns as :func:`plain_table` writes them, never cut.
    """
    if not _on_terminal():
        # values as people read them; a cell of several lines (evidence) on one line
        flat = [{k: "; ".join(human(row.get(k)).splitlines()) for k, _h in columns} for row in rows]
        plain_table(title, columns, flat)
        return
    # rich only when a table is drawn (issue #15): ~35 ms of CPU a pipe or a file never uses.
    from rich.console import Console

    headers = [_(header) for _key, header in columns]
    cells = [[human(row.get(k)) for k, _h in columns] for row in rows]
    console = Console(highlight=False)
    widths = _fit(console.width, headers, cells)
    shown = list(range(len(columns)))
    for key in optional:
        if widths is not None:
            break
        shown = [i for i in shown if columns[i][0] != key]
        widths = _fit(
            console.width, [headers[i] for i in shown], [[c[i] for i in shown] for c in cells]
        )
    if widths is None:
        _stacked(console, title, headers, cells)
        return
    columns = [columns[i] for i in shown]
    headers = [headers[i] for i in shown]
    cells = [[line[i] for i in shown] for line in cells]
    from rich import box
    from rich.table import Table
    from rich.text import Text

    view = Table(
        title=Text(escape(title)),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for index, header in enumerate(headers):
        numeric = bool(rows) and isinstance(rows[0].get(columns[index][0]), int)
        view.add_column(
            Text(header),
            justify="right" if numeric else "left",
            width=widths[index],
            overflow="fold",
        )
    for line in cells:
        view.add_row(*(Text(cell) for cell in line))
    console.print(view)


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
        [
            "" if row.get(k) is None else escape(" ".join(str(row.get(k)).split()))
            for k, _h in columns
        ]
        for row in rows
    ]
    numeric = [bool(rows) and isinstance(rows[0].get(k), int) for k, _h in columns]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]
    click.echo(escape(title))
    for line in [headers, *cells]:
        padded = (
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(line, widths, numeric, strict=True)
        )
        click.echo("  ".join(padded).rstrip())


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns


def human(value: Any, kind: str | None = None) -> str:
    """A value as people read it (issue #12): ``ya``/``tidak`` for a boolean, a list as
    ``sembako, klinik``, a rupiah amount (``kind="rupiah"``) as ``Rp 100.000``; nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(human(v) for v in value)
    if kind == "rupiah" and isinstance(value, int):
        return ("-" if value < 0 else "") + "Rp " + f"{abs(value):,}".replace(",", ".")
    return escape(str(value))


def _fit(width: int, headers: list[str], cells: list[list[str]]) -> list[int] | None:
    """Column widths that fit ``width`` with no word broken, or ``None`` when none do.

    Each column gets at least its longest word (a value without spaces is one word: ids, step
    names, dates) and the room left goes to the columns whose text is longest.
    """
    from rich.cells import cell_len

    frame = 3 * len(headers) - 3  # between two columns: a space, a rule, a space
    lows, highs = [], []
    for index, header in enumerate(headers):
        texts = [header, *(line[index] for line in cells)]
        lows.append(max((cell_len(w) for t in texts for w in t.split()), default=1))
        highs.append(max((cell_len(line) for t in texts for line in t.splitlines()), default=1))
    if sum(highs) + frame <= width:
        return highs
    if sum(lows) + frame > width:
        return None
    widths = list(lows)
    room = width - frame - sum(lows)
    while room > 0:
        wanting = [i for i in range(len(widths)) if widths[i] < highs[i]]
        if not wanting:
            break
        widest = max(wanting, key=lambda i: highs[i] - widths[i])
        widths[widest] += 1
        room -= 1
    return widths


def say(text: str) -> None:
    """One sentence for people: wrapped between words to a terminal's width, as is elsewhere."""
    import textwrap

    text = escape(text)
    if not _on_terminal():
        click.echo(text)
        return
    width = _terminal_width()
    for line in text.splitlines() or [""]:
        wrapped = textwrap.wrap(
            line,
            width=width,
            subsequent_indent="  ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        click.echo("\n".join(wrapped))


def _stacked(console: Any, title: str, headers: list[str], cells: list[list[str]]) -> None:
    """Each row as ``header: value`` lines, wrapped between words, a blank line between rows."""
    import textwrap

    from rich.cells import cell_len

    click.echo(escape(title))
    pad = max((cell_len(h) for h in headers), default=0)
    for line in cells:
        click.echo("")
        for header, cell in zip(headers, line, strict=True):
            lead = f"{header}:".ljust(pad + 2)
            wrapped = [
                part
                for text in cell.splitlines() or [""]
                for part in textwrap.wrap(
                    text,
                    width=max(console.width - len(lead), 20),
                    break_long_words=False,
                    break_on_hyphens=False,
                )
                or [""]
            ]
            click.echo((lead + wrapped[0]).rstrip())
            for more in wrapped[1:]:
                click.echo(" " * len(lead) + more)


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


verbose_option = click.option(
    "--verbose",
    is_flag=True,
    help=N_("List every refused cooperative, not only the first few of each reason."),
)

# How many cooperatives a summary names per reason without --verbose.
FIRST_FEW = 5


def bulk_summary(
    result: Any,
    *,
    as_json: bool,
    verb: str,
    verbose: bool = False,
    items: int | None = None,
    rows: Mapping[str, Sequence[int]] | None = None,
) -> None:
    """Report a bulk command for a reader (issue #12): counts of cooperatives (and of steps,
    when ``items`` counts them), then the refusals grouped by reason, each with its count
    and its first cooperatives; every cooperative with ``verbose`` and in JSON.

    Args:
        result: the engine's ``BulkResult``.
        verb: msgid of what was done to a cooperative ("advanced", "recorded").
        items: how many items (steps, rows) the command was given, when they are not one per
            cooperative; ``result.done`` then holds one outcome per item.
        rows: a CSV's row numbers per cooperative reference, for refusals to name them.

    Exits with status 3 when every cooperative was refused (5 when each for permission) and
    ``EXIT_PARTIAL`` (8) when some were, so scripts notice; a dry run exits as the real run
    would.
    """
    from kopflow.errors import EXIT_PARTIAL

    coops_done = len({o.coop_id for o in result.done})
    groups: dict[str, list[Any]] = {}
    for outcome in result.refused:
        key = outcome.why.reason if outcome.why is not None else outcome.message
        groups.setdefault(key, []).append(outcome)
    ordered = sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))
    data: dict[str, Any] = {
        "dry_run": result.dry_run,
        # Outcomes: items done (one per step of a CSV), cooperatives refused. Kept as they
        # were for scripts; "cooperatives" and "steps" below say each apart.
        "done": len(result.done),
        "refused": len(result.refused),
        "cooperatives": {"done": coops_done, "refused": len(result.refused)},
        "refusals": [_refusal(o, rows) for o in result.refused],
        "reasons": [
            {"reason": reason, "count": len(group), "coops": [o.coop_id for o in group]}
            for reason, group in ordered
        ],
    }
    if items is not None:
        data["steps"] = {"done": len(result.done), "refused": items - len(result.done)}
    if as_json:
        emit_json(data)
    else:
        _print_summary(result, data, ordered, verb=verb, verbose=verbose, rows=rows)
    if result.refused:
        raise SystemExit(EXIT_PARTIAL if result.done else _all_refused_code(result.refused))


def _all_refused_code(refused: Sequence[Any]) -> int:
    """3 when every cooperative was refused; 5 when every one was refused for permission, as
    the same refusal of one cooperative exits (issue #14)."""
    from kopflow.errors import PermissionDeniedError, RefusedError

    denied = PermissionDeniedError.exit_code
    if all(o.why is not None and o.why.exit_code == denied for o in refused):
        return denied
    return RefusedError.exit_code


def _rows_of(outcome: Any, rows: Mapping[str, Sequence[int]] | None) -> list[int]:
    if rows is None:
        return []
    found: set[int] = set()
    refs = outcome.why.refs if outcome.why is not None else ()
    for ref in refs or (outcome.coop_id,):
        found.update(rows.get(ref, ()))
    return sorted(found)


def _refusal(outcome: Any, rows: Mapping[str, Sequence[int]] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"coop": outcome.coop_id, "reason": outcome.message}
    if rows is not None:
        entry["rows"] = _rows_of(outcome, rows)
    if outcome.why is not None and outcome.why.item is not None:
        entry["step"] = outcome.why.item
    return entry


def _print_summary(
    result: Any,
    data: dict[str, Any],
    groups: list[tuple[str, list[Any]]],
    *,
    verb: str,
    verbose: bool,
    rows: Mapping[str, Sequence[int]] | None,
) -> None:
    if result.dry_run:
        click.echo(_("Dry run: nothing was written. A real run would give:"))
    counts = data["cooperatives"]
    line = _(
        "Cooperatives: {done} {verb}, {refused} refused.",
        done=counts["done"],
        verb=_(verb),
        refused=counts["refused"],
    )
    if "steps" in data:
        line += " " + _(
            "Steps: {done} recorded, {refused} not recorded.",
            done=data["steps"]["done"],
            refused=data["steps"]["refused"],
        )
    click.echo(line)
    if not groups:
        return
    if rows is not None:
        click.echo(
            _("Refused, by reason (rows of the CSV file; a cooperative's rows go in together):")
        )
    else:
        click.echo(_("Refused, by reason:"))
    cut = False
    for reason, group in groups:
        head = f"  {len(group)} × "
        _echo_wrapped(reason, head, " " * len(head))
        named = [_named(o, rows) for o in (group if verbose else group[:FIRST_FEW])]
        if verbose:
            for name in named:
                click.echo(f"      {name}")
            continue
        more = len(group) - len(named)
        tail = _(" and {count} more", count=more) if more else ""
        cut = cut or bool(more)
        _echo_wrapped(", ".join(named) + tail, "      ", "      ")
    if cut:
        click.echo(_("Every refused cooperative: add --verbose, or --json."))


def _echo_wrapped(text: str, first: str, rest: str) -> None:
    """One line into a pipe (grep sees a reason whole); wrapped at words on a terminal."""
    text = escape(text)
    if not _on_terminal():
        click.echo(first + text)
        return
    import textwrap

    width = max(40, _terminal_width())
    click.echo(
        textwrap.fill(
            text,
            width,
            initial_indent=first,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


def _named(outcome: Any, rows: Mapping[str, Sequence[int]] | None) -> str:
    found = _rows_of(outcome, rows)
    if not found:
        return str(outcome.coop_id)
    msgid = N_("{coop} (row {rows})") if len(found) == 1 else N_("{coop} (rows {rows})")
    return _(msgid, coop=outcome.coop_id, rows=", ".join(map(str, found)))


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
    """One line telling the user what was done (wrapped on a narrow terminal)."""
    say(message)
