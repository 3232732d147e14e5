"""PLN's onboarding through the CLI, tested with ``kopflow.testing`` as an outside author tests
a plugin (issue #3): the PPOB agent, and the 12-digit customer id of a new power connection.
"""

from __future__ import annotations

import json

import kopflow_pln
import pytest


@pytest.fixture(autouse=True)
def pln(register_plugin):  # type: ignore[no-untyped-def]
    return register_plugin(kopflow_pln)


@pytest.fixture
def coop(coop_at_stage) -> str:  # type: ignore[no-untyped-def]
    """A cooperative in partner onboarding, enrolled with PLN and (as every cooperative) BRI,
    whose required steps are done."""
    return str(coop_at_stage("onboarding", partners=["pln"], complete_partners=["bri"]))


def connect(cli_runner, coop: str, customer_id: str, expect: int = 0):  # type: ignore[no-untyped-def]
    return cli_runner("step", "complete", coop, "pln.power_connection",
                      "--set", f"customer_id={customer_id}", "--set", "date=2025-05-08",
                      expect=expect)  # fmt: skip


def test_ppob_agent_is_the_only_required_step(cli_runner, coop: str) -> None:  # type: ignore[no-untyped-def]
    refused = cli_runner("advance", coop, expect=3)
    assert (
        "missing steps of partner pln: PPOB bill-payment and token agent active (pln.ppob_agent)"
        in refused.stderr
    )
    cli_runner("step", "complete", coop, "pln.ppob_agent",
               "--set", "agent_id=PPOB-88-1203", "--set", "date=2025-05-01")  # fmt: skip
    data = json.loads(cli_runner("partner", "steps", coop, "pln", "--json").stdout)
    assert data["complete"] is True
    assert [s["status"] for s in data["steps"]] == ["done", "optional", "optional"]
    assert "operating" in cli_runner("advance", coop).stdout


def test_customer_id_of_12_digits_is_accepted(cli_runner, coop: str, verify_audit) -> None:  # type: ignore[no-untyped-def]
    connect(cli_runner, coop, "512345678901")
    event = verify_audit()[-1]
    assert event["details"]["step"] == "pln.power_connection"
    assert event["details"]["evidence"]["customer_id"] == "512345678901"


@pytest.mark.parametrize(
    "customer_id", ["51234567890", "5123456789012", "51234567890A"],
    ids=["11-digits", "13-digits", "letter"],
)  # fmt: skip
def test_customer_id_format_is_refused(
    cli_runner, coop: str, customer_id: str, verify_audit
) -> None:  # type: ignore[no-untyped-def]
    before = verify_audit()
    refused = connect(cli_runner, coop, customer_id, expect=3)
    assert refused.stderr == (
        "Error: evidence for New power connection (pln.power_connection) refused; "
        f"PLN customer id '{customer_id}' must be 12 digits\n"
    )
    assert verify_audit() == before
