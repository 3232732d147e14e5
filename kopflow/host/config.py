"""Settings from a file: the one named by ``KOPFLOW_CONFIG``, else ``kopflow.toml`` in the
current folder when there is one. Read when a command needs it, never at import.

Small on purpose: it holds what an operator wants to set once for a machine or a folder rather
than on every command. Today that is the plugins to switch off::

    [plugins]
    disable = ["lpg"]   # as --disable-plugin lpg on every command
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kopflow.errors import InputError

CONFIG_FILE = "kopflow.toml"
PLUGIN_SETTINGS = ("disable",)


def config_path() -> Path | None:
    """The settings file in force: ``KOPFLOW_CONFIG``, else ``./kopflow.toml`` if it exists.

    Raises:
        InputError: ``KOPFLOW_CONFIG`` names a file that does not exist.
    """
    named = os.environ.get("KOPFLOW_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise InputError("KOPFLOW_CONFIG names {path}, which is not a file", path=named)
        return path
    local = Path(CONFIG_FILE)
    return local if local.is_file() else None


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The settings as a dict (empty when there is no file).

    Args:
        path: the file to read; ``None`` means :func:`config_path`.

    Raises:
        InputError: the file cannot be read or is not valid TOML (one line, with the file).
    """
    path = path if path is not None else config_path()
    if path is None:
        return {}
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as err:
        raise InputError(
            "cannot read {path}: {error}", path=str(path), error=err.strerror
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise InputError("{path} is not valid TOML: {error}", path=str(path), error=err) from None


def disabled_plugins(path: Path | None = None) -> list[str]:
    """The plugin names in ``[plugins] disable`` of the settings file (none without a file).

    Args:
        path: the file to read; ``None`` means :func:`config_path`.

    Raises:
        InputError: the file cannot be read, ``[plugins]`` holds an unknown setting (a misspelt
            ``disabled`` would otherwise switch nothing off) or ``disable`` is not a list of
            names.
    """
    path = path if path is not None else config_path()
    if path is None:
        return []
    config, where = read_config(path), str(path)
    section = config.get("plugins", {})
    if not isinstance(section, dict):
        raise InputError("{path}: [plugins] must be a table", path=where)
    for key in section:
        if key not in PLUGIN_SETTINGS:
            raise InputError(
                "{path}: unknown setting {key} in [plugins]; known: {known}",
                path=where,
                key=key,
                known=", ".join(PLUGIN_SETTINGS),
            )
    names = section.get("disable", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise InputError("{path}: [plugins] disable must be a list of plugin names", path=where)
    return [n.strip() for n in names]
