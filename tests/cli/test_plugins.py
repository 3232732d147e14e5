"""``kopflow plugins list|check``, plugin commands, and broken plugins seen through the CLI
(issue #3): one line naming the plugin, the database byte-for-byte unchanged, and three ways
to switch a plugin off.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kopflow.testing import ADMIN, KopflowRunner

TESTS = Path(__file__).resolve().parent.parent
PLUGINS = TESTS / "plugins"
KOPFLOW = Path(sys.executable).with_name("kopflow")

ACCOUNT = ("--set", "account_number=0123011", "--set", "branch=KC Singaraja",
           "--set", "date=2025-05-02")  # fmt: skip
QRIS = ("--set", "nmid=ID1025123456789", "--set", "date=2025-05-06")


def plugin(name: str) -> str:
    return str(PLUGINS / f"{name}.py")


@pytest.fixture
def cli(cli_runner: KopflowRunner) -> KopflowRunner:
    """The CLI loading its plugins itself, as on a command line (``--plugin``, settings)."""
    return dataclasses.replace(cli_runner, plugins=None)


def listed(cli: KopflowRunner, *options: str) -> dict[str, dict[str, Any]]:
    rows = json.loads(cli(*options, "plugins", "list", "--json").stdout)
    return {r["name"]: r for r in rows}


def one_error_line(result: Any) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    return str(lines[0])


def digest(path: str) -> str:
    """The database file's bytes once every connection is closed (the WAL is checkpointed)."""
    from kopflow.store import db

    db.dispose_engines()
    wal = Path(path + "-wal")
    data = Path(path).read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    return hashlib.sha256(data).hexdigest()


# --- plugins list and check ------------------------------------------------------------------


def test_list_shows_the_builtin_partners(cli: KopflowRunner) -> None:
    rows = listed(cli)
    assert set(rows) == {"bri", "pln", "pos", "telkom"}
    bri = rows["bri"]
    assert (bri["version"], bri["status"], bri["error"]) == ("0.1.0", "ok", None)
    assert bri["partners"] == ["bri"]
    assert bri["hooks"] == ["kopflow_plugin_info", "kopflow_register_partners",
                            "kopflow_validate_step"]  # fmt: skip
    assert bri["source"] == "entry point kopflow_bri (kopflow 0.1.0)"
    assert bri["commands"] == []
    table = cli("plugins", "list").stdout
    assert "4 plugins" in table and "entry point kopflow_telkom" in table


def test_list_names_a_broken_plugin_and_keeps_working(cli: KopflowRunner) -> None:
    result = cli("--plugin", plugin("broken_import"), "plugins", "list")
    assert "broken_import: plugin broken_import could not be imported: ImportError: No module " \
        "named 'lpg_sdk'" in result.stdout  # fmt: skip
    rows = listed(cli, "--plugin", plugin("broken_import"))
    assert rows["broken_import"]["status"] == "error" and rows["bri"]["status"] == "ok"


def test_check_passes_with_the_builtins(cli: KopflowRunner) -> None:
    assert cli("plugins", "check").stdout == "4 plugins loaded, no problems\n"
    assert json.loads(cli("plugins", "check", "--json").stdout) == {
        "ok": True, "plugins": 4, "problems": [],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("module", "problem"),
    [
        ("broken_import",
         "plugin broken_import could not be imported: ImportError: No module named 'lpg_sdk'"),
        ("misspelt_hook", "plugin misspelt_hook implements unknown hook kopflow_validate_stpe; "
                          "did you mean kopflow_validate_step?"),
        ("clobber", "plugin clobber tried to replace the command status"),
        ("duplicate_bri", "partner code bri is registered by both bri and duplicate_bri"),
        ("old_api", "plugin old_api needs plugin API version 99; this kopflow provides 1"),
    ],
    ids=["import-error", "unknown-hook", "replaces-a-command", "duplicate-partner", "old-api"],
)  # fmt: skip
def test_check_fails_with_one_line_per_problem(
    cli: KopflowRunner, module: str, problem: str
) -> None:
    result = cli("--plugin", plugin(module), "plugins", "check", expect=6)
    assert result.stdout == problem + "\n"
    data = json.loads(
        cli("--plugin", plugin(module), "plugins", "check", "--json", expect=6).stdout
    )
    assert data["ok"] is False and data["problems"] == [problem]


def test_check_reports_a_disabled_name_that_matches_nothing(cli: KopflowRunner) -> None:
    result = cli("--disable-plugin", "nothere", "plugins", "check", expect=6)
    assert result.stdout == "--disable-plugin names nothere, which is not installed\n"


