"""Plugin loading, isolation of broken plugins, hook calls and the built-in partners (issue #3).

Real pluggy and real modules: the test plugins in ``tests/plugins/`` are loaded by path, the
built-in partners through their installed entry points (``pip install -e .``).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata as metadata
import inspect
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from structlog.testing import capture_logs

from kopflow.errors import NotFoundError, PluginError
from kopflow.host import hookspecs
from kopflow.host.manager import LoadedPlugin, PluginHost, make_plugin_host
from kopflow.host.partner_check import find_cycle, partner_problems
from kopflow.i18n import set_language
from kopflow.plugin import (
    PLUGIN_API_VERSION,
    CoopView,
    FieldSpec,
    PartnerSpec,
    StepSpec,
    hookimpl,
)

HERE = Path(__file__).parent
PLUGINS = HERE / "plugins"
PERTAMINA = HERE.parent / "examples" / "kopflow-pertamina" / "kopflow_pertamina"
BUILTINS = {"bri", "pos", "telkom", "pln"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("KOPFLOW_PLUGINS", "KOPFLOW_LOAD_PLUGINS", "KOPFLOW_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("KOPFLOW_TRACE_PLUGINS", raising=False)
    set_language("en")
    yield
    set_language(None)


def load(*names: str, entry_points: bool = False, **kw: object) -> PluginHost:
    """A host with the given ``tests/plugins`` modules (by path) and, optionally, the built-ins."""
    paths = [str(PLUGINS / f"{n}.py") for n in names]
    return make_plugin_host(extra_modules=paths, load_entry_points=entry_points, **kw)  # type: ignore[arg-type]


def coop(**evidence: dict[str, object]) -> CoopView:
    """A cooperative in onboarding with BRI and Pos; ``evidence`` keys use ``__`` for ``.``."""
    return CoopView(
        id="5108012001", name="Koperasi Desa Merah Putih Sambirenteng", kabupaten="Buleleng",
        kecamatan="Tejakula", villages=("51.08.01.2001",), stage="onboarding", workflow="kdkmp",
        partners=("bri", "pos"), evidence={k.replace("__", "."): v for k, v in evidence.items()},
    )  # fmt: skip


def status(host: PluginHost) -> dict[str, str]:
    return {p.name: p.status for p in host.plugins}


def local(host: PluginHost) -> list[LoadedPlugin]:
    """The plugins not from entry points (with entry points off, those are listed as disabled)."""
    return [p for p in host.plugins if not p.source.startswith("entry point")]


# --- loading ---------------------------------------------------------------------------------


def test_builtins_load_through_entry_points() -> None:
    host = make_plugin_host(load_entry_points=True)
    assert BUILTINS <= {ep.name for ep in metadata.entry_points(group="kopflow")}
    assert {n: s for n, s in status(host).items() if n in BUILTINS} == dict.fromkeys(BUILTINS, "ok")
    assert BUILTINS <= set(host.partners)
    bri = next(p for p in host.plugins if p.name == "bri")
    assert bri.source == "entry point kopflow_bri (kopflow 0.1.0)"
    assert bri.partners == ["bri"] and "kopflow_validate_step" in bri.hooks
    assert host.errors == [] and host.check() == []


def test_entry_points_load_sorted_by_name() -> None:
    names = [p.name for p in make_plugin_host(load_entry_points=True).plugins]
    assert names == sorted(names)


@pytest.mark.parametrize(
    ("env", "expected_ok"),
    [(None, BUILTINS), ("", set()), ("bri, pln", {"bri", "pln"})],
    ids=["unset-loads-all", "empty-loads-none", "list-loads-those"],
)
def test_kopflow_load_plugins(
    monkeypatch: pytest.MonkeyPatch, env: str | None, expected_ok: set[str]
) -> None:
    if env is not None:
        monkeypatch.setenv("KOPFLOW_LOAD_PLUGINS", env)
    host = make_plugin_host()
    ok = {p.name for p in host.plugins if p.status == "ok"}
    assert ok & BUILTINS == expected_ok
    assert {p.name for p in host.plugins if p.status == "disabled"} >= BUILTINS - expected_ok


def test_load_plugins_naming_an_unknown_plugin_is_reported_by_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOPFLOW_LOAD_PLUGINS", "brii")
    host = make_plugin_host()
    assert host.errors == []
    assert host.check() == ["KOPFLOW_LOAD_PLUGINS names brii, which is not installed"]


@pytest.mark.parametrize("how", ["argument", "env"], ids=["disabled-argument", "env-var"])
def test_disabled_plugin_is_never_imported(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """A plugin that breaks at import can be switched off: it is not even imported."""
    if how == "env":
        monkeypatch.setenv("KOPFLOW_DISABLE_PLUGINS", "pos,broken_import")
        host = load("broken_import", entry_points=True)
    else:
        host = load("broken_import", entry_points=True, disabled=["pos", "broken_import"])
    assert status(host)["broken_import"] == "disabled" and status(host)["pos"] == "disabled"
    assert host.errors == [] and "pos" not in host.partners and "bri" in host.partners
    assert "pos" not in host.fingerprint()


def test_disabled_entry_point_is_not_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "kopflow_pos", raising=False)
    host = make_plugin_host(load_entry_points=True, disabled=["pos"])
    assert "kopflow_pos" not in sys.modules and status(host)["pos"] == "disabled"


def test_disable_by_plugin_info_name() -> None:
    """The module is kopflow_pertamina; its kopflow_plugin_info calls it pertamina."""
    host = make_plugin_host(
        extra_modules=[str(PERTAMINA)], load_entry_points=False, disabled=["pertamina"]
    )
    assert [(p.name, p.status) for p in local(host)] == [("pertamina", "disabled")]
    assert "pertamina" not in host.partners and host.errors == []


def test_disable_by_module_name() -> None:
    host = load("good", disabled=["good"])
    assert [(p.name, p.status) for p in local(host)] == [
        ("good", "disabled")
    ] and "demo" not in host.partners


@pytest.mark.parametrize("form", ["path", "module", "env"], ids=["py-path", "module-name", "env"])
def test_extra_module_forms(monkeypatch: pytest.MonkeyPatch, form: str) -> None:
    monkeypatch.syspath_prepend(str(PLUGINS))
    if form == "env":
        monkeypatch.setenv("KOPFLOW_PLUGINS", f"{PLUGINS / 'unmarked.py'}")
        host = make_plugin_host(load_entry_points=False)
    else:
        spec = str(PLUGINS / "unmarked.py") if form == "path" else "unmarked"
        host = make_plugin_host(extra_modules=[spec], load_entry_points=False)
    (plugin,) = local(host)
    assert (plugin.name, plugin.status, plugin.partners) == ("unmarked", "ok", ["unmarked"])
    origin = "KOPFLOW_PLUGINS" if form == "env" else "--plugin"
    assert plugin.source.startswith(origin + " ")


def test_plugin_info_gives_name_and_version() -> None:
    (plugin,) = local(load("good"))
    assert (plugin.name, plugin.version, plugin.status) == ("good", "1.2.3", "ok")
    assert plugin.hooks == sorted(name for name in dir(hookspecs) if name.startswith("kopflow_"))


def test_outside_package_directory_loads_without_install() -> None:
    host = make_plugin_host(extra_modules=[str(PERTAMINA)], load_entry_points=False)
    (plugin,) = local(host)
    assert (plugin.name, plugin.version, plugin.status) == ("pertamina", "0.1.0", "ok")
    steps = host.partner("pertamina").steps
    assert [s.id for s in steps if s.required] == [
        "registered", "verified", "ddms_ratified", "merchant_active",
    ]  # fmt: skip
    assert [s.id for s in steps if not s.required] == ["closed"]


def test_two_given_copies_of_one_plugin_are_an_error_naming_both_sources() -> None:
    """An installed copy is replaced by a given one (below); two given copies are an error."""
    host = make_plugin_host(extra_modules=[str(PLUGINS / "pos_dev.py"), "kopflow_pos"],
                            load_entry_points=False)  # fmt: skip
    (error,) = host.errors
    assert error.plugin == "pos" and str(error) == (
        f"plugin pos is loaded twice: from --plugin {PLUGINS / 'pos_dev.py'} "
        "and from --plugin kopflow_pos"
    )
    assert host.partner("pos").name["en"] == "Pos (test)"  # the first one keeps working


# --- broken plugins: one line naming the plugin, the others keep working ----------------------


@pytest.mark.parametrize(
    ("module", "plugin", "message"),
    [
        ("broken_import", "broken_import",
         "plugin broken_import could not be imported: ImportError: No module named 'lpg_sdk'"),
        ("malformed", "malformed",
         "plugin malformed registered an invalid partner: expected a PartnerSpec, got dict"),
        ("malformed_spec", "malformed_spec",
         "plugin malformed_spec registered an invalid partner: "
         "partner lpg: step active comes after unknown step ratified"),
        ("old_api", "old_api",
         f"plugin old_api needs plugin API version 99; this kopflow provides {PLUGIN_API_VERSION}"),
        ("duplicate_bri", "duplicate_bri",
         "partner code bri is registered by both bri and duplicate_bri"),
        ("wrong_args", "wrong_args",
         "plugin wrong_args could not be registered: Plugin 'wrong_args' for hook 'kopflow_guard'"),
    ],
    ids=["import-error", "not-a-partner-spec", "bad-partner-spec", "api-version", "duplicate-code",
         "wrong-hook-arguments"],
)  # fmt: skip
def test_broken_plugin_is_named_and_isolated(module: str, plugin: str, message: str) -> None:
    host = load(module, "good", entry_points=True)
    (error,) = host.errors
    assert isinstance(error, PluginError) and error.plugin == plugin
    assert str(error).startswith(message) and "\n" not in str(error)
    assert status(host)[plugin] == "error" and plugin not in host.fingerprint()
    assert not host.manager.has_plugin(plugin)  # none of its hooks will run
    # everyone else keeps working
    assert status(host)["good"] == "ok" and {"demo", *BUILTINS} <= set(host.partners)
    assert host.partner("bri").name["en"] == "Bank Rakyat Indonesia (BRI)"
    with pytest.raises(PluginError) as raised:
        host.raise_if_broken()
    assert raised.value is error


def test_wrong_hook_arguments_say_which() -> None:
    (error,) = load("wrong_args").errors
    assert "Argument(s) {'colour'} are declared in the hookimpl" in str(error)


def test_broken_plugin_message_is_translated() -> None:
    set_language("id")
    (error,) = load("old_api").errors
    assert str(error) == "plugin old_api memerlukan API plugin versi 99; kopflow ini menyediakan 1"


def test_raise_if_broken_is_quiet_when_all_is_well() -> None:
    load("good", entry_points=True).raise_if_broken()


def test_a_misspelt_hook_breaks_its_plugin_at_load() -> None:
    """pluggy alone would never call ``kopflow_validate_stpe`` (issue #13): the plugin is broken,
    with the did-you-mean, and the others keep working."""
    host = load("misspelt_hook", "good")
    reason = (
        "plugin misspelt_hook implements unknown hook kopflow_validate_stpe; "
        "did you mean kopflow_validate_step?"
    )
    assert {p.name: p.status for p in local(host)} == {"misspelt_hook": "error", "good": "ok"}
    assert [str(e) for e in host.errors] == [reason]
    assert not host.manager.has_plugin("misspelt_hook")  # none of its hooks runs
    assert host.check() == [reason]
    with pytest.raises(PluginError, match="did you mean kopflow_validate_step"):
        host.raise_if_broken()


BULOG = "plugin bulog implements unknown hook kopflow_after_stpe; did you mean kopflow_after_step?"


def test_a_broken_plugins_own_partner_gets_its_real_reason() -> None:
    """Issue #13: not "unknown partner bulog" (exit 2), but why the plugin is broken (exit 6)."""
    host = load("bulog", entry_points=True)
    for ask in (lambda: host.partner("bulog"), lambda: host.partner_step("bulog.warehouse")):
        with pytest.raises(PluginError) as raised:
            ask()
        assert (str(raised.value), raised.value.exit_code) == (BULOG, 6)
    with pytest.raises(NotFoundError) as other:
        host.partner("brii")  # a typo is still a typo, with a word on what may be missing
    assert str(other.value) == (
        "unknown partner brii; known partners: bri, pln, pos, telkom; plugins that failed "
        "to load, whose partners are unknown: bulog"
    )


BUILTIN_POS = HERE.parent / "plugins" / "kopflow_pos"


@pytest.mark.parametrize("given", [str(BUILTIN_POS), "kopflow_pos"], ids=["path", "module"])
def test_a_given_copy_of_an_installed_plugin_replaces_it(given: str) -> None:
    """``--plugin ./kopflow_pos`` while kopflow_pos is installed: loaded once, the given copy
    wins with a note, and nothing is broken (it used to refuse every write: "loaded twice")."""
    host = make_plugin_host(extra_modules=[given])
    pos = [(p.status, p.source, p.note) for p in host.plugins if p.name == "pos"]
    assert pos == [
        ("replaced", "entry point kopflow_pos (kopflow 0.1.0)", f"replaced by --plugin {given}"),
        ("ok", f"--plugin {given}", "replaces the installed entry point kopflow_pos (kopflow 0.1.0)"),
    ]  # fmt: skip
    assert host.errors == [] and host.check() == [] and host.partner("pos").code == "pos"
    assert "pos" in host.fingerprint()


def test_a_given_plugin_named_as_an_installed_one_replaces_it() -> None:
    host = load("pos_dev", entry_points=True)
    assert host.errors == [] and host.partner("pos").name["en"] == "Pos (test)"
    assert [(p.status, p.version) for p in host.plugins if p.name == "pos"] == [
        ("replaced", "0.1.0"), ("ok", "0.2.0.dev0")
    ]  # fmt: skip
    assert host.fingerprint()["pos"] == "0.2.0.dev0"


def test_the_same_value_given_twice_loads_once() -> None:
    host = load("good", "good")
    assert host.errors == [] and [p.status for p in local(host)] == ["ok"]


class _ClassPlugin:
    """A class registered as a plugin: pluggy takes its functions as hooks too."""

    @staticmethod
    def kopflow_guard(coop: CoopView, event: str, source: str, dest: str) -> list[str] | None:
        return None

    @staticmethod
    def kopflow_gaurd(coop: CoopView, event: str, source: str, dest: str) -> list[str] | None:
        return ["never called"]  # unmarked and misspelt


class _NewerHook:
    """A hook of a newer kopflow, marked optional: allowed, as pluggy allows it."""

    @hookimpl(optionalhook=True)
    def kopflow_from_the_future(self) -> None:
        raise AssertionError("never called")


def test_an_unknown_hook_in_a_class_or_instance_breaks_it_too() -> None:
    host = PluginHost()
    loaded = host.add_plugin(_ClassPlugin, name="classy", source="test")
    assert (loaded.status, loaded.error) == ("error", "plugin classy implements unknown hook "
                                             "kopflow_gaurd; did you mean kopflow_guard?")  # fmt: skip
    assert host.add_plugin(_ClassPlugin(), name="inst", source="test").status == "error"
    assert host.add_plugin(_NewerHook(), name="newer", source="test").status == "ok"


def test_check_reports_load_errors_too() -> None:
    host = load("old_api")
    assert host.check() == [str(host.errors[0])] and "API version 99" in host.check()[0]


def test_remove_plugin_forgets_hooks_and_partners() -> None:
    host = load("good", "old_api")
    host.remove_plugin("good")
    host.remove_plugin("old_api")
    assert local(host) == [] and host.partners == {} and host.errors == []
    assert host.guard(coop=coop(), event="block", source="a", dest="b") == []


# --- the hooks, one test each (test_every_hook_has_a_test keeps this complete) ----------------


def test_hook_kopflow_plugin_info() -> None:
    host = load("good", "unmarked")
    assert host.fingerprint() == {"good": "1.2.3", "unmarked": ""}


def test_hook_kopflow_register_partners() -> None:
    host = load("good")
    assert host.partner("demo").steps[1].after == ("first",)
    spec, step = host.partner_step("demo.second") or (None, None)
    assert spec is host.partner("demo") and step is not None and step.id == "second"
    assert host.partner_step("musdesus") is None


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("nope.account", "unknown partner nope; known partners: demo"),
        (
            "demo.third",
            "partner demo has no step third; its steps: demo.first, demo.second, demo.extra",
        ),
    ],
    ids=["unknown-partner", "unknown-step"],
)
def test_partner_step_not_found(key: str, message: str) -> None:
    with pytest.raises(NotFoundError) as raised:
        load("good").partner_step(key)
    assert str(raised.value) == message


