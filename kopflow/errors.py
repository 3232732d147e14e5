"""The ``KopflowError`` tree: every refusal a user can meet, with a translatable message.

The engine raises these; only ``kopflow.cli`` turns them into a one-line ``Error:`` and an exit
code. No click here, so the engine stays usable from tests, plugins and other programs.
"""

from __future__ import annotations

from kopflow.i18n import _
from kopflow.text import excerpt

# Exit statuses that no KopflowError carries (each error class below has its own). Every
# status is listed, with its meaning, in `kopflow --help` and docs/cli.md (issue #12).
EXIT_PARTIAL = 8  # a bulk command did part of its work: some cooperatives were refused
EXIT_BUG = 70  # an unexpected error: a bug to report (KOPFLOW_DEBUG=1 shows the traceback)
EXIT_INTERRUPTED = 130  # Ctrl-C: every change committed before it is whole
EXIT_CLOSED_PIPE = 141  # the reader of the output went away (`| head`), as for SIGPIPE


class KopflowError(Exception):
    """Base of every error a user should see as one line, never as a traceback.

    Args:
        msgid: English message with ``{placeholders}``; translated when shown.
        **params: values for the placeholders.
    """

    exit_code = 1
    # Set once the refusal is in the log, so the CLI does not log it a second time.
    logged = False

    def __init__(self, msgid: str, **params: object) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(msgid)

    def __str__(self) -> str:
        # A value from a hostile file may be megabytes or hold terminal escapes: each plain str is
        # quoted as a bounded, escaped excerpt (issue #14). The bound is far above any list
        # of names a message gives.
        params = {k: excerpt(v, 2000) if type(v) is str else v for k, v in self.params.items()}
        return _(self.msgid, **params)


class InputError(KopflowError):
    """The command's input is wrong (unknown cooperative, bad option value, unreadable file)."""

    exit_code = 2


class NotFoundError(InputError):
    """A named thing (cooperative, step, actor, partner) does not exist."""


class EvidenceError(InputError):
    """Evidence for a step is missing, of the wrong type or fails a domain check."""

    def __init__(self, field: str, msgid: str, **params: object) -> None:
        self.field = field
        self.problems: list[EvidenceError] = [self]
        super().__init__(msgid, field=field, **params)

    @classmethod
    def combine(cls, problems: list[EvidenceError]) -> EvidenceError:
        """One error naming every problem of one attempt, so one retry can fix them all."""
        if len(problems) == 1:
            return problems[0]
        first = problems[0]
        params = {k: v for k, v in first.params.items() if k != "field"}
        combined = cls(first.field, first.msgid, **params)
        combined.problems = list(problems)
        return combined

    def __str__(self) -> str:
        if len(self.problems) > 1:
            return "; ".join(KopflowError.__str__(p) for p in self.problems)
        return super().__str__()


class RefusedError(KopflowError):
    """The workflow refuses the action: a guard failed, a stage would be skipped, out of order."""

    exit_code = 3

    def __init__(self, msgid: str, reasons: list[str] | None = None, **params: object) -> None:
        self.reasons = list(reasons or [])
        super().__init__(msgid, **params)

    def __str__(self) -> str:
        head = super().__str__()
        return head + ("".join(f"; {r}" for r in self.reasons) if self.reasons else "")


class ConflictError(KopflowError):
    """Someone else changed the cooperative since it was read (optimistic version check)."""

    exit_code = 4


class PermissionDeniedError(KopflowError):
    """The actor may not do this (role, region or partner scope)."""

    exit_code = 5


class WorkflowError(KopflowError):
    """A workflow definition is invalid; ``problems`` lists every ``file: path: message``."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("workflow definition has {count} error(s)", count=len(problems))

    def __str__(self) -> str:
        return "; ".join(self.problems)


class PluginError(KopflowError):
    """A plugin failed to load, raised in a hook or returned malformed data."""

    exit_code = 6

    def __init__(self, plugin: str, msgid: str, **params: object) -> None:
        self.plugin = plugin
        super().__init__(msgid, plugin=plugin, **params)


class AuditError(KopflowError):
    """The audit chain does not verify, or an audit file cannot be read."""

    exit_code = 7


# --- issue #14 ("hostile"): ordinary failures of the machine and of hostile input -------------


class StorageError(KopflowError):
    """The database cannot be written: the disk is full, or the file is read-only or immutable.

    Nothing was written (the transaction rolled back); the message says what to do.
    """

    exit_code = 10


def require_printable(what: str, text: str | None) -> None:
    """Refuse ``text`` (a reason, a name) that holds a character acting on a terminal.

    Args:
        what: how the user named the input, e.g. ``--reason``.
    """
    from kopflow.text import control_char

    if text and (char := control_char(text)) is not None:
        raise InputError(
            "{what} holds the control character {char}; type the text again without it",
            what=what,
            char=char,
        )


# --- a busy database (issue #14, point 1) ---------------------------------------------------
# Kept in a block of its own: the other ordinary failures of issue #14 live elsewhere here.

EXIT_BUSY = 75  # sysexits' EX_TEMPFAIL: a temporary failure, the same command may succeed later


class BusyError(KopflowError):
    """Another writer held a lock past ``KOPFLOW_LOCK_TIMEOUT``, or a statement ran past
    ``KOPFLOW_STATEMENT_TIMEOUT``: nothing was written and the same command may succeed later."""

    exit_code = EXIT_BUSY
