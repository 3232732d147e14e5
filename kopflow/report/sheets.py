"""Spreadsheets in and out for partnership work (issue #16): reading an attendance or lead
sheet (CSV or XLSX) with each row's number as the spreadsheet shows it, and writing a table as
CSV or XLSX an office can hand to the province, formula-safe like the audit exports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from kopflow.audit.export import safe_text
from kopflow.errors import InputError

# A sheet's rows: (row number, {column: text}), the header being row 1.
Rows = list[tuple[int, dict[str, str]]]


def read_sheet(path: Path, aliases: dict[str, Sequence[str]]) -> Rows:
    """The rows of a CSV or XLSX sheet, its columns named by ``aliases`` (the name kopflow uses
    -> the headers accepted for it, any case); blank rows are skipped.

    Raises:
        InputError: an unreadable file, or a header without a column kopflow needs (the first
            alias of each is required).
    """
    suffix = path.suffix.lower()
    try:
        raw = _read_xlsx(path) if suffix in (".xlsx", ".xlsm") else _read_csv(path)
    except OSError as err:
        raise InputError(
            "cannot read {path}: {error}", path=str(path), error=err.strerror
        ) from None
    if not raw:
        raise InputError("{path} is empty: its first row must name the columns", path=str(path))
    header = [" ".join(str(h or "").split()).casefold() for h in raw[0][1]]
    where: dict[str, int] = {}
    for name, accepted in aliases.items():
        for alias in accepted:
            if alias.casefold() in header:
                where[name] = header.index(alias.casefold())
                break
    first = next(iter(aliases))
    if first not in where:
        raise InputError(
            "{path}: the first row must name the column {column} (or {others})",
            path=str(path),
            column=aliases[first][0],
            others=", ".join(aliases[first][1:]) or "-",
        )
    rows: Rows = []
    for number, cells in raw[1:]:
        values = {
            name: " ".join(str(cells[i]).split()) if i < len(cells) and cells[i] is not None else ""
            for name, i in where.items()
        }
        if any(values.values()):
            rows.append((number, values))
    if not rows:
        raise InputError("{path} has no rows below its header", path=str(path))
    return rows


def _read_csv(path: Path) -> list[tuple[int, list[Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        return [(reader.line_num, row) for row in reader]


def _read_xlsx(path: Path) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 -- openpyxl raises many kinds for a bad file
        raise InputError(
            "cannot read {path} as XLSX: {error}", path=str(path), error=str(err)
        ) from None
    try:
        sheet = book.worksheets[0]
        return [(i, list(row)) for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        book.close()


def write_table(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    force: bool = False,
    protected: Iterable[Path] = (),
) -> int:
    """Write ``rows`` under ``header`` as CSV (UTF-8 with BOM) or XLSX, by ``path``'s suffix;
    text that a spreadsheet would read as a formula is written inert. Returns the rows written.

    The file is written as every output kopflow writes (:func:`kopflow.store.outfile.write_file`):
    an existing file only with ``force``, never a link or the database, whole or not at all.
    """
    from kopflow.store.outfile import write_file

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError("write the export as .csv or .xlsx, not {path}", path=str(path))
    safe = [[safe_text(v) if isinstance(v, str) else v for v in row] for row in rows]

    def write(handle: IO[bytes]) -> None:
        if suffix == ".csv":
            text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
            writer = csv.writer(text)
            writer.writerow(header)
            writer.writerows(safe)
            text.flush()
            text.detach()
            return
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("kemitraan")
        sheet.append(list(header))
        for row in safe:
            # A value made inert keeps its "'" and is stored as text, whatever it looks like.
            sheet.append(row)
        book.save(handle)

    write_file(path, write, force=force, protected=protected)
    return len(safe)
