"""Find, load and call plugins: the only place kopflow talks to pluggy.

Loads entry points one by one (a plugin that fails to import is named, the others keep working),
honours allow and deny lists, checks partner specs, and calls hooks plugin by plugin so every
failure names its plugin. No import-time singleton: ``make_plugin_host()`` builds one per use.
"""

from __future__ import annotations

import difflib
import inspect
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pluggy

from kopflow.errors import KopflowError, NotFoundError, PluginError
from kopflow.host import hookspecs
from kopflow.host.partner_check import describe, partner_problems
from kopflow.host.source import (
    dist_version,
    import_module,
    module_name,
    one_line,
    plugin_info,
    split_names,
)
from kopflow.i18n import N_, _
from kopflow.plugin import FOR_STEPS_ATTR, CoopView, PartnerSpec, StepSpec, _read_only

if TYPE_CHECKING:
    import click

    from kopflow.flow.spec import Workflow

ENTRY_POINT_GROUP = "kopflow"

__all__ = ["ENTRY_POINT_GROUP", "LoadedPlugin", "PluginHost", "make_plugin_host"]


@dataclass
class LoadedPlugin:
    """What ``kopflow plugins list`` shows about one plugin, loaded or not.

    Args:
        name: the plugin's name (from ``kopflow_plugin_info``, else the entry point or module).
        version: its version, or ``None`` when it has none.
        source: where it came from: ``"entry point kopflow_bri (kopflow 0.1.0)"`` or
            ``"--plugin path/to/file.py"``.
        status: ``"ok"``, ``"disabled"``, ``"replaced"`` (an installed plugin that a
            ``--plugin`` or ``KOPFLOW_PLUGINS`` copy replaces) or ``"error"``.
        error: the one-line reason when ``status`` is ``"error"``.
        note: what a user should know about a plugin that works: which copy replaced which.
        hooks: the hook names it implements.
        partners: the partner codes it registered.
        commands: the top-level commands it added (known once the CLI asked for them).
    """

    name: str
    version: str | None
    source: str
    status: str = "ok"
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    partners: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    note: str | None = None


class _Manager(pluggy.PluginManager):
    """pluggy's manager that also takes unmarked ``kopflow_*`` functions of a module, as pytest does.

    Without this, a forgotten ``@hookimpl`` would make a hook silently never run.
    """

    # Counts registrations, so the host's cache of implementations per hook knows when it is
    # stale, whichever way a plugin was (un)registered.
    generation = 0

    def register(self, plugin: object, name: str | None = None) -> str | None:
        self.generation += 1
        return super().register(plugin, name)

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        self.generation += 1
        return super().unregister(plugin, name)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("kopflow_"):
            # A module's functions, a class's functions, an instance's methods: every place
            # pluggy itself looks for marked ones (issue #13: unmarked misspellings are caught too).
            found = getattr(plugin, name, None)
            if inspect.isfunction(found) or inspect.ismethod(found):
                return pluggy.HookimplOpts(
                    wrapper=False, hookwrapper=False, optionalhook=False,
                    tryfirst=False, trylast=False, specname=None,
                )  # fmt: skip
        return opts


# kopflow_validate_step's arguments in its spec's order, as validate_step passes them.
_STEP_ARGS = ("coop", "partner", "step", "evidence")
# What step_validator gives: validate_step with these arguments, in this order.
StepValidator = Callable[[CoopView, str | None, str, Mapping[str, object]], list[str]]

_LOADED_STATE = frozenset(
    ("_pm", "plugins", "partners", "errors", "notes", "_owner", "_impl_cache", "_impl_generation")
)