def test_hook_kopflow_validate_step() -> None:
    host = load("good")
    ok = host.validate_step(coop=coop(), partner="demo", step="first", evidence={"ref": "A1"})
    refused = host.validate_step(
        coop=coop(), partner="demo", step="first", evidence={"ref": "refuse"}
    )
    assert ok == [] and refused == ["demo refuses demo.first for 5108012001"]


def test_a_step_validator_asks_what_validate_step_asks() -> None:
    """What a bulk completion takes once per transaction: the same reasons as validate_step,
    the evidence as read-only for each hook; nothing to take without a validating plugin."""
    assert PluginHost().step_validator("demo.first") is None
    host = load("good", "meddling")
    import meddling  # type: ignore[import-not-found]  # loaded by path under its own name

    validate = host.step_validator("demo.first")
    assert validate is not None
    meddling.TRIED.clear()
    given: dict[str, object] = {"ref": "refuse", "tags": ["a"]}
    assert validate(coop(), "demo", "first", given) == ["demo refuses demo.first for 5108012001"]
    assert meddling.TRIED == ["TypeError", "AttributeError"]
    assert given == {"ref": "refuse", "tags": ["a"]}
    assert validate(coop(), "demo", "first", {"ref": "A1"}) == []


def test_a_hook_cannot_change_the_evidence_the_next_one_sees() -> None:
    """Issue #13: ``meddling`` (called first: loaded last) tries to rewrite ``ref`` and a list
    value; ``good`` still sees ``ref="refuse"`` and refuses, and the caller's dict is intact."""
    host = load("good", "meddling")
    import meddling  # type: ignore[import-not-found]  # loaded by path under its own name

    meddling.TRIED.clear()
    given: dict[str, object] = {"ref": "refuse", "tags": ["a"]}
    refused = host.validate_step(coop=coop(), partner="demo", step="first", evidence=given)
    assert refused == ["demo refuses demo.first for 5108012001"]
    assert meddling.TRIED == ["TypeError", "AttributeError"]
    host.after_step(coop=coop(), step="demo.first", evidence=given, audit_seq=7)
    assert meddling.TRIED == ["TypeError", "AttributeError"] * 2
    assert given == {"ref": "refuse", "tags": ["a"]}


