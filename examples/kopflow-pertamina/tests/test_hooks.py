"""Every other hook of the reference plugin, through the real ``kopflow`` command: enrolment
rules, the dissolution guard, the worklist the after-hooks write, the outbox delivered to a
JSON-lines sink, and the decimal and labelled-choice fields."""

import json

import kopflow_pertamina
import pytest

REGISTERED = ("--set", "date=2025-05-05")
VERIFIED = ("--set", "agent_name=PT Gas Sejahtera", "--set", "date=2025-05-12")
RATIFIED = ("--set", "dealer_number=SP-5108-0042", "--set", "date=2025-05-20")
MERCHANT = ("--set", "merchant_id=MAP-778812", "--set", "monthly_allocation=200",
            "--set", "date=2025-06-02")  # fmt: skip
STEPS = [("registered", REGISTERED), ("verified", VERIFIED), ("ddms_ratified", RATIFIED),
         ("merchant_active", MERCHANT)]  # fmt: skip


@pytest.fixture(autouse=True)
def pertamina(register_plugin):
    return register_plugin(kopflow_pertamina)


@pytest.fixture(autouse=True)
def files(tmp_path, monkeypatch):
    """The sink Pertamina's notifications are delivered to and the field officer's worklist,
    set in the environment as on a real deployment (``kopflow`` commands inherit it)."""
    sink, worklist = tmp_path / "pertamina.jsonl", tmp_path / "worklist.jsonl"
    monkeypatch.setenv(kopflow_pertamina.SINK_VARIABLE, str(sink))
    monkeypatch.setenv(kopflow_pertamina.WORKLIST_VARIABLE, str(worklist))
    return sink, worklist


@pytest.fixture
def coop(coop_at_stage):
    return coop_at_stage("onboarding", partners=["pertamina"], complete_partners=["bri"])


def lines(path):
    return kopflow_pertamina.read_sink(path)


# --- enrolment: PartnerSpec.enroll_from / enroll_requires, kopflow_guard_enroll ----------------


def test_a_cooperative_in_formation_is_refused_with_every_reason(cli_runner, coop_at_stage):
    young = coop_at_stage("formation")
    refused = cli_runner("partner", "enroll", young, "pertamina", expect=None)
    assert refused.exit_code != 0 and refused.stdout == ""
    assert refused.stderr == (
        f"Error: {young} cannot be enrolled with pertamina; pertamina enrolls cooperatives from "
        "stage Consolidation (consolidation) on; it is in stage Formation (formation); "
        "LPG 3 kg is sold from the groceries outlet: the business plan (step Business plan and "
        "proposal) must plan a Groceries outlet\n"
    )


def test_enrolment_waits_for_a_business_plan_with_a_groceries_outlet(
    cli_runner, coop_at_stage, verify_audit
):
    coop = coop_at_stage("consolidation")  # no business plan yet
    cli_runner("step", "complete", coop, "assistant_assigned", "--set", "assistant_name=Sari",
               "--set", "date=2025-04-10")  # fmt: skip
    before = len(verify_audit())
    refused = cli_runner("partner", "enroll", coop, "pertamina", expect=None)
    assert refused.exit_code != 0 and "must plan a Groceries outlet" in refused.stderr
    assert len(verify_audit()) == before  # nothing written
    plan = ("step", "complete", coop, "business_plan", "--set", "date=2025-04-20")
    cli_runner(*plan, "--set", "units=apotek")
    refused = cli_runner("partner", "enroll", coop, "pertamina", expect=None)
    assert "must plan a Groceries outlet" in refused.stderr
    cli_runner(*plan, "--set", "units=apotek,sembako", "--reason", "groceries outlet added")
    cli_runner("partner", "enroll", coop, "pertamina")


# --- kopflow_guard ---------------------------------------------------------------------------


def test_a_live_sub_base_cannot_be_dissolved_until_pertamina_closed_it(cli_runner, coop):
    for step, evidence in STEPS:
        cli_runner("step", "complete", coop, f"pertamina.{step}", *evidence)
    refused = cli_runner("advance", coop, "dissolve", "--reason", "merged", expect=3)
    assert "active LPG sub-base (merchant MAP-778812)" in refused.stderr
    assert "Sub-base closed by Pertamina" in refused.stderr
    cli_runner("step", "complete", coop, "pertamina.closed", "--set", "reason=breach",
            "--set", "date=2025-09-01")  # fmt: skip
    cli_runner("advance", coop, "dissolve", "--reason", "merged")


# --- kopflow_after_step, kopflow_after_transition --------------------------------------------