class PluginHost:
    """The loaded plugins, their partners, and typed calls of every hook for the engine and CLI.

    Build it with :func:`make_plugin_host`; ``PluginHost()`` alone has no plugins, and
    :meth:`add_plugin` admits one (the ``kopflow.testing`` fixtures do that).
    """

    # What loading the plugins fills in. A host from make_plugin_host(defer=True) loads them
    # on the first use of any of these (__getattr__): `kopflow status` never needs a plugin,
    # and finding, importing and checking them cost it ~50 ms of CPU (issue #15).
    _pm: _Manager
    plugins: list[LoadedPlugin]
    partners: dict[str, PartnerSpec]
    errors: list[PluginError]
    notes: list[str]  # findings for check() that must not block writes
    _owner: dict[str, str]  # partner code -> plugin name
    # hook -> implementations in call order, valid for one manager generation: hooks are
    # called once or twice per audited change (issue #5).
    _impl_cache: dict[str, list[pluggy.HookImpl]]
    _impl_generation: int

    def __init__(self) -> None:
        self._trace = os.environ.get("KOPFLOW_TRACE_PLUGINS", "").strip() not in ("", "0")
        # One line per notification hook that failed during this command (plugin and error):
        # the CLI prints them on stderr at its end (issue #13: they must not only be logged).
        self.notify_failures: list[str] = []
        self._load: Callable[[PluginHost], None] | None = None
        self._start()

    def _start(self) -> None:
        self._pm = _Manager(ENTRY_POINT_GROUP)
        self._pm.add_hookspecs(hookspecs)
        self.plugins = []
        self.partners = {}
        self.errors = []
        self.notes = []
        self._owner = {}
        self._impl_cache = {}
        self._impl_generation = -1

    @classmethod
    def _deferred(cls, load: Callable[[PluginHost], None]) -> PluginHost:
        """A host whose plugins ``load`` admits when something first asks about them."""
        host = cls.__new__(cls)
        host._trace = os.environ.get("KOPFLOW_TRACE_PLUGINS", "").strip() not in ("", "0")
        host.notify_failures = []
        host._load = load
        return host

    def __getattr__(self, name: str) -> Any:
        # Only called for an attribute not set yet: the loaded state of a deferred host.
        load = self.__dict__.get("_load")
        if load is None or name not in _LOADED_STATE:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self._load = None
        self._start()
        load(self)
        return getattr(self, name)

    @property
    def manager(self) -> pluggy.PluginManager:
        """The underlying pluggy manager (for tests and tracing; call hooks through the host)."""
        return self._pm

    # --- loading ---------------------------------------------------------------------------

    def add_plugin(
        self, plugin: object, *, name: str, source: str, version: str | None = None
    ) -> LoadedPlugin:
        """Admit an imported plugin: API version check, registration, partner specs.

        Failures are recorded (``status="error"`` and in :attr:`errors`), never raised.

        Args:
            plugin: a module, class or instance holding ``kopflow_*`` hook implementations.
            name: its name when it has no ``kopflow_plugin_info``.
            source: where it came from, for ``kopflow plugins list``.
            version: its version when it has no ``kopflow_plugin_info``.

        Returns:
            The plugin's record (also appended to :attr:`plugins`).
        """
        return self._add(plugin, name=name, source=source, version=version, deny=set())

    def remove_plugin(self, name: str) -> None:
        """Forget the plugin ``name``: its hooks, partners, record and errors (for fixtures)."""
        if self._pm.has_plugin(name):
            self._pm.unregister(name=name)
        for code in [c for c, owner in self._owner.items() if owner == name]:
            del self.partners[code], self._owner[code]
        self.plugins = [p for p in self.plugins if p.name != name]
        self.errors = [e for e in self.errors if e.plugin != name]

    def _add(
        self, plugin: object, *, name: str, source: str, version: str | None, deny: set[str]
    ) -> LoadedPlugin:
        loaded = self._record(name, source, "ok")
        loaded.version = version
        try:
            info = plugin_info(plugin, name)
            if info is not None:
                loaded.name, loaded.version = info.name, info.version
                if info.name in deny:  # a plugin may call itself other than its entry point
                    loaded.status = "disabled"
                    return loaded
            self._register(plugin, loaded)
            self._refuse_unknown_hooks(plugin, loaded)
            loaded.hooks = sorted(h.name for h in self._pm.get_hookcallers(plugin) or [])
            self._admit_partners(plugin, loaded)
        except PluginError as exc:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
            self._fail(loaded, exc)
        return loaded

    def _record(
        self, name: str, source: str, status: str, error: PluginError | None = None
    ) -> LoadedPlugin:
        loaded = LoadedPlugin(name=name, version=None, source=source, status=status)
        self.plugins.append(loaded)
        if error is not None:
            self._fail(loaded, error)
        return loaded

    def _fail(self, loaded: LoadedPlugin, error: PluginError) -> None:
        loaded.status, loaded.error = "error", str(error)
        self.errors.append(error)

    def _register(self, plugin: object, loaded: LoadedPlugin) -> None:
        name = loaded.name
        installed = next(
            (p for p in self.plugins if p.name == name and p.status == "ok" and p is not loaded),
            None,
        )
        if installed is not None and _is_entry_point(installed) and not _is_entry_point(loaded):
            # The copy being developed (--plugin, KOPFLOW_PLUGINS) wins over the installed one
            # of the same name, as make_plugin_host() does for the same module (issue #13).
            self._replace(installed, loaded)
        if self._pm.has_plugin(name) or self._pm.is_registered(plugin):
            first = next(
                (
                    p.source
                    for p in self.plugins
                    if p.name == name and p.status == "ok" and p is not loaded
                ),
                "?",  # fmt: skip
            )
            raise PluginError(
                name, "plugin {plugin} is loaded twice: from {first} and from {second}",
                first=first, second=loaded.source,
            )  # fmt: skip
        try:
            self._pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            # pluggy puts the reason on the last of several lines: keep them all, on one line.
            error = " ".join(line.strip() for line in str(exc).splitlines())
            raise PluginError(
                name, "plugin {plugin} could not be registered: {error}", error=error
            ) from exc

    def _replace(self, installed: LoadedPlugin, given: LoadedPlugin) -> None:
        """Take the installed plugin out for ``given``: hooks, partners; its record says why."""
        if self._pm.has_plugin(installed.name):
            self._pm.unregister(name=installed.name)
        for code in installed.partners:
            self.partners.pop(code, None)
            self._owner.pop(code, None)
        installed.status, installed.partners, installed.hooks = "replaced", [], []
        installed.note = _("replaced by {source}", source=given.source)
        given.note = _("replaces the installed {source}", source=installed.source)
        _logger().info(
            "plugin replaced", plugin=given.name, by=given.source, installed=installed.source
        )

    def _refuse_unknown_hooks(self, plugin: object, loaded: LoadedPlugin) -> None:
        """A ``kopflow_*`` implementation matching no hookspec breaks its plugin (issue #13).

        What pluggy's ``check_pending()`` finds, per plugin and with a did-you-mean (pluggy's
        ``PluginValidationError`` says only ``unknown hook 'x' in plugin <module ...>``).
        ``@hookimpl(optionalhook=True)`` is allowed, as in pluggy: a hook of a newer kopflow.
        """
        for caller in self._pm.get_hookcallers(plugin) or []:
            if caller.has_spec():
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not impl.optionalhook:
                    msgid, params = _unknown_hook_message(caller.name, self._specced())
                    raise PluginError(loaded.name, msgid, **params)

    def _specced(self) -> list[str]:
        names = sorted(n for n in vars(self._pm.hook) if not n.startswith("_"))
        return [n for n in names if getattr(self._pm.hook, n).has_spec()]

    def _admit_partners(self, plugin: object, loaded: LoadedPlugin) -> None:
        # Collect first, check after: an exception raised inside ``register`` would pass
        # through the plugin's own code, which might swallow it.
        collected: list[object] = []
        for impl in self._impls("kopflow_register_partners", only=plugin):
            self._call(impl, "kopflow_register_partners", {"register": collected.append})
        specs: list[PartnerSpec] = []
        for spec in collected:
            problems = partner_problems(spec)
            if problems:
                raise PluginError(
                    loaded.name, "plugin {plugin} registered an invalid partner: {problem}",
                    problem=problems[0],
                )  # fmt: skip
            assert isinstance(spec, PartnerSpec)  # partner_problems() checked it
            mine = any(s.code == spec.code for s in specs)
            owner = self._owner.get(spec.code) or (loaded.name if mine else None)
            if owner is not None:
                raise PluginError(
                    loaded.name, "partner code {code} is registered by both {first} and {second}",
                    code=spec.code, first=owner, second=loaded.name,
                )  # fmt: skip
            specs.append(spec)
        for spec in specs:  # all or nothing per plugin
            self.partners[spec.code] = spec
            self._owner[spec.code] = loaded.name
        loaded.partners = [s.code for s in specs]

    # --- reading ---------------------------------------------------------------------------

    def raise_if_broken(self) -> None:
        """Raise the first :class:`PluginError` recorded; call it before writes plugins join."""
        if self.errors:
            raise self.errors[0]

    def partner(self, code: str) -> PartnerSpec:
        """The partner registered as ``code``.

        Raises:
            PluginError: the partner is unknown and a broken plugin is named after it
                (``bulog``, ``kopflow_bulog``) or declared it: its load error is the reason.
            NotFoundError: naming the known partners, and the broken plugins if any (one of
                them may declare the partner).
        """
        try:
            return self.partners[code]
        except KeyError:
            pass
        for error in self.errors:
            name = error.plugin.removeprefix("kopflow_").removeprefix("kopflow-")
            declared = any(code in p.partners for p in self.plugins if p.name == error.plugin)
            if name == code or declared:
                raise error
        known = ", ".join(sorted(self.partners)) or "-"
        if self.errors:
            broken = ", ".join(dict.fromkeys(e.plugin for e in self.errors))
            raise NotFoundError(
                "unknown partner {code}; known partners: {known}; plugins that failed to load, "
                "whose partners are unknown: {broken}",
                code=code, known=known, broken=broken,
            )  # fmt: skip
        raise NotFoundError(
            "unknown partner {code}; known partners: {known}", code=code, known=known
        )

    def partner_step(self, step_key: str) -> tuple[PartnerSpec, StepSpec] | None:
        """Resolve ``"bri.account"`` to its partner and step; ``None`` for a key without a dot.

        Raises:
            NotFoundError: for an unknown partner, or a step the partner does not declare (the
                message lists the partner's steps).
        """
        if "." not in step_key:
            return None
        code, step_id = step_key.split(".", 1)
        spec = self.partner(code)
        step = spec.step(step_id)
        if step is None:
            known = ", ".join(spec.key(s.id) for s in spec.steps)
            raise NotFoundError(
                "partner {partner} has no step {step}; its steps: {known}",
                partner=code, step=step_id, known=known,
            )  # fmt: skip
        return spec, step

    def fingerprint(self) -> dict[str, str]:
        """``{plugin name: version}`` of the plugins in use, recorded with every change."""
        return {p.name: p.version or "" for p in self.plugins if p.status == "ok"}

    def check(self, workflow: Workflow | None = None) -> list[str]:
        """Every problem, for ``kopflow plugins check``: load errors, unknown hooks, misuse
        (:meth:`for_steps_problems` against ``workflow``).

        Returns:
            One line per problem; empty when all is well.
        """
        problems = [str(e) for e in self.errors] + self.notes
        problems += [str(e) for e in self.for_steps_problems(workflow, strict=True)]
        names = sorted(n for n in vars(self._pm.hook) if not n.startswith("_"))
        specced = self._specced()
        unknown = 0
        for hook in names:
            caller = getattr(self._pm.hook, hook)
            for impl in caller.get_hookimpls():
                if not caller.has_spec() and not impl.optionalhook:
                    problems.append(_unknown_hook(impl.plugin_name, hook, specced))
                    unknown += 1
                elif caller.has_spec() and (impl.wrapper or impl.hookwrapper):
                    problems.append(
                        _("plugin {plugin}: kopflow does not call hook wrappers ({hook})",
                          plugin=impl.plugin_name, hook=hook)
                    )  # fmt: skip
        try:
            self._pm.check_pending()  # the loop above reports all; this guards pluggy changes
        except pluggy.PluginValidationError as exc:
            if not unknown:
                problems.append(one_line(exc))
        return problems

    # --- calling ---------------------------------------------------------------------------

    def validate_step(
        self, *, coop: CoopView, partner: str | None, step: str, evidence: Mapping[str, object]
    ) -> list[str]:
        """Ask every plugin for reasons to refuse this evidence (``kopflow_validate_step``).

        Returns:
            All reasons, in call order; empty means accepted.

        Raises:
            PluginError: a plugin raised or returned something other than a list of reasons.
        """
        impls = self._step_impls(f"{partner}.{step}" if partner else step)
        if not impls:
            return []
        return self._validate_step(impls, coop, partner, step, evidence)

    def step_validator(self, step_key: str) -> StepValidator | None:
        """:meth:`validate_step` for the step ``step_key`` (``"bri.account"``, ``"musdesus"``)
        with the implementations loaded now that are for it (its arguments positional), or None
        when none is: for a caller validating many rows of a step while the plugins stay as
        they are, a bulk completion's transaction (issue #15)."""
        impls = self._step_impls(step_key)
        return partial(self._validate_step, impls) if impls else None

    def _step_impls(self, step_key: str) -> list[pluggy.HookImpl]:
        """The ``kopflow_validate_step`` implementations for ``step_key``: all but those whose
        :func:`~kopflow.plugin.for_steps` leaves it out."""
        return [
            impl
            for impl in self._impls("kopflow_validate_step")
            if step_key in getattr(impl.function, FOR_STEPS_ATTR, (step_key,))
        ]

    def for_steps_problems(
        self, workflow: Workflow | None, *, strict: bool = False
    ) -> list[PluginError]:
        """The keys of the plugins' :func:`~kopflow.plugin.for_steps` marks that name no step
        of ``workflow`` (None: workflow steps are not looked at) or of a registered partner:
        each refuses every step completion. ``strict`` (``kopflow plugins check``) adds the
        keys of partners that are not registered (skipped by completions: that partner's
        plugin may be switched off) and marks on hooks other than ``kopflow_validate_step``
        (which change nothing)."""
        problems: list[PluginError] = []
        for hook in sorted(n for n in vars(self._pm.hook) if n.startswith("kopflow_")):
            for impl in self._impls(hook):
                keys = getattr(impl.function, FOR_STEPS_ATTR, None)
                if keys is None:
                    continue
                if hook != "kopflow_validate_step":
                    if strict:
                        problems.append(PluginError(
                            impl.plugin_name,
                            "plugin {plugin}: for_steps marks {hook}; it applies to "
                            "kopflow_validate_step only",
                            hook=hook,
                        ))  # fmt: skip
                    continue
                named = {key: self._names_step(key, workflow) for key in keys}
                unknown = sorted(k for k, found in named.items() if found is False)
                if unknown:
                    problems.append(PluginError(
                        impl.plugin_name,
                        "plugin {plugin}: for_steps names {steps}, but neither the workflow "
                        "nor a partner has such a step; give keys as 'kopflow workflow show' "
                        "lists them (musdesus, bri.account)",
                        steps=", ".join(unknown),
                    ))  # fmt: skip
                absent = sorted(k for k, found in named.items() if "." in k and found is None)
                if strict and absent:
                    problems.append(PluginError(
                        impl.plugin_name,
                        "plugin {plugin}: for_steps names {steps}, of a partner that is not "
                        "installed; its check runs once that partner's plugin is",
                        steps=", ".join(absent),
                    ))  # fmt: skip
        return problems

    def _names_step(self, key: str, workflow: Workflow | None) -> bool | None:
        """Whether ``key`` names a step; None when it cannot tell (a partner not registered,
        or a workflow step and no ``workflow``)."""
        code, dot, step_id = key.partition(".")
        if not dot:
            return None if workflow is None else workflow.step(key) is not None
        partner = self.partners.get(code)
        return None if partner is None else partner.step(step_id) is not None

    def _validate_step(
        self,
        impls: list[pluggy.HookImpl],
        coop: CoopView,
        partner: str | None,
        step: str,
        evidence: Mapping[str, object],
    ) -> list[str]:
        if type(evidence) is not MappingProxyType:  # else _read_only gives it back as it is
            evidence = _read_only(evidence)
        return self._ask(
            "kopflow_validate_step", _STEP_ARGS, (coop, partner, step, evidence), impls
        )

    def guard(self, *, coop: CoopView, event: str, source: str, dest: str) -> list[str]:
        """Ask every plugin for reasons to refuse this transition (``kopflow_guard``).

        Returns:
            All reasons, in call order; empty means allowed.

        Raises:
            PluginError: a plugin raised or returned something other than a list of reasons.
        """
        names = ("coop", "event", "source", "dest")
        return self._ask("kopflow_guard", names, (coop, event, source, dest))

    def guard_enroll(self, *, coop: CoopView, partner: str) -> list[str]:
        """Ask every plugin for reasons to refuse this enrolment (``kopflow_guard_enroll``).

        Returns:
            All reasons, in call order; empty means allowed.

        Raises:
            PluginError: a plugin raised or returned something other than a list of reasons.
        """
        return self._ask("kopflow_guard_enroll", ("coop", "partner"), (coop, partner))

    def owner(self, code: str) -> str:
        """The name of the plugin that registered partner ``code``."""
        return self._owner.get(code, code)

    def after_step(
        self, *, coop: CoopView, step: str, evidence: Mapping[str, object], audit_seq: int
    ) -> None:
        """Tell every plugin a step was committed; failures are logged, never raised."""
        if not self.implements("kopflow_after_step"):
            return
        evidence = _read_only(evidence)
        kwargs = {"coop": coop, "step": step, "evidence": evidence, "audit_seq": audit_seq}
        self._notify("kopflow_after_step", kwargs)

    def after_transition(
        self, *, coop: CoopView, event: str, source: str, dest: str, audit_seq: int
    ) -> None:
        """Tell every plugin a transition was committed; failures are logged, never raised."""
        kwargs = {"coop": coop, "event": event, "source": source, "dest": dest}
        self._notify("kopflow_after_transition", {**kwargs, "audit_seq": audit_seq})

    # --- the outbox (issue #13) -------------------------------------------------------------

    def partner_notifications(
        self, *, coop: CoopView, action: str, details: Mapping[str, object], audit_seq: int
    ) -> list[tuple[str, str]]:
        """Ask every plugin which of its partners to notify of a change, and with what.

        Returns:
            (partner code, payload as JSON text) pairs, in call order; empty when none asked.

        Raises:
            PluginError: a plugin raised, returned something other than a mapping of its own
                partners' codes to mappings, or a payload JSON cannot write: the change is
                refused, as for a validation hook.
        """
        hook = "kopflow_partner_notification"
        if not self.implements(hook):
            return []
        kwargs = {
            "coop": coop,
            "action": action,
            "details": _frozen(details),
            "audit_seq": audit_seq,
        }
        found: list[tuple[str, str]] = []
        for impl in self._impls(hook):
            result = self._call(impl, hook, kwargs)
            if result is None:
                continue
            if not isinstance(result, Mapping) or not all(
                isinstance(v, Mapping) for v in result.values()
            ):
                raise PluginError(
                    impl.plugin_name,
                    "plugin {plugin} returned {kind} from {hook}; expected a mapping of "
                    "partner code to payload",
                    kind=describe(result), hook=hook,
                )  # fmt: skip
            for code, payload in result.items():
                if self._owner.get(str(code)) != impl.plugin_name:
                    raise PluginError(
                        impl.plugin_name,
                        "plugin {plugin} asked to notify partner {partner}, which it did not "
                        "register",
                        partner=code,
                    )  # fmt: skip
                try:
                    text = json.dumps(
                        dict(payload), sort_keys=True, ensure_ascii=False, default=_json_value
                    )
                except (TypeError, ValueError) as exc:
                    raise PluginError(
                        impl.plugin_name,
                        "plugin {plugin} returned a payload for {partner} that JSON cannot "
                        "write: {error}",
                        partner=code, error=one_line(exc),
                    ) from exc  # fmt: skip
                found.append((str(code), text))
        return found

    def delivery_problem(self, partner: str) -> KopflowError | None:
        """Why notifications to ``partner`` cannot be delivered at all, or None: no loaded
        plugin registered it (the broken plugin's own error if one declares it), or its plugin
        implements no ``kopflow_deliver``."""
        try:
            self.partner(partner)
        except KopflowError as exc:
            return exc
        owner = self._owner[partner]
        if not any(i.plugin_name == owner for i in self._impls("kopflow_deliver")):
            return PluginError(
                owner,
                "plugin {plugin} asks for notifications to {partner} but implements no "
                "kopflow_deliver",
                partner=partner,
            )
        return None

    def deliver(
        self,
        *,
        partner: str,
        key: int,
        action: str,
        coop_id: str | None,
        payload: Mapping[str, object],
    ) -> None:
        """Hand one notification to the plugin that registered ``partner`` (``kopflow_deliver``).

        Raises:
            PluginError: the plugin raised (the row's error is its one-line text), or it
                implements no ``kopflow_deliver``, or no loaded plugin registered ``partner``.
        """
        hook = "kopflow_deliver"
        problem = self.delivery_problem(partner)
        if problem is not None:
            raise problem
        owner = self._owner[partner]
        impls = [i for i in self._impls(hook) if i.plugin_name == owner]
        kwargs = {
            "partner": partner,
            "key": key,
            "action": action,
            "coop_id": coop_id,
            "payload": MappingProxyType(dict(payload)),
        }
        for impl in impls:
            self._call(impl, hook, kwargs)

    def register_commands(self, cli: click.Group) -> None:
        """Let each plugin add commands to ``cli``; a failing or clobbering plugin is recorded.

        A plugin that raises, or replaces a command that exists, has its changes to ``cli``
        undone, is logged and gets a :class:`PluginError` in :attr:`errors`; the CLI, its
        ``--help`` included, keeps working.
        """
        import click  # lazily: only the CLI needs it

        hook = "kopflow_register_commands"
        for impl in self._impls(hook):
            before = dict(cli.commands)
            existing = set(before) | set(cli.list_commands(click.Context(cli)))
            try:
                self._call(impl, hook, {"cli": cli})
                for command in sorted(existing):
                    if cli.commands.get(command, before.get(command)) is not before.get(command):
                        raise PluginError(
                            impl.plugin_name, "plugin {plugin} tried to replace the command {command}",
                            command=command,
                        )  # fmt: skip
                for loaded in self.plugins:
                    if loaded.name == impl.plugin_name:
                        loaded.commands = sorted(set(cli.commands) - set(before))
            except PluginError as exc:
                cli.commands.clear()
                cli.commands.update(before)
                self.errors.append(exc)
                _log_failure(impl.plugin_name, hook, str(exc), exc if self._trace else None)
                for loaded in self.plugins:
                    if loaded.name == impl.plugin_name:
                        loaded.status, loaded.error = "error", str(exc)

    def implements(self, hook: str) -> bool:
        """Whether any plugin implements ``hook``: the engine then skips building its arguments."""
        return bool(self._impls(hook))

    def _impls(self, hook: str, only: object = None) -> list[pluggy.HookImpl]:
        """Implementations in pluggy's call order (last loaded first; tryfirst/trylast kept)."""
        if only is None:
            if self._impl_generation != self._pm.generation:
                self._impl_cache.clear()
                self._impl_generation = self._pm.generation
            found = self._impl_cache.get(hook)
            if found is not None:
                return found
        impls = reversed(getattr(self._pm.hook, hook).get_hookimpls())
        found = [
            i for i in impls
            if not (i.wrapper or i.hookwrapper) and (only is None or i.plugin is only)
        ]  # fmt: skip
        if only is None:
            self._impl_cache[hook] = found
        return found

    def _call(self, impl: pluggy.HookImpl, hook: str, kwargs: dict[str, Any]) -> object:
        """Call one implementation with the arguments it asks for; name the plugin on failure."""
        if self._trace:
            _trace_call(impl, hook)
        try:
            return impl.function(*map(kwargs.__getitem__, impl.argnames))
        except Exception as exc:
            raise _failed(impl, hook, exc) from exc

    def _ask(
        self,
        hook: str,
        names: tuple[str, ...],
        values: tuple[Any, ...],
        impls: list[pluggy.HookImpl] | None = None,
    ) -> list[str]:
        """Every implementation's reasons, ``values`` being the arguments ``names``."""
        reasons: list[str] = []
        trace = self._trace
        for impl in self._impls(hook) if impls is None else impls:
            # _call's work, inline: a bulk run asks every plugin per step (issue #15). Most
            # implementations ask for every argument in the spec's order: given as they are,
            # with no mapping of them built per call.
            wanted = impl.argnames
            args = values if wanted == names else [values[names.index(n)] for n in wanted]
            if trace:
                _trace_call(impl, hook)
            try:
                result = impl.function(*args)
            except Exception as exc:
                raise _failed(impl, hook, exc) from exc
            if result is None:
                continue
            if not isinstance(result, list | tuple) or not all(
                isinstance(r, str) and r.strip() for r in result
            ):
                raise PluginError(
                    impl.plugin_name,
                    "plugin {plugin} returned {kind} from {hook}; expected a list of reasons",
                    kind=describe(result), hook=hook,
                )  # fmt: skip
            reasons.extend(result)
        return reasons

    def _notify(self, hook: str, kwargs: dict[str, Any]) -> None:
        for impl in self._impls(hook):
            try:
                self._call(impl, hook, kwargs)
            except PluginError as exc:
                _log_failure(impl.plugin_name, hook, str(exc), exc if self._trace else None)
                self.notify_failures.append(str(exc))


