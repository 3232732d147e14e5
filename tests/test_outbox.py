"""The transactional outbox for partner notifications (issue #13), on SQLite and PostgreSQL.

A partner's plugin (``tests/plugins/outbox_sink.py``) asks for a notification of every change
to a cooperative enrolled with it; the rows are written with the change, and ``kopflow
partner deliver`` hands them to its sink file in audit order, at least once, with the audit
sequence number as the idempotency key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from db_helpers import db_state
from engine_helpers import drive_to, rows, seeds

from kopflow.engine import Kopflow
from kopflow.errors import PermissionDeniedError, RefusedError
from kopflow.host.manager import PluginHost, make_plugin_host
from kopflow.store import db

PLUGIN = str(Path(__file__).parent / "plugins" / "outbox_sink.py")
COOPS = ["KDMP-900001", "KDMP-900002", "KDMP-900003"]


def sink_host() -> PluginHost:
    host = make_plugin_host(extra_modules=[PLUGIN], load_entry_points=False)
    assert not host.errors, host.errors
    return host


def read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def outbox(engine: Kopflow) -> list[dict[str, Any]]:
    return [dict(r) for r in rows(engine, "SELECT * FROM outbox ORDER BY audit_seq, partner")]


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sink.jsonl"
    monkeypatch.setenv("KOPFLOW_TEST_SINK", str(path))
    return path


@pytest.fixture
def engine(db_url: str) -> Kopflow:
    """Three cooperatives in onboarding, enrolled with ``sink``, its first step done."""
    engine = Kopflow(db_url, plugins=sink_host())
    engine.init()
    engine.register(seeds(len(COOPS)), source="test")
    for coop in COOPS:
        drive_to(engine, coop, engine.workflow.onboarding_stage)
        engine.enroll(coop, ["sink"])
        engine.complete_step(coop, "sink.first", {"ref": f"REF-{coop}"})
    return engine


def test_changes_write_their_notifications_in_their_transaction(engine: Kopflow) -> None:
    written = outbox(engine)
    # An enrolment and a step per cooperative, nothing for the changes before it enrolled.
    assert [(r["coop_id"], r["action"]) for r in written] == [
        (coop, action) for coop in COOPS for action in ("partner.enrolled", "step.completed")
    ]
    events = {
        r["seq"]: r["action"]
        for r in rows(engine, "SELECT seq, action FROM audit_event WHERE coop_id IS NOT NULL")
    }
    for row in written:
        assert events[row["audit_seq"]] == row["action"]  # the key is the change's own event
        assert row["status"] == "pending" and row["attempts"] == 0 and row["partner"] == "sink"
    payload = json.loads(written[1]["payload"])
    assert payload["step"] == "sink.first" and payload["evidence"] == {"ref": "REF-KDMP-900001"}


def test_a_refused_change_leaves_no_outbox_row(engine: Kopflow, db_url: str) -> None:
    before = db_state(db_url)
    with pytest.raises(RefusedError):
        engine.complete_step(COOPS[0], "sink.first", {"ref": "refuse"}, reason="again")
    assert db_state(db_url) == before
    # In a bulk batch, the refused cooperative's row goes with it; the others' stay.
    result = engine.complete_steps_bulk(
        [(COOPS[0], "sink.second", {}), (COOPS[1], "sink.second", {}), ("KDMP-900002", "nib", {})]
    )
    assert [o.coop_id for o in result.refused] == [COOPS[1]]
    added = [r for r in outbox(engine) if r["audit_seq"] > before["head"].seq]
    assert [(r["coop_id"], json.loads(r["payload"])["step"]) for r in added] == [
        (COOPS[0], "sink.second")
    ]


def test_delivery_that_fails_twice_then_succeeds_delivers_each_row_once(
    engine: Kopflow, sink: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOPFLOW_TEST_SINK_FAILS", "2")
    waits: list[float] = []
    result = engine.deliver(retries=3, backoff=0.5, sleep=waits.append)
    assert result.delivered == {"sink": 6} and not result.failed
    assert waits == [0.5, 1.0]  # backoff doubles; nobody slept
    delivered = read(sink)
    keys = [r["audit_seq"] for r in outbox(engine)]
    assert [d["key"] for d in delivered] == keys  # in audit order, each exactly once
    assert {d["action"] for d in delivered} == {"partner.enrolled", "step.completed"}
    assert all(r["status"] == "delivered" and r["delivered_at"] for r in outbox(engine))
    assert outbox(engine)[0]["attempts"] == 3 and outbox(engine)[1]["attempts"] == 1
    again = engine.deliver(sleep=waits.append)  # nothing left: nothing is sent twice
    assert again.delivered == {} and len(read(sink)) == len(keys)


def test_a_failure_is_marked_with_its_error_and_keeps_the_order(
    engine: Kopflow, sink: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOPFLOW_TEST_SINK_FAILS", "3")
    result = engine.deliver(retries=1, backoff=0, sleep=lambda _s: None)
    first = outbox(engine)[0]["audit_seq"]
    assert result.delivered == {} and result.waiting == {"sink": 5}
    assert result.failed == [
        {
            "partner": "sink",
            "key": first,
            "coop": COOPS[0],
            "error": "plugin outbox_sink failed in kopflow_deliver: "
            "ConnectionError: partner system down (call 2)",
        }
    ]
    failed = engine.outbox(failed=True)
    assert [(r["key"], r["status"], r["attempts"]) for r in failed] == [(first, "failed", 2)]
    assert "partner system down" in failed[0]["error"]
    assert engine.outbox_counts() == {"sink": {"pending": 5, "failed": 1}}
    # The committed changes are untouched; the next run delivers everything, in order.
    result = engine.deliver(retries=1, backoff=0, sleep=lambda _s: None)
    assert result.delivered == {"sink": 6}
    assert [d["key"] for d in read(sink)] == [r["audit_seq"] for r in outbox(engine)]
    assert engine.outbox() == [] and len(engine.outbox(everything=True)) == 6


def test_the_report_shows_undelivered_notifications(
    engine: Kopflow, sink: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kopflow.report.data import build_report, collect

    monkeypatch.setenv("KOPFLOW_TEST_SINK_FAILS", "1")
    engine.deliver(retries=0, sleep=lambda _s: None)
    (sink_pipeline,) = [p for p in collect(engine, "Kabupaten Uji").partners if p.code == "sink"]
    assert (sink_pipeline.undelivered, sink_pipeline.failed) == (6, 1)
    page = build_report(engine, "Kabupaten Uji")
    assert "6 notifications to this partner not delivered yet, 1 of them failed" in page


# On PostgreSQL the login acts, so actors are the logins of `db grant`: the grants test below
# covers that backend; a skipped PostgreSQL case would fail CI's KOPFLOW_REQUIRE_POSTGRES.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_partners_staff_deliver_only_their_own_rows(engine: Kopflow, db_url: str) -> None:
    host = make_plugin_host(extra_modules=[PLUGIN])  # BRI too: an actor's partner must exist
    admin = Kopflow(db_url, plugins=host)
    for name, role, partner in (("sinkstaff", "partner", "sink"), ("bristaff", "partner", "bri")):
        admin.add_actor(name, role=role, partner=partner)
    admin.add_actor("officer1", role="officer", region="Kabupaten Uji")
    staff = Kopflow(db_url, actor="bristaff", plugins=host)
    with pytest.raises(PermissionDeniedError, match="bri .*notifications of sink"):
        staff.deliver("sink", sleep=lambda _s: None)
    assert staff.deliver(sleep=lambda _s: None).delivered == {}  # bri's rows: none
    assert staff.outbox() == [] and staff.outbox_counts() == {}
    with pytest.raises(PermissionDeniedError, match="may not deliver"):
        Kopflow(db_url, actor="officer1", plugins=host).deliver()
    own = Kopflow(db_url, actor="sinkstaff", plugins=host)
    assert len(own.outbox()) == 6


def deliver_process(url: str, folder: Path, sink: Path, **env: str) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    environ.update(
        KOPFLOW_LANG="en",
        KOPFLOW_LOG=str(folder / "kopflow.log"),
        KOPFLOW_LOAD_PLUGINS="",
        KOPFLOW_TEST_SINK=str(sink),
        KOPFLOW_TEST_SINK_IDEMPOTENT="1",
        **env,
    )
    script = str(Path(sys.executable).parent / "kopflow")
    return subprocess.Popen(
        [script, "--db", url, "--plugin", PLUGIN, "partner", "deliver", "sink", "--backoff", "0"],
        cwd=folder,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_sigkill_during_delivery_loses_nothing_and_duplicates_nothing(
    engine: Kopflow, sink: Path, tmp_path: Path
) -> None:
    url = engine.url
    db.dispose_engines()
    raw = sink.with_name(sink.name + ".raw")
    first = deliver_process(url, tmp_path, sink, KOPFLOW_TEST_SINK_BLOCK="3")
    deadline = time.monotonic() + 120  # a bound on a hung run, not an assertion on speed
    while len(read(raw)) < 3 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(read(raw)) == 3, first.communicate()
    first.send_signal(signal.SIGKILL)
    first.communicate()  # reaps it and closes its pipes
    # Two rows marked delivered, the third in flight: at the partner, still pending here.
    states = [r["status"] for r in outbox(engine)]
    assert states == ["delivered"] * 2 + ["pending"] * 4
    second = deliver_process(url, tmp_path, sink)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert out.strip() == "4 notifications delivered" and err == ""
    keys = [r["audit_seq"] for r in outbox(engine)]
    assert [d["key"] for d in read(sink)] == keys  # every row, once, in order
    sent = [d["key"] for d in read(raw)]
    assert sorted(sent) == sorted([*keys, keys[2]])  # only the row in flight came twice
    assert all(r["status"] == "delivered" for r in outbox(engine))


# --- the commands ------------------------------------------------------------------------------


@pytest.fixture
def cli(sqlite_url: str, sink: Path) -> Any:
    """``kopflow --db <the engine's SQLite file> ARGS`` in-process, with the sink plugin."""
    from click.testing import CliRunner

    from kopflow.cli import cli as root

    engine = Kopflow(sqlite_url, plugins=sink_host())
    engine.init()
    engine.register(seeds(2), source="test")
    for coop in COOPS[:2]:
        drive_to(engine, coop, engine.workflow.onboarding_stage)
        engine.enroll(coop, ["sink"])
    db.dispose_engines()

    def run(*args: str, expect: int = 0) -> Any:
        result = CliRunner().invoke(root, ["--db", sqlite_url, *args], obj=sink_host())
        assert result.exit_code == expect, (result.stdout, result.stderr)
        return result

    return run


