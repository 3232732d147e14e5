"""Writing a file the user named (``--out``, ``--html``, key files, exports): the one way kopflow
does it, so that no output option can clobber anything by surprise (issue #14).

* An existing file is refused unless the user said ``--force``.
* A symbolic link is refused, ``--force`` or not: writing through it would change whatever it
  points to (the database, a key), and replacing it would surprise whoever made it.
* The open SQLite database (and its ``-wal``, ``-shm`` and ``-journal`` files) is refused,
  ``--force`` or not, compared by resolved path and by inode, so a hard link or ``../`` cannot
  reach it.
* The content goes to a temporary file in the same directory, is flushed to the disk (fsync)
  and only then takes the name (a hard link when the name must still be free, else
  ``os.replace``): a full disk, a crash or Ctrl-C leaves the old file or no file, never a
  partial or empty one.

Only ``kopflow.errors`` and ``kopflow.i18n`` below it: the audit exports, the report pages and
the CLI all call :func:`write_file`.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from kopflow.errors import InputError

__all__ = ["check_target", "database_files", "write_file"]

# Where linking a temporary file is not possible (FAT, some network shares), the name is taken
# with os.replace after the existence check instead.
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def database_files(url: str | None) -> list[Path]:
    """The files of the SQLite database ``url`` (none for PostgreSQL or no URL)."""
    if not url or not url.startswith("sqlite:///"):
        return []
    path = Path(url[len("sqlite:///") :])
    return [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]


def check_target(path: Path, *, force: bool, protected: Iterable[Path] = ()) -> None:
    """Refuse ``path`` as an output file when it is a link, a database file or (without
    ``force``) an existing file, a directory, or in a directory that does not exist.

    Raises:
        InputError: one line naming the file and what to do instead.
    """
    path = Path(path)
    if path.is_symlink():
        raise InputError(
            "{path} is a symbolic link; kopflow never writes through one: name a regular file",
            path=str(path),
        )
    if _is_database(path, protected):
        raise InputError(
            "{path} is the kopflow database; choose another file name for the output",
            path=str(path),
        )
    if path.is_dir():
        raise InputError("{path} is a directory; name a file to write", path=str(path))
    if not force and os.path.lexists(path):
        raise InputError(
            "{path} exists already; choose another name, or give --force to replace it",
            path=str(path),
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(
            "cannot write {path}: the folder {folder} does not exist",
            path=str(path),
            folder=str(parent),
        )


def write_file(
    path: Path,
    write: Callable[[IO[bytes]], Any],
    *,
    force: bool = False,
    protected: Iterable[Path] = (),
    mode: int = 0o666,
) -> None:
    """Write ``path`` atomically with ``write(handle)``, after :func:`check_target`.

    Args:
        path: the file the user named.
        write: writes the content to a binary file handle (it may seek; the handle is a real
            file).
        force: replace an existing regular file.
        protected: files that must never be written (the open database's).
        mode: permission bits of a new file; ``0o600`` is set exactly (umask or not), for keys.

    Raises:
        InputError: the target is refused (see :func:`check_target`), or writing failed; then
            nothing is left behind and an existing file is untouched.
    """
    path = Path(path)
    protected = list(protected)
    check_target(path, force=force, protected=protected)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as err:
        raise _cannot(path, err) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode == 0o600:
                os.fchmod(handle.fileno(), mode)  # the umask can only remove bits; be exact
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        # Checked again right before the name is taken: the database may have been opened, or
        # a link planted, while the content was written.
        check_target(path, force=force, protected=protected)
        _take_name(tmp, path, force=force)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise _cannot(path, err) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_dir(path.parent)


def _take_name(tmp: Path, path: Path, *, force: bool) -> None:
    """Give ``tmp`` the name ``path``; without ``force`` only while the name is still free."""
    if force:
        os.replace(tmp, path)
        return
    try:
        # link() fails if the name exists, even as a dangling link: no race with another writer.
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        raise InputError(
            "{path} exists already; choose another name, or give --force to replace it",
            path=str(path),
        ) from None
    except OSError as err:
        if err.errno not in _NO_LINK:
            raise
        os.replace(tmp, path)  # checked just before; the best this file system allows
        return
    tmp.unlink()


def _sync_dir(folder: Path) -> None:
    """Make the new name durable too (best effort: not every system opens directories)."""
    try:
        fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_database(path: Path, protected: Iterable[Path]) -> bool:
    target = path.resolve()
    for db_file in protected:
        if target == Path(db_file).resolve():
            return True
        try:
            if os.path.samefile(path, db_file):  # a hard link to the database
                return True
        except OSError:
            continue
    return False


def _cannot(path: Path, err: OSError) -> InputError:
    if err.errno == errno.ENOSPC or err.errno == errno.EDQUOT:
        return InputError(
            "cannot write {path}: the disk is full; free some space and try again "
            "(nothing was written)",
            path=str(path),
        )
    return InputError(
        "cannot write {path}: {reason}", path=str(path), reason=err.strerror or str(err)
    )