def _trace_call(impl: pluggy.HookImpl, hook: str) -> None:
    _logger().info("plugin hook", plugin=impl.plugin_name, hook=hook)


def _failed(impl: pluggy.HookImpl, hook: str, exc: Exception) -> PluginError:
    return PluginError(
        impl.plugin_name, "plugin {plugin} failed in {hook}: {error}",
        hook=hook, error=one_line(exc),
    )  # fmt: skip


def make_plugin_host(
    *,
    extra_modules: Sequence[str] = (),
    load_entry_points: bool | None = None,
    disabled: Sequence[str] = (),
    defer: bool = False,
) -> PluginHost:
    """Build a :class:`PluginHost`: entry points sorted by name, then extra modules in order.

    Args:
        extra_modules: module names, ``.py`` files or package directories (``--plugin``);
            those in ``KOPFLOW_PLUGINS`` (comma-separated) are loaded after them.
        load_entry_points: ``True`` loads every ``kopflow`` entry point, ``False`` none;
            ``None`` follows ``KOPFLOW_LOAD_PLUGINS``: unset loads all, empty loads none,
            ``"bri,pos"`` loads only those.
        disabled: plugin names not to load (``--disable-plugin``, a setting); the names in
            ``KOPFLOW_DISABLE_PLUGINS`` (comma-separated) are added. A disabled entry point is
            never imported, so a plugin that breaks at import can be switched off.
        defer: find and import the plugins only when something first asks about them (the
            CLI's choice: ``kopflow status`` and ``coop show`` of stage steps never do, and
            loading them cost ~50 ms of CPU, issue #15). The settings are read now either way.

    Returns:
        The host. Nothing is raised for a broken plugin: see :attr:`PluginHost.errors`.
    """
    extra = list(extra_modules)
    env = {k: os.environ.get(k) for k in _PLUGIN_SETTINGS}

    def load(host: PluginHost) -> None:
        _load_plugins(host, extra, load_entry_points, list(disabled), env)

    if defer:
        return PluginHost._deferred(load)
    host = PluginHost()
    load(host)
    return host


