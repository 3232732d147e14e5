"""The ``--force`` option every output option shares, and the files no output may replace.

Writing itself is :func:`kopflow.store.outfile.write_file` (one helper for every file a user
names); this module only gives the commands the same flag and the same protected files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kopflow.i18n import N_
from kopflow.store.db import resolve_url
from kopflow.store.outfile import database_files


def force_option(func: Any) -> Any:
    """``--force``: replace an existing output file (never a link, never the database)."""
    return click.option(
        "--force",
        is_flag=True,
        help=N_(
            "Replace the output file if it exists (never a symbolic link or the database); "
            "the new file takes its place only once it is complete."
        ),
    )(func)


def protected_files(options: dict[str, Any]) -> list[Path]:
    """The files of the database this invocation uses (``--db``, ``KOPFLOW_DB`` or the
    default), which no output option may write, even with ``--force``."""
    return database_files(resolve_url(options.get("db")))
