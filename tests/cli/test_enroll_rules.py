"""Enrolment rules (issue #13): a partner's stage and required steps, the plugins'
``kopflow_guard_enroll``, one cooperative or many, with ``--dry-run``; on both backends.

The partners come from ``tests/plugins/enroll_rules.py``: ``gudang`` sets no rule, ``pupuk``
enrolls from onboarding, ``idfood`` needs NIB and a verified microsite, ``sphp`` is refused by
the plugin's guard.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from clihelp import error_line, ok, run
from db_helpers import db_state
from engine_helpers import drive_to, finish, seeds

from kopflow.engine import Kopflow
from kopflow.errors import PluginError, RefusedError
from kopflow.host.manager import make_plugin_host

RULES = str(Path(__file__).resolve().parent.parent / "plugins" / "enroll_rules.py")
FORMATION = "it is in stage Formation (formation)"
PUPUK = "pupuk enrolls cooperatives from stage Partner onboarding (onboarding) on"


@pytest.fixture
def engine(kopflow: Kopflow) -> Kopflow:
    """Three cooperatives in formation, KDMP-900001..3, with the test partners installed."""
    kopflow.register(seeds(3), source="test")
    return Kopflow(kopflow.url, plugins=make_plugin_host(extra_modules=[RULES]))


def partners(engine: Kopflow, coop: str) -> list[str]:
    from engine_helpers import rows

    found = rows(engine, "SELECT partner FROM enrollment WHERE coop_id = :c", c=coop)
    return sorted(r["partner"] for r in found)


def test_a_partner_that_enrolls_from_onboarding_refuses_a_cooperative_in_formation(
    engine: Kopflow, runner: Any
) -> None:
    before = db_state(engine.url)
    with pytest.raises(RefusedError) as refused:
        engine.enroll("KDMP-900001", ["pupuk"])
    assert str(refused.value) == (
        f"KDMP-900001 cannot be enrolled with pupuk; {PUPUK}; {FORMATION}"
    )
    cli = run(runner, engine.url, "--plugin", RULES, "partner", "enroll", "KDMP-900001", "pupuk")
    assert error_line(cli, 3) == f"Error: {refused.value}"
    indonesian = run(runner, engine.url, "--lang", "id", "--plugin", RULES,
                     "partner", "enroll", "KDMP-900001", "pupuk")  # fmt: skip
    assert indonesian.exit_code == 3 and indonesian.stderr == (
        "Galat: KDMP-900001 tidak dapat didaftarkan pada pupuk; pupuk menerima pendaftaran "
        "koperasi mulai tahap Orientasi mitra (onboarding); koperasi ini berada di tahap "
        "Pembentukan (formation)\n"
    )
    assert db_state(engine.url) == before


def test_a_partner_without_rules_enrolls_in_any_stage_as_before(engine: Kopflow) -> None:
    """The defaults (no ``enroll_from``, no ``enroll_requires``) change nothing."""
    assert engine.enroll("KDMP-900001", ["gudang"]).message == "enrolled with gudang"
    assert partners(engine, "KDMP-900001") == ["gudang"]
    engine.advance("KDMP-900002", "dissolve", reason="merged with a neighbour")
    with pytest.raises(RefusedError, match="KDMP-900002 is dissolved"):
        engine.enroll("KDMP-900002", ["gudang"])


def test_missing_required_steps_are_refused_by_their_labels(engine: Kopflow, runner: Any) -> None:
    finish(engine, "KDMP-900001", "formation")
    engine.advance("KDMP-900001")
    nib = engine.workflow.step("nib")
    assert nib is not None
    from kopflow.flow.samples import sample_evidence

    engine.complete_step("KDMP-900001", "nib", sample_evidence(nib, 1))
    before = db_state(engine.url)
    refused = run(runner, engine.url, "--plugin", RULES, "partner", "enroll", "KDMP-900001",
                  "idfood")  # fmt: skip
    assert error_line(refused, 3) == (
        "Error: KDMP-900001 cannot be enrolled with idfood; idfood needs these steps done "
        "first: Verified microsite (microsite)"
    )
    assert db_state(engine.url) == before


def test_the_guard_hook_refuses_with_its_reasons_and_nothing_is_enrolled(
    engine: Kopflow,
) -> None:
    before = db_state(engine.url)
    with pytest.raises(RefusedError) as refused:
        engine.enroll("KDMP-900001", ["sphp"])
    assert str(refused.value) == (
        "KDMP-900001 cannot be enrolled with sphp; no verified land for a warehouse yet; "
        "SPHP is only for Kabupaten Pasuruan"
    )
    # Named together with a partner that would enroll it: neither is, and each of the
    # plugin's reasons says which partner it is about.
    with pytest.raises(RefusedError) as together:
        engine.enroll("KDMP-900001", ["gudang", "sphp"])
    assert str(together.value) == (
        "KDMP-900001 cannot be enrolled with sphp; sphp: no verified land for a warehouse yet; "
        "sphp: SPHP is only for Kabupaten Pasuruan"
    )
    assert db_state(engine.url) == before


def test_a_single_dry_run_checks_everything_and_writes_nothing(
    engine: Kopflow, runner: Any
) -> None:
    before = db_state(engine.url)
    done = ok(run(runner, engine.url, "--plugin", RULES, "partner", "enroll", "KDMP-900001",
                  "gudang", "--dry-run"))  # fmt: skip
    assert done.stdout == (
        "Dry run: nothing was written. A real run would give:\nKDMP-900001: enrolled with gudang\n"
    )
    data = json.loads(ok(run(runner, engine.url, "--plugin", RULES, "partner", "enroll",
                             "KDMP-900001", "gudang", "--dry-run", "--json")).stdout)  # fmt: skip
    assert data["dry_run"] is True and data["audit_seq"] is None
    refused = run(runner, engine.url, "--plugin", RULES, "partner", "enroll", "KDMP-900001",
                  "pupuk", "--dry-run")  # fmt: skip
    assert error_line(refused, 3).endswith(FORMATION)
    assert db_state(engine.url) == before


def test_bulk_dry_run_groups_the_refusals_by_reason(engine: Kopflow, runner: Any) -> None:
    """Two in formation, one in the legal stage, one in onboarding: the dry run says one would
    be enrolled and groups the three refusals by their two reasons; the real run does it."""
    engine.register(seeds(1, start=4), source="test")
    drive_to(engine, "KDMP-900004", "onboarding")
    finish(engine, "KDMP-900003", "formation", seed=2)
    engine.advance("KDMP-900003")
    listed = Path(engine.url).parent / "coops.txt" if "://" not in engine.url else None
    lines = "# the four of Kec Satu\nKDMP-900001\nDesa 2\n\nKDMP-900003\nKDMP-900004\n"
    before = db_state(engine.url)
    if listed is not None:
        listed.write_text(lines, encoding="utf-8")
        args = ["--from-file", str(listed)]
        result = run(runner, engine.url, "--plugin", RULES, "partner", "enroll", "pupuk",
                     *args, "--dry-run")  # fmt: skip
    else:  # the same, the file given on stdin
        from kopflow.cli import cli

        args = ["--from-file", "-"]
        result = runner.invoke(cli, ["--db", engine.url, "--plugin", RULES, "partner", "enroll",
                                     "pupuk", *args, "--dry-run"], input=lines)  # fmt: skip
    assert result.exit_code == 8, result.output + result.stderr
    assert result.stdout == (
        "Dry run: nothing was written. A real run would give:\n"
        "Cooperatives: 1 enrolled, 3 refused.\n"
        "Refused, by reason:\n"
        f"  2 × COOP cannot be enrolled with pupuk; {PUPUK}; {FORMATION}\n"
        "      KDMP-900001, KDMP-900002\n"
        f"  1 × COOP cannot be enrolled with pupuk; {PUPUK}; it is in stage Legal bundle (legal)\n"
        "      KDMP-900003\n"
    )
    assert db_state(engine.url) == before
    data = json.loads(run(runner, engine.url, "--plugin", RULES, "partner", "enroll", "pupuk",
                          "--region", "Uji", "--dry-run", "--json").stdout)  # fmt: skip
    assert [(r["count"], r["coops"]) for r in data["reasons"]] == [
        (2, ["KDMP-900001", "KDMP-900002"]),
        (1, ["KDMP-900003"]),
    ]
    assert db_state(engine.url) == before
    real = run(runner, engine.url, "--plugin", RULES, "partner", "enroll", "pupuk",
               "--region", "Kabupaten Uji")  # fmt: skip
    assert real.exit_code == 8 and real.stdout.startswith("Cooperatives: 1 enrolled, 3 refused.")
    assert partners(engine, "KDMP-900004") == ["pupuk"]
    assert partners(engine, "KDMP-900001") == []


def test_built_in_bri_enrolls_from_onboarding_with_the_legal_papers(engine: Kopflow) -> None:
    with pytest.raises(RefusedError) as refused:
        engine.enroll("KDMP-900001", ["bri"])
    assert str(refused.value).endswith(
        f"cannot be enrolled with bri; bri enrolls cooperatives "
        f"from stage Partner onboarding (onboarding) on; {FORMATION}"
    )
    spec = engine.plugins.partner("bri")
    assert (spec.enroll_from, spec.enroll_requires) == (
        "onboarding",
        ("sk_ahu", "npwp", "bank_account", "simkopdes_account"),
    )
    drive_to(engine, "KDMP-900002", "onboarding")
    assert engine.enroll("KDMP-900002", ["bri"]).message == "enrolled with bri"


def test_a_rule_naming_what_the_workflow_lacks_is_the_plugins_error(
    engine: Kopflow, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    request.addfinalizer(lambda: sys.modules.pop("harvest", None))  # the next backend's copy
    plugin = tmp_path / "harvest.py"
    plugin.write_text(
        "from kopflow.plugin import PartnerSpec, StepSpec, hookimpl\n"
        "STEP = StepSpec('one', {'id': 'Satu', 'en': 'One'}, 'partner')\n"
        "@hookimpl\n"
        "def kopflow_register_partners(register):\n"
        "    register(PartnerSpec('panen', {'id': 'Panen', 'en': 'Harvest'}, (STEP,),\n"
        "                         enroll_from='harvest'))\n"
        "    register(PartnerSpec('lumbung', {'id': 'Lumbung', 'en': 'Barn'}, (STEP,),\n"
        "                         enroll_requires=['barn_built']))\n",
        encoding="utf-8",
    )
    host = make_plugin_host(extra_modules=[str(plugin)], load_entry_points=False)
    broken = Kopflow(engine.url, plugins=host)
    with pytest.raises(PluginError) as stage:
        broken.enroll("KDMP-900001", ["panen"])
    assert stage.value.exit_code == 6
    assert str(stage.value) == (
        "plugin harvest: partner panen enrolls from stage harvest, which is not a stage of the "
        "main line of workflow kdkmp; its stages: formation, legal, consolidation, onboarding, "
        "operating"
    )
    with pytest.raises(PluginError, match="requires steps the workflow kdkmp does not have "
                                          "before enrolment: barn_built"):  # fmt: skip
        broken.enroll("KDMP-900001", ["lumbung"])


def test_a_malformed_rule_breaks_the_plugin_at_load() -> None:
    from kopflow.host.partner_check import partner_problems
    from kopflow.plugin import PartnerSpec, StepSpec

    step = StepSpec("one", {"id": "Satu", "en": "One"}, "partner")
    bad = PartnerSpec("panen", {"id": "Panen", "en": "Harvest"}, (step,), enroll_from="Tahap 4",
                      enroll_requires=("sk_ahu", 3))  # type: ignore[arg-type]  # fmt: skip
    assert partner_problems(bad) == [
        "partner panen: enroll_from must be a stage id such as onboarding, or None",
        "partner panen: enroll_requires must be a tuple of workflow step ids such as sk_ahu",
    ]


def test_bulk_dry_run_as_a_user_runs_it(sqlite_url: str, tmp_path: Path) -> None:
    """The installed script: grouped refusals on stdout, exit 3 when every one is refused,
    nothing on stderr, nothing written."""
    engine = Kopflow(sqlite_url)
    engine.init()
    engine.register(seeds(3), source="test")
    before = db_state(sqlite_url)
    script = Path(sys.executable).parent / "kopflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    env.update(KOPFLOW_LANG="en", KOPFLOW_LOG=str(tmp_path / "kopflow.log"))
    done = subprocess.run(
        [str(script), "--db", sqlite_url, "--plugin", RULES, "partner", "enroll", "sphp",
         "--region", "Kabupaten Uji", "--dry-run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert done.stderr == ""
    assert done.stdout == (
        "Dry run: nothing was written. A real run would give:\n"
        "Cooperatives: 0 enrolled, 3 refused.\n"
        "Refused, by reason:\n"
        "  3 × COOP cannot be enrolled with sphp; no verified land for a warehouse yet; "
        "SPHP is only for Kabupaten Pasuruan\n"
        "      KDMP-900001, KDMP-900002, KDMP-900003\n"
    )
    assert db_state(sqlite_url) == before


def test_a_guard_that_fails_refuses_the_enrolment_naming_the_plugin(
    engine: Kopflow, tmp_path: Path, request: pytest.FixtureRequest, runner: Any
) -> None:
    request.addfinalizer(lambda: sys.modules.pop("meddler", None))  # the next backend's copy
    plugin = tmp_path / "meddler.py"
    plugin.write_text(
        "from kopflow.plugin import hookimpl\n"
        "@hookimpl\n"
        "def kopflow_guard_enroll(coop, partner):\n"
        "    raise RuntimeError('partner registry unreachable')\n",
        encoding="utf-8",
    )
    before = db_state(engine.url)
    refused = run(runner, engine.url, "--plugin", str(plugin), "--plugin", RULES,
                  "partner", "enroll", "KDMP-900001", "gudang")  # fmt: skip
    assert error_line(refused, 6) == (
        "Error: plugin meddler failed in kopflow_guard_enroll: RuntimeError: partner registry "
        "unreachable"
    )
    assert db_state(engine.url) == before


def test_partner_list_shows_the_rules_by_their_labels(engine: Kopflow, runner: Any) -> None:
    listed = run(runner, engine.url, "--plugin", RULES, "partner", "list", "--json")
    rules = {r["code"]: (r["enroll_from"], r["enroll_requires"]) for r in json.loads(listed.stdout)}
    assert rules["gudang"] == (None, []) and rules["pupuk"] == ("onboarding", [])
    assert rules["pos"] == ("onboarding", ["sk_ahu", "nib"])
    table = ok(run(runner, engine.url, "--plugin", RULES, "partner", "list")).stdout
    (idfood,) = [line for line in table.splitlines() if line.startswith("idfood ")]
    assert idfood.endswith(
        "Business identity number (NIB) from OSS (nib), Verified microsite (microsite)"
    )