# Environment variables that choose plugins, read when the host is made.
_PLUGIN_SETTINGS = ("KOPFLOW_DISABLE_PLUGINS", "KOPFLOW_LOAD_PLUGINS", "KOPFLOW_PLUGINS")


def _load_plugins(
    host: PluginHost,
    extra_modules: Sequence[str],
    load_entry_points: bool | None,
    disabled: Sequence[str],
    env: Mapping[str, str | None],
) -> None:
    """What make_plugin_host() promises, done on the host's first use."""
    import importlib.metadata as metadata

    deny = set(split_names([*disabled, env["KOPFLOW_DISABLE_PLUGINS"] or ""]))
    allow: set[str] | None = None
    if load_entry_points is False:
        allow = set()
    elif load_entry_points is None and env["KOPFLOW_LOAD_PLUGINS"] is not None:
        allow = set(split_names([env["KOPFLOW_LOAD_PLUGINS"]]))
    given = [("--plugin", m) for m in split_names(extra_modules)]
    given += [("KOPFLOW_PLUGINS", m) for m in split_names([env["KOPFLOW_PLUGINS"] or ""])]
    # A plugin given by path or module name that is also installed: the given copy is the one
    # being developed, so it wins and the entry point is not even imported (issue #13).
    given_modules = {module_name(spec).split(".")[0]: f"{origin} {spec}" for origin, spec in given}
    replaced: dict[str, LoadedPlugin] = {}  # the given plugin's source -> the entry point
    names: set[str] = set()
    for ep in sorted(
        metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)
    ):
        names.add(ep.name)
        dist = ep.dist
        source = f"entry point {ep.value}" + (f" ({dist.name} {dist.version})" if dist else "")
        if ep.name in deny or (allow is not None and ep.name not in allow):
            host._record(ep.name, source, "disabled")
            continue
        replaced_by = given_modules.get(ep.value.split(":")[0].split(".")[0].strip())
        if replaced_by is not None:
            record = host._record(ep.name, source, "replaced")
            record.note = _("replaced by {source}", source=replaced_by)
            replaced.setdefault(replaced_by, record)
            continue
        try:
            plugin = ep.load()
        except (Exception, SystemExit) as exc:  # a plugin calling sys.exit() must not end kopflow
            host._record(ep.name, source, "error", _import_error(ep.name, exc))
            continue
        version = dist.version if dist else None
        host._add(plugin, name=ep.name, source=source, version=version, deny=deny)
    done: set[str] = set()
    for origin, spec in given:
        if spec in done:  # the CLI may pass the environment variable on as --plugin too
            continue
        done.add(spec)
        name, source = module_name(spec), f"{origin} {spec}"
        names.add(name)
        if name in deny:
            host._record(name, source, "disabled")
            continue
        try:
            plugin = import_module(spec)
        except (Exception, SystemExit) as exc:
            host._record(name, source, "error", _import_error(name, exc))
            continue
        loaded = host._add(
            plugin, name=name, source=source, version=dist_version(plugin), deny=deny
        )
        installed = replaced.get(source)
        if installed is not None and loaded.note is None:
            loaded.note = _("replaces the installed {source}", source=installed.source)
    names |= {p.name for p in host.plugins}
    for setting, listed in (("KOPFLOW_LOAD_PLUGINS", allow or set()), ("--disable-plugin", deny)):
        for unknown in sorted(listed - names):
            host.notes.append(
                _(
                    "{setting} names {plugin}, which is not installed",
                    setting=setting,
                    plugin=unknown,
                )
            )


