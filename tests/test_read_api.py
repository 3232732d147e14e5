"""Issue #13: the read API plugin commands receive (``kopflow.plugin.Queries``, implemented by
``kopflow.rules.reads`` and handed out by ``Kopflow.queries()``): what it answers, on both
backends, and that it answers each actor only what the actor may read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from engine_helpers import KAB, drive_to, seeds

from kopflow.errors import InputError, NotFoundError, PermissionDeniedError
from kopflow.flow.samples import sample_evidence

A, B, C, D = (f"KDMP-90000{i}" for i in range(1, 5))
BRI_ACCOUNT = {"account_number": "0123011", "branch": "KC Uji", "date": "2025-05-02"}


@pytest.fixture
def engine(db_url: str) -> Any:
    return build(db_url)


def build(db_url: str) -> Any:
    """Four cooperatives of Kabupaten Uji: A, B and C in partner onboarding (A and B enrolled
    with BRI and Pos, C with BRI only; A has opened its BRI account, B has done every required
    BRI step), D still in formation; and one cooperative of another kabupaten."""
    from kopflow.engine import Kopflow
    from kopflow.regions import CoopSeed

    kopflow = Kopflow(db_url)
    kopflow.init()
    kopflow.register(seeds(4), source="test")
    other = CoopSeed(
        "KDMP-800001", "Kabupaten Lain", "Provinsi Uji", [("lain-1", "Desa Lain", "Kec Lain", None)]
    )
    kopflow.register([other], source="test")
    for coop, partners in [(A, ["bri", "pos"]), (B, ["bri", "pos"]), (C, ["bri"])]:
        drive_to(kopflow, coop, "onboarding")
        kopflow.enroll(coop, partners)
    kopflow.complete_step(A, "bri.account", BRI_ACCOUNT)
    for step in kopflow.plugins.partner("bri").steps:
        if step.required:
            kopflow.complete_step(B, f"bri.{step.id}", sample_evidence(step, 7))
    return kopflow


def ids(views: list[Any]) -> list[str]:
    return [v.id for v in views]


def test_cooperatives_by_region_stage_and_partner_state(engine: Any) -> None:
    reads = engine.queries()
    assert ids(reads.cooperatives(kabupaten="uji")) == [A, B, C, D]  # as a user types it
    assert ids(reads.cooperatives(stage="Partner onboarding")) == [A, B, C]  # a label
    assert ids(reads.cooperatives(kabupaten=KAB, stage="formation")) == [D]
    assert ids(reads.cooperatives(partner="pos")) == [A, B]
    assert ids(reads.cooperatives(partner="bri", partner_state="complete")) == [B]
    assert ids(reads.cooperatives(partner="bri", partner_state="relationship_manager")) == [A]
    assert ids(reads.cooperatives(partner="BRI", partner_state="bri.account")) == [C]
    assert len(reads.cooperatives()) == 5
    view = reads.cooperatives(partner="bri", partner_state="relationship_manager")[0]
    assert view.evidence_of("bri.account")["branch"] == "KC Uji"  # loaded, no connection held
    assert view.partners == ("bri", "pos") and view.kabupaten == KAB
    assert reads.standing(view, "bri") == "bri.relationship_manager"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [({"kabupaten": "Atlantis"}, NotFoundError, "Atlantis"),
     ({"stage": "heaven"}, InputError, "heaven"),
     ({"partner": "bulog"}, NotFoundError, "bulog"),
     ({"partner_state": "complete"}, InputError, "partner_state needs partner"),
     ({"partner": "bri", "partner_state": "agent"}, InputError,
      "partner bri has no required step agent; it stands at one of bri.account, "
      "bri.relationship_manager, complete")],
)  # fmt: skip
def test_a_name_that_names_nothing_is_refused(
    engine: Any, kwargs: dict[str, str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        engine.queries().cooperatives(**kwargs)


def test_one_cooperative_with_its_steps_and_evidence(engine: Any) -> None:
    detail = engine.queries().cooperative(A)
    assert detail.coop.id == A and detail.coop.stage == "onboarding"
    keys = [s.key for s in detail.steps]
    workflow_steps = [st.id for s in engine.workflow.stages for st in s.steps]
    bri = [f"bri.{s.id}" for s in engine.plugins.partner("bri").steps]
    pos = [f"pos.{s.id}" for s in engine.plugins.partner("pos").steps]
    assert keys == workflow_steps + bri + pos
    account = next(s for s in detail.steps if s.key == "bri.account")
    assert (account.status, account.version, account.partner, account.stage) == (
        "done", 1, "bri", None,
    )  # fmt: skip
    assert account.evidence == BRI_ACCOUNT and account.label["en"]
    musdesus = next(s for s in detail.steps if s.key == "musdesus")
    assert (musdesus.status, musdesus.stage, musdesus.partner) == ("done", "formation", None)
    manager = next(s for s in detail.steps if s.key == "bri.relationship_manager")
    assert (manager.status, manager.evidence, manager.version) == ("missing", None, 0)
    with pytest.raises(TypeError):
        account.evidence["branch"] = "elsewhere"  # type: ignore[index]  # read-only, as tested


def test_partner_steps_and_counts(engine: Any) -> None:
    reads = engine.queries()
    steps = reads.partner_steps(B, "bri")
    assert [s.key for s in steps] == [f"bri.{s.id}" for s in engine.plugins.partner("bri").steps]
    assert [s.status for s in steps if s.required] == ["done", "done"]
    assert reads.counts() == {"formation": 2, "onboarding": 3}  # the other kabupaten's too
    assert reads.counts(kabupaten=KAB) == {"formation": 1, "onboarding": 3}
    assert reads.counts(partner="bri") == {
        "bri.account": 1, "bri.relationship_manager": 1, "complete": 1,
    }  # fmt: skip


@pytest.fixture
def actors(sqlite_url: str) -> Any:
    """The engine of :func:`engine` on SQLite, with an officer of each kabupaten and the staff
    of BRI and of Pos; ``as_(name)`` reads as one of them. (On PostgreSQL the actor is the
    database login: the rules read the same actor either way, kopflow.authz.)"""
    from kopflow.engine import Kopflow

    admin = build(sqlite_url)
    admin.add_actor("budi", role="officer", region=KAB)
    admin.add_actor("lain", role="officer", region="Kabupaten Lain")
    admin.add_actor("sari", role="partner", partner="bri")
    admin.add_actor("pak_pos", role="partner", partner="pos")
    admin.add_actor("audrey", role="auditor")

    def as_(name: str) -> Any:
        return Kopflow(sqlite_url, actor=name, plugins=admin.plugins).queries()

    return as_


def test_an_officer_reads_their_own_kabupaten(actors: Any) -> None:
    budi = actors("budi")
    assert ids(budi.cooperatives()) == [A, B, C, D]  # the other kabupaten's is not listed
    assert budi.counts() == {"formation": 1, "onboarding": 3}
    with pytest.raises(PermissionDeniedError, match="officer of Kabupaten Uji and may not read"):
        budi.cooperatives(kabupaten="Kabupaten Lain")
    with pytest.raises(PermissionDeniedError):
        actors("lain").cooperative(A)
    assert len(actors("audrey").cooperatives()) == 5


def test_a_partner_reads_its_own_partner_only(actors: Any) -> None:
    sari = actors("sari")
    assert ids(sari.cooperatives()) == [A, B, C]  # enrolled with BRI
    view = sari.cooperative(A)
    assert view.coop.partners == ("bri",)  # not that A works with Pos too
    assert [s.partner for s in view.steps if s.partner] == ["bri"] * len(
        actors("audrey").partner_steps(A, "bri")
    )
    assert "bri.account" in view.coop.evidence and "musdesus" in view.coop.evidence
    assert sari.counts() == {"bri.account": 1, "bri.relationship_manager": 1, "complete": 1}
    with pytest.raises(PermissionDeniedError, match="works for partner bri and may not read"):
        sari.cooperatives(partner="pos")
    with pytest.raises(PermissionDeniedError):
        sari.partner_steps(A, "pos")
    with pytest.raises(PermissionDeniedError, match="not enrolled with it"):
        sari.cooperative(D)
    pos = actors("pak_pos").cooperative(A)
    assert "bri.account" not in pos.coop.evidence  # BRI's records are not Pos's to read
    assert pos.coop.evidence_of("bri.account") == {}
    assert list(pos.coop.evidence) == [
        k for k in pos.coop.evidence if "." not in k or k.startswith("pos.")
    ]


# --- how a plugin command gets it ------------------------------------------------------------


def test_the_cli_and_the_plugin_api_name_the_same_key() -> None:
    import kopflow.cli
    import kopflow.plugin

    assert kopflow.cli.QUERIES_KEY == kopflow.plugin.QUERIES_KEY


def test_queries_outside_a_command_is_a_clear_error() -> None:
    from kopflow.plugin import queries

    with pytest.raises(RuntimeError, match="only inside a command kopflow runs"):
        queries()


COUNTER = '''
import click
from kopflow.plugin import PluginInfo, Queries, hookimpl, pass_queries


@hookimpl
def kopflow_plugin_info():
    return PluginInfo(name="counter", version="0.1.0")


@hookimpl
def kopflow_register_commands(cli):
    @cli.group(name="counter")
    def group():
        """Counts."""

    @group.command(name="stages")
    @click.argument("region")
    @pass_queries
    def stages(kopflow: Queries, region: str) -> None:
        """Cooperatives per stage in REGION."""
        for stage, count in sorted(kopflow.counts(kabupaten=region).items()):
            click.echo(f"{stage} {count}")
'''


def test_a_plugin_command_reads_through_pass_queries(
    engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kopflow --plugin counter.py counter stages REGION``: the command line a user types,
    the plugin loaded by kopflow itself, on either backend."""
    from kopflow.cli import cli

    # A module name of its own per test: one process imports a --plugin file once per name.
    plugin = tmp_path / f"counter_{abs(hash(str(tmp_path)))}.py"
    plugin.write_text(COUNTER, encoding="utf-8")
    monkeypatch.setenv("KOPFLOW_DB", engine.url)
    runner = CliRunner()
    done = runner.invoke(cli, ["--plugin", str(plugin), "counter", "stages", "uji"])
    assert (done.exit_code, done.stdout) == (0, "formation 1\nonboarding 3\n"), done.output
    refused = runner.invoke(cli, ["--plugin", str(plugin), "counter", "stages", "Atlantis"])
    assert refused.exit_code == 2 and refused.stderr.startswith("Error: ")
    assert refused.stderr.count("\n") == 1


def test_the_plugin_api_stays_light() -> None:
    """The read API adds no database to ``import kopflow.plugin``: every command that loads
    plugins imports it, and a plugin that only validates must not pay for reads."""
    import sys

    from test_imports import imported_modules

    names = imported_modules([sys.executable, "-c", "import kopflow.plugin"])
    assert "kopflow.plugin" in names
    heavy = (
        "sqlalchemy",
        "sqlmodel",
        "psycopg",
        "kopflow.engine",
        "kopflow.rules",
        "kopflow.store",
    )
    assert sorted(n for n in names if n.split(".")[0] in heavy or n.startswith(heavy)) == []