def test_the_worklist_names_each_next_step_and_the_agent_to_tell(cli_runner, coop, files):
    for step, evidence in STEPS:
        cli_runner("step", "complete", coop, f"pertamina.{step}", *evidence)
    cli_runner("advance", coop)
    worklist = lines(files[1])
    assert [(w.get("done"), w.get("next")) for w in worklist[:4]] == [
        ("pertamina.registered", "pertamina.verified"),
        ("pertamina.verified", "pertamina.ddms_ratified"),
        ("pertamina.ddms_ratified", "pertamina.merchant_active"),
        ("pertamina.merchant_active", "pertamina.closed"),
    ]
    assert worklist[4] | {"seq": 0} == {
        "seq": 0, "coop": coop, "stage": "operating", "tell_agent": "PT Gas Sejahtera",
    }  # fmt: skip


# --- kopflow_partner_notification, kopflow_deliver -------------------------------------------


def test_notifications_are_delivered_once_each_to_the_sink(cli_runner, coop, files, verify_audit):
    sink = files[0]
    cli_runner("step", "complete", coop, "pertamina.registered", *REGISTERED)
    cli_runner(
        "step", "complete", coop, "bri.qris", "--set", "nmid=ID1025", "--set", "date=2025-05-06"
    )  # another partner's step: not for Pertamina
    cli_runner("partner", "deliver", "pertamina")
    cli_runner("partner", "deliver", "pertamina")  # nothing pending: nothing sent twice
    delivered = lines(sink)
    assert [(d["action"], d["payload"].get("step")) for d in delivered] == [
        ("partner.enrolled", None), ("step.completed", "pertamina.registered"),
    ]  # fmt: skip
    events = {e["seq"]: e for e in verify_audit()}
    assert all(events[d["key"]]["coop"] == coop for d in delivered)  # the key is the audit seq
    assert delivered[1]["payload"]["evidence"] == {"date": "2025-05-05"}


def test_a_refused_step_leaves_nothing_to_deliver(cli_runner, coop, files):
    cli_runner("step", "complete", coop, "pertamina.verified", *VERIFIED, expect=3)  # out of order
    cli_runner("partner", "deliver", "pertamina")
    assert [d["action"] for d in lines(files[0])] == ["partner.enrolled"]


def test_a_sink_that_already_holds_a_key_is_not_written_twice(cli_runner, coop, files):
    cli_runner("partner", "deliver", "pertamina")
    held = lines(files[0])
    kopflow_pertamina.kopflow_deliver(
        partner="pertamina",
        key=held[0]["key"],
        action="partner.enrolled",
        coop_id=coop,
        payload=held[0]["payload"],
    )  # a redelivery after a crash
    assert lines(files[0]) == held


def test_without_a_sink_delivery_fails_visibly_and_is_kept(cli_runner, coop, monkeypatch):
    monkeypatch.delenv(kopflow_pertamina.SINK_VARIABLE)
    failed = cli_runner("partner", "deliver", "pertamina", "--retries", "0", expect=6)
    assert "Warning:" in failed.stderr
    listed = cli_runner("partner", "outbox", "--failed").stdout
    assert "KOPFLOW_PERTAMINA_SINK is not set" in listed


# --- a decimal field with a unit, a labelled choice ------------------------------------------


def test_storage_capacity_is_an_exact_decimal_above_zero(cli_runner, coop, verify_audit, files):
    cli_runner("step", "complete", coop, "pertamina.registered", *REGISTERED)
    refused = cli_runner("step", "complete", coop, "pertamina.verified", *VERIFIED,
                      "--set", "storage_capacity=0", expect=2)  # fmt: skip
    assert refused.stderr == "Error: storage_capacity: 0 must be above 0\n"
    cli_runner("step", "complete", coop, "pertamina.verified", *VERIFIED,
            "--set", "storage_capacity=0.6")  # fmt: skip
    recorded = verify_audit()[-1]["details"]["evidence"]
    assert recorded["storage_capacity"] == "0.6"  # the exact string, never a float
    assert "0.6 tonnes" in cli_runner("coop", "show", coop).stdout
    cli_runner("partner", "deliver", "pertamina")
    assert lines(files[0])[-1]["payload"]["evidence"]["storage_capacity"] == "0.6"


def test_the_closing_reason_is_shown_by_its_label(cli_runner, coop):
    for step, evidence in STEPS:
        cli_runner("step", "complete", coop, f"pertamina.{step}", *evidence)
    refused = cli_runner("step", "complete", coop, "pertamina.closed", "--set", "reason=bankrupt",
                      "--set", "date=2025-09-01", expect=2)  # fmt: skip
    assert refused.stderr == (
        "Error: reason: 'bankrupt' is not allowed; choose from cooperative_request, breach, "
        "agent_ended\n"
    )
    cli_runner("step", "complete", coop, "pertamina.closed", "--set", "reason=agent_ended",
            "--set", "date=2025-09-01")  # fmt: skip
    assert "The LPG agent ended the partnership" in cli_runner("coop", "show", coop).stdout
    shown = cli_runner("pertamina", "allocation", "kepulauan seribu", "--json").stdout
    (row,) = json.loads(shown)["cooperatives"]
    assert (row["recorded"], row["allocation"]) == (200, 0)  # a closed sub-base receives none
