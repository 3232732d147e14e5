"""Exports an auditor can trust (issue #14, point 3): ``audit verify --file ... --key K`` fails
when the export carries no checkpoint signed by K, and the export's checkpoint signs the
manifest's claims (complete or not, filters, event count and range, the events file's hash), so
the three forgeries of the issue fail with kopflow, through the CLI, and with the standard-library
verifier printed in docs/audit.md.

Each forgery is made as a careful forger would: the sha256 lines of the manifest recomputed, and
the manifest's own statement of the file's hash too.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from audit_helpers import COOPS, build_chain, sha
from click.testing import CliRunner

from kopflow.audit.bundle import verify_export
from kopflow.audit.chain import GENESIS_HASH, EventFilter, read_head, snapshot
from kopflow.audit.checkpoint import Checkpoint, Signer, sign_checkpoint
from kopflow.audit.export import export
from kopflow.cli import cli
from kopflow.engine import Kopflow
from kopflow.errors import AuditError
from kopflow.store import db

STAMP = "2025-06-30T00:00:00Z"
SIGNER = Signer("inspektorat.example/uji", hashlib.sha256(b"kopflow export trust").digest())
DOC = Path(__file__).resolve().parent.parent / "docs" / "audit.md"
MARKER = "<!-- offline-verifier: tests/test_audit.py runs this block -->\n```python\n"


@pytest.fixture
def bundle(kopflow: Kopflow, tmp_path: Path) -> tuple[Path, Path, Path]:
    """(the full signed export, the public key file, a checkpoint the auditor kept)."""
    build_chain(kopflow)
    out = tmp_path / "audit.jsonl"
    with snapshot(kopflow.url) as conn:
        export(conn, out, "jsonl", EventFilter(), signer=SIGNER, now=STAMP)
        head = read_head(conn)
    db.dispose_engines()
    public = tmp_path / "inspektorat.pub"
    public.write_text(SIGNER.verifier().vkey + "\n", encoding="utf-8")
    kept = tmp_path / "kept.checkpoint"
    kept.write_text(sign_checkpoint(Checkpoint(head.log_id, head.seq, head.hash, STAMP), SIGNER))
    return out, public, kept


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def forge_manifest(out: Path, **claims: object) -> None:
    """Rewrite the manifest as a forger would: ``claims`` changed, every hash recomputed, and
    the checkpoint listed only if it is still there."""
    manifest = out.with_name(out.name + ".manifest")
    tag, text = manifest.read_text().splitlines()[0].split(" ", 2)[1:]
    meta = json.loads(text) | claims
    meta["file_sha256"] = _file_sha(out)
    lines = [f"# {tag} {json.dumps(meta, sort_keys=True, separators=(',', ':'))}"]
    for path in (out, out.with_name(out.name + ".checkpoint")):
        if path.exists():
            lines.append(f"{_file_sha(path)}  {path.name}")
    manifest.write_text("\n".join(lines) + "\n")


def rewrite_event(out: Path, seq: int) -> str:
    """Change event ``seq`` and rehash it and every later one; returns the new head hash."""
    prev, lines = GENESIS_HASH, []
    for line in out.read_text().splitlines():
        data = json.loads(json.loads(line)["body"])
        data["prev"] = prev
        if data["seq"] == seq:
            data["details"]["source"] = "forged"
        body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = sha(body)
        lines.append(json.dumps({"seq": data["seq"], "hash": prev, "body": body}))
    out.write_text("".join(f"{ln.replace(', ', ',').replace(': ', ':')}\n" for ln in lines))
    return prev


def forgery_checkpoint_deleted(out: Path) -> None:
    """Issue #14: a rewritten export whose checkpoint file was deleted."""
    head = rewrite_event(out, 4)
    out.with_name(out.name + ".checkpoint").unlink()
    forge_manifest(out, head_hash=head, signed_by=None)


