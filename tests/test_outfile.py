"""Files the user names are never clobbered by surprise (issue #14, point 4).

Every output option (``report --out``, ``coop show --html``, ``audit export --out``, ``audit
checkpoint --out``, ``audit keygen``) goes through ``kopflow.store.outfile.write_file``: an
existing file is refused unless ``--force``; a symbolic link and the open database never, even
with ``--force``; and the write is atomic, so a full disk (ENOSPC injected into the fsync, the
last step before the file takes its name) leaves no partial or empty file and keeps the old one.
Run on a real SQLite file, through the CLI in-process and as a subprocess.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from audit_helpers import COOPS, build_chain
from click.testing import CliRunner, Result

from kopflow.cli import cli
from kopflow.engine import Kopflow
from kopflow.errors import InputError
from kopflow.store import db
from kopflow.store.outfile import write_file

REGION = "Kabupaten Uji"


@pytest.fixture
def office(sqlite_url: str, tmp_path: Path) -> tuple[Path, Path, Path]:
    """(the database ./kopflow.db, the default one, with a chain; a private and a public key)."""
    engine = Kopflow(sqlite_url)
    engine.init()
    build_chain(engine)
    db.dispose_engines()
    private, public = tmp_path / "k.key", tmp_path / "k.pub"
    made = invoke("audit", "keygen", "--out-private", str(private), "--out-public", str(public))
    assert made.exit_code == 0, made.output
    return Path(sqlite_url), private, public


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def one_error(result: Result, code: int = 2) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == code, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def no_leftovers(folder: Path) -> bool:
    return not list(folder.glob(".*.tmp"))


# Each output option, as a function of the file it is told to write.
WRITERS: dict[str, Callable[[Path], list[str]]] = {
    "report": lambda out: ["report", "--region", REGION, "--out", str(out)],
    "coop show --html": lambda out: ["coop", "show", COOPS[0], "--html", str(out)],
    "audit export csv": lambda out: ["audit", "export", "--format", "csv", "--out", str(out)],
    "audit export jsonl": lambda out: ["audit", "export", "--out", str(out), "--key", "k.key"],
    "audit checkpoint": lambda out: ["audit", "checkpoint", "--key", "k.key", "--out", str(out)],
    "audit keygen": lambda out: (
        ["audit", "keygen", "--out-private", "n.key", "--out-public"] + [str(out)]
    ),
}


@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_no_output_option_writes_the_database(
    office: tuple[Path, Path, Path], writer: str, force: bool, tmp_path: Path
) -> None:
    """Issue #14: ``report --out kopflow.db`` overwrote the live database. Now every output
    option refuses it, by its own name, by a path through ``..`` and by a hard link, --force
    or not, and the database is untouched and still opens."""
    database = office[0]
    before = digest(database)
    (tmp_path / "sub").mkdir()
    os.link(database, tmp_path / "alias.db")
    for name in ("kopflow.db", "sub/../kopflow.db", "alias.db", str(database)):
        args = WRITERS[writer](Path(name)) + (["--force"] if force else [])
        line = one_error(invoke(*args))
        assert "is the kopflow database; choose another file name" in line, line
    assert digest(database) == before
    assert invoke("audit", "verify").exit_code == 0
    assert no_leftovers(tmp_path)
    assert not (tmp_path / "n.key").exists()  # keygen wrote neither key


@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
def test_a_symlink_is_never_written_through(
    office: tuple[Path, Path, Path], writer: str, tmp_path: Path
) -> None:
    """``--out`` onto a symlink is refused, even with --force, and even when it dangles: what
    it points to is not created or changed."""
    target = tmp_path / "precious.txt"
    target.write_text("precious\n")
    link, dangling = tmp_path / "link.out", tmp_path / "dangling.out"
    link.symlink_to(target)
    dangling.symlink_to(tmp_path / "nowhere.txt")
    for path in (link, dangling):
        for extra in ([], ["--force"]):
            line = one_error(invoke(*WRITERS[writer](path), *extra))
            assert f"{path} is a symbolic link; kopflow never writes through one" in line
    assert target.read_text() == "precious\n" and link.is_symlink()
    assert not (tmp_path / "nowhere.txt").exists()


@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
def test_an_existing_file_needs_force_and_is_then_replaced_whole(
    office: tuple[Path, Path, Path], writer: str, tmp_path: Path
) -> None:
    out = tmp_path / "out.file"
    out.write_text("old\n")
    line = one_error(invoke(*WRITERS[writer](out)))
    # A key file says so, and that the old key would be lost; the rest say it plainly.
    assert str(out) in line and "already" in line and "give --force to replace it" in line
    assert out.read_text() == "old\n"
    if writer == "audit keygen":
        (tmp_path / "n.key").unlink(missing_ok=True)
    forced = invoke(*WRITERS[writer](out), "--force")
    assert forced.exit_code == 0, forced.output
    assert out.read_text() != "old\n" and out.stat().st_size > 40
    assert no_leftovers(tmp_path)


def _full_disk(monkeypatch: pytest.MonkeyPatch, after: int = 0) -> None:
    """ENOSPC from the ``after``+1-th fsync on: the content was written, it cannot be kept."""
    real, calls = os.fsync, [0]

    def fsync(fd: int) -> None:
        calls[0] += 1
        if calls[0] > after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_full_disk_leaves_no_checkpoint_to_block_the_retry(
    office: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #14: a full disk during ``audit checkpoint --out cp`` left a 0-byte file that
    blocked the retry. Now nothing is left, the message says what to do, and the retry works."""
    cp = tmp_path / "cp"
    with monkeypatch.context() as patch:
        _full_disk(patch)
        line = one_error(invoke(*WRITERS["audit checkpoint"](cp)))
    assert "the disk is full; free some space and try again (nothing was written)" in line
    assert not cp.exists() and no_leftovers(tmp_path)
    retry = invoke(*WRITERS["audit checkpoint"](cp))
    assert retry.exit_code == 0, retry.output
    assert cp.read_text().splitlines()[1] == "11"


