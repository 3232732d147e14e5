"""``kopflow pertamina allocation REGION``: a plugin command that reads kopflow's data through
``kopflow.plugin.Queries`` (issue #13), tested with kopflow's fixtures as a partner would."""

import json

import kopflow_pertamina
import pytest

SAMPLE_KABUPATEN = "Kabupaten Adm. Kepulauan Seribu"  # where coop_at_stage takes cooperatives

STEPS = {
    "registered": {"date": "2025-05-05"},
    "verified": {"agent_name": "PT Gas Sejahtera", "date": "2025-05-12"},
    "ddms_ratified": {"dealer_number": "SP-3101-0042", "date": "2025-05-20"},
}


@pytest.fixture(autouse=True)
def pertamina(register_plugin):
    return register_plugin(kopflow_pertamina)


@pytest.fixture
def region(coop_at_stage, kopflow_app):
    """Four cooperatives of the sample kabupaten: active with 300 tabung recorded (above the
    cap), active with 150, verified only, and one not enrolled with Pertamina at all."""
    coops = [coop_at_stage("onboarding", partners=["pertamina"]) for _ in range(3)]
    coops.append(coop_at_stage("onboarding"))
    for coop, allocation in [(coops[0], 300), (coops[1], 150), (coops[2], None)]:
        for step, evidence in STEPS.items():
            kopflow_app.complete_step(coop, f"pertamina.{step}", evidence)
            if allocation is None and step == "verified":
                break
        if allocation is not None:
            kopflow_app.complete_step(coop, "pertamina.merchant_active", {
                "merchant_id": f"MAP-{allocation}", "monthly_allocation": allocation,
                "date": "2025-06-02"})  # fmt: skip
    return coops


def test_each_enrolled_cooperative_gets_its_allocation_capped_at_200(cli_runner, region):
    done = cli_runner("pertamina", "allocation", "kepulauan seribu", "--json")
    result = json.loads(done.stdout)
    assert (result["region"], result["cap"], result["total"]) == (SAMPLE_KABUPATEN, 200, 350)
    rows = {row["coop"]: row for row in result["cooperatives"]}
    assert sorted(rows) == sorted(region[:3])  # the one not enrolled is not listed
    first, second, third = (rows[c] for c in region[:3])
    assert (first["recorded"], first["allocation"], first["capped"]) == (300, 200, True)
    assert (second["recorded"], second["allocation"], second["capped"]) == (150, 150, False)
    assert (third["recorded"], third["allocation"], third["standing"]) == (
        None, 0, "pertamina.ddms_ratified",
    )  # fmt: skip
    assert first["standing"] == "complete"


def test_the_table_says_what_was_capped(cli_runner, region):
    table = cli_runner("pertamina", "allocation", SAMPLE_KABUPATEN).stdout
    assert "Total for 3 cooperatives: 350 tabung a month." in table
    assert "200 *" in table and "capped at 200 tabung a month per cooperative" in table
    assert "Partnership ratified in DDMS" in table  # where the third one stands


def test_an_unknown_region_is_one_error_line(cli_runner, region):
    refused = cli_runner("pertamina", "allocation", "Kabupaten Atlantis", expect=None)
    assert refused.exit_code != 0 and refused.stdout == ""
    assert refused.stderr.startswith("Error: ") and refused.stderr.count("\n") == 1
