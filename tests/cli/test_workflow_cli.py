"""``kopflow workflow show | validate | diagram | migrate``, and definitions that change under
cooperatives already under way (issue #2)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from clihelp import error_line, ok, run
from db_helpers import db_state

from kopflow.cli import cli
from kopflow.regions import CoopSeed

SHIPPED = Path(__file__).resolve().parents[2] / "workflows" / "kdkmp.yaml"


def query(url: str, sql: str) -> list[Any]:
    from sqlalchemy import text

    from kopflow.store import db

    with db.read_connection(db.resolve_url(url)) as conn:
        return list(conn.execute(text(sql)).mappings())


def definition(folder: Path, **replace: str) -> Path:
    """A copy of the shipped kdkmp.yaml in ``folder``, with text replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    text = SHIPPED.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = folder / "kdkmp.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- show, diagram, validate ------------------------------------------------------------------


def test_show(runner: CliRunner, sqlite_url: str) -> None:
    text = ok(run(runner, sqlite_url, "workflow", "show")).stdout
    assert "kdkmp v2" in text
    for word in ("Formation", "musdesus", "board_size", "complete_formation", "@previous"):
        assert word in text
    data = json.loads(ok(run(runner, sqlite_url, "workflow", "show", "--json")).stdout)
    assert (data["name"], data["initial"], data["required_partners"]) == (
        "kdkmp",
        "formation",
        ["bri"],
    )
    assert [s["id"] for s in data["stages"]][:5] == [
        "formation",
        "legal",
        "consolidation",
        "onboarding",
        "operating",
    ]


@pytest.mark.parametrize(
    ("fmt", "start", "edge"),
    [
        ("mermaid", "stateDiagram-v2", "formation --> legal"),
        ("dot", 'digraph "kdkmp" {', '"formation" -> "legal"'),
    ],
    ids=["mermaid", "dot"],
)
def test_diagram(runner: CliRunner, sqlite_url: str, fmt: str, start: str, edge: str) -> None:
    text = ok(run(runner, sqlite_url, "workflow", "diagram", "--format", fmt)).stdout
    assert text.startswith(start)
    assert edge in text
    assert "dissolved" in text


def test_validate_the_shipped_definition(runner: CliRunner) -> None:
    result = ok(runner.invoke(cli, ["workflow", "validate", str(SHIPPED)]))
    assert result.stdout.strip() == "1 file(s) valid"


BROKEN = {
    "type: date, min_date: 2025-03-27, label: {id: Tanggal sosialisasi": (
        "type: when, label: {id: Tanggal sosialisasi"
    ),
    "after: [founding_meeting]": "after: [founding_meting]",
    "    min: 600": "    min: many",
    "  - name: dissolve\n": "  - name: dissolve\n    colour: red\n",
}
BROKEN_PATHS = [
    "stages[0].steps[0].fields[0].type: unknown field type 'when'",
    "stages[0].steps[3].after[0]: 'founding_meting' is not a step of this stage",
    "stages[2].steps[2].fields[0].min:",
    "events[6].colour: unknown key",
]