def test_deliver_failure_is_one_stderr_line_at_the_end_and_exit_6(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOPFLOW_TEST_SINK_FAILS", "99")
    result = cli("partner", "deliver", "--retries", "1", "--backoff", "0", expect=6)
    assert result.stdout == "0 notifications delivered\n"
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Warning: notification ")
    assert "to sink not delivered (plugin outbox_sink failed in kopflow_deliver: " in lines[0]
    assert lines[0].endswith(
        "partner system down (call 2)); 1 more wait behind it; "
        "see 'kopflow partner outbox sink --failed'"
    )
    failed = json.loads(cli("partner", "outbox", "--failed", "--json").stdout)
    assert [(r["partner"], r["status"], r["attempts"]) for r in failed] == [("sink", "failed", 2)]
    assert "partner system down" in failed[0]["error"]
    listing = cli("partner", "outbox", "sink").stdout
    assert "2 notifications" in listing and "failed" in listing and "pending" in listing
    status = json.loads(cli("partner", "status", "--partner", "sink", "--json").stdout)
    assert status[0]["outbox"] == {"pending": 1, "failed": 1}
    text = cli("partner", "status", "--partner", "sink").stdout
    assert "Notifications to sink: 1 pending, 1 failed (kopflow partner outbox sink)" in text
    monkeypatch.setenv("KOPFLOW_TEST_SINK_FAILS", "0")
    assert cli("partner", "deliver", "sink").stdout == "2 notifications delivered\n"
    assert cli("partner", "outbox", "--json").stdout.strip() == "[]"


def test_a_failing_after_step_hook_is_a_warning_on_stderr(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOPFLOW_TEST_AFTER_FAILS", "1")
    result = cli("step", "complete", COOPS[0], "sink.first", "--set", "ref=R-1")
    assert "completed" in result.stdout
    assert result.stderr == (
        "Warning: plugin outbox_sink failed in kopflow_after_step: TimeoutError: sink webhook "
        "timed out; the change is committed\n"
    )
    # The notification is in the outbox all the same: it was written with the step.
    rows = json.loads(cli("partner", "outbox", "--json").stdout)
    assert [r["action"] for r in rows] == ["partner.enrolled"] * 2 + ["step.completed"]


@pytest.mark.parametrize("backend", ["postgresql"])  # counted as a PostgreSQL test
def test_database_grants_let_each_role_do_its_part(backend: str, pg_url: str, sink: Path) -> None:
    """On PostgreSQL after ``db grant``: an officer's and a partner's logins write outbox rows
    with their changes, the partner's login marks them delivered, an officer's may not."""
    from db_helpers import drop_roles, login_url, run_as, tag
    from sqlalchemy.exc import DBAPIError

    suffix = "_" + tag()
    officer, staff = "officer" + suffix, "partner" + suffix
    engine = Kopflow(pg_url, plugins=sink_host())
    engine.init()
    engine.register(seeds(1), source="test")
    drive_to(engine, COOPS[0], engine.workflow.onboarding_stage)
    engine.enroll(COOPS[0], ["sink"])
    engine.add_actor(officer, role="officer", region="Kabupaten Uji")
    engine.add_actor(staff, role="partner", partner="sink")
    try:
        engine.grant()
        as_officer = Kopflow(login_url(pg_url, officer), plugins=sink_host())
        as_staff = Kopflow(login_url(pg_url, staff), plugins=sink_host())
        as_officer.complete_step(COOPS[0], "sink.first", {"ref": "R-1"})
        as_staff.complete_step(COOPS[0], "sink.second", {})
        assert as_staff.deliver(sleep=lambda _s: None).delivered == {"sink": 3}
        assert [r["status"] for r in outbox(engine)] == ["delivered"] * 3
        with pytest.raises(DBAPIError) as err:
            run_as(pg_url, officer, "UPDATE outbox SET status = 'pending'")
        assert err.value.orig.sqlstate == "42501"  # type: ignore[union-attr]
    finally:
        drop_roles(pg_url, [officer, staff])
