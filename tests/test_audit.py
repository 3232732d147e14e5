"""kopflow.audit.chain and kopflow.audit.export: the hash chain holds, and every kind of tampering is found
and named by its sequence number (issue #7), on SQLite and PostgreSQL.

Tampering goes around kopflow, as an attacker holding the database would: on SQLite with the
sqlite3 module after dropping the append-only triggers, on PostgreSQL as the owner after
``ALTER TABLE audit_event DISABLE TRIGGER ALL``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import COOPS, Raw, build_chain, edit_body, edited_detail, sha
from db_helpers import db_state
from sqlalchemy.exc import DBAPIError

from kopflow.audit import chain as audit
from kopflow.audit.bundle import verify_export
from kopflow.audit.chain import (
    GENESIS_HASH,
    ChainWriter,
    EventFilter,
    check_checkpoint,
    read_head,
    select_events,
    snapshot,
    verify_database,
)
from kopflow.audit.checkpoint import Checkpoint, Signer
from kopflow.audit.export import export
from kopflow.engine import Kopflow
from kopflow.store import db

STAMP = "2025-06-30T00:00:00Z"
SIGNER = Signer("test.example/audit", hashlib.sha256(b"kopflow audit tests").digest())


@pytest.fixture
def chain(kopflow: Kopflow) -> Kopflow:
    build_chain(kopflow)
    return kopflow


def verify(engine: Kopflow, *checkpoints: Checkpoint) -> Any:
    with snapshot(engine.url) as conn:
        result = verify_database(conn, watch=[cp.size for cp in checkpoints])
    for cp in checkpoints:
        check_checkpoint(result, cp)
    return result


def checkpoint_now(engine: Kopflow) -> Checkpoint:
    with snapshot(engine.url) as conn:
        head = read_head(conn)
    return Checkpoint(head.log_id, head.seq, head.hash, STAMP)


# --- tampering as the database's owner --------------------------------------------------------


def forge(prev: str, seq: int, **fields: Any) -> dict[str, Any]:
    """A well-formed event, as someone who read docs/audit.md can write one."""
    data = {
        "v": "kopflow-audit-v1",
        "seq": seq,
        "at": "2025-06-15T00:00:00.000000Z",
        "actor": "mallory",
        "role": "admin",
        "action": "step.completed",
        "coop": COOPS[0],
        "details": {"note": "forged"},
        "prev": prev,
        **fields,
    }
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {
        "seq": seq,
        "at": data["at"],
        "actor": data["actor"],
        "role": data["role"],
        "action": data["action"],
        "coop_id": data["coop"],
        "body": body,
        "prev_hash": prev,
        "hash": sha(body),
    }


def insert(raw: Raw, row: dict[str, Any]) -> None:
    raw.run(
        "INSERT INTO audit_event (seq, at, actor, role, action, coop_id, body, prev_hash, hash) "
        "VALUES (:seq, :at, :actor, :role, :action, :coop_id, :body, :prev_hash, :hash)",
        **row,
    )


def rehash_from(raw: Raw, seq: int) -> None:
    """Recompute every link and hash from ``seq`` on, and move the head: a consistent rewrite."""
    prev = raw.event(seq - 1)["hash"]
    last = raw.rows("SELECT max(seq) FROM audit_event")[0][0]
    for n in range(seq, last + 1):
        data = json.loads(raw.event(n)["body"])
        data["prev"] = prev
        body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = sha(body)
        raw.put(n, body=body, prev_hash=data["prev"], hash=prev)
    raw.set_head(last)


def edited_detail_rehashed(raw: Raw) -> None:
    edit_body(raw, 8, '"date":"2025-06-02"', '"date":"2025-05-02"', rehash=True)


def edited_actor_column(raw: Raw) -> None:
    raw.put(8, actor="someone-else")


# Events 2 to 6 are one change (the registration): the same action, actor and timestamp, a
# cooperative each, so verify builds their common part once (issue #15). A column edited to
# its neighbour's value, or to any other, is still found.
def edited_coop_column_in_a_run(raw: Raw) -> None:
    raw.put(4, coop_id=raw.event(3)["coop_id"])


def edited_action_column_in_a_run(raw: Raw) -> None:
    raw.put(4, action="coop.deregistered")


def edited_role_column_in_a_run(raw: Raw) -> None:
    raw.put(4, role="auditor")


def edited_time_column_in_a_run(raw: Raw) -> None:
    raw.put(4, at=raw.event(8)["at"])


def edited_time_rehashed(raw: Raw) -> None:
    at = raw.event(8)["at"]
    edit_body(raw, 8, at, "2024-01-01T00:00:00.000000Z", rehash=True)
    raw.put(8, at="2024-01-01T00:00:00.000000Z")


def edited_prev_column(raw: Raw) -> None:
    raw.put(8, prev_hash="f" * 64)


def deleted(raw: Raw) -> None:
    raw.run("DELETE FROM audit_event WHERE seq = 8")


def deleted_and_renumbered(raw: Raw) -> None:
    raw.run("DELETE FROM audit_event WHERE seq = 8")
    for seq in range(9, 12):
        raw.run("UPDATE audit_event SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    raw.set_head(10)


def swapped(raw: Raw) -> None:
    eight, nine = raw.event(8), raw.event(9)
    raw.put(8, **{k: v for k, v in nine.items() if k != "seq"})
    raw.put(9, **{k: v for k, v in eight.items() if k != "seq"})


def inserted(raw: Raw) -> None:
    for seq in range(11, 7, -1):
        raw.run("UPDATE audit_event SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    insert(raw, forge(raw.event(7)["hash"], 8))
    raw.set_head(12)


def appended_without_head(raw: Raw) -> None:
    insert(raw, forge(raw.event(11)["hash"], 12))


def last_edited_rehashed(raw: Raw) -> None:
    edit_body(raw, 11, '"date":"2025-06-05"', '"date":"2025-05-05"', rehash=True)


@dataclass(frozen=True)
class Case:
    tamper: Callable[[Raw], None]
    seq: int
    words: str


CASES = {
    "edited-detail": Case(edited_detail, 8, "hash does not match"),
    "edited-detail-rehashed": Case(edited_detail_rehashed, 8, "event 8 was changed after"),
    "edited-actor-column": Case(edited_actor_column, 8, "actor column"),
    "edited-coop-column-in-a-run": Case(edited_coop_column_in_a_run, 4, "coop_id column"),
    "edited-action-column-in-a-run": Case(edited_action_column_in_a_run, 4, "action column"),
    "edited-time-column-in-a-run": Case(edited_time_column_in_a_run, 4, "at column"),
    "edited-role-column-in-a-run": Case(edited_role_column_in_a_run, 4, "role column"),
    "edited-time-rehashed": Case(edited_time_rehashed, 8, "event 8 was changed after"),
    "edited-prev-hash-column": Case(edited_prev_column, 8, "event 8"),
    "deleted": Case(deleted, 8, "event 8 is missing"),
    "deleted-and-renumbered": Case(deleted_and_renumbered, 8, "stored as 8 is event 9"),
    "swapped": Case(swapped, 8, "stored as 8 is event 9"),
    "inserted": Case(inserted, 8, "event 8 was inserted"),
    "appended-outside-kopflow": Case(appended_without_head, 12, "added outside kopflow"),
    "last-edited-rehashed": Case(last_edited_rehashed, 11, "chain head names another hash"),
}


def test_a_clean_chain_verifies(chain: Kopflow) -> None:
    """Issue #7: a chain written only by kopflow verifies, with and without a checkpoint."""
    result = verify(chain, checkpoint_now(chain))
    assert result.ok, result.problem
    assert (result.count, result.head_seq) == (11, 11)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_tampering_is_named_by_sequence_number(chain: Kopflow, case: Case) -> None:
    """Issue #7: each kind of tampering is found, and the event is named by its number."""
    with Raw(chain.url) as raw:
        case.tamper(raw)
    result = verify(chain)
    assert not result.ok
    assert result.problem_seq == case.seq, result.problem
    assert case.words in result.problem