@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
def test_a_full_disk_keeps_the_old_file_with_force(
    office: tuple[Path, Path, Path],
    writer: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out.file"
    out.write_text("old\n")
    with monkeypatch.context() as patch:
        _full_disk(patch)
        line = one_error(invoke(*WRITERS[writer](out), "--force"))
    assert "the disk is full" in line
    assert out.read_text() == "old\n" and no_leftovers(tmp_path)


def test_a_bundle_cut_short_by_a_full_disk_leaves_none_of_its_files(
    office: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JSONL export is three files; when the second cannot be written the first goes too,
    so no half bundle is taken for an export or blocks the retry."""
    out = tmp_path / "audit.jsonl"
    with monkeypatch.context() as patch:
        _full_disk(patch, after=1)
        one_error(invoke(*WRITERS["audit export jsonl"](out)))
    assert not list(tmp_path.glob("audit.jsonl*")) and no_leftovers(tmp_path)
    assert invoke(*WRITERS["audit export jsonl"](out)).exit_code == 0


def test_write_file_is_all_or_nothing(tmp_path: Path) -> None:
    """The helper itself: a writer that fails half-way leaves neither the file nor its
    temporary, and a new file the helper refuses to replace stays as it was."""
    out = tmp_path / "x.txt"

    def half(handle: object) -> None:
        handle.write(b"half")  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(InputError, match="the disk is full"):
        write_file(out, half)
    assert not out.exists() and no_leftovers(tmp_path)
    write_file(out, lambda h: h.write(b"one"))
    with pytest.raises(InputError, match="exists already"):
        write_file(out, lambda h: h.write(b"two"))
    assert out.read_bytes() == b"one"
    write_file(out, lambda h: h.write(b"two"), force=True)
    assert out.read_bytes() == b"two"
    with pytest.raises(InputError, match="the folder .* does not exist"):
        write_file(tmp_path / "missing" / "x.txt", lambda h: h.write(b""))


def test_report_onto_the_database_as_a_subprocess(office: tuple[Path, Path, Path]) -> None:
    """The reported case itself, as a user types it: ``kopflow report --out kopflow.db``."""
    database = office[0]
    before = digest(database)
    env = {**os.environ, "KOPFLOW_LANG": "id"}
    done = subprocess.run(
        [sys.executable, "-m", "kopflow", "report", "--region", REGION, "--out", "kopflow.db"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "Galat: kopflow.db adalah basis data kopflow; pilih nama berkas lain untuk keluaran"
    )
    assert digest(database) == before
