"""``kopflow audit ...`` as an auditor runs it (issue #7): log, verify, export, checkpoint and
keygen through the real CLI, on SQLite and PostgreSQL; and the operational log lines that
carry each change's audit sequence number.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import COOPS, Raw, build_chain, edited_detail
from click.testing import CliRunner, Result

from kopflow.cli import cli
from kopflow.engine import Kopflow
from kopflow.store import db


@pytest.fixture
def chain(kopflow: Kopflow) -> Kopflow:
    build_chain(kopflow)
    db.dispose_engines()
    return kopflow


@pytest.fixture
def keys(tmp_path: Path, runner: CliRunner) -> tuple[Path, Path]:
    private, public = tmp_path / "audit.key", tmp_path / "audit.pub"
    result = runner.invoke(
        cli,
        ["audit", "keygen", "--out-private", str(private), "--out-public", str(public)]
        + ["--name", "inspektorat.example/uji"],
    )
    assert result.exit_code == 0, result.output
    return private, public


def run(runner: CliRunner, url: str, *args: str) -> Result:
    return runner.invoke(cli, ["--db", url, "audit", *args])


def error_line(result: Result) -> str:
    """The one ``Error:`` line a refused command prints, with no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# --- verify -------------------------------------------------------------------------------------


def test_verify_a_clean_chain(chain: Kopflow, runner: CliRunner) -> None:
    result = run(runner, chain.url, "verify")
    assert result.exit_code == 0, result.output
    assert "Audit log verified: events 1 to 11" in result.stdout
    data = json.loads(run(runner, chain.url, "verify", "--json").stdout)
    assert data["ok"] and data["events"] == 11 and data["head"]["seq"] == 11
    assert run(runner, chain.url, "verify", "--strict").exit_code == 0


def test_verify_names_the_tampered_event_and_exits_7(chain: Kopflow, runner: CliRunner) -> None:
    """Issue #7: a broken chain is reported by its sequence number, with a non-zero exit."""
    with Raw(chain.url) as raw:
        edited_detail(raw)
    result = run(runner, chain.url, "verify")
    assert result.exit_code == 7
    assert error_line(result).startswith("Error: the audit log does not verify at event 8:")
    result = run(runner, chain.url, "verify", "--json")
    assert result.exit_code == 7
    assert json.loads(result.stdout)["problem_seq"] == 8


def test_verify_without_a_head_row_says_so_and_exits_7(chain: Kopflow, runner: CliRunner) -> None:
    with Raw(chain.url) as raw:
        raw.run("DELETE FROM chain_head")
    result = run(runner, chain.url, "verify")
    assert result.exit_code == 7
    assert error_line(result) == (
        "Error: the audit log has no head row: 'kopflow init' did not finish, or the "
        "database was edited outside kopflow"
    )


# --- keys and checkpoints -----------------------------------------------------------------------


def test_keygen_makes_a_private_key_only_its_owner_reads(
    keys: tuple[Path, Path], runner: CliRunner
) -> None:
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("PRIVATE+KEY+inspektorat.example/uji+")
    assert public.read_text().startswith("inspektorat.example/uji+")
    again = runner.invoke(
        cli, ["audit", "keygen", "--out-private", str(private), "--out-public", str(public)]
    )
    assert again.exit_code == 2 and "already exists" in error_line(again)


