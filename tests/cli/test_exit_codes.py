"""Every exit code is listed in `kopflow --help` and docs/cli.md, and means the same in every
command (issue #12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kopflow import errors
from kopflow.cli import EXIT_CODES, cli
from tests.cli.clihelp import error_line, ok, run

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_the_error_classes_use_the_listed_codes() -> None:
    listed = dict(EXIT_CODES)
    by_class = {
        errors.InputError: 2,
        errors.NotFoundError: 2,
        errors.EvidenceError: 2,
        errors.WorkflowError: 2,
        errors.RefusedError: 3,
        errors.ConflictError: 4,
        errors.PermissionDeniedError: 5,
        errors.PluginError: 6,
        errors.AuditError: 7,
        errors.StorageError: 10,
        errors.BusyError: 75,
    }
    assert {cls: cls.exit_code for cls in by_class} == by_class
    others = [
        errors.EXIT_PARTIAL,
        errors.EXIT_BUG,
        errors.EXIT_INTERRUPTED,
        errors.EXIT_CLOSED_PIPE,
    ]
    assert others == [8, 70, 130, 141]
    assert {0, 1, *by_class.values(), *others} == set(listed)


@pytest.mark.parametrize("lang", ["en", "id"])
def test_help_lists_every_exit_code(lang: str) -> None:
    from kopflow.i18n import _, set_language

    shown = CliRunner().invoke(cli, ["--lang", lang, "--help"])
    assert shown.exit_code == 0
    epilog = shown.stdout.split("Exit codes:" if lang == "en" else "Kode keluar:", 1)[1]
    codes = [int(m) for m in re.findall(r"^  ([0-9]+) ", epilog, re.MULTILINE)]
    assert codes == [code for code, _meaning in EXIT_CODES]
    set_language(lang)
    try:
        flat = " ".join(epilog.split())
        for _code, meaning in EXIT_CODES:
            assert " ".join(_(meaning).split()) in flat
    finally:
        set_language("en")


def test_docs_list_the_same_codes_and_meanings() -> None:
    rows = re.findall(r"^\| ([0-9]+) \| (.+) \|$", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    documented = [(int(code), text.replace("`", "").replace("\\|", "|")) for code, text in rows]
    assert documented == list(EXIT_CODES)


@pytest.mark.parametrize(
    "args",
    [
        ("coop", "show", "Atlantis"),
        ("next", "Atlantis"),
        ("advance", "Atlantis"),
        ("step", "complete", "Atlantis", "socialisation", "--set", "date=2025-06-01"),
        ("step", "undo", "Atlantis", "socialisation", "--reason", "typo"),
        ("partner", "enroll", "Atlantis", "bri"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_an_unknown_cooperative_is_input_in_every_command(
    runner: CliRunner, sqlite_url: str, args: tuple[str, ...]
) -> None:
    ok(run(runner, sqlite_url, "init"))
    assert "Atlantis" in error_line(run(runner, sqlite_url, "--lang", "en", *args), 2)
