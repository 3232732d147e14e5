"""Reading a CSV file a user names (bulk evidence, a district's own villages), one way.

Every problem of the file itself is an ``InputError`` naming the file and the row, never an
"unexpected" error (issue #14): a file that is not UTF-8 (a spreadsheet's "Unicode text" is
UTF-16), a cell longer than ``csv`` takes, a NUL byte.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from kopflow.errors import InputError

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
T = TypeVar("T")


class CsvRows:
    """The rows of a CSV file as dicts keyed by its header, each with its row number as a
    spreadsheet shows it (the header is row 1). Reads and decodes the whole file at once,
    so an encoding error is reported before any row is used."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = path.read_bytes()
        except OSError as err:
            raise InputError(
                "cannot read {path}: {error}", path=str(path), error=err.strerror or err
            ) from None
        if data.startswith(_UTF16_BOMS):
            raise InputError(
                "{path} is UTF-16 text; save it as 'CSV UTF-8' (comma delimited) and try again",
                path=str(path),
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise InputError(
                "{path}: row {row} is not UTF-8 text; save the file as 'CSV UTF-8' "
                "(comma delimited) and try again",
                path=str(path),
                row=data[: err.start].count(b"\n") + 1,
            ) from None
        if (nul := text.find("\x00")) >= 0:  # UTF-16 without its byte order mark
            raise InputError(
                "{path}: row {row} holds a NUL character: the file is not UTF-8 text; "
                "save it as 'CSV UTF-8' (comma delimited) and try again",
                path=str(path),
                row=text.count("\n", 0, nul) + 1,
            )
        self._reader = csv.DictReader(io.StringIO(text, newline=""))
        self._last = 0  # the last line of the last whole record: an error is in the next
        names: Sequence[str] | None = self._guard(lambda: self._reader.fieldnames)
        self._last = self._reader.line_num
        self.fieldnames: list[str] = list(names or [])

    def __iter__(self) -> Iterator[tuple[int, dict[str, str | None]]]:
        rows = iter(self._reader)
        while True:
            row = self._guard(lambda: next(rows, None))
            if row is None:
                return
            self._last = self._reader.line_num
            yield self._last, row

    def _guard(self, read: Callable[[], T]) -> T:
        """``read()``, with the csv module's errors said as the file's problem and its row."""
        try:
            return read()
        except csv.Error as err:
            row = self._last + 1  # where the record csv could not read starts
            if "field larger than field limit" in str(err):
                raise InputError(
                    "{path}: row {row} has a cell longer than {limit} characters; "
                    "shorten it (evidence is a few lines at most)",
                    path=str(self.path),
                    row=row,
                    limit=csv.field_size_limit(),
                ) from None
            raise InputError(
                "{path}: row {row} is not valid CSV: {error}",
                path=str(self.path),
                row=row,
                error=str(err),
            ) from None
