"""``for_steps``: a plugin says which steps its ``kopflow_validate_step`` checks, and is asked
for those only (issue #15: a bulk completion built a view and called every plugin for every
row); a key that names no step breaks the plugin instead of switching its check off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from engine_helpers import rows, seeds

from kopflow.cli import cli
from kopflow.engine import Kopflow
from kopflow.errors import PluginError
from kopflow.flow.samples import sample_evidence
from kopflow.host.manager import make_plugin_host
from kopflow.plugin import for_steps, hookimpl

COOPS = ["KDMP-900001", "KDMP-900002"]


class _Asked:
    """Records the steps its validator is asked about; refuses ``refuse`` (coop, step)."""

    def __init__(self, refuse: tuple[str, str] | None = None) -> None:
        self.asked: list[tuple[str, str]] = []
        self.refuse = refuse

    def check(self, coop: Any, partner: str | None, step: str) -> list[str] | None:
        key = f"{partner}.{step}" if partner else step
        self.asked.append((coop.id, key))
        return ["refused by the test"] if self.refuse == (coop.id, key) else None


class _Deed(_Asked):
    @hookimpl
    @for_steps("notary_deed", "pertamina.verified")  # pertamina: a partner not installed
    def kopflow_validate_step(self, coop: Any, partner: str | None, step: str) -> Any:
        return self.check(coop, partner, step)


class _Every(_Asked):
    @hookimpl
    def kopflow_validate_step(self, coop: Any, partner: str | None, step: str) -> Any:
        return self.check(coop, partner, step)


class _Misspelt:
    @hookimpl
    @for_steps("notary_dead")
    def kopflow_validate_step(self) -> None:
        return None


def _formation_rows(kopflow: Kopflow) -> list[tuple[str, str, dict[str, Any]]]:
    steps = [s for s in kopflow.workflow.stage("formation").steps if s.required]
    return [(c, s.id, sample_evidence(s, i)) for i, c in enumerate(COOPS) for s in steps]


def test_a_validator_for_some_steps_is_asked_about_those_only(kopflow: Kopflow) -> None:
    kopflow.register(seeds(2), source="test")
    deed, every = _Deed(refuse=("KDMP-900002", "notary_deed")), _Every()
    kopflow.plugins.add_plugin(deed, name="deed", source="test")
    kopflow.plugins.add_plugin(every, name="every", source="test")
    items = _formation_rows(kopflow)
    result = kopflow.complete_steps_bulk(items)
    # The marked one: the deed of each cooperative; its refusal still refuses the cooperative.
    assert deed.asked == [(c, "notary_deed") for c in COOPS]
    assert [o.coop_id for o in result.refused] == ["KDMP-900002"]
    assert "refused by the test" in result.refused[0].message
    # The unmarked one: every row, up to the refused one of the second cooperative.
    second = [key for c, key, _raw in items if c == "KDMP-900002"]
    upto = second[: second.index("notary_deed") + 1]
    assert every.asked == [(c, k) for c, k, _raw in items if c == COOPS[0]] + [
        ("KDMP-900002", k) for k in upto
    ]
    assert not rows(kopflow, "SELECT 1 FROM step_record WHERE coop_id = 'KDMP-900002'")
    # One cooperative at a time (kopflow step complete), the same.
    deed.asked.clear()
    socialisation = kopflow.workflow.step("socialisation")
    assert socialisation is not None
    kopflow.complete_step("KDMP-900002", "socialisation", sample_evidence(socialisation, 1))
    assert deed.asked == []
    with kopflow.reading() as conn:
        view = kopflow.view(kopflow.cooperatives(conn, ["KDMP-900002"])["KDMP-900002"])
    asked = kopflow.plugins.validate_step(coop=view, partner=None, step="notary_deed", evidence={})
    assert asked == ["refused by the test"] and deed.asked == [("KDMP-900002", "notary_deed")]


def test_a_step_key_naming_no_step_refuses_every_completion(kopflow: Kopflow) -> None:
    kopflow.register(seeds(2), source="test")
    kopflow.plugins.add_plugin(_Misspelt(), name="misspelt", source="test")
    result = kopflow.complete_steps_bulk(_formation_rows(kopflow))
    assert not result.done
    assert [o.coop_id for o in result.refused] == COOPS
    why = result.refused[0].why
    assert why is not None and why.exit_code == 6
    assert "plugin misspelt: for_steps names notary_dead, but neither the workflow" in why.reason
    assert not rows(kopflow, "SELECT 1 FROM step_record")
    socialisation = kopflow.workflow.step("socialisation")
    assert socialisation is not None
    with pytest.raises(PluginError, match="notary_dead"):
        kopflow.complete_step("KDMP-900001", "socialisation", sample_evidence(socialisation, 1))
    assert not rows(kopflow, "SELECT 1 FROM step_record")


MISFILED = """
from kopflow.plugin import PluginInfo, for_steps, hookimpl

@hookimpl
def kopflow_plugin_info():
    return PluginInfo(name="misfiled", version="1")

