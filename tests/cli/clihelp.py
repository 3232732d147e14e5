"""What the CLI tests share: invoking ``kopflow`` in-process and reading its one error line."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner, Result

from kopflow.cli import cli


def run(runner: CliRunner, url: str, *args: str) -> Result:
    """``kopflow --db URL ARGS`` through click's runner."""
    return runner.invoke(cli, ["--db", url, *args])


def ok(result: Result) -> Result:
    """The result, after checking the command succeeded."""
    assert result.exit_code == 0, result.output + result.stderr
    return result


def error_line(result: Result, code: int = 2) -> str:
    """The one ``Error:`` line a refused command prints on stderr."""
    assert result.exit_code == code, result.output + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def sets(evidence: dict[str, Any]) -> list[str]:
    """``--set name=value`` arguments for evidence."""
    return [arg for name, value in evidence.items() for arg in ("--set", f"{name}={value}")]