def test_hook_kopflow_guard() -> None:
    host = load("good")
    assert (
        host.guard(coop=coop(), event="start_operation", source="onboarding", dest="operating")
        == []
    )
    assert host.guard(coop=coop(), event="block", source="onboarding", dest="operating") == [
        "demo blocks block from onboarding to operating"
    ]


def test_hook_kopflow_guard_enroll() -> None:
    host = load("good")
    assert host.guard_enroll(coop=coop(), partner="bri") == []
    assert host.guard_enroll(coop=coop(), partner="blocked") == [
        "demo refuses 5108012001 for blocked"
    ]


@pytest.mark.parametrize(
    ("module", "hook", "message"),
    [
        ("raising_hook", "validate_step",
         "plugin raising_hook failed in kopflow_validate_step: ValueError: validator exploded"),
        ("raising_hook", "guard", "plugin raising_hook failed in kopflow_guard: KeyError: 'guard exploded'"),
        ("bad_return", "validate_step",
         "plugin bad_return returned str 'amount too high' from kopflow_validate_step; "
         "expected a list of reasons"),
        ("bad_return", "guard",
         "plugin bad_return returned list [42] from kopflow_guard; expected a list of reasons"),
    ],
    ids=["validate-raises", "guard-raises", "validate-returns-str", "guard-returns-non-str"],
)  # fmt: skip
def test_deciding_hook_failure_names_the_plugin(module: str, hook: str, message: str) -> None:
    host = load("good", module)
    assert host.errors == []  # it loaded fine; it fails when called
    with pytest.raises(PluginError) as raised:
        if hook == "guard":
            host.guard(coop=coop(), event="start_operation", source="onboarding", dest="operating")
        else:
            host.validate_step(coop=coop(), partner="demo", step="first", evidence={"ref": "A1"})
    assert raised.value.plugin == module and str(raised.value) == message