@hookimpl
@for_steps("bri.acount", "musdesus", "pertamina.verified")
def kopflow_validate_step(coop, partner, step, evidence):
    return ["misfiled refuses " + (partner + "." if partner else "") + step]

@hookimpl
@for_steps("bri.account")
def kopflow_guard(coop, event, source, dest):
    return None
"""


def test_plugins_check_names_each_misfiled_key_and_hook(tmp_path: Path) -> None:
    plugin = tmp_path / "misfiled.py"
    plugin.write_text(MISFILED, encoding="utf-8")
    args = ["--lang", "en", "--plugin", str(plugin), "plugins", "check"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 6, result.output
    assert result.stdout.splitlines() == [
        "plugin misfiled: for_steps marks kopflow_guard; it applies to kopflow_validate_step only",
        "plugin misfiled: for_steps names bri.acount, but neither the workflow nor a partner has "
        "such a step; give keys as 'kopflow workflow show' lists them (musdesus, bri.account)",
        "plugin misfiled: for_steps names pertamina.verified, of a partner that is not "
        "installed; its check runs once that partner's plugin is",
    ]
    args = ["--lang", "id", "--plugin", str(plugin), "plugins", "check"]
    indonesian = CliRunner().invoke(cli, args)
    assert indonesian.exit_code == 6
    assert "plugin misfiled: for_steps menyebut bri.acount, tetapi" in indonesian.stdout
    # Without the plugin, the built-in ones (which mark their validators) pass.
    assert CliRunner().invoke(cli, ["plugins", "check"]).exit_code == 0


MARKED = """
from kopflow.plugin import PluginInfo, for_steps, hookimpl

@hookimpl
def kopflow_plugin_info():
    return PluginInfo(name="marked", version="1")

@hookimpl
@for_steps(KEYS)
def kopflow_validate_step(coop, partner, step, evidence):
    return ["marked refuses " + step]
"""


def test_a_module_plugin_marked_for_one_step_through_the_command_line(tmp_path: Path) -> None:
    """As an officer runs it: the marked step is refused by the plugin, an unmarked one is
    recorded without asking it, and a misspelt key stops every completion (exit 6)."""
    env = {**os.environ, "KOPFLOW_DB": str(tmp_path / "k.db"), "KOPFLOW_ACTOR": "admin",
           "KOPFLOW_LANG": "en", "KOPFLOW_LOG": str(tmp_path / "kopflow.log")}  # fmt: skip
    plugin = tmp_path / "marked.py"

    def kopflow(*args: str, keys: str = '"musdesus", "pertamina.verified"') -> Any:
        plugin.write_text(MARKED.replace("KEYS", keys), encoding="utf-8")
        command = [sys.executable, "-m", "kopflow", "--plugin", str(plugin), *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert kopflow("init").returncode == 0
    assert kopflow("coop", "import", "--region", "Kabupaten Buleleng").returncode == 0
    coop = kopflow("coop", "list", "--json").stdout
    coop = json.loads(coop)[0]["id"]
    workflow = Kopflow(str(tmp_path / "k.db")).workflow

    def complete(step: str, **kw: str) -> Any:
        spec = workflow.step(step)
        assert spec is not None
        sets = [a for k, v in sample_evidence(spec, 1).items() for a in ("--set", f"{k}={v}")]
        return kopflow("step", "complete", coop, step, *sets, **kw)

    done = complete("socialisation")
    assert done.returncode == 0, done.stderr
    refused = complete("musdesus")
    assert refused.returncode == 3 and "marked refuses musdesus" in refused.stderr
    misspelt = complete("musdesus", keys='"musdesu"')
    assert misspelt.returncode == 6
    assert misspelt.stderr.strip() == (
        "Error: plugin marked: for_steps names musdesu, but neither the workflow nor a partner "
        "has such a step; give keys as 'kopflow workflow show' lists them (musdesus, "
        "bri.account)"
    )
    shown = json.loads(kopflow("coop", "show", coop, "--json").stdout)
    done_steps = [s["step"] for s in shown["steps"] if s["done"]]
    assert done_steps == ["socialisation"]  # nothing of the refused musdesus


def test_for_steps_takes_step_keys_and_marks_add_up() -> None:
    with pytest.raises(TypeError, match="one step key or more"):
        for_steps()
    for bad in ("BRI.account", " bri.account", "bri.", "bri.account.x", ""):
        with pytest.raises(TypeError, match="step keys such as 'bri.account'"):
            for_steps(bad)

    class Twice:
        @hookimpl
        @for_steps("notary_deed")
        @for_steps("musdesus")
        def kopflow_validate_step(self, step: str) -> list[str]:
            return [f"asked about {step}"]

    host = make_plugin_host(load_entry_points=False)
    host.add_plugin(Twice(), name="twice", source="test")
    assert host.step_validator("musdesus") is not None
    assert host.step_validator("notary_deed") is not None
    assert host.step_validator("socialisation") is None


def test_the_built_in_plugins_pass_the_check(tmp_path: Path) -> None:
    host = make_plugin_host()
    assert host.for_steps_problems(Kopflow(str(tmp_path / "k.db")).workflow, strict=True) == []
