"""Headless Chromium, found on the machine: prints the report to PDF (``--format pdf``).

kopflow ships no browser and fetches none. ``KOPFLOW_CHROMIUM`` names the program; otherwise the
usual names are looked up on ``PATH`` (Debian's ``chromium`` package, Google Chrome). The flags
keep the run offline and leave no profile behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from kopflow.errors import InputError

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

# Offline, quiet, and no state kept between runs (the profile lives in a temporary folder).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
)


def find_chromium() -> str | None:
    """The Chromium (or Chrome) program to run, or ``None`` if there is none."""
    named = os.environ.get("KOPFLOW_CHROMIUM")
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    return next((found for name in NAMES if (found := shutil.which(name))), None)


def print_pdf(html: Path, pdf: Path, *, timeout: float = 120) -> None:
    """Print the page ``html`` to ``pdf`` with headless Chromium (A4, the page's print styles).

    Raises:
        InputError: no Chromium is installed, or it failed to write the PDF.
    """
    program = find_chromium()
    if program is None:
        raise InputError(
            "--format pdf needs Chromium or Google Chrome (e.g. 'apt-get install chromium', or "
            "set KOPFLOW_CHROMIUM); without it, open the HTML report in a browser and print it"
        )
    pdf = pdf.resolve()
    with tempfile.TemporaryDirectory(prefix="kopflow-chromium-") as profile:
        command = [
            program,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise InputError("Chromium could not print the PDF: {error}", error=err) from err
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise InputError("Chromium could not print the PDF: {error}", error=tail[0])