def test_validate_lists_every_error_with_file_and_path(runner: CliRunner, tmp_path: Path) -> None:
    """Issue #2: each error on its own line, naming the file and the path inside it."""
    bad = definition(tmp_path / "bad", **BROKEN)
    result = runner.invoke(cli, ["workflow", "validate", str(SHIPPED), str(bad)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == len(BROKEN_PATHS)
    assert all(line.startswith(f"Error: {bad}: ") for line in lines)
    for path in BROKEN_PATHS:
        assert sum(path in line for line in lines) == 1, path
    assert str(SHIPPED) not in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name: kdkmp\nstages: [\n", "line 3, column 1: invalid YAML"),
        ("- just\n- a list\n", "(document): expected a mapping"),
        (None, "(document): cannot read the file"),
    ],
    ids=["invalid-yaml", "not-a-mapping", "missing-file"],
)
def test_validate_unreadable_files(
    runner: CliRunner, tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "wf.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    line = error_line(runner.invoke(cli, ["workflow", "validate", str(path)]), 2)
    assert line.startswith(f"Error: {path}: ") and expected in line


def test_broken_definition_is_refused_at_load(
    runner: CliRunner, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #2: a command on a broken definition refuses to start, listing every error."""
    ok(run(runner, sqlite_url, "init"))
    before = db_state(sqlite_url)
    bad = definition(tmp_path / "wf", **BROKEN)
    monkeypatch.setenv("KOPFLOW_WORKFLOWS", str(bad.parent))
    for args in (("coop", "list"), ("coop", "import", "--region", "Kabupaten Buleleng")):
        line = error_line(run(runner, sqlite_url, *args), 2)
        for path in BROKEN_PATHS:
            assert f"{bad}: {path}" in line
    assert query(sqlite_url, "SELECT count(*) AS n FROM coop")[0]["n"] == 0
    assert db_state(sqlite_url) == before


# --- a definition that changes under cooperatives already under way --------------------------


@pytest.fixture
def v1(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Three cooperatives started on a copy of kdkmp numbered v1; KDMP-600001 has begun
    formation. (The shipped file is version 2 since issue #12; its copies are renumbered.)"""
    from kopflow.engine import Kopflow

    v1 = definition(tmp_path / "v1", **{"\nversion: 2\n": "\nversion: 1\n"})
    monkeypatch.setenv("KOPFLOW_WORKFLOWS", str(v1.parent))
    engine = Kopflow(db_url)
    engine.init()
    engine.register(
        [
            CoopSeed(
                f"KDMP-60000{i}",
                "Kabupaten Uji",
                "Provinsi Uji",
                [(f"w{i}", f"Desa {i}", "K", None)],
            )
            for i in (1, 2, 3)
        ],
        source="test",
    )
    engine.complete_step("KDMP-600001", "socialisation", {"date": "2025-05-01"})
    engine.advance("KDMP-600003", "suspend", reason="paused")
    return db_url


def use_v2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **replace: str) -> None:
    """Switch to version 2 of the definition, with an extra optional step in formation."""
    extra = (
        "      - id: village_poster\n"
        "        label: {id: Poster di balai desa, en: Poster at the village hall}\n"
        "        role: officer\n"
        "        required: false\n"
        "        fields:\n"
        "          - {name: date, type: date, label: {id: Tanggal, en: Date}}\n"
        "      - id: musdesus\n"
    )
    folder = definition(
        tmp_path / "v2",
        **{"\nversion: 2\n": "\nversion: 2\n", "      - id: musdesus\n": extra},
        **replace,
    ).parent
    monkeypatch.setenv("KOPFLOW_WORKFLOWS", str(folder))


def test_changed_version_is_refused_until_migrated(
    runner: CliRunner, v1: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #2: a cooperative is never moved silently onto a changed definition."""
    use_v2(tmp_path, monkeypatch)
    before = db_state(v1)
    step = ("step", "complete", "KDMP-600001", "musdesus", "--set", "date=2025-06-01")
    line = error_line(run(runner, v1, *step), 3)
    assert line == (
        "Error: KDMP-600001 runs workflow kdkmp v1; the definition is now kdkmp v2: "
        "run 'kopflow workflow migrate KDMP-600001' to move it explicitly"
    )
    assert "runs workflow kdkmp v1" in error_line(run(runner, v1, "advance", "KDMP-600002"), 3)
    assert db_state(v1) == before

    dry = ok(run(runner, v1, "workflow", "migrate", "KDMP-600001", "--dry-run")).stdout
    assert dry.splitlines() == [
        "Dry run: nothing was written. A real run would give:",
        "Cooperatives: 1 migrated, 0 refused.",
    ]
    assert db_state(v1) == before

    assert ok(run(runner, v1, "workflow", "migrate", "Desa 1")).stdout.startswith(
        "Cooperatives: 1 migrated, 0 refused."
    )
    ok(
        run(
            runner,
            v1,
            "step",
            "complete",
            "KDMP-600001",
            "village_poster",
            "--set",
            "date=2025-05-02",
        )
    )
    line = error_line(
        run(
            runner,
            v1,
            "step",
            "complete",
            "KDMP-600002",
            "socialisation",
            "--set",
            "date=2025-05-02",
        ),
        3,
    )
    assert "runs workflow kdkmp v1" in line

    result = ok(run(runner, v1, "workflow", "migrate", "--all", "--json"))
    assert json.loads(result.stdout)["done"] == 2
    versions = {
        r["id"]: r["workflow_version"] for r in query(v1, "SELECT id, workflow_version FROM coop")
    }
    assert versions == {"KDMP-600001": 2, "KDMP-600002": 2, "KDMP-600003": 2}
    events = query(v1, "SELECT coop_id, body FROM audit_event WHERE action = 'workflow.migrated'")
    assert sorted(e["coop_id"] for e in events) == ["KDMP-600001", "KDMP-600002", "KDMP-600003"]
    assert all('"from":1' in e["body"] and '"to":2' in e["body"] for e in events)
    # The suspended one kept its place: resume still goes back to formation.
    ok(run(runner, v1, "advance", "KDMP-600003", "resume"))

    again = run(runner, v1, "workflow", "migrate", "KDMP-600001")
    assert again.exit_code == 3  # nothing could be done, as with the other bulk commands
    assert "  1 × COOP already runs kdkmp v2" in again.stdout
    assert "      KDMP-600001" in again.stdout
    assert (
        json.loads(ok(run(runner, v1, "workflow", "migrate", "--all", "--json")).stdout)["done"]
        == 0
    )


def test_migration_refused_when_the_stage_is_gone(
    runner: CliRunner, v1: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cooperative whose stage the new version lacks is not migrated."""
    use_v2(
        tmp_path,
        monkeypatch,
        **{
            "- id: suspended": "- id: paused",
            "to: suspended": "to: paused",
            "from: suspended": "from: paused",
            "operating, suspended]": "operating, paused]",
        },
    )
    result = run(runner, v1, "workflow", "migrate", "--all")
    assert result.exit_code == 8  # some migrated, some refused
    assert result.stdout.splitlines()[:2] == [
        "Cooperatives: 2 migrated, 1 refused.",
        "Refused, by reason:",
    ]
    assert "  1 × unknown stage 'suspended'" in result.stdout
    assert "      KDMP-600003" in result.stdout
    assert (
        query(v1, "SELECT workflow_version FROM coop WHERE id = 'KDMP-600003'")[0][
            "workflow_version"
        ]
        == 1
    )


@pytest.mark.parametrize("args", [(), ("KDMP-600001", "--all")], ids=["nothing", "both"])
def test_migrate_needs_coops_or_all(
    runner: CliRunner, sqlite_url: str, args: tuple[str, ...]
) -> None:
    ok(run(runner, sqlite_url, "init"))
    assert "give COOP ids or --all" in error_line(
        run(runner, sqlite_url, "workflow", "migrate", *args), 2
    )


def test_edited_definition_without_a_new_version_is_refused(
    runner: CliRunner, v1: str, tmp_path: Path
) -> None:
    """Editing a definition in use without bumping its version stops every change."""
    path = tmp_path / "v1" / "kdkmp.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("sla_days: 60", "sla_days: 30", 1))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a new cache key
    before = db_state(v1)
    line = error_line(
        run(
            runner,
            v1,
            "step",
            "complete",
            "KDMP-600002",
            "socialisation",
            "--set",
            "date=2025-05-02",
        ),
        3,
    )
    assert "workflow kdkmp version 1 was changed after cooperatives started using it" in line
    assert "give the changed file a new version" in line
    assert db_state(v1) == before
    # Comments and layout are not the definition: a file that says the same is accepted.
    text = SHIPPED.read_text(encoding="utf-8").replace("\nversion: 2\n", "\nversion: 1\n")
    path.write_text("# sources: docs/domain.md\n" + text.replace("\n", "\n\n", 3))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    ok(
        run(
            runner,
            v1,
            "step",
            "complete",
            "KDMP-600002",
            "socialisation",
            "--set",
            "date=2025-05-02",
        )
    )
