"""structlog configuration, chosen once by the CLI; every other module only calls ``get_logger``.

By default operational logs go as JSON lines to a log file (``KOPFLOW_LOG``, else
``$XDG_STATE_HOME/kopflow/kopflow.log``) so a refused command still prints one clean error line;
``-v`` adds readable lines on stderr and ``--log-json`` JSON lines on stderr. structlog itself is
set up on the first log call, so ``kopflow COMMAND --help`` does not pay for it.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, TextIO

# "requested": the CLI asked for logging. A program using kopflow as a library configures
# structlog itself; kopflow then never touches that configuration (configuring logging is the
# program's decision, never a library's).
_settings: dict[str, bool] = {"json_lines": False, "verbose": False, "requested": False}
_pending_context: dict[str, Any] = {}
# "generation" counts configurations: a lazy logger made under an earlier one is made again.
_state: dict[str, Any] = {"configured": False, "file": None, "generation": 0}


def default_log_path() -> Path:
    """Where operational logs go when not shown on stderr."""
    explicit = os.environ.get("KOPFLOW_LOG")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(state) / "kopflow" / "kopflow.log"


def _open_log_file() -> TextIO | None:
    path = default_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("a", encoding="utf-8")
    except OSError:
        return None  # logging must never stop the work it describes


def configure(*, json_lines: bool = False, verbose: bool = False) -> None:
    """Choose where this process logs (the CLI calls it once per command)."""
    _settings.update(json_lines=json_lines, verbose=verbose, requested=True)
    close()


def close() -> None:
    """Close the log file, if one is open; the next log call sets logging up again."""
    handle = _state["file"]
    if handle is not None:
        handle.close()
    _state.update(configured=False, file=None, generation=_state["generation"] + 1)


def reset() -> None:
    """Forget the CLI's choice and close the file: the state of a fresh process (tests)."""
    close()
    _settings.update(json_lines=False, verbose=False, requested=False)
    _pending_context.clear()


def _import_structlog(*, console: bool) -> Any:
    """structlog; without ``rich`` unless logs go to a console (issue #5).

    ``import structlog`` imports rich for the console renderer's tracebacks: 40 ms of every
    command's start-up for JSON lines that never use it.
    """
    if "structlog" not in sys.modules and "rich" not in sys.modules and not console:
        sys.modules["rich"] = None  # type: ignore[assignment]  # None makes "import rich" fail: structlog.dev goes without
        try:
            import structlog
        finally:
            del sys.modules["rich"]
    import structlog

    return structlog


def _ensure_configured() -> Any:
    structlog = _import_structlog(console=_settings["verbose"] and not _settings["json_lines"])
    if _state["configured"] or not _settings["requested"]:
        return structlog
    stream: TextIO | None
    if _settings["json_lines"] or _settings["verbose"]:
        stream, as_json = sys.stderr, _settings["json_lines"]
    else:
        stream, as_json = _open_log_file(), True
        _state["file"] = stream
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        # No file could be opened: keep every level filtered out rather than fail the command.
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.INFO if stream is not None else logging.CRITICAL
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    if _pending_context:
        structlog.contextvars.bind_contextvars(**_pending_context)
        _pending_context.clear()
    _state["configured"] = True
    return structlog


def get_logger(**bind: Any) -> Any:
    """A structlog logger with ``bind`` values attached, structlog imported on its first line.

    Every engine asks for its logger when it is made, and a read command (``status``,
    ``coop show``) never logs: importing and configuring structlog there cost 40-70 ms of CPU
    for nothing (issue #15). The logger is set up as the first line is written, with the
    settings of that moment, as before.
    """
    return _LazyLogger(bind)


class _LazyLogger:
    """A structlog bound logger in waiting: ``bind`` stays lazy, any other method makes it."""

    __slots__ = ("_bind", "_real", "_generation")

    def __init__(self, bind: dict[str, Any]) -> None:
        self._bind = bind
        self._real: Any = None
        self._generation = -1

    def bind(self, **more: Any) -> _LazyLogger:
        return _LazyLogger({**self._bind, **more})

    def __getattr__(self, name: str) -> Any:
        # info, warning, error, ...: made again after configure() or close(), so a line goes
        # where the settings of its moment send it, as a logger made per line would.
        if self._real is None or self._generation != _state["generation"]:
            self._real = _ensure_configured().get_logger("kopflow").bind(**self._bind)
            self._generation = _state["generation"]
        return getattr(self._real, name)


def bind_context(**values: Any) -> None:
    """Attach values (actor, command, cooperative) to every log line of this command."""
    if not _state["configured"] and _settings["requested"]:
        _pending_context.update(values)
        return
    import structlog

    structlog.contextvars.bind_contextvars(**values)