# --- plugin commands -------------------------------------------------------------------------


def test_a_plugin_command_runs_through_the_cli(cli: KopflowRunner) -> None:
    assert cli("--plugin", plugin("good"), "demo-hello").stdout == "hello from demo\n"
    assert "Say hello from the demo plugin." in cli("--plugin", plugin("good"), "demo-hello",
                                                    "--help").stdout  # fmt: skip
    assert listed(cli, "--plugin", plugin("good"))["good"]["commands"] == ["demo-hello"]


def test_a_registered_plugin_command_runs_through_cli_runner(
    cli_runner: KopflowRunner, register_plugin: Callable[..., Any]
) -> None:
    from kopflow.host.source import import_module

    register_plugin(import_module(plugin("good")))
    assert cli_runner("demo-hello").stdout == "hello from demo\n"


def test_help_lists_no_plugin_command_and_says_where_they_are(cli: KopflowRunner) -> None:
    """Plugins are not loaded for --help (a broken or slow plugin must not cost --help anything):
    it points to plugins list."""
    text = cli("--plugin", plugin("broken_import"), "--help").stdout
    assert "demo-hello" not in text
    assert "Plugins may add commands: 'kopflow plugins list' shows them." in text
    assert "No such command 'nothing'" in cli("nothing", expect=2).stderr


def test_a_plugin_cannot_replace_a_builtin_command(cli: KopflowRunner) -> None:
    result = cli("--plugin", plugin("clobber"), "status", "--json")  # the real status command
    assert json.loads(result.stdout) == []


def test_plugin_commands_do_not_leak_into_the_next_invocation(cli: KopflowRunner) -> None:
    cli("--plugin", plugin("good"), "demo-hello")
    assert "No such command 'demo-hello'" in cli("demo-hello", expect=2).stderr


# --- broken plugins: one line, nothing written ----------------------------------------------

BROKEN = [
    # (module, what the step is refused with, what the transition is refused with)
    ("broken_import",
     "plugin broken_import could not be imported: ImportError: No module named 'lpg_sdk'", None),
    ("raising_hook",
     "plugin raising_hook failed in kopflow_validate_step: ValueError: validator exploded",
     "plugin raising_hook failed in kopflow_guard: KeyError: 'guard exploded'"),
    ("bad_return",
     "plugin bad_return returned str 'amount too high' from kopflow_validate_step; "
     "expected a list of reasons",
     "plugin bad_return returned list [42] from kopflow_guard; expected a list of reasons"),
    ("malformed", "plugin malformed registered an invalid partner: expected a PartnerSpec, got "
                  "dict {'code': 'lpg', 'steps': ['registered']}", None),
    ("duplicate_bri", "partner code bri is registered by both bri and duplicate_bri", None),
    ("old_api", "plugin old_api needs plugin API version 99; this kopflow provides 1", None),
    ("misspelt_hook", "plugin misspelt_hook implements unknown hook kopflow_validate_stpe; "
                      "did you mean kopflow_validate_step?", None),
]  # fmt: skip


@pytest.fixture
def ready(coop_at_stage: Callable[..., str], kopflow_app: Any) -> str:
    """A cooperative whose next BRI step and whose move to operation would both succeed."""
    return coop_at_stage("onboarding", complete_partners=["bri"])


@pytest.mark.parametrize(("module", "on_step", "on_advance"), BROKEN,
                         ids=[b[0] for b in BROKEN])  # fmt: skip
def test_broken_plugin_refuses_changes_and_writes_nothing(
    cli: KopflowRunner,
    kopflow_db: str,
    ready: str,
    module: str,
    on_step: str,
    on_advance: str | None,
) -> None:
    broken = ("--plugin", plugin(module))
    before = digest(kopflow_db)
    step = cli(*broken, "step", "complete", ready, "bri.qris", *QRIS, expect=6)
    assert one_error_line(step) == f"Error: {on_step}"
    advance = cli(*broken, "advance", ready, expect=6)
    assert one_error_line(advance) == f"Error: {on_advance or on_step}"
    assert digest(kopflow_db) == before  # byte for byte
    # Read-only commands still work; switched off, the plugin is out of the way.
    assert "bri.qris" in cli(*broken, "partner", "steps", ready, "bri").stdout
    off = (*broken, "--disable-plugin", module)
    cli(*off, "step", "complete", ready, "bri.qris", *QRIS)
    assert "operating" in cli(*off, "advance", ready).stdout
    assert digest(kopflow_db) != before  # the same commands do write when allowed to


