"""The layering in docs/architecture.md is checked, not described (issue #11): import-linter's
contracts in pyproject.toml hold on the code, and they fail when a module imports upwards."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the kopflow package and plugins under ``root``."""
    env = {"PATH": str(LINT.parent), "PYTHONPATH": f"{root}:{root / 'plugins'}"}
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The package, the plugins and pyproject.toml, copied so a test can break them."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "kopflow", tmp_path / "kopflow", ignore=ignore)
    shutil.copytree(ROOT / "plugins", tmp_path / "plugins", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_code_keeps_every_contract(copy: Path) -> None:
    done = lint(copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("rules/steps.py", "import kopflow.engine", "kopflow.rules is not allowed to import"),
        ("report/data.py", "import kopflow.cli", "kopflow.report is not allowed to import"),
        ("pipeline/change.py", "import kopflow.rules.steps", "kopflow.pipeline is not allowed"),
        ("cli/coop.py", "import kopflow.store.tables", "kopflow.cli is not allowed to import"),
    ],
    ids=["rules-import-engine", "report-imports-cli", "pipeline-imports-rules", "cli-reads-tables"],
)
def test_an_upward_import_breaks_the_build(copy: Path, module: str, line: str, broken: str) -> None:
    """The next cycle fails CI: a lower module importing a higher one is refused."""
    path = copy / "kopflow" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    done = lint(copy)
    assert done.returncode != 0
    assert broken in done.stdout