def test_hook_kopflow_after_step() -> None:
    host = load("raising_hook", "good")
    import good  # type: ignore[import-not-found]  # loaded by path under its own name

    good.CALLS.clear()
    with capture_logs() as logs:
        host.after_step(coop=coop(), step="demo.first", evidence={"ref": "A1"}, audit_seq=7)
    assert good.CALLS == [("after_step", ("5108012001", "demo.first", 7))]  # still called
    assert [(e["plugin"], e["hook"], e["log_level"]) for e in logs] == [
        ("raising_hook", "kopflow_after_step", "error")
    ]
    assert "partner system unreachable" in logs[0]["error"]


@pytest.mark.parametrize(("value", "traced"), [("1", True), ("0", False), ("", False)])
def test_trace_plugins_logs_every_call_and_each_traceback(
    monkeypatch: pytest.MonkeyPatch, value: str, traced: bool
) -> None:
    """What docs/plugins.md promises of KOPFLOW_TRACE_PLUGINS (issue #13)."""
    monkeypatch.setenv("KOPFLOW_TRACE_PLUGINS", value)
    host = load("raising_hook")
    with capture_logs() as logs:
        host.after_step(coop=coop(), step="demo.first", evidence={"ref": "A1"}, audit_seq=7)
    calls = [e for e in logs if e["event"] == "plugin hook"]
    (failed,) = [e for e in logs if e["event"] == "plugin hook failed"]
    assert len(calls) == (1 if traced else 0)
    assert ("partner system unreachable" in failed.get("traceback", "")) is traced
    assert "raising_hook.py" in failed.get("traceback", "raising_hook.py")


