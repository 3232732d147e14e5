"""BRI's onboarding through the CLI, tested with ``kopflow.testing`` as an outside author tests a
plugin (issue #3): the account and relationship manager, order, and the PMK 49/2025 ceilings.
"""

from __future__ import annotations

import json

import kopflow_bri
import pytest

ACCOUNT = ("--set", "account_number=012301000123301", "--set", "branch=KC Singaraja",
           "--set", "date=2025-05-02")  # fmt: skip
MANAGER = ("--set", "name=Made Sudarma", "--set", "date=2025-05-03")


@pytest.fixture(autouse=True)
def bri(register_plugin):  # type: ignore[no-untyped-def]
    return register_plugin(kopflow_bri)


@pytest.fixture
def coop(coop_at_stage) -> str:  # type: ignore[no-untyped-def]
    """A cooperative in partner onboarding, enrolled with BRI only."""
    return str(coop_at_stage("onboarding", partners=["bri"]))


def steps(cli_runner, coop: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    data = json.loads(cli_runner("partner", "steps", coop, "bri", "--json").stdout)
    return {s["step"]: s["status"] for s in data["steps"]}


def error(result) -> str:  # type: ignore[no-untyped-def]
    """The single ``Error:`` line of a refused command."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return str(lines[0])


def test_required_steps_through_the_cli(cli_runner, coop: str, verify_audit) -> None:  # type: ignore[no-untyped-def]
    assert steps(cli_runner, coop)["bri.account"] == "missing"
    cli_runner("step", "complete", coop, "bri.account", *ACCOUNT)
    cli_runner("step", "complete", coop, "bri.relationship_manager", *MANAGER)
    state = steps(cli_runner, coop)
    assert state["bri.account"] == state["bri.relationship_manager"] == "done"
    assert state["bri.qris"] == "optional"
    cli_runner("advance", coop)
    event = verify_audit()[-1]
    assert event["action"] == "coop.transition" and event["details"]["to"] == "operating"
    assert event["details"]["plugins"]["bri"] == kopflow_bri.__version__


def test_operation_waits_for_the_required_steps(cli_runner, coop: str) -> None:  # type: ignore[no-untyped-def]
    cli_runner("step", "complete", coop, "bri.account", *ACCOUNT)
    refused = error(cli_runner("advance", coop, expect=3))
    assert (
        "missing steps of partner bri: Relationship manager assigned (bri.relationship_manager)"
        in refused
    )
    assert "bri.account" not in refused.split("partner bri:")[1]


@pytest.mark.parametrize(
    ("step", "needs"),
    [
        ("Enrolled as AgenBRILink agent (bri.agent)", "Cooperative account opened at BRI (bri.account)"),
        ("Village head's approval (based on a village deliberation) (bri.village_head_approval)",
         "Loan proposal submitted (bri.loan_proposal)"),
        ("Loan disbursed (bri.disbursement)", "Reported to the Ministry of Finance (bri.mofin_report)"),
    ],
    ids=["agent-before-account", "approval-before-proposal", "disbursement-before-report"],
)  # fmt: skip
def test_steps_out_of_order_are_refused_with_the_reason(
    cli_runner,
    coop: str,
    step: str,
    needs: str,  # type: ignore[no-untyped-def]
) -> None:
    key = step.rsplit("(", 1)[1].rstrip(")")  # the label, then the key in brackets
    refused = cli_runner("step", "complete", coop, key, "--set", "date=2025-05-02",
                         "--set", "agent_id=X1", "--set", "musdes_minutes=1",
                         "--set", "amount=1000000", expect=3)  # fmt: skip
    assert error(refused) == f"Error: step {step} comes after {needs}, which is not done yet"
    assert steps(cli_runner, coop)[key] == "optional"


def proposal(amount: int, operating: int) -> tuple[str, ...]:
    return ("--set", f"amount={amount}", "--set", f"operating_amount={operating}",
            "--set", "date=2025-05-13")  # fmt: skip


@pytest.mark.parametrize(
    ("amount", "operating", "reason"),
    [
        (3_000_000_001, 400_000_000,
         "loan amount Rp 3.000.000.001 is above the ceiling of Rp 3.000.000.000 per cooperative"),
        (2_000_000_000, 500_000_001,
         "operating costs of Rp 500.000.001 are above the limit of Rp 500.000.000"),
    ],
    ids=["loan-above-3-billion", "operating-above-500-million"],
)  # fmt: skip
def test_loan_ceilings_are_refused(
    cli_runner,
    coop: str,
    amount: int,
    operating: int,
    reason: str,  # type: ignore[no-untyped-def]
) -> None:
    cli_runner("step", "complete", coop, "bri.account", *ACCOUNT)
    refused = error(cli_runner("step", "complete", coop, "bri.loan_proposal",
                               *proposal(amount, operating), expect=3))  # fmt: skip
    assert refused.startswith(
        "Error: evidence for Loan proposal submitted (bri.loan_proposal) refused; "
    )
    assert reason in refused
    assert steps(cli_runner, coop)["bri.loan_proposal"] == "optional"


def test_loan_at_the_ceilings_is_accepted(cli_runner, coop: str) -> None:  # type: ignore[no-untyped-def]
    cli_runner("step", "complete", coop, "bri.account", *ACCOUNT)
    cli_runner("step", "complete", coop, "bri.loan_proposal", *proposal(3_000_000_000, 500_000_000))
    assert steps(cli_runner, coop)["bri.loan_proposal"] == "done"


@pytest.mark.parametrize("kopflow_lang", ["id"], ids=["indonesian"])
def test_refusal_in_indonesian(cli_runner, coop: str) -> None:  # type: ignore[no-untyped-def]
    cli_runner("step", "complete", coop, "bri.account", *ACCOUNT)
    refused = cli_runner("step", "complete", coop, "bri.loan_proposal",
                         *proposal(4_000_000_000, 0), expect=3)  # fmt: skip
    assert "melebihi plafon Rp 3.000.000.000 per koperasi" in refused.stderr


def test_refused_step_writes_nothing(cli_runner, coop: str, verify_audit) -> None:  # type: ignore[no-untyped-def]
    cli_runner("step", "complete", coop, "bri.account", *ACCOUNT)
    before = verify_audit()
    cli_runner("step", "complete", coop, "bri.loan_proposal", *proposal(9_000_000_000, 0), expect=3)
    assert verify_audit() == before
