"""structlog configuration, done once by the CLI; every other module only calls ``get_logger``.

By default operational logs go as JSON lines to a log file (``KOPFLOW_LOG``, else
``$XDG_STATE_HOME/kopflow/kopflow.log``) so a refused command still prints one clean error line;
``-v`` adds readable lines on stderr and ``--log-json`` JSON lines on stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, TextIO


def default_log_path() -> Path:
    """Where operational logs go when not shown on stderr."""
    explicit = os.environ.get("KOPFLOW_LOG")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "kopflow" / "kopflow.log"


def _open_log_file() -> TextIO | None:
    path = default_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("a", encoding="utf-8")
    except OSError:
        return None  # logging must never stop the work it describes


def configure(*, json_lines: bool = False, verbose: bool = False) -> None:
    """Set up structlog for this process (the CLI calls it once per command)."""
    import structlog

    stream: TextIO | None
    if json_lines or verbose:
        stream, as_json = sys.stderr, json_lines
    else:
        stream, as_json = _open_log_file(), True
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
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.INFO if stream is not None else logging.CRITICAL + 1
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(**bind: Any) -> Any:
    """A structlog logger with ``bind`` values attached."""
    import structlog

    return structlog.get_logger("kopflow").bind(**bind)


def bind_context(**values: Any) -> None:
    """Attach values (actor, command, cooperative) to every log line of this command."""
    import structlog

    structlog.contextvars.bind_contextvars(**values)