def test_a_cut_tail_is_caught_with_a_checkpoint(chain: Kopflow) -> None:
    """Issue #7: removing the newest events (and moving the head back) passes the chain check
    alone; the checkpoint taken before names the first missing event."""
    before = checkpoint_now(chain)
    with Raw(chain.url) as raw:
        raw.run("DELETE FROM audit_event WHERE seq > 8")
        raw.set_head(8)
    assert verify(chain).ok  # what a hash chain cannot see on its own (docs/audit.md)
    result = verify(chain, before)
    assert result.problem_seq == 9
    assert "missing events 9 to 11" in result.problem


def test_a_rewritten_and_rehashed_chain_is_caught_with_a_checkpoint(chain: Kopflow) -> None:
    """Issue #7: history changed at event 5 and every later hash recomputed verifies as a
    chain; checkpoints taken before name the event whose signed hash no longer matches."""
    latest = checkpoint_now(chain)
    with snapshot(chain.url) as conn:
        older = Checkpoint(latest.origin, 6, _hash_of(conn, 6), STAMP)
    with Raw(chain.url) as raw:
        edit_body(raw, 5, '"source":"test"', '"source":"tset"', rehash=True)
        rehash_from(raw, 6)
    assert verify(chain).ok
    assert verify(chain, latest).problem_seq == 11
    result = verify(chain, older, latest)
    assert result.problem_seq == 6
    assert "rewritten" in result.problem


