"""The fixtures of ``kopflow.testing`` themselves (issue #3): what partner authors rely on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kopflow.errors import PluginError
from kopflow.host.source import import_module
from kopflow.testing import ADMIN, KopflowRunner

PLUGINS = Path(__file__).parent / "plugins"


def test_kopflow_db_is_initialised_with_the_admin(kopflow_app: Any, verify_audit: Any) -> None:
    (init,) = verify_audit()
    assert (init["action"], init["actor"], init["details"]["admin"]) == ("db.init", ADMIN, ADMIN)


def test_register_plugin_replaces_the_installed_copy(
    register_plugin: Callable[..., Any], kopflow_plugins: Any
) -> None:
    import kopflow_pos

    loaded = register_plugin(kopflow_pos)
    assert (loaded.name, loaded.source) == ("pos", "kopflow.testing register_plugin")
    assert [p.name for p in kopflow_plugins.plugins].count("pos") == 1
    assert kopflow_plugins.errors == []


def test_register_plugin_raises_for_a_broken_plugin(register_plugin: Callable[..., Any]) -> None:
    with pytest.raises(PluginError, match="needs plugin API version 99"):
        register_plugin(import_module(str(PLUGINS / "old_api.py")))
    loaded = register_plugin(import_module(str(PLUGINS / "old_api.py")), check=False)
    assert loaded.status == "error"


@pytest.mark.parametrize("stage", ["formation", "legal", "onboarding", "operating"])
def test_coop_at_stage(coop_at_stage: Callable[..., str], kopflow_app: Any, stage: str) -> None:
    coop = coop_at_stage(stage, partners=["pos"])
    with kopflow_app.reading() as conn:
        work = kopflow_app.cooperatives(conn, [coop])[coop]
    assert work.row["stage"] == stage
    main = [s.id for s in kopflow_app.workflow.main_stages()]
    reached = main.index(stage) >= main.index("onboarding")
    assert work.partners == ({"bri", "pos"} if reached else set())
    assert work.is_done("pos.pks") == (stage == "operating")


def test_coop_at_stage_takes_a_new_cooperative_each_time(coop_at_stage: Callable[..., str]) -> None:
    taken = {coop_at_stage("formation") for _ in range(6)}
    assert len(taken) == 6
    with pytest.raises(RuntimeError, match="no cooperative"):
        coop_at_stage("formation")
    with pytest.raises(ValueError, match="main stages"):
        coop_at_stage("suspended")


def test_cli_runner_reports_an_unexpected_exit(cli_runner: KopflowRunner) -> None:
    with pytest.raises(AssertionError, match=r"exited with 2, not 0(.|\n)*No such command"):
        cli_runner("nothing")