def write_settings(folder: Path, text: str) -> Path:
    path = folder / "kopflow.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("how", ["option", "environment", "kopflow.toml", "KOPFLOW_CONFIG"])
def test_a_broken_plugin_can_be_switched_off(
    cli: KopflowRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    broken = ("--plugin", plugin("broken_import"))
    cli(*broken, "plugins", "check", expect=6)
    options: tuple[str, ...] = ()
    if how == "option":
        options = ("--disable-plugin", "broken_import")
    elif how == "environment":
        monkeypatch.setenv("KOPFLOW_DISABLE_PLUGINS", "broken_import")
    elif how == "kopflow.toml":  # in the current folder
        write_settings(tmp_path, '[plugins]\ndisable = ["broken_import"]\n')
    else:
        folder = tmp_path / "etc"
        folder.mkdir()
        settings = write_settings(folder, '[plugins]\ndisable = ["broken_import"]\n')
        monkeypatch.setenv("KOPFLOW_CONFIG", str(settings))
    assert listed(cli, *broken, *options)["broken_import"]["status"] == "disabled"
    assert cli(*broken, *options, "plugins", "check").stdout == "4 plugins loaded, no problems\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[plugins]\ndisabled = ['x']\n",
         "kopflow.toml: unknown setting disabled in [plugins]; known: disable"),
        ("[plugins]\ndisable = 'x'\n", "kopflow.toml: [plugins] disable must be a list of plugin names"),
        ("[plugins\n", "kopflow.toml is not valid TOML: "),
        ("plugins = 3\n", "kopflow.toml: [plugins] must be a table"),
    ],
    ids=["misspelt-setting", "not-a-list", "not-toml", "not-a-table"],
)  # fmt: skip
def test_a_wrong_setting_is_one_error_line(
    cli: KopflowRunner, tmp_path: Path, text: str, message: str
) -> None:
    write_settings(tmp_path, text)
    assert one_error_line(cli("plugins", "list", expect=2)).startswith(f"Error: {message}")


def test_kopflow_config_naming_no_file_is_an_error(
    cli: KopflowRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KOPFLOW_CONFIG", str(tmp_path / "missing.toml"))
    error = one_error_line(cli("plugins", "list", expect=2))
    assert error == f"Error: KOPFLOW_CONFIG names {tmp_path / 'missing.toml'}, which is not a file"


# --- an installed broken plugin, as a user meets it ------------------------------------------


def install_fake(site: Path) -> None:
    """A distribution in ``site`` whose ``kopflow`` entry point fails to import."""
    info = site / "kopflow_lpg-0.3.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kopflow-lpg\nVersion: 0.3.0\n")
    (info / "entry_points.txt").write_text("[kopflow]\nlpg = kopflow_lpg\n")
    (site / "kopflow_lpg.py").write_text("raise ImportError(\"No module named 'lpg_sdk'\")\n")


def test_installed_broken_plugin_as_a_user_meets_it(
    tmp_path: Path, kopflow_db: str, coop_at_stage: Callable[..., str]
) -> None:
    coop = coop_at_stage("onboarding")
    site = tmp_path / "site"
    install_fake(site)
    env = {**os.environ, "PYTHONPATH": str(site), "KOPFLOW_DB": kopflow_db,
           "KOPFLOW_ACTOR": ADMIN, "KOPFLOW_LANG": "en"}  # fmt: skip

    def kopflow(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(KOPFLOW), *args], env={**env, **extra}, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    helped = kopflow("--help")
    assert helped.returncode == 0 and helped.stderr == ""
    shown = kopflow("plugins", "list", "--json")
    assert shown.returncode == 0, shown.stderr
    lpg = next(p for p in json.loads(shown.stdout) if p["name"] == "lpg")
    assert (
        lpg["status"] == "error" and lpg["source"] == "entry point kopflow_lpg (kopflow-lpg 0.3.0)"
    )
    before = digest(kopflow_db)
    refused = kopflow("partner", "enroll", coop, "pos")
    assert refused.returncode == 6
    assert refused.stderr == (
        "Error: plugin lpg could not be imported: ImportError: No module named 'lpg_sdk'\n"
    )
    assert digest(kopflow_db) == before
    assert kopflow("partner", "enroll", coop, "pos", KOPFLOW_DISABLE_PLUGINS="lpg").returncode == 0


# --- the audit trail names the plugins --------------------------------------------------------