def test_hook_kopflow_after_transition() -> None:
    host = load("good", "raising_hook")
    import good  # type: ignore[import-not-found]

    good.CALLS.clear()
    with capture_logs() as logs:
        host.after_transition(coop=coop(), event="e", source="a", dest="b", audit_seq=8)
    assert good.CALLS == [("after_transition", ("5108012001", "e", "a", "b", 8))]
    assert [e["plugin"] for e in logs] == ["raising_hook"]


def test_hook_kopflow_partner_notification() -> None:
    """Each plugin names payloads for its own partners only, as JSON; anything else is a
    PluginError, which refuses the change it is asked about (issue #13)."""
    host = load("good", entry_points=True)
    import good  # type: ignore[import-not-found]

    good.CALLS.clear()
    enrolled = dataclasses.replace(coop(), partners=("bri", "demo"))
    found = host.partner_notifications(
        coop=enrolled,
        action="step.completed",
        details={"step": "demo.first", "evidence": {"ref": "A1"}, "on": date(2025, 5, 6)},
        audit_seq=9,
    )
    assert found == [
        ("demo", '{"coop": "5108012001", "evidence": {"ref": "A1"}, "on": "2025-05-06", '
                 '"step": "demo.first"}'),
    ]  # fmt: skip
    assert good.CALLS == [("partner_notification", ("5108012001", "step.completed", 9))]
    assert host.partner_notifications(coop=coop(), action="x", details={}, audit_seq=1) == []
    for action, message in (
        ("test.bad", "plugin good returned list ['not', 'a mapping'] from kopflow_partner_notification; "
                     "expected a mapping of partner code to payload"),
        ("test.foreign", "plugin good asked to notify partner bri, which it did not register"),
    ):  # fmt: skip
        with pytest.raises(PluginError) as raised:
            host.partner_notifications(coop=enrolled, action=action, details={}, audit_seq=2)
        assert raised.value.plugin == "good" and str(raised.value) == message
    with pytest.raises(PluginError, match="JSON cannot write: TypeError: object is not JSON"):
        host.partner_notifications(
            coop=enrolled, action="step.completed", details={"x": object()}, audit_seq=3
        )


