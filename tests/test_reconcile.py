"""``kopflow audit reconcile`` (issue #14): the tables compared with the state the audit log
implies, on SQLite and PostgreSQL. Each tamper case goes around kopflow as the database's owner
would (``Raw``), leaves the chain whole (``audit verify`` stays green), and reconcile names it
in the user's words with exit code 7, as ``verify --strict`` does.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import Raw
from click.testing import CliRunner, Result
from engine_helpers import drive_to, finish, seeds
from test_subprocess import clean_env, kopflow_script

from kopflow.cli import cli
from kopflow.engine import Kopflow
from kopflow.flow.samples import sample_evidence
from kopflow.store import db

ONE, TWO, THREE = "KDMP-900001", "KDMP-900002", "KDMP-900003"


@pytest.fixture
def office(kopflow: Kopflow) -> Kopflow:
    """Three cooperatives: one driven past partner onboarding (enrolled with bri, partner steps
    done), one with a step completed, corrected and another undone, one just registered; and
    a partner's actor."""
    kopflow.register(seeds(3), source="test")
    drive_to(kopflow, ONE, "operating")
    first = kopflow.workflow.stages[0]
    finish(kopflow, TWO, first.id)
    step = [s for s in first.steps if s.required][-1]  # no step comes after it
    kopflow.complete_step(TWO, step.id, sample_evidence(step, 1), reason="typo in the minutes")
    kopflow.undo_step(TWO, step.id, reason="meeting to be held again")
    kopflow.add_actor("clerk", role="partner", region=None, partner="pos")
    db.dispose_engines()
    return kopflow


def run(runner: CliRunner, url: str, *args: str) -> Result:
    return runner.invoke(cli, ["--db", url, "--lang", "en", "audit", *args])


