"""The log and the tables agree after any sequence of commands (issue #14): hypothesis' stateful
testing drives random sequences through the engine (complete, correct, undo, advance, suspend,
resume, dissolve, enrol, partner steps, bulk completion, and refusals of each kind) on SQLite and
PostgreSQL, and after every step the chain verifies and ``audit reconcile`` finds nothing.

It is also the guard of ``kopflow/audit/reconcile.py``: a rule that starts writing something the
replay does not expect fails here with the difference named.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from db_helpers import pg_schema
from engine_helpers import KAB, coop_row
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kopflow.audit.chain import snapshot, verify_database
from kopflow.audit.reconcile import reconcile
from kopflow.engine import Kopflow
from kopflow.errors import KopflowError
from kopflow.flow.samples import sample_evidence
from kopflow.flow.spec import StepSpec, find_workflow
from kopflow.regions import CoopSeed
from kopflow.store import db

PARTNERS = ("bri", "pos")
# Names of cooperatives and database files, unique within the test run.
_ids = itertools.count(910001)

SETTINGS = settings(
    max_examples=6,
    stateful_step_count=12,
    deadline=None,  # a PostgreSQL round trip is no failure
    database=None,  # nothing written into the test's folder or the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def machine(
    new_database: Callable[[], tuple[str, Callable[[], None]]],
) -> type[RuleBasedStateMachine]:
    """A state machine whose every run starts on an empty database of its own: examples share
    nothing, so hypothesis can replay and shrink a failing one."""

    class Office(RuleBasedStateMachine):
        coops = Bundle("coops")

        def __init__(self) -> None:
            super().__init__()
            url, self.drop = new_database()
            self.engine = Kopflow(url)
            self.engine.init()
            self.wf = self.engine.workflow
            self.registered = 0

        # --- what the office does; a refusal is an outcome like any other ----------------

        def attempt(self, fn: Any, *args: Any, **kwargs: Any) -> None:
            try:
                fn(*args, **kwargs)
            except KopflowError:
                pass  # refused: the invariant checks that nothing half-written remains

        def stage(self, coop: str) -> str:
            return str(coop_row(self.engine, coop)["stage"])

        def steps_now(self, coop: str) -> list[tuple[str, StepSpec]]:
            """The steps that may be done now: the stage's, and in partner onboarding the
            partners'."""
            stage = self.stage(coop)
            found = [(s.id, s) for s in self.wf.stage(stage).steps]
            if stage == self.wf.onboarding_stage:
                for code in PARTNERS:
                    found += [
                        (f"{code}.{s.id}", s) for s in self.engine.plugins.partner(code).steps
                    ]
            return found

        @precondition(lambda self: self.registered < 3)  # fewer cooperatives, each further on
        @rule(target=coops, villages=st.integers(min_value=1, max_value=2))
        def register(self, villages: int) -> str:
            self.registered += 1
            number = next(_ids)
            coop = f"KDMP-{number}"
            seed = CoopSeed(
                coop,
                KAB,
                "Provinsi Uji",
                [
                    (f"h-{number}-{v}", f"Desa {number} {v}", "Kec Satu", None)
                    for v in range(villages)
                ],
            )
            self.engine.register([seed], source="hypothesis")
            return coop

        @precondition(lambda self: self.registered < 3)
        @rule(
            target=coops,
            stage=st.sampled_from(["legal", "consolidation", "onboarding", "operating"]),
        )
        def register_further(self, stage: str) -> str:
            """A cooperative some way along already, so later stages and partner steps are
            reached within a short sequence."""
            coop = self.register(1)
            for _ in range(len(self.wf.main_stages())):  # bounded: a refusal cannot loop
                if self.stage(coop) == stage:
                    break
                self.forward(coop)
            return coop

        @rule(coop=coops, pick=st.integers(0, 20), seed=st.integers(0, 3))
        def complete(self, coop: str, pick: int, seed: int) -> None:
            steps = self.steps_now(coop)
            if steps:
                key, spec = steps[pick % len(steps)]
                self.attempt(self.engine.complete_step, coop, key, sample_evidence(spec, seed))

        @rule(coop=coops, pick=st.integers(0, 20))
        def correct(self, coop: str, pick: int) -> None:
            steps = self.steps_now(coop)
            if steps:
                key, spec = steps[pick % len(steps)]
                # The seed the step was done with (forward), optional fields added: a change
                # that keeps the dates in order, so corrections are not all refused.
                evidence = sample_evidence(spec, 3 if "." in key else 1, optional=True)
                self.attempt(self.engine.complete_step, coop, key, evidence, reason="koreksi")

        @rule(coop=coops, pick=st.integers(0, 20))
        def undo(self, coop: str, pick: int) -> None:
            steps = self.steps_now(coop)
            if steps:
                self.attempt(
                    self.engine.undo_step, coop, steps[pick % len(steps)][0], reason="ulang"
                )

        @rule(coop=coops)
        def finish_stage(self, coop: str) -> None:
            """Every required step of the stage, so that advancing has a chance."""
            for key, spec in self.steps_now(coop):
                if spec.required and "." not in key:
                    self.attempt(self.engine.complete_step, coop, key, sample_evidence(spec, 1))

        @rule(coop=coops)
        def forward(self, coop: str) -> None:
            """A stage's work done the way an office does it, then the next stage: in partner
            onboarding, enrolment with bri and its required steps first."""
            if self.stage(coop) == self.wf.onboarding_stage:
                self.attempt(self.engine.enroll, coop, ["bri"])
                for spec in self.engine.plugins.partner("bri").steps:
                    if spec.required:
                        evidence = sample_evidence(spec, 3)
                        self.attempt(self.engine.complete_step, coop, f"bri.{spec.id}", evidence)
            self.finish_stage(coop)
            self.attempt(self.engine.advance, coop)

        @rule(coop=coops)
        def advance(self, coop: str) -> None:
            self.attempt(self.engine.advance, coop)

        @rule(coop=coops, event=st.sampled_from(["suspend", "resume", "dissolve"]))
        def side_event(self, coop: str, event: str) -> None:
            self.attempt(self.engine.advance, coop, event, reason="rapat anggota")

        @rule(coop=coops, event=st.sampled_from(["suspend", "dissolve"]))
        def side_event_without_reason(self, coop: str, event: str) -> None:
            self.attempt(self.engine.advance, coop, event)  # refused: a reason is required

        @rule(coop=coops, partners=st.lists(st.sampled_from(PARTNERS), min_size=1, max_size=2))
        def enrol(self, coop: str, partners: list[str]) -> None:
            self.attempt(self.engine.enroll, coop, partners)

        @rule(coop=coops, pick=st.integers(0, 20))
        def bad_evidence(self, coop: str, pick: int) -> None:
            steps = self.steps_now(coop)
            if steps:
                self.attempt(self.engine.complete_step, coop, steps[pick % len(steps)][0], {})

        @rule(coops_=st.lists(coops, min_size=1, max_size=3, unique=True), bad=st.booleans())
        def bulk_complete(self, coops_: list[str], bad: bool) -> None:
            """One chunk: each cooperative's rows whole or refused (a bad row refuses its own)."""
            rows: list[tuple[str, str, dict[str, Any]]] = []
            for coop in coops_:
                for key, spec in self.steps_now(coop)[:2]:
                    rows.append((coop, key, sample_evidence(spec, 2)))
            if bad and rows:
                rows[-1] = (rows[-1][0], rows[-1][1], {})
            if rows:
                self.attempt(self.engine.complete_steps_bulk, rows)

        # --- what must hold after every step ------------------------------------------------

        @invariant()
        def log_and_tables_agree(self) -> None:
            with snapshot(self.engine.url) as conn:
                chain = verify_database(conn)
                assert chain.ok, chain.problem
                result = reconcile(
                    conn, workflows=find_workflow, steps=lambda key: _spec(self.engine, key)
                )
            assert result.ok, "\n".join(d.message for d in result.differences)

        def teardown(self) -> None:
            self.drop()

    return Office


def _spec(engine: Kopflow, key: str) -> StepSpec | None:
    try:
        return engine.step_spec(key)[0]
    except KopflowError:
        return None


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_any_sequence_of_commands_leaves_log_and_tables_agreeing(
    backend: str, tmp_path: Path
) -> None:
    def new_database() -> tuple[str, Callable[[], None]]:
        if backend == "sqlite":
            return str(tmp_path / f"run-{next(_ids)}.db"), db.dispose_engines
        schema = pg_schema()  # a schema of its own, dropped when the run ends
        return next(schema), schema.close

    run_state_machine_as_test(machine(new_database), settings=SETTINGS)