def test_hook_kopflow_deliver() -> None:
    """Only the plugin that registered the partner is called; its failure names it in one
    line; a partner whose plugin cannot deliver says why without calling anything."""
    host = load("good", entry_points=True)
    import good  # type: ignore[import-not-found]

    good.CALLS.clear()
    host.deliver(partner="demo", key=5, action="a", coop_id="C", payload={"n": 1})
    assert good.CALLS == [("deliver", ("demo", 5, "a", "C", {"n": 1}))]
    with pytest.raises(PluginError) as raised:
        host.deliver(partner="demo", key=6, action="a", coop_id="C", payload={"fail": True})
    assert str(raised.value) == (
        "plugin good failed in kopflow_deliver: ConnectionError: demo system down"
    )
    assert host.delivery_problem("demo") is None
    assert str(host.delivery_problem("bri")) == (
        "plugin bri asks for notifications to bri but implements no kopflow_deliver"
    )
    assert "unknown partner nope" in str(host.delivery_problem("nope"))


def test_hook_kopflow_register_commands() -> None:
    @click.group()
    def cli() -> None:
        """kopflow."""

    @cli.command(name="status")
    def status_() -> None:
        """The real status command."""
        click.echo("real status")

    host = load("good", "raising_hook", "clobber")
    with capture_logs():
        host.register_commands(cli)
    assert sorted(cli.commands) == ["demo-hello", "status"]  # half-added was taken away
    runner = CliRunner()
    assert runner.invoke(cli, ["demo-hello"]).output == "hello from demo\n"
    assert runner.invoke(cli, ["status"]).output == "real status\n"
    assert runner.invoke(cli, ["--help"]).exit_code == 0
    assert sorted(str(e) for e in host.errors) == [
        "plugin clobber tried to replace the command status",
        "plugin raising_hook failed in kopflow_register_commands: "
        "RuntimeError: command registration exploded",
    ]
    assert {p.name: p.status for p in local(host)} == {
        "good": "ok",
        "raising_hook": "error",
        "clobber": "error",
    }


def test_every_hook_has_a_test() -> None:
    """datasette's meta-test: a new hookspec without a ``test_hook_<name>`` fails here."""
    specs = {
        n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("kopflow_")
    }
    tested = {n.removeprefix("test_hook_") for n in globals() if n.startswith("test_hook_")}
    assert specs and specs == tested


def test_coop_view_is_read_only() -> None:
    view = coop(bri__account={"account_number": "0123"})
    with pytest.raises(TypeError):
        view.evidence["bri.account"]["account_number"] = "9999"  # type: ignore[index]
    with pytest.raises(TypeError):
        view.evidence["bri.qris"] = {}  # type: ignore[index]
    assert view.is_done("bri.account") and not view.is_done("bri.qris")
    assert view.evidence_of("bri.qris") == {}


def test_coop_view_reads_evidence_on_demand() -> None:
    """The engine hands over a lazy mapping; the view must not parse every step up front."""

    class Lazy(dict):  # type: ignore[type-arg]  # a dict that counts reads
        reads: list[str] = []

        def __getitem__(self, key: str) -> object:
            self.reads.append(key)
            return super().__getitem__(key)

    source = Lazy({"musdesus": {"units": ["sembako"]}, "bri.account": {"branch": "Singaraja"}})
    view = coop()
    view = CoopView(**{**view.__dict__, "evidence": source})
    assert view.is_done("musdesus") and len(view.evidence) == 2 and source.reads == []
    units = view.evidence_of("musdesus")["units"]
    assert source.reads == ["musdesus"] and units == ("sembako",)  # a tuple: cannot be changed


# --- partner spec checks ----------------------------------------------------------------------


def _spec(*steps: StepSpec, code: str = "lpg") -> PartnerSpec:
    return PartnerSpec(code, {"id": "LPG", "en": "LPG"}, steps)