def kinds(runner: CliRunner, url: str) -> list[str]:
    result = run(runner, url, "reconcile", "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == (0 if data["ok"] else 7), result.output
    return [d["kind"] for d in data["differences"]]


def test_a_database_kopflow_wrote_reconciles(office: Kopflow, runner: CliRunner) -> None:
    result = run(runner, office.url, "reconcile")
    assert result.exit_code == 0, result.output
    assert "The tables agree with the audit log" in result.stdout
    assert "3 cooperatives, 2 actors" in result.stdout
    data = json.loads(run(runner, office.url, "reconcile", "--json").stdout)
    assert data["ok"] and data["differences"] == [] and data["cooperatives"] == 3
    assert run(runner, office.url, "verify", "--strict").exit_code == 0


# --- the tamper cases: (what the owner does, the kind reconcile reports, words it uses) -----


def _stage(raw: Raw) -> None:
    # The case: a stage set in coop with no audit event (and moved to another kabupaten).
    raw.run(
        "UPDATE coop SET stage = 'operating', kabupaten = 'Kabupaten Buleleng' WHERE id = :c",
        c=TWO,
    )


def _step_inserted(raw: Raw) -> None:
    # A pos step record in the name of the Pos clerk, naming a real event of another kind.
    (seq,) = raw.rows("SELECT max(seq) FROM audit_event WHERE coop_id = :c", c=TWO)[0]
    at = raw.rows("SELECT at FROM step_record WHERE coop_id = :c", c=ONE)[0][0]
    raw.run(
        "INSERT INTO step_record (coop_id, step, version, status, evidence, reason, actor, at,"
        " audit_seq) VALUES (:c, 'pos.pks', 1, 'done', '{}', NULL, 'clerk', :at, :seq)",
        c=TWO,
        at=at,
        seq=seq,
    )


def _enrolment_deleted(raw: Raw) -> None:
    raw.run("DELETE FROM enrollment WHERE coop_id = :c", c=ONE)


def _role_changed(raw: Raw) -> None:
    raw.run("UPDATE actor SET role = 'admin' WHERE name = 'clerk'")


def _version_bumped(raw: Raw) -> None:
    raw.run("UPDATE coop SET version = version + 1 WHERE id = :c", c=THREE)


def _row_deleted(raw: Raw) -> None:
    # The event stays; the state it recorded is gone.
    raw.run("DELETE FROM transition WHERE coop_id = :c", c=ONE)


def _villages_deleted(raw: Raw) -> None:
    raw.run("DELETE FROM coop_village WHERE coop_id = :c", c=THREE)


TAMPERS: dict[str, tuple[Callable[[Raw], None], str, str]] = {
    "stage": (_stage, "coop.stage", "KDMP-900002): the table says stage"),
    "step inserted": (_step_inserted, "step.no_event", "has no event in the audit log"),
    "enrolment deleted": (_enrolment_deleted, "enrolment.missing", "the enrolment with bri"),
    "role changed": (_role_changed, "actor.role", "actor clerk: the table says role admin"),
    "version bumped": (_version_bumped, "coop.version", "the audit log says 1"),
    "row deleted": (_row_deleted, "transition.missing", "the move from stage"),
    "villages deleted": (_villages_deleted, "coop.villages", "the table says villages -"),
}


@pytest.mark.parametrize("case", list(TAMPERS))
def test_reconcile_names_each_tamper_case(office: Kopflow, runner: CliRunner, case: str) -> None:
    tamper, kind, words = TAMPERS[case]
    with Raw(office.url) as raw:
        tamper(raw)
    assert run(runner, office.url, "verify").exit_code == 0  # the chain cannot see it
    found = kinds(runner, office.url)
    assert kind in found, found
    result = run(runner, office.url, "reconcile")
    assert result.exit_code == 7
    assert words in result.stdout, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the tables differ from the audit log")
    assert "Traceback" not in result.output
    strict = run(runner, office.url, "verify", "--strict")
    assert strict.exit_code == 7 and words in strict.stdout


def test_stage_change_is_named_by_labels_in_both_languages(
    office: Kopflow, runner: CliRunner
) -> None:
    with Raw(office.url) as raw:
        _stage(raw)
    wf = office.workflow
    operating = wf.stage("operating").label
    en = run(runner, office.url, "reconcile").stdout
    assert f"the table says stage {operating['en']} (operating)" in en
    assert "cooperative KDKMP Desa 2 (KDMP-900002)" in en
    assert "the table says kabupaten Kabupaten Buleleng, the audit log says Kabupaten Uji" in en
    result = runner.invoke(cli, ["--db", office.url, "--lang", "id", "audit", "reconcile"])
    assert result.exit_code == 7
    assert f"{operating['id']} (operating)" in result.stdout
    assert "Galat: " in result.stderr and "tabel" in result.stderr


def test_strict_verify_fails_on_a_stage_change_even_with_a_checkpoint(
    office: Kopflow, runner: CliRunner, tmp_path: Path
) -> None:
    private, public = tmp_path / "k", tmp_path / "k.pub"
    keygen = ["keygen", "--out-private", str(private), "--out-public", str(public)]
    assert run(runner, office.url, *keygen).exit_code == 0
    note = tmp_path / "cp"
    assert (
        run(runner, office.url, "checkpoint", "--key", str(private), "--out", str(note)).exit_code
        == 0
    )
    with Raw(office.url) as raw:
        _stage(raw)
    held = ["--checkpoint", str(note), "--key", str(public)]
    assert run(runner, office.url, "verify", *held).exit_code == 0
    result = run(runner, office.url, "verify", "--strict", *held, "--json")
    assert result.exit_code == 7
    data = json.loads(result.stdout)
    assert data["ok"] is True  # the chain itself holds
    assert "coop.stage" in [d["kind"] for d in data["reconcile"]["differences"]]


@pytest.mark.parametrize("who", ["stranger", "admin"])
def test_an_event_forged_by_the_owner_is_named(
    office: Kopflow, runner: CliRunner, who: str
) -> None:
    """An event appended around kopflow, chained and hashed right, the head moved (the issue's
    psql attack, which only the owner can still make): the chain verifies; reconcile names the
    step record the event claims and the table lacks, and an actor the log never added."""
    from datetime import UTC, datetime

    from kopflow.audit.chain import ChainWriter

    admin = next(a["name"] for a in office.list_actors() if a["role"] == "admin")
    actor = "mallory" if who == "stranger" else admin
    with db.write_transaction(db.resolve_url(office.url)) as conn:
        writer = ChainWriter(conn)
        details: dict[str, Any] = {"step": "nib", "version": 9, "evidence": {}, "coop_version": 9}
        writer.append(
            actor=actor,
            role="admin",
            action="step.completed",
            coop_id=THREE,
            details=details,
            at=datetime.now(UTC),
        )
        writer.flush()
    db.dispose_engines()
    assert run(runner, office.url, "verify").exit_code == 0
    found = set(kinds(runner, office.url))
    assert {"step.missing", "coop.version"} <= found, found
    assert ("event.actor" in found) == (who == "stranger"), found


def test_reconcile_as_a_subprocess(office: Kopflow, tmp_path: Path) -> None:
    with Raw(office.url) as raw:
        _stage(raw)
    done = subprocess.run(
        [kopflow_script(), "--db", office.url, "audit", "reconcile"],
        cwd=tmp_path,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 7, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "KDMP-900002): the table says stage" in done.stdout
    assert done.stderr.startswith("Error: the tables differ from the audit log (differences: 2)")