def test_an_auditor_sees_which_plugins_took_part(
    cli_runner: KopflowRunner,
    register_plugin: Callable[..., Any],
    coop_at_stage: Callable[..., str],
) -> None:
    from kopflow.host.source import import_module

    register_plugin(import_module(plugin("good")))
    coop = coop_at_stage("onboarding")
    cli_runner("step", "complete", coop, "bri.account", *ACCOUNT)
    cli_runner("actor", "add", "audrey", "--role", "auditor")
    auditor = dataclasses.replace(cli_runner, actor="audrey")
    events = json.loads(auditor("audit", "log", "--coop", coop, "--json").stdout)
    changes = [e for e in events if e["action"] in
               ("partner.enrolled", "step.completed", "coop.transition")]  # fmt: skip
    assert changes and all("plugins" in e["details"] for e in changes)
    account = next(e for e in changes if e["details"].get("step") == "bri.account")
    assert account["details"]["plugins"] == {
        "bri": "0.1.0", "good": "1.2.3", "pln": "0.1.0", "pos": "0.1.0", "telkom": "0.1.0",
    }  # fmt: skip


# --- a misspelt hook (issue #13) -------------------------------------------------------------

MISSPELT = (
    "plugin misspelt_hook implements unknown hook kopflow_validate_stpe; "
    "did you mean kopflow_validate_step?"
)


def test_list_shows_a_misspelt_hook_as_broken(cli: KopflowRunner) -> None:
    rows = listed(cli, "--plugin", plugin("misspelt_hook"))
    assert (rows["misspelt_hook"]["status"], rows["misspelt_hook"]["error"]) == ("error", MISSPELT)
    assert rows["misspelt_hook"]["hooks"] == [] and rows["bri"]["status"] == "ok"
    assert f"misspelt_hook: {MISSPELT}" in cli("--plugin", plugin("misspelt_hook"), "plugins",
                                              "list").stdout  # fmt: skip


def test_a_misspelt_hook_refuses_steps_on_both_backends(
    db_url: str, kopflow: Any, runner: Any
) -> None:
    """The acceptance case: with the plugin loaded, a step that its validation would have
    checked is refused, and the database is exactly as before."""
    from clihelp import error_line, run
    from db_helpers import db_state

    from kopflow.regions import CoopSeed

    seed = CoopSeed("KDMP-900001", "Kabupaten Uji", "Provinsi Uji",
                    [("u1", "Desa Uji", "Kec Uji", None)])  # fmt: skip
    kopflow.register([seed], source="test")
    # Not enrolled with BRI: it enrolls from onboarding on (issue #13), and a broken plugin
    # refuses every write before the cooperative's stage or partners are looked at.
    before = db_state(db_url)
    refused = run(runner, db_url, "--plugin", plugin("misspelt_hook"), "step", "complete",
                  seed.coop_id, "bri.account", *ACCOUNT)  # fmt: skip
    assert error_line(refused, 6) == f"Error: {MISSPELT}"
    # A workflow step too: every plugin validates every step.
    refused = run(runner, db_url, "--plugin", plugin("misspelt_hook"), "step", "complete",
                  seed.coop_id, "socialisation", "--set", "date=2025-05-01")  # fmt: skip
    assert error_line(refused, 6) == f"Error: {MISSPELT}"
    assert db_state(db_url) == before


def test_a_broken_plugins_own_steps_get_its_real_reason(
    cli: KopflowRunner, kopflow_db: str, ready: str
) -> None:
    broken = ("--plugin", plugin("bulog"))
    reason = (
        "Error: plugin bulog implements unknown hook kopflow_after_stpe; "
        "did you mean kopflow_after_step?"
    )
    before = digest(kopflow_db)
    step = cli(*broken, "step", "complete", ready, "bulog.warehouse", "--set", "date=2025-05-02",
               expect=6)  # fmt: skip
    assert one_error_line(step) == reason
    assert one_error_line(cli(*broken, "partner", "enroll", ready, "bulog", expect=6)) == reason
    assert digest(kopflow_db) == before


def test_an_installed_plugin_given_with_plugin_loads_once_and_writes(
    cli: KopflowRunner, ready: str
) -> None:
    """A partner developer tries their installed package from its folder (issue #13)."""
    given = ("--plugin", str(TESTS.parent / "plugins" / "kopflow_bri"))
    cli(*given, "step", "complete", ready, "bri.qris", *QRIS)
    rows = json.loads(cli(*given, "plugins", "list", "--json").stdout)
    assert [(r["status"], r["error"]) for r in rows if r["name"] == "bri"] == [
        ("replaced", None), ("ok", None)
    ]  # fmt: skip
    assert (
        "bri: replaces the installed entry point kopflow_bri (kopflow 0.1.0)"
        in cli(*given, "plugins", "list").stdout
    )
    cli(*given, "plugins", "check")