def _st(
    id_: str, *, required: bool = True, after: tuple[str, ...] = (), **field: object
) -> StepSpec:
    fields = (FieldSpec("x", **field),) if field else ()  # type: ignore[arg-type]
    return StepSpec(
        id_, {"id": id_, "en": id_}, "partner", required=required, after=after, fields=fields
    )


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (_spec(_st("a"), code="Bad-Code"), "partner code 'Bad-Code' must match [a-z][a-z0-9_]*"),
        (_spec(), "partner lpg declares no steps"),
        (_spec(_st("a"), _st("a")), "partner lpg: step a is declared twice"),
        (_spec(_st("a.b")), "partner lpg: step id 'a.b' must match [a-z][a-z0-9_]*"),
        (_spec(_st("a", after=("z",))), "partner lpg: step a comes after unknown step z"),
        (_spec(_st("a", required=False), _st("b", after=("a",))),
         "partner lpg: required step b comes after optional step a"),
        (_spec(_st("a", after=("b",)), _st("b", after=("a",))),
         "partner lpg: steps a -> b -> a wait for each other in a circle"),
        (_spec(_st("a", type="money", label={"id": "x", "en": "x"})),
         "step lpg.a: field x has unknown type money"),
        (_spec(_st("a", type="choice", label={"id": "x", "en": "x"})),
         "step lpg.a: choice field x lists no choices"),
        (_spec(_st("a", type="text", label={"en": "x"})), "field x of lpg.a needs non-empty id and en texts"),
        (PartnerSpec("lpg", {"id": "", "en": "LPG"}, (_st("a"),)), "name of lpg needs non-empty id and en"),
        (_spec(StepSpec("a", {"id": "a", "en": "a"}, "partner", after="b")),  # type: ignore[arg-type]
         "step lpg.a: after must be a tuple of step ids"),
    ],
    ids=["code", "no-steps", "twice", "step-id", "after-unknown", "required-after-optional",
         "cycle", "field-type", "choice-empty", "field-label", "name-label", "after-str"],
)  # fmt: skip
def test_partner_problems(spec: PartnerSpec, problem: str) -> None:
    problems = partner_problems(spec)
    assert any(p.startswith(problem) for p in problems), problems


def test_find_cycle() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) == []
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["b"]}) == ["b", "c", "b"]


# --- the built-in partners, through the host as the engine calls them ------------------------


@pytest.fixture(scope="module")
def builtins() -> PluginHost:
    host = make_plugin_host(extra_modules=[str(PERTAMINA)], load_entry_points=True)
    assert host.errors == []
    return host


@pytest.mark.parametrize(
    ("partner", "required", "optional"),
    [
        ("bri", ["account", "relationship_manager"],
         ["agent", "qris", "loan_proposal", "village_head_approval", "bank_assessment",
          "loan_agreement", "mofin_report", "disbursement"]),
        ("pos", ["pks", "agent"], []),
        ("telkom", ["connection", "digital_onboarding"], ["survey"]),
        ("pln", ["ppob_agent"], ["power_connection", "iconplus"]),
        ("pertamina", ["registered", "verified", "ddms_ratified", "merchant_active"], ["closed"]),
    ],
    ids=["bri", "pos", "telkom", "pln", "pertamina"],
)  # fmt: skip
def test_partner_steps(
    builtins: PluginHost, partner: str, required: list[str], optional: list[str]
) -> None:
    steps = builtins.partner(partner).steps
    assert [s.id for s in steps if s.required] == required
    assert [s.id for s in steps if not s.required] == optional
    assert {s.role for s in steps} == {"partner"}


def test_bri_loan_steps_are_ordered(builtins: PluginHost) -> None:
    after = {s.id: s.after for s in builtins.partner("bri").steps}
    chain = ["loan_proposal", "village_head_approval", "bank_assessment", "loan_agreement",
             "mofin_report", "disbursement"]  # fmt: skip
    assert [after[b] for b in chain[1:]] == [(a,) for a in chain[:-1]]


def _validate(
    host: PluginHost, key: str, raw: dict[str, object], view: CoopView | None = None
) -> list[str]:
    """Parse ``raw`` with the step's field specs, as the engine does, then ask the plugins."""
    spec, step = host.partner_step(key) or (None, None)
    assert spec is not None and step is not None
    evidence = step.validate(raw)
    return host.validate_step(
        coop=view or coop(), partner=spec.code, step=step.id, evidence=evidence
    )


