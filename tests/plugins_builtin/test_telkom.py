"""Telkom's onboarding through the CLI, tested with ``kopflow.testing`` as an outside author
tests a plugin (issue #3): generic steps, nothing format-checked, the survey optional.
"""

from __future__ import annotations

import json

import kopflow_telkom
import pytest


@pytest.fixture(autouse=True)
def telkom(register_plugin):  # type: ignore[no-untyped-def]
    return register_plugin(kopflow_telkom)


@pytest.fixture
def coop(coop_at_stage) -> str:  # type: ignore[no-untyped-def]
    """A cooperative in partner onboarding, enrolled with Telkom and (as every cooperative) BRI,
    whose required steps are done."""
    return str(coop_at_stage("onboarding", partners=["telkom"], complete_partners=["bri"]))


def statuses(cli_runner, coop: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    data = json.loads(cli_runner("partner", "steps", coop, "telkom", "--json").stdout)
    return {s["step"]: s["status"] for s in data["steps"]}


def test_connection_then_onboarding_without_the_optional_survey(cli_runner, coop: str) -> None:  # type: ignore[no-untyped-def]
    # Telkom's service ids are unconfirmed, so any text is taken (docs/domain.md, "Partners").
    cli_runner("step", "complete", coop, "telkom.connection",
               "--set", "service_id=SID 1223/INDIHOME-b", "--set", "date=2025-05-10")  # fmt: skip
    cli_runner("step", "complete", coop, "telkom.digital_onboarding", "--set", "date=2025-05-15")
    assert statuses(cli_runner, coop) == {
        "telkom.survey": "optional",
        "telkom.connection": "done",
        "telkom.digital_onboarding": "done",
    }
    assert "operating" in cli_runner("advance", coop).stdout


def test_onboarding_before_connection_is_refused_with_the_reason(cli_runner, coop: str) -> None:  # type: ignore[no-untyped-def]
    refused = cli_runner("step", "complete", coop, "telkom.digital_onboarding",
                         "--set", "date=2025-05-15", expect=3)  # fmt: skip
    assert refused.stderr == (
        "Error: step Digital onboarding (telkom.digital_onboarding) comes after Connection installed (telkom.connection), "
        "which is not done yet\n"
    )


def test_operation_waits_for_the_required_steps(cli_runner, coop: str) -> None:  # type: ignore[no-untyped-def]
    cli_runner("step", "complete", coop, "telkom.survey", "--set", "date=2025-05-01")
    refused = cli_runner("advance", coop, expect=3)
    assert (
        "missing steps of partner telkom: Connection installed (telkom.connection), Digital onboarding (telkom.digital_onboarding)"
        in refused.stderr
    )