def forgery_line_deleted(out: Path, seq: int = 5) -> None:
    """Issue #14: an event line deleted, "complete": false, the sha256 lines recomputed."""
    line = b'"seq":%d,' % seq
    kept = [ln for ln in out.read_bytes().splitlines(keepends=True) if line not in ln]
    assert len(kept) < len(out.read_bytes().splitlines())
    out.write_bytes(b"".join(kept))
    forge_manifest(out, complete=False, events=len(kept))


def forgery_count_changed(out: Path) -> None:
    """Issue #14: the manifest's "events" count changed."""
    forge_manifest(out, events=12)


FORGERIES: list[Callable[[Path], None]] = [
    forgery_checkpoint_deleted,
    forgery_line_deleted,
    forgery_count_changed,
]


def stdlib_verifier(*args: Path) -> subprocess.CompletedProcess[str]:
    """Run the verifier of docs/audit.md, which uses only Python's standard library."""
    program = DOC.read_text(encoding="utf-8").split(MARKER, 1)[1].split("```", 1)[0]
    return subprocess.run(
        [sys.executable, "-c", program, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def cli_verify(out: Path, public: Path, *kept: Path) -> tuple[int, str]:
    args = ["audit", "verify", "--file", str(out), "--key", str(public)]
    for path in kept:
        args += ["--checkpoint", str(path)]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout + result.stderr


def test_a_genuine_export_verifies_everywhere(bundle: tuple[Path, Path, Path]) -> None:
    out, public, kept = bundle
    check = verify_export(out, verifier=SIGNER.verifier(), checkpoints=[kept.read_text()])
    assert check.ok, check.problem
    assert check.signature_checked and check.ranges == [(1, 11)]
    code, text = cli_verify(out, public, kept)
    assert code == 0, text
    assert "the whole chain, events 1 to 11" in text and "and agrees" in text
    good = stdlib_verifier(out, public, kept)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("ok: 11 events, the whole chain; head 11 ")


@pytest.mark.parametrize("forge", FORGERIES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("with_kept", [False, True], ids=["own", "kept"])
def test_the_three_forgeries_fail_with_the_key(
    bundle: tuple[Path, Path, Path], forge: Callable[[Path], None], with_kept: bool
) -> None:
    """Each forgery fails with --key in kopflow, in the CLI (exit 7, one line) and in the docs'
    verifier; also when the auditor brings the checkpoint kept from before."""
    out, public, kept = bundle
    forge(out)
    extra = [kept] if with_kept else []
    check = verify_export(
        out, verifier=SIGNER.verifier(), checkpoints=[p.read_text() for p in extra]
    )
    assert not check.ok
    code, text = cli_verify(out, public, *extra)
    assert code == 7 and text.startswith("Error: the export does not verify"), text
    assert len(text.strip().splitlines()) == 1
    bad = stdlib_verifier(out, public, *extra)
    assert bad.returncode != 0 and not bad.stdout, bad.stdout


def test_what_each_forgery_is_told(bundle: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """The refusal names what is wrong, not just that something is."""
    out, _public, _kept = bundle
    forgery_checkpoint_deleted(out)
    problem = verify_export(out, verifier=SIGNER.verifier()).problem or ""
    assert "carries no checkpoint signed by inspektorat.example/uji" in problem
    # Without the key only consistency can be shown, and the forged file is consistent.
    assert verify_export(out).ok


def test_edited_claims_break_the_signature(bundle: tuple[Path, Path, Path]) -> None:
    out, _public, _kept = bundle
    forgery_count_changed(out)
    problem = verify_export(out, verifier=SIGNER.verifier()).problem or ""
    assert "is not what the checkpoint signed" in problem
    # Even without the key, a count that disagrees with the file is caught.
    problem = verify_export(out).problem or ""
    assert "the manifest claims 12 events (1 to 11); the file holds 11" in problem


def test_a_plain_checkpoint_cannot_stand_in_for_the_exports(
    bundle: tuple[Path, Path, Path],
) -> None:
    """Putting the auditor's own (database) checkpoint beside a forged export does not help:
    it signs no manifest."""
    out, public, kept = bundle
    forgery_line_deleted(out)
    beside = out.with_name(out.name + ".checkpoint")
    beside.write_text(kept.read_text())
    forge_manifest(out)
    problem = verify_export(out, verifier=SIGNER.verifier()).problem or ""
    assert "does not sign the export's manifest" in problem
    assert stdlib_verifier(out, public).returncode != 0


def test_a_filtered_export_says_which_events_it_covers(
    kopflow: Kopflow, runner: CliRunner, tmp_path: Path
) -> None:
    """The verify output lists the events of a selection exactly, as runs of numbers; its
    signed checkpoint covers the selection; a kept checkpoint whose event is not in it is
    said to be not compared, not to agree."""
    build_chain(kopflow)
    out = tmp_path / "coop.jsonl"
    with snapshot(kopflow.url) as conn:
        export(conn, out, "jsonl", EventFilter(coop_id=COOPS[1]), signer=SIGNER, now=STAMP)
        head = read_head(conn)
    db.dispose_engines()
    held = [json.loads(line)["seq"] for line in out.read_text().splitlines()]
    assert held == [3, 8]
    public = tmp_path / "k.pub"
    public.write_text(SIGNER.verifier().vkey + "\n")
    kept = tmp_path / "kept.checkpoint"
    kept.write_text(sign_checkpoint(Checkpoint(head.log_id, head.seq, head.hash, STAMP), SIGNER))
    code, text = cli_verify(out, public, kept)
    assert code == 0, text
    assert "a selection of 2 events of log" in text
    assert 'filters {"coop_id": "KDMP-990002"}: 3, 8.' in text
    assert "was not compared: event 11 is not in this selection" in text
    data = json.loads(
        runner.invoke(
            cli, ["audit", "verify", "--file", str(out), "--key", str(public), "--json"]
        ).stdout
    )
    assert data["ranges"] == [[3, 3], [8, 8]] and data["checkpoint_signature_checked"]
    steps = tmp_path / "steps.jsonl"
    with snapshot(kopflow.url) as conn:
        export(conn, steps, "jsonl", EventFilter(action="step.*"), signer=SIGNER, now=STAMP)
    code, text = cli_verify(steps, public)
    assert code == 0 and ": 7 to 11." in text, text
    good = stdlib_verifier(steps, public)
    assert good.returncode == 0 and "a selection" in good.stdout, good.stderr
    forgery_line_deleted(steps, 9)  # the selection cut by one event
    assert cli_verify(steps, public)[0] == 7
    assert stdlib_verifier(steps, public).returncode != 0


def test_an_old_export_is_read_but_not_vouched_for(bundle: tuple[Path, Path, Path]) -> None:
    """A kopflow-audit-export-v1 bundle (before issue #14) still verifies as consistent
    without --key, saying it is old; with --key it is refused with a clear message."""
    out, public, _kept = bundle
    manifest = out.with_name(out.name + ".manifest")
    meta = json.loads(manifest.read_text().splitlines()[0].split(" ", 2)[2])
    del meta["file_sha256"]
    cp = Checkpoint(meta["log"], meta["head_seq"], meta["head_hash"], STAMP)
    beside = out.with_name(out.name + ".checkpoint")
    beside.write_text(sign_checkpoint(cp, SIGNER))
    text = f"# kopflow-audit-export-v1 {json.dumps(meta, sort_keys=True, separators=(',', ':'))}\n"
    text += f"{_file_sha(out)}  {out.name}\n{_file_sha(beside)}  {beside.name}\n"
    manifest.write_text(text)
    result = CliRunner().invoke(cli, ["audit", "verify", "--file", str(out)])
    assert result.exit_code == 0, result.output
    assert "written by an older kopflow (kopflow-audit-export-v1)" in result.stdout
    with pytest.raises(AuditError, match="older kopflow"):
        verify_export(out, verifier=SIGNER.verifier())
    code, said = cli_verify(out, public)
    assert code == 7 and "export the events again" in said
    assert stdlib_verifier(out, public).returncode != 0
