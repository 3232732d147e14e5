"""Pertamina's onboarding, tested the way any partner tests a kopflow plugin."""

import kopflow_pertamina
import pytest

REGISTERED = ("--set", "date=2025-05-05")
VERIFIED = ("--set", "agent_name=PT Gas Sejahtera", "--set", "date=2025-05-12")
RATIFIED = ("--set", "dealer_number=SP-5108-0042", "--set", "date=2025-05-20")


def merchant(allocation: int) -> tuple[str, ...]:
    return ("--set", "merchant_id=MAP-778812", "--set", f"monthly_allocation={allocation}",
            "--set", "date=2025-06-02")  # fmt: skip


@pytest.fixture(autouse=True)
def pertamina(register_plugin):
    """Load this plugin into kopflow for every test (replacing an installed copy, if any)."""
    return register_plugin(kopflow_pertamina)


@pytest.fixture
def coop(coop_at_stage):
    """A cooperative in partner onboarding, enrolled with Pertamina and, as every cooperative
    must be, with BRI, whose required steps are done."""
    return coop_at_stage("onboarding", partners=["pertamina"], complete_partners=["bri"])


def test_the_four_steps_in_order(cli_runner, coop, verify_audit):
    cli_runner("step", "complete", coop, "pertamina.registered", *REGISTERED)
    cli_runner("step", "complete", coop, "pertamina.verified", *VERIFIED)
    cli_runner("step", "complete", coop, "pertamina.ddms_ratified", *RATIFIED)
    cli_runner("step", "complete", coop, "pertamina.merchant_active", *merchant(200))
    cli_runner("advance", coop)  # every required step of every partner is done
    event = verify_audit()[-1]  # the chain verifies; the newest event is the transition
    assert event["details"]["plugins"]["pertamina"] == kopflow_pertamina.__version__


def test_a_step_out_of_order_is_refused(cli_runner, coop):
    refused = cli_runner("step", "complete", coop, "pertamina.verified", *VERIFIED, expect=3)
    assert (
        "comes after Registered as a prospective sub-base in SIMKOPDES (pertamina.registered)"
        in refused.stderr
    )


@pytest.mark.parametrize("allocation", [0, 5000], ids=["zero", "implausible"])
def test_the_allocation_is_checked(cli_runner, coop, allocation):
    for step, evidence in [("registered", REGISTERED), ("verified", VERIFIED),
                           ("ddms_ratified", RATIFIED)]:  # fmt: skip
        cli_runner("step", "complete", coop, f"pertamina.{step}", *evidence)
    refused = cli_runner("step", "complete", coop, "pertamina.merchant_active",
                         *merchant(allocation), expect=3)  # fmt: skip
    assert "monthly allocation" in refused.stderr


def test_operation_waits_for_pertamina(cli_runner, coop):
    refused = cli_runner("advance", coop, expect=3)
    assert (
        "missing steps of partner pertamina: Registered as a prospective sub-base in SIMKOPDES (pertamina.registered)"
        in refused.stderr
    )