def _hash_of(conn: Any, seq: int) -> str:
    from sqlalchemy import text

    return str(
        conn.execute(text("SELECT hash FROM audit_event WHERE seq = :s"), {"s": seq}).scalar()
    )


def test_a_checkpoint_of_an_empty_chain_and_of_the_head_agree(chain: Kopflow) -> None:
    log_id = checkpoint_now(chain).origin
    assert verify(chain, Checkpoint(log_id, 0, GENESIS_HASH, STAMP)).ok
    assert verify(chain, Checkpoint(log_id, 11, "a" * 64, STAMP)).problem_seq == 11


# --- the database refuses changes -------------------------------------------------------------


def _as_owner(url: str, *statements: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(db.resolve_url(url))
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_event SET actor = 'x' WHERE seq = 2", "DELETE FROM audit_event WHERE seq = 2"],
    ids=["update", "delete"],
)
def test_the_triggers_refuse_update_and_delete(chain: Kopflow, statement: str) -> None:
    """Issue #7: audit events are append-only in the database itself."""
    with pytest.raises(DBAPIError, match="append-only"):
        _as_owner(chain.url, statement)
    assert verify(chain).ok


@pytest.mark.parametrize("replica", [False, True], ids=["postgresql-origin", "postgresql-replica"])
def test_postgresql_refuses_truncate_and_replication_role(pg_url: str, replica: bool) -> None:
    """Issue #7: TRUNCATE is refused too, and so is everything under
    ``session_replication_role = replica`` (the triggers are ENABLE ALWAYS)."""
    engine = Kopflow(pg_url)
    engine.init()
    build_chain(engine)
    prefix = ["SET session_replication_role = replica"] if replica else []
    for statement in (
        "TRUNCATE audit_event",
        "UPDATE audit_event SET actor = 'x' WHERE seq = 2",
        "DELETE FROM audit_event",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            _as_owner(pg_url, *prefix, statement)
    assert verify(engine).ok


# --- a change and its event commit together or not at all ---------------------------------------


def _add_failing_trigger(url: str, table: str) -> None:
    if db.is_sqlite(db.resolve_url(url)):
        _as_owner(
            url,
            f"CREATE TRIGGER test_fail BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'test trigger refused the insert'); END",
        )
    else:
        _as_owner(
            url,
            "CREATE FUNCTION test_fail() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'test trigger refused the insert'; END; $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER test_fail BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION test_fail()",
        )


@pytest.mark.parametrize(
    "table", ["step_record", "audit_event"], ids=["change-fails", "audit-write-fails"]
)
def test_a_failed_write_leaves_neither_change_nor_event(chain: Kopflow, table: str) -> None:
    """Issue #7: when the change's own insert fails there is no audit event, and when the audit
    insert fails there is no change: the cooperative row, its steps and the head are as before."""
    chain.undo_step(COOPS[0], "socialisation", reason="to complete it again")
    before = db_state(chain.url)
    _add_failing_trigger(chain.url, table)
    # The driver's own error on SQLite (kopflow.store.lite), SQLAlchemy's on PostgreSQL.
    with pytest.raises((DBAPIError, sqlite3.Error), match="test trigger refused"):
        chain.complete_step(COOPS[0], "socialisation", {"date": "2025-07-01"})
    assert db_state(chain.url) == before
    assert verify(chain).ok


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("selective", [10**9, 1], ids=["index-path", "seq-walk"])
def test_select_events_filters(chain: Kopflow, selective: int, monkeypatch: Any) -> None:
    """The filters of ``audit log`` and ``audit export``: coop, actor, action prefix, time
    range and the newest N; the same events whichever way SQLite is told to find them."""
    monkeypatch.setattr(audit, "SELECTIVE", selective)
    with snapshot(chain.url) as conn:
        every = list(select_events(conn, EventFilter()))

        def pick(**flt: Any) -> list[int]:
            return [r[0] for r in select_events(conn, EventFilter(**flt))]

        assert [r[0] for r in every] == list(range(1, 12))
        assert pick(coop_id=COOPS[1]) == [3, 8]
        assert pick(action="step.*") == [7, 8, 9, 10, 11]
        assert pick(action="step") == []
        assert pick(action="coop.registered", limit=2) == [5, 6]
        assert pick(limit=100) == list(range(1, 12))
        at7 = every[6][1]
        assert pick(since=at7) == [7, 8, 9, 10, 11]
        assert pick(until=every[5][1]) == [1, 2, 3, 4, 5, 6]
        assert pick(actor="nobody") == []
        assert pick(action="step.*", limit=2) == [10, 11]
        assert pick(action="coop.*", since=at7, limit=3) == []
        assert pick(action="*", until=every[5][1], limit=2) == [5, 6]


def test_action_prefix_whatever_the_collation(pg_url: str) -> None:
    """A national database may sort text linguistically (en_US, id_ID), where punctuation is
    ignored at first: "step.completed" < "step/" is then false. The prefix filter must not
    depend on it (PostgreSQL; SQLite's BINARY order is code point order)."""
    from sqlalchemy import text

    engine = Kopflow(pg_url)
    engine.init()
    build_chain(engine)
    with db.write_transaction(db.resolve_url(pg_url)) as conn:
        conn.execute(text("CREATE COLLATION IF NOT EXISTS kopflow_probe_shifted "
                          "(provider = icu, locale = 'en-u-ka-shifted')"))  # fmt: skip
        assert not conn.execute(
            text("SELECT 'step.completed' < 'step/' COLLATE kopflow_probe_shifted")
        ).scalar()
        conn.execute(text("ALTER TABLE audit_event ALTER COLUMN action "
                          "TYPE varchar COLLATE kopflow_probe_shifted"))  # fmt: skip
    with snapshot(pg_url) as conn:
        picked = [r[0] for r in select_events(conn, EventFilter(action="step.*"))]
        newest = [r[0] for r in select_events(conn, EventFilter(action="coop.*", limit=2))]
    assert picked == [7, 8, 9, 10, 11]
    assert newest == [5, 6]


# --- exports ------------------------------------------------------------------------------------


def _export(engine: Kopflow, out: Path, fmt: str = "jsonl", **flt: Any) -> Any:
    with snapshot(engine.url) as conn:
        return export(conn, out, fmt, EventFilter(**flt), signer=SIGNER, now=STAMP)


def _note(out: Path) -> str:
    return out.with_name(out.name + ".checkpoint").read_text(encoding="utf-8")


def test_an_export_verifies_offline_and_one_changed_byte_does_not(
    chain: Kopflow, tmp_path: Path
) -> None:
    """Issue #7: the JSONL bundle verifies without any database; the same export with one byte
    changed does not, whether or not the manifest is fixed up to match."""
    out = tmp_path / "audit.jsonl"
    summary = _export(chain, out)
    assert (summary.events, summary.first_seq, summary.last_seq) == (11, 1, 11)
    db.dispose_engines()
    check = verify_export(out, verifier=SIGNER.verifier())
    assert check.ok, check.problem
    assert check.complete and check.signature_checked and check.links == 11
    assert [c.size for c in check.checkpoints] == [11]

    data = bytearray(out.read_bytes())
    data[data.index(b"2025-06-03")] = ord("1")  # 2025-06-03 -> 1025-06-03 in event 9
    out.write_bytes(bytes(data))
    check = verify_export(out, verifier=SIGNER.verifier())
    assert not check.ok and check.problem_seq == 9

    # The manifest is not signed: fixing it up still leaves the event's hash wrong.
    manifest = out.with_name(out.name + ".manifest")
    lines = manifest.read_text().splitlines(keepends=True)
    lines[1] = f"{hashlib.sha256(bytes(data)).hexdigest()}  {out.name}\n"
    manifest.write_text("".join(lines))
    check = verify_export(out, verifier=SIGNER.verifier())
    assert check.problem_seq == 9 and "hash does not match" in check.problem


def test_a_rehashed_export_fails_its_signed_checkpoint(chain: Kopflow, tmp_path: Path) -> None:
    """A whole export rewritten with recomputed hashes and a new manifest still fails: the
    checkpoint's signature covers the real head hash."""
    out = tmp_path / "audit.jsonl"
    _export(chain, out)
    prev, lines = GENESIS_HASH, []
    for line in out.read_text().splitlines():
        item = json.loads(line)
        data = json.loads(item["body"])
        data["prev"] = prev
        if data["seq"] == 4:
            data["details"]["source"] = "forged"
        body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = sha(body)
        lines.append(json.dumps({"seq": data["seq"], "hash": prev, "body": body}))
    out.write_text("".join(f"{line.replace(', ', ',').replace(': ', ':')}\n" for line in lines))
    manifest = out.with_name(out.name + ".manifest")
    meta, *files = manifest.read_text().splitlines()
    original = meta
    claims = json.loads(meta.split(" ", 2)[2])
    file_sha = hashlib.sha256(out.read_bytes()).hexdigest()
    meta = meta.replace(claims["head_hash"], prev).replace(claims["file_sha256"], file_sha)
    files[0] = f"{file_sha}  {out.name}"
    manifest.write_text("\n".join([meta, *files]) + "\n")
    assert verify_export(out).ok  # without the key, only consistency can be shown
    check = verify_export(out, verifier=SIGNER.verifier())
    # The checkpoint signs the manifest's first line (issue #14), which now names another head.
    assert check.problem is not None and "is not what the checkpoint signed" in check.problem
    # A forger who keeps the signed first line still meets the signed head hash.
    manifest.write_text("\n".join([original, *files]) + "\n")
    check = verify_export(out, verifier=SIGNER.verifier())
    assert check.problem is not None and "another SHA-256" in check.problem


def test_a_filtered_export_checks_what_it_can(chain: Kopflow, tmp_path: Path) -> None:
    """A filtered export is not a contiguous chain: every hash is checked, links only between
    consecutive events, and a removed line is not taken for a filter gap in a full export."""
    out = tmp_path / "coop.jsonl"
    summary = _export(chain, out, coop_id=COOPS[1])
    assert (summary.events, summary.complete) == (2, False)
    check = verify_export(out, verifier=SIGNER.verifier())
    assert check.ok, check.problem
    assert (check.events, check.links, check.gaps, check.complete) == (2, 0, 2, False)

    steps = tmp_path / "steps.jsonl"
    _export(chain, steps, action="step.*")
    check = verify_export(steps, verifier=SIGNER.verifier())
    assert check.ok and check.links == 4

    full = tmp_path / "full.jsonl"
    _export(chain, full)
    kept = [ln for ln in full.read_bytes().splitlines(keepends=True) if b'"seq":5,' not in ln]
    full.write_bytes(b"".join(kept))
    check = verify_export(full)
    assert check.problem_seq == 5 and "missing" in check.problem


def test_an_export_refuses_to_overwrite_and_to_sign_a_broken_chain(
    chain: Kopflow, tmp_path: Path
) -> None:
    from kopflow.errors import AuditError, InputError

    out = tmp_path / "audit.jsonl"
    _export(chain, out)
    with pytest.raises(InputError, match="exists already"):
        _export(chain, out)
    with Raw(chain.url) as raw:
        edited_detail(raw)
    with pytest.raises(AuditError, match="at event 8"):
        _export(chain, tmp_path / "broken.jsonl")
    with pytest.raises(AuditError, match="at event 8"):
        _export(chain, tmp_path / "broken-filtered.jsonl", coop_id=COOPS[0])
    assert not list(tmp_path.glob("broken*"))
    assert not list(tmp_path.glob(".*.tmp"))


DANGEROUS = ["=1+2", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "\uff1d1+1"]


def _dangerous_events(url: str) -> None:
    """Events whose readable columns start like formulas (as names or actions could)."""
    now = datetime(2025, 6, 1, tzinfo=UTC)
    with db.write_transaction(db.resolve_url(url)) as conn:
        writer = ChainWriter(conn)
        for value in DANGEROUS:
            writer.append(
                actor=value, role=value, action=value, coop_id=value, details={"x": value}, at=now
            )
        writer.flush()


def test_csv_and_xlsx_never_hold_formulas(sqlite_url: str, tmp_path: Path) -> None:
    """Issue #7: a cell starting with =, +, -, @, tab or CR is prefixed with ' and, in XLSX,
    typed as text, so no spreadsheet runs it."""
    from openpyxl import load_workbook

    engine = Kopflow(sqlite_url)
    engine.init()
    _dangerous_events(sqlite_url)
    with snapshot(engine.url) as conn:
        export(conn, tmp_path / "a.csv", "csv", EventFilter(action="*"))
        export(conn, tmp_path / "a.xlsx", "xlsx", EventFilter())
    with open(tmp_path / "a.csv", encoding="utf-8-sig", newline="") as handle:
        records = list(csv.DictReader(handle))
    assert len(records) == 1 + len(DANGEROUS)
    for record, value in zip(records[1:], DANGEROUS, strict=True):
        for column in ("actor", "role", "action", "coop"):
            assert record[column] == "'" + value
        assert json.loads(record["details"]) == {"x": value}
    book = load_workbook(tmp_path / "a.xlsx")
    sheet = book["audit"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    for row, value in zip(list(sheet.iter_rows(min_row=3)), DANGEROUS, strict=True):
        for cell in row[2:6]:
            assert cell.data_type == "s"
            # XML readers turn a CR into LF; the text stays text either way.
            assert cell.value in ("'" + value, "'" + value.replace("\r", "\n"))
    book.close()


# --- docs/audit.md stays true -------------------------------------------------------------------

DOC = Path(__file__).resolve().parent.parent / "docs" / "audit.md"


def test_the_documented_example_event_hashes_as_stated() -> None:
    """docs/audit.md: the example body is canonical and its hash is the one printed."""
    import base64

    from kopflow.audit.canonical import canonical_bytes

    text = DOC.read_text(encoding="utf-8")
    body = text.split("```json\n", 1)[1].split("\n```", 1)[0]
    stated = text.split("Its hash is `", 1)[1].split("`", 1)[0]
    assert sha(body) == stated
    assert canonical_bytes(json.loads(body)) == body.encode("utf-8")
    note = text.split("```text\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert base64.b64decode(note[2]).hex() == stated == note[3].split()[1]


def test_the_documented_offline_verifier_runs(chain: Kopflow, tmp_path: Path) -> None:
    """docs/audit.md: the standard-library verifier accepts a real export, checks its signature
    and rejects the same export with one byte changed or another key
    (the forgeries of issue #14 are in tests/test_export_trust.py)."""
    import subprocess
    import sys

    text = DOC.read_text(encoding="utf-8")
    marker = "<!-- offline-verifier: tests/test_audit.py runs this block -->\n```python\n"
    program = text.split(marker, 1)[1].split("```", 1)[0]
    assert len(program.splitlines()) <= 100  # short enough to read before running it
    out = tmp_path / "audit.jsonl"
    _export(chain, out)
    public = tmp_path / "audit.pub"
    public.write_text(SIGNER.verifier().vkey + "\n")
    run = [sys.executable, "-c", program, str(out), str(public)]
    good = subprocess.run(run, capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("ok: 11 events, the whole chain; head 11 ")
    other = Signer("test.example/audit", hashlib.sha256(b"another key").digest())
    public.write_text(other.verifier().vkey + "\n")
    wrong = subprocess.run(run, capture_output=True, text=True, check=False)
    assert wrong.returncode != 0 and "is not signed by" in wrong.stderr
    public.write_text(SIGNER.verifier().vkey + "\n")
    out.write_bytes(out.read_bytes().replace(b"2025-06-03", b"2025-06-13", 1))
    bad = subprocess.run(run, capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and "was changed" in bad.stderr