def test_a_checkpoint_catches_a_cut_tail(
    chain: Kopflow, runner: CliRunner, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    """Issue #7: ``audit checkpoint`` signs the head; ``verify --checkpoint`` later names the
    first missing event after the newest events were removed and the head moved back."""
    private, public = keys
    note = tmp_path / "head.checkpoint"
    result = run(runner, chain.url, "checkpoint", "--key", str(private), "--out", str(note))
    assert result.exit_code == 0, result.output
    assert note.read_text().splitlines()[1] == "11"
    again = run(runner, chain.url, "checkpoint", "--key", str(private), "--out", str(note))
    assert again.exit_code == 2  # never overwrites a checkpoint
    printed = run(runner, chain.url, "checkpoint", "--key", str(private))
    assert printed.stdout.splitlines()[:3] == note.read_text().splitlines()[:3]

    ok = run(runner, chain.url, "verify", "--checkpoint", str(note), "--key", str(public))
    assert ok.exit_code == 0 and "Matches checkpoint" in ok.stdout
    with Raw(chain.url) as raw:
        raw.run("DELETE FROM audit_event WHERE seq > 9")
        raw.set_head(9)
    assert run(runner, chain.url, "verify").exit_code == 0
    cut = run(runner, chain.url, "verify", "--checkpoint", str(note), "--key", str(public))
    assert cut.exit_code == 7
    assert "at event 10: missing events 10 to 11" in error_line(cut)


def test_checkpoint_refuses_to_sign_a_broken_chain(
    chain: Kopflow, runner: CliRunner, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    with Raw(chain.url) as raw:
        edited_detail(raw)
    note = tmp_path / "head.checkpoint"
    result = run(runner, chain.url, "checkpoint", "--key", str(keys[0]), "--out", str(note))
    assert result.exit_code == 7 and "nothing was signed" in error_line(result)
    assert not note.exists()


def test_a_checkpoint_needs_the_public_key(chain: Kopflow, runner: CliRunner) -> None:
    result = run(runner, chain.url, "verify", "--checkpoint", "x.checkpoint")
    assert result.exit_code == 2 and "--key" in error_line(result)


def test_a_checkpoint_of_another_log_is_refused(
    chain: Kopflow, runner: CliRunner, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    other = Kopflow(str(tmp_path / "other.db"))
    other.init()
    note = tmp_path / "other.checkpoint"
    assert (
        run(runner, other.url, "checkpoint", "--key", str(keys[0]), "--out", str(note)).exit_code
        == 0
    )
    result = run(runner, chain.url, "verify", "--checkpoint", str(note), "--key", str(keys[1]))
    assert result.exit_code == 7 and "is for log" in error_line(result)


# --- export -------------------------------------------------------------------------------------


def test_export_and_verify_offline(
    chain: Kopflow, runner: CliRunner, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    """Issue #7: the signed JSONL bundle verifies with no database at all; one changed byte
    makes ``verify --file`` fail, naming the event."""
    private, public = keys
    out = tmp_path / "audit.jsonl"
    result = run(runner, chain.url, "export", "--out", str(out), "--key", str(private))
    assert result.exit_code == 0, result.output
    assert "11 audit events written" in result.stdout
    assert sorted(p.name for p in tmp_path.glob("audit.jsonl*")) == [
        "audit.jsonl",
        "audit.jsonl.checkpoint",
        "audit.jsonl.manifest",
    ]
    lines = out.read_text().splitlines()
    assert len(lines) == 11 and json.loads(lines[0])["seq"] == 1

    # No database at all: the --db given does not even exist.
    nowhere = ["--db", str(tmp_path / "missing" / "x.db")]
    args = ["audit", "verify", "--file", str(out), "--key", str(public)]
    offline = runner.invoke(cli, nowhere + args)
    assert offline.exit_code == 0, offline.output
    assert "the whole chain, events 1 to 11" in offline.stdout
    assert (
        "checkpoint of" in offline.stdout
        and "is signed by inspektorat.example/uji" in offline.stdout
    )
    unchecked = run(runner, chain.url, "verify", "--file", str(out))
    assert unchecked.exit_code == 0 and "NOT checked" in unchecked.stdout

    data = out.read_bytes()
    out.write_bytes(data.replace(b"2025-06-04", b"2025-06-14", 1))
    broken = run(runner, chain.url, "verify", "--file", str(out), "--key", str(public))
    assert broken.exit_code == 7
    assert "at event 10:" in error_line(broken)


def test_export_without_a_key(chain: Kopflow, runner: CliRunner, tmp_path: Path) -> None:
    """A JSONL export is signed unless --unsigned says otherwise; an unsigned bundle verifies
    as consistent only, and says so."""
    out = tmp_path / "audit.jsonl"
    refused = run(runner, chain.url, "export", "--out", str(out))
    assert refused.exit_code == 2 and "--unsigned" in error_line(refused)
    assert not out.exists()
    assert run(runner, chain.url, "export", "--out", str(out), "--unsigned").exit_code == 0
    assert not out.with_name("audit.jsonl.checkpoint").exists()
    result = run(runner, chain.url, "verify", "--file", str(out))
    assert result.exit_code == 0 and "no signed checkpoint" in result.stdout
    wrong = run(runner, chain.url, "export", "--format", "csv", "--out", "a.csv", "--unsigned")
    assert wrong.exit_code == 2


def test_filtered_exports_and_readable_views(
    chain: Kopflow, runner: CliRunner, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    private, public = keys
    out = tmp_path / "coop.jsonl"
    args = ["export", "--out", str(out), "--key", str(private), "--coop", COOPS[0], "--json"]
    summary = json.loads(run(runner, chain.url, *args).stdout)
    assert (summary["events"], summary["complete"]) == (2, False)
    result = run(runner, chain.url, "verify", "--file", str(out), "--key", str(public))
    assert result.exit_code == 0 and "a selection of 2 events" in result.stdout
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"steps.{fmt}"
        args = ["export", "--format", fmt, "--out", str(path), "--action", "step.*"]
        result = run(runner, chain.url, *args)
        assert result.exit_code == 0 and "5 audit events" in result.stdout
    assert len((tmp_path / "steps.csv").read_text(encoding="utf-8-sig").splitlines()) == 6


# --- log ------------------------------------------------------------------------------------------


def _seqs(runner: CliRunner, url: str, *args: str) -> list[int]:
    result = run(runner, url, "log", "--json", *args)
    assert result.exit_code == 0, result.output
    return [e["seq"] for e in json.loads(result.stdout)]


def test_log_filters(chain: Kopflow, runner: CliRunner) -> None:
    """``audit log`` shows the hashed content of the events each filter selects."""
    assert _seqs(runner, chain.url) == list(range(1, 12))
    assert _seqs(runner, chain.url, "--coop", COOPS[1]) == [3, 8]
    assert _seqs(runner, chain.url, "--coop", "Desa 02") == [3, 8]  # by village name
    assert _seqs(runner, chain.url, "--action", "step.*") == [7, 8, 9, 10, 11]
    assert _seqs(runner, chain.url, "--action", "coop.registered", "--limit", "2") == [5, 6]
    assert _seqs(runner, chain.url, "--actor", "nobody") == []
    today = json.loads(run(runner, chain.url, "log", "--json", "--limit", "1").stdout)[0]["at"]
    assert _seqs(runner, chain.url, "--since", today[:10], "--until", today[:10]) == list(
        range(1, 12)
    )
    assert _seqs(runner, chain.url, "--until", "2000-01-01") == []
    event = json.loads(run(runner, chain.url, "log", "--json", "--coop", COOPS[0]).stdout)[1]
    assert event["action"] == "step.completed"
    assert event["details"]["evidence"] == {"date": "2025-06-01"}
    table = run(runner, chain.url, "log", "--limit", "3")
    assert "Older events are not shown" in table.stdout and "step.completed" in table.stdout
    bad = run(runner, chain.url, "log", "--since", "yesterday")
    assert bad.exit_code == 2 and "--since" in error_line(bad)


def test_help_in_indonesian(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--lang", "id", "audit", "verify", "-h"])
    assert result.exit_code == 0
    assert "Hitung ulang rantai audit" in result.stdout


# --- operational logs -----------------------------------------------------------------------------


def _log_lines(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "kopflow.log"  # KOPFLOW_LOG, set by conftest
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_operational_logs_carry_audit_sequence_numbers(
    chain: Kopflow, runner: CliRunner, tmp_path: Path
) -> None:
    """Issue #7: a log line names the audit event of each change, and a bulk batch names the
    range of its events, so log and chain can be matched."""
    for coop in COOPS[:3]:
        chain.undo_step(coop, "socialisation", reason="typo")  # events 12 to 14
    db.dispose_engines()
    csv_file = tmp_path / "steps.csv"
    csv_file.write_text(
        "coop,step,date\n" + "".join(f"{c},socialisation,2025-07-01\n" for c in COOPS[:3])
    )
    bulk = runner.invoke(cli, ["--db", chain.url, "step", "complete", "--from-csv", str(csv_file)])
    assert bulk.exit_code == 0, bulk.output
    args = ["--db", chain.url, "step", "undo", COOPS[3], "socialisation", "--reason", "typo"]
    single = runner.invoke(cli, args)
    assert single.exit_code == 0, single.output

    lines = _log_lines(tmp_path)
    batches = [x for x in lines if x["event"] == "audit events committed"]
    assert [(b["audit_seq_first"], b["audit_seq_last"], b["events"]) for b in batches[-2:]] == [
        (15, 17, 3),
        (18, 18, 1),
    ]
    one = [x for x in lines if x["event"] == "committed"][-1]
    assert (one["audit_seq"], one["coop"]) == (18, COOPS[3])
    events = json.loads(run(runner, chain.url, "log", "--json", "--limit", "4").stdout)
    assert [(e["seq"], e["action"], e["coop"]) for e in events] == [
        (15, "step.completed", COOPS[0]),
        (16, "step.completed", COOPS[1]),
        (17, "step.completed", COOPS[2]),
        (18, "step.undone", COOPS[3]),
    ]
