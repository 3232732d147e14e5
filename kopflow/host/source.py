"""Where plugin code comes from: entry points, ``--plugin`` values, their distributions.

Imports one plugin at a time (a module name, a ``.py`` file or a package directory) and reads a
plugin's own identity and API version; ``plugin_manager`` records the outcome per plugin.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from kopflow.errors import PluginError
from kopflow.host.partner_check import describe
from kopflow.plugin import PLUGIN_API_VERSION, PluginInfo


def split_names(values: Iterable[str]) -> list[str]:
    """Comma-separated names from several values, stripped, in order, blanks dropped."""
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def is_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or os.sep in spec or Path(spec).is_dir()


def module_name(spec: str) -> str:
    """The plugin name for a ``--plugin`` value: a file's stem, a directory's name, a module name."""
    if not is_path(spec):
        return spec
    path = Path(spec)
    if path.name == "__init__.py":
        return path.parent.name
    return path.stem if spec.endswith(".py") else path.name


def import_module(spec: str) -> object:
    """Import a module by name, or execute a ``.py`` file or a package directory as a module."""
    if not is_path(spec):
        return importlib.import_module(spec)
    name = module_name(spec)
    path = Path(spec).resolve()
    file = path / "__init__.py" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no such file: {file}")
    cached = sys.modules.get(name)
    if cached is not None:
        if Path(getattr(cached, "__file__", None) or "").resolve() == file:
            return cached
        raise ImportError(f"the module name {name} is taken by {cached!r}; rename the plugin")
    package = [str(file.parent)] if file.name == "__init__.py" else None
    found = importlib.util.spec_from_file_location(name, file, submodule_search_locations=package)
    assert found is not None and found.loader is not None  # a .py file always has a loader
    module = importlib.util.module_from_spec(found)
    sys.modules[name] = module  # dataclasses and relative imports look the module up there
    try:
        found.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def dist_version(plugin: object) -> str | None:
    """The version of the installed distribution shipping the plugin's top-level package."""
    top = getattr(plugin, "__name__", "").split(".")[0]
    import importlib.metadata as metadata  # ~25 ms: only when a plugin's version is asked

    for dist in metadata.packages_distributions().get(top, []):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def plugin_info(plugin: object, name: str) -> PluginInfo | None:
    """Call the plugin's own ``kopflow_plugin_info`` and check its API version, before registering."""
    func = getattr(plugin, "kopflow_plugin_info", None)
    if func is None:
        return None
    hook = "kopflow_plugin_info"
    try:
        info = func()
    except Exception as exc:
        raise PluginError(
            name, "plugin {plugin} failed in {hook}: {error}", hook=hook, error=one_line(exc)
        ) from exc
    if not isinstance(info, PluginInfo):
        raise PluginError(
            name, "plugin {plugin} returned {kind} from {hook}; expected a PluginInfo",
            kind=describe(info), hook=hook,
        )  # fmt: skip
    if info.api_version != PLUGIN_API_VERSION:
        raise PluginError(
            name, "plugin {plugin} needs plugin API version {needed}; this kopflow provides {provided}",
            needed=info.api_version, provided=PLUGIN_API_VERSION,
        )  # fmt: skip
    return info


def one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