@pytest.mark.parametrize(
    ("raw", "reasons"),
    [
        ({"amount": "Rp 3.000.000.000", "operating_amount": "500000000", "date": "2025-11-03"}, []),
        ({"amount": "3000000001", "operating_amount": "0", "date": "2025-11-03"},
         ["loan amount Rp 3.000.000.001 is above the ceiling of Rp 3.000.000.000 per cooperative (PMK 49/2025)"]),
        ({"amount": "2000000000", "operating_amount": "500000001", "date": "2025-11-03"},
         ["operating costs of Rp 500.000.001 are above the limit of Rp 500.000.000 (PMK 49/2025)"]),
        ({"amount": "100000000", "operating_amount": "200000000", "date": "2025-11-03"},
         ["operating costs of Rp 200.000.000 are more than the loan amount of Rp 100.000.000"]),
    ],
    ids=["at-the-ceilings", "above-ceiling", "operating-above-limit", "operating-above-loan"],
)  # fmt: skip
def test_bri_loan_proposal_ceilings(
    builtins: PluginHost, raw: dict[str, object], reasons: list[str]
) -> None:
    assert _validate(builtins, "bri.loan_proposal", raw) == reasons


def test_bri_agreement_refused_after_rejected_assessment(builtins: PluginHost) -> None:
    raw = {"agreement_number": "B.123/KDKMP/2025", "amount": "1000000000", "date": "2025-11-10"}
    rejected = coop(bri__bank_assessment={"result": "rejected", "date": "2025-11-05"})
    approved = coop(bri__bank_assessment={"result": "approved", "date": "2025-11-05"})
    assert _validate(builtins, "bri.loan_agreement", raw, approved) == []
    assert _validate(builtins, "bri.loan_agreement", raw, rejected) == [
        "the bank assessment rejected this loan; record a new assessment before an agreement"
    ]


@pytest.mark.parametrize(
    ("reported", "reasons"),
    [
        ("2025-11-21", []),  # Mon 3 Nov + 14 working days = Fri 21 Nov
        (
            "2025-11-24",
            ["reported 15 working days after the agreement of 2025-11-03; the limit is 14"],
        ),
        ("2025-11-01", ["the report date 2025-11-01 is before the agreement date 2025-11-03"]),
    ],
    ids=["day-14", "day-15", "before-agreement"],
)
def test_bri_mofin_report_within_14_working_days(
    builtins: PluginHost, reported: str, reasons: list[str]
) -> None:
    view = coop(bri__loan_agreement={"amount": 1_000_000_000, "date": "2025-11-03"})
    assert _validate(builtins, "bri.mofin_report", {"date": reported}, view) == reasons


def test_bri_disbursement_not_above_agreement(builtins: PluginHost) -> None:
    view = coop(bri__loan_agreement={"amount": 1_000_000_000, "date": "2025-11-03"})
    ok = {"amount": "1.000.000.000", "date": "2025-11-25"}
    assert _validate(builtins, "bri.disbursement", ok, view) == []
    assert _validate(builtins, "bri.disbursement", {**ok, "amount": "1000000001"}, view) == [
        "the amount disbursed, Rp 1.000.000.001, is above the agreed amount of Rp 1.000.000.000"
    ]


def test_bri_reasons_in_indonesian(builtins: PluginHost) -> None:
    set_language("id")
    raw = {"amount": "3500000000", "operating_amount": "0", "date": "2025-11-03"}
    assert _validate(builtins, "bri.loan_proposal", raw) == [
        "jumlah pinjaman Rp 3.500.000.000 melebihi plafon Rp 3.000.000.000 per koperasi (PMK 49/2025)"
    ]


@pytest.mark.parametrize(
    ("customer_id", "reasons"),
    [("512345678901", []), ("51234567890", ["PLN customer id '51234567890' must be 12 digits"]),
     ("51234567890X", ["PLN customer id '51234567890X' must be 12 digits"])],
    ids=["12-digits", "11-digits", "letter"],
)  # fmt: skip
def test_pln_customer_id(builtins: PluginHost, customer_id: str, reasons: list[str]) -> None:
    raw = {"customer_id": customer_id, "date": "2025-12-01"}
    assert _validate(builtins, "pln.power_connection", raw) == reasons


@pytest.mark.parametrize(
    ("allocation", "refused"),
    [("200", False), ("1000", False), ("0", True), ("-5", True), ("2000", True)],
    ids=["typical", "at-maximum", "zero", "negative", "implausible"],
)
def test_pertamina_monthly_allocation(builtins: PluginHost, allocation: str, refused: bool) -> None:
    raw = {"merchant_id": "M-0001", "monthly_allocation": allocation, "date": "2026-01-20"}
    reasons = _validate(builtins, "pertamina.merchant_active", raw)
    assert bool(reasons) is refused and all("allocation" in r for r in reasons)


def test_builtins_ignore_other_partners_steps(builtins: PluginHost) -> None:
    """Every plugin sees every step; a plugin must answer only for its own."""
    evidence = {"amount": 9_000_000_000, "customer_id": "x", "monthly_allocation": -1}
    for partner in (None, "pos", "telkom"):
        assert (
            builtins.validate_step(coop=coop(), partner=partner, step="x", evidence=evidence) == []
        )