def _frozen(value: Any) -> Any:
    """``value`` read-only all the way down (mappings as proxies, lists as tuples): the
    details a notification hook sees hold the evidence the after-hooks see next."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _json_value(value: object) -> object:
    """What ``json.dumps`` writes for the evidence types it does not know: dates as ISO text, a
    decimal as its exact text; anything else is the plugin's mistake."""
    from datetime import date
    from decimal import Decimal

    if isinstance(value, MappingProxyType):
        return dict(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, frozenset | set):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _is_entry_point(loaded: LoadedPlugin) -> bool:
    return loaded.source.startswith("entry point ")


def _import_error(name: str, exc: BaseException) -> PluginError:
    return PluginError(name, "plugin {plugin} could not be imported: {error}", error=one_line(exc))


def _unknown_hook_message(hook: str, specced: list[str]) -> tuple[str, dict[str, object]]:
    """The message id and parameters (without ``plugin``) naming an unknown hook."""
    close = difflib.get_close_matches(hook, specced, n=1)
    if close:
        msgid = N_("plugin {plugin} implements unknown hook {hook}; did you mean {suggestion}?")
        return msgid, {"hook": hook, "suggestion": close[0]}
    return N_("plugin {plugin} implements unknown hook {hook}"), {"hook": hook}


def _unknown_hook(plugin: str, hook: str, specced: list[str]) -> str:
    msgid, params = _unknown_hook_message(hook, specced)
    return _(msgid, plugin=plugin, **params)


def _logger() -> Any:
    # Through kopflow.log, so the lines go where the CLI sends every operational log (a file
    # by default), not to structlog's unconfigured stdout default.
    from kopflow.log import get_logger

    return get_logger(component="plugins")


def _log_failure(plugin: str, hook: str, error: str, exc: BaseException | None) -> None:
    """Log a hook's failure; with ``KOPFLOW_TRACE_PLUGINS`` (``exc`` given) with its traceback.

    The plugin's own exception (the ``PluginError``'s cause), as text: the JSON lines of the
    log file would otherwise hold only the error's repr.
    """
    if exc is None:
        _logger().error("plugin hook failed", plugin=plugin, hook=hook, error=error)
        return
    import traceback

    trace = "".join(traceback.format_exception(exc.__cause__ or exc))
    _logger().error("plugin hook failed", plugin=plugin, hook=hook, error=error, traceback=trace)
