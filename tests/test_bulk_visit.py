"""A bulk completion works out per cooperative what it once worked out per row (issue #15):
the plugins, the refusals and the rows stay what they were.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine_helpers import KAB, coop_row, rows, seeds

from kopflow.engine import Kopflow
from kopflow.flow.samples import sample_evidence
from kopflow.plugin import hookimpl


class _Keeper:
    """Keeps every view and evidence mapping validate_step gets, and what each showed then."""

    def __init__(self, refuse: tuple[str, str] | None = None) -> None:
        self.kept: list[tuple[str, str, Any, list[str]]] = []
        self.refuse = refuse

    @hookimpl
    def kopflow_validate_step(self, coop: Any, step: str) -> list[str] | None:
        self.kept.append((coop.id, step, coop, sorted(coop.evidence)))
        if self.refuse == (coop.id, step):
            return ["refused by the test"]
        return None


def _formation(kopflow: Kopflow, seed: int = 2) -> list[tuple[str, dict[str, Any]]]:
    stage = kopflow.workflow.stage("formation")
    return [(s.id, sample_evidence(s, seed)) for s in stage.steps if s.required]


def _rows(kopflow: Kopflow, coops: list[str], count: int | None = None) -> list[Any]:
    """Each cooperative's formation rows, with evidence of its own (identifiers are unique)."""
    return [
        (coop, step, raw)
        for i, coop in enumerate(coops)
        for step, raw in _formation(kopflow, i)[:count]
    ]


def test_each_hook_sees_the_rows_before_it_and_a_kept_view_stays_so(kopflow: Kopflow) -> None:
    kopflow.register(seeds(2), source="test")
    keeper = _Keeper()
    kopflow.plugins.add_plugin(keeper, name="keeper", source="test")
    steps = _formation(kopflow)
    coops = ["KDMP-900001", "KDMP-900002"]
    result = kopflow.complete_steps_bulk(_rows(kopflow, coops))
    assert not result.refused
    names = [s for s, _raw in steps]
    seen = [(coop, step, shown) for coop, step, _view, shown in keeper.kept]
    assert seen == [(c, s, sorted(names[:i])) for c in coops for i, s in enumerate(names)]
    # Kept past the commit, each view is still the snapshot its hook was given.
    for coop, step, view, shown in keeper.kept:
        assert sorted(view.evidence) == shown, (coop, step)
        assert view.id == coop and view.stage == "formation"
        assert view.partners == () and view.kabupaten == KAB
    assert len({id(view) for *_rest, view, _shown in keeper.kept}) == len(keeper.kept)


def test_a_cooperative_refused_halfway_leaves_nothing_and_the_others_commit(
    kopflow: Kopflow,
) -> None:
    kopflow.register(seeds(3), source="test")
    steps = _formation(kopflow)
    refused_step = steps[2][0]
    kopflow.plugins.add_plugin(
        _Keeper(refuse=("KDMP-900002", refused_step)), name="keeper", source="test"
    )
    coops = ["KDMP-900001", "KDMP-900002", "KDMP-900003"]
    before = coop_row(kopflow, "KDMP-900002")
    result = kopflow.complete_steps_bulk(_rows(kopflow, coops))
    assert [o.coop_id for o in result.refused] == ["KDMP-900002"]
    assert refused_step in result.refused[0].message
    assert coop_row(kopflow, "KDMP-900002")["version"] == before["version"]
    assert not rows(kopflow, "SELECT * FROM step_record WHERE coop_id = 'KDMP-900002'")
    for coop in ("KDMP-900001", "KDMP-900003"):
        # One update per cooperative, its version moved once per step recorded.
        assert coop_row(kopflow, coop)["version"] == before["version"] + len(steps)
        events = rows(
            kopflow,
            "SELECT body FROM audit_event WHERE coop_id = :c ORDER BY seq",
            c=coop,
        )
        assert len(events) == len(steps) + 1  # with its registration
    kopflow.plugins.remove_plugin("keeper")
    again = kopflow.complete_steps_bulk(_rows(kopflow, ["KDMP-900002"]))
    assert not again.refused and len(again.done) == len(steps)
    assert coop_row(kopflow, "KDMP-900002")["version"] == before["version"] + len(steps)


def test_an_officer_is_refused_each_cooperative_of_another_kabupaten(sqlite_url: str) -> None:
    """A permission checked once per kabupaten still refuses every cooperative, each with its
    own name, and lets those of the officer's own kabupaten through."""
    admin = Kopflow(sqlite_url)
    admin.init()
    admin.register(seeds(2), source="test")
    other = [dataclasses.replace(s, kabupaten="Kabupaten Lain") for s in seeds(2, start=3)]
    admin.register(other, source="test")
    admin.add_actor("petugas", role="officer", region=KAB, partner=None)
    officer = Kopflow(sqlite_url, actor="petugas")
    coops = ["KDMP-900001", "KDMP-900003", "KDMP-900002", "KDMP-900004"]
    result = officer.complete_steps_bulk(_rows(officer, coops, 2))
    assert sorted(o.coop_id for o in result.done) == sorted(["KDMP-900001", "KDMP-900002"] * 2)
    refused = {o.coop_id: o.message for o in result.refused}
    assert sorted(refused) == ["KDMP-900003", "KDMP-900004"]
    for coop, message in refused.items():
        assert coop in message
