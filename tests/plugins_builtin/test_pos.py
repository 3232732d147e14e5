"""Pos Indonesia's onboarding through the CLI, tested with ``kopflow.testing`` as an outside
author tests a plugin (issue #3): the cooperation agreement, then the postal agent.
"""

from __future__ import annotations

import json

import kopflow_pos
import pytest

PKS = ("--set", "pks_number=PKS-017/POS/2025", "--set", "date=2025-05-06")
AGENT = ("--set", "agent_id=AGP-5108-0042", "--set", "date=2025-05-20")


@pytest.fixture(autouse=True)
def pos(register_plugin):  # type: ignore[no-untyped-def]
    return register_plugin(kopflow_pos)


@pytest.fixture
def coop(coop_at_stage) -> str:  # type: ignore[no-untyped-def]
    """A cooperative in partner onboarding, enrolled with Pos and (as every cooperative) BRI,
    whose required steps are done."""
    return str(coop_at_stage("onboarding", partners=["pos"], complete_partners=["bri"]))


def pos_steps(cli_runner, coop: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return json.loads(cli_runner("partner", "steps", coop, "pos", "--json").stdout)  # type: ignore[no-any-return]


def test_agreement_then_agent_through_the_cli(cli_runner, coop: str, verify_audit) -> None:  # type: ignore[no-untyped-def]
    cli_runner("step", "complete", coop, "pos.pks", *PKS)
    cli_runner("step", "complete", coop, "pos.agent", *AGENT, "--set", "services=parcels,medicines")
    data = pos_steps(cli_runner, coop)
    assert data["complete"] is True
    agent = data["steps"][1]
    assert (agent["order"], agent["step"], agent["status"]) == (2, "pos.agent", "done")
    assert agent["evidence"]["services"] == ["parcels", "medicines"]
    details = verify_audit()[-1]["details"]
    assert details["step"] == "pos.agent" and details["plugins"]["pos"] == kopflow_pos.__version__


def test_agent_before_agreement_is_refused_with_the_reason(cli_runner, coop: str) -> None:  # type: ignore[no-untyped-def]
    refused = cli_runner("step", "complete", coop, "pos.agent", *AGENT, expect=3)
    assert (
        refused.stderr
        == "Error: step Postal agent / logistics point active (pos.agent) comes after Cooperation agreement (PKS) signed (pos.pks), which is not done yet\n"
    )
    assert [s["status"] for s in pos_steps(cli_runner, coop)["steps"]] == ["missing", "missing"]


def test_operation_waits_for_both_steps(cli_runner, coop: str) -> None:  # type: ignore[no-untyped-def]
    refused = cli_runner("advance", coop, expect=3)
    assert (
        "missing steps of partner pos: Cooperation agreement (PKS) signed (pos.pks), Postal agent / logistics point active (pos.agent)"
        in refused.stderr
    )
    cli_runner("step", "complete", coop, "pos.pks", *PKS)
    refused = cli_runner("advance", coop, expect=3)
    assert (
        "missing steps of partner pos: Postal agent / logistics point active (pos.agent)"
        in refused.stderr
    )
    cli_runner("step", "complete", coop, "pos.agent", *AGENT)
    assert "operating" in cli_runner("advance", coop).stdout


def test_unknown_service_is_refused(cli_runner, coop: str) -> None:  # type: ignore[no-untyped-def]
    cli_runner("step", "complete", coop, "pos.pks", *PKS)
    refused = cli_runner("step", "complete", coop, "pos.agent", *AGENT, "--set", "services=pizza",
                         expect=2)  # fmt: skip
    assert "pizza" in refused.stderr and len(refused.stderr.splitlines()) == 1
