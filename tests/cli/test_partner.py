"""``kopflow partner enroll | list | steps | status`` as a district office and a partner use them
(issue #3). The counting itself is tested on both backends in ``tests/test_partners.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from kopflow.testing import SAMPLE_KABUPATEN, KopflowRunner

PKS = ("--set", "pks_number=PKS-017/POS/2025", "--set", "date=2025-05-06")


@pytest.fixture
def coop(coop_at_stage: Callable[..., str]) -> str:
    """A cooperative in partner onboarding, enrolled with BRI only (the required partner)."""
    return coop_at_stage("onboarding")


def as_json(result: Any) -> Any:
    return json.loads(result.stdout)


def test_enroll(cli_runner: KopflowRunner, coop: str, verify_audit: Callable[[], Any]) -> None:
    assert cli_runner("partner", "enroll", coop, "pos", "pln").stdout == (
        f"{coop}: enrolled with pos, pln\n"
    )
    event = verify_audit()[-1]
    assert event["action"] == "partner.enrolled" and event["details"]["partners"] == ["pos", "pln"]
    assert set(event["details"]["plugins"]) == {"bri", "pln", "pos", "telkom"}
    again = as_json(cli_runner("partner", "enroll", coop, "pos", "--json"))
    assert again["message"] == "already enrolled" and again["audit_seq"] is None


def test_enroll_with_an_unknown_partner_names_the_known_ones(
    cli_runner: KopflowRunner, coop: str
) -> None:
    refused = cli_runner("partner", "enroll", coop, "pos", "lpg", expect=2)
    assert refused.stderr == "Error: unknown partner lpg; known partners: bri, pln, pos, telkom\n"
    assert as_json(cli_runner("partner", "steps", coop, "pos", "--json"))["enrolled"] is False


def test_list(cli_runner: KopflowRunner) -> None:
    rows = {r["code"]: r for r in as_json(cli_runner("partner", "list", "--json"))}
    assert list(rows) == ["bri", "pln", "pos", "telkom"]
    counts = {c: (r["plugin"], r["required_steps"], r["optional_steps"]) for c, r in rows.items()}
    assert counts == {"bri": ("bri", 2, 8), "pln": ("pln", 1, 2), "pos": ("pos", 2, 0),
                      "telkom": ("telkom", 2, 1)}  # fmt: skip
    assert rows["bri"]["required_for_every_coop"] and not rows["pos"]["required_for_every_coop"]
    assert rows["pos"]["steps"][1] == {"key": "pos.agent", "label": "Postal agent / logistics "
                                       "point active", "required": True, "after": ["pos.pks"]}  # fmt: skip
    table = cli_runner("partner", "list").stdout
    assert "4 partners" in table and "Bank Rakyat Indonesia (BRI)" in table


def test_steps_of_a_cooperative(cli_runner: KopflowRunner, coop: str) -> None:
    cli_runner("partner", "enroll", coop, "pos")
    cli_runner("step", "complete", coop, "pos.pks", *PKS)
    data = as_json(cli_runner("partner", "steps", coop, "pos", "--json"))
    assert (data["coop"], data["partner"], data["enrolled"], data["stage"]) == (
        coop, "pos", True, "onboarding",
    )  # fmt: skip
    pks, agent = data["steps"]
    assert (pks["order"], pks["status"], pks["version"]) == (1, "done", 1)
    assert pks["evidence"] == {"pks_number": "PKS-017/POS/2025", "date": "2025-05-06"}
    assert (agent["status"], agent["ready"], agent["after"]) == ("missing", True, ["pos.pks"])
    assert data["complete"] is False
    bri = as_json(cli_runner("partner", "steps", coop, "bri", "--json"))["steps"]
    assert {s["step"]: s["status"] for s in bri}["bri.qris"] == "optional"
    table = cli_runner("partner", "steps", coop, "pos").stdout
    assert "pks_number: PKS-017/POS/2025" in table and "missing" in table


def test_steps_say_when_not_enrolled(cli_runner: KopflowRunner, coop: str) -> None:
    shown = cli_runner("partner", "steps", coop, "telkom").stdout
    assert f"{coop} is not enrolled with telkom: kopflow partner enroll {coop} telkom" in shown


def test_status(cli_runner: KopflowRunner, coop_at_stage: Callable[..., str]) -> None:
    first, second = coop_at_stage("onboarding", partners=["pos"]), coop_at_stage("onboarding")
    cli_runner("partner", "enroll", second, "pos")
    cli_runner("step", "complete", first, "pos.pks", *PKS)
    data = as_json(cli_runner("partner", "status", "--partner", "pos", "--json"))
    assert data == [{
        "partner": "pos", "name": "Pos Indonesia", "enrolled": 2, "complete": 0,
        "steps": [
            {"order": 1, "step": "pos.pks", "label": "Cooperation agreement (PKS) signed",
             "required": True, "at": 1, "done": 1},
            {"order": 2, "step": "pos.agent", "label": "Postal agent / logistics point active",
             "required": True, "at": 1, "done": 0},
        ],
        "outbox": {"pending": 0, "failed": 0},  # notifications not yet delivered (issue #13)
    }]  # fmt: skip
    everyone = as_json(cli_runner("partner", "status", "--region", SAMPLE_KABUPATEN, "--json"))
    assert [p["partner"] for p in everyone] == ["bri", "pln", "pos", "telkom"]
    assert everyone[0]["enrolled"] == 2 and everyone[1]["enrolled"] == 0
    # a region with no cooperative is a mistyped name, not an empty table (issue #12)
    elsewhere = cli_runner("partner", "status", "--region", "Kota Solok", expect=2)
    assert "unknown kabupaten/kota 'Kota Solok'" in elsewhere.stderr
    table = cli_runner("partner", "status", "--partner", "pos").stdout
    assert "Enrolled cooperatives per partner step" in table and "complete" in table


def test_status_of_an_unknown_partner(cli_runner: KopflowRunner) -> None:
    refused = cli_runner("partner", "status", "--partner", "lpg", expect=2)
    assert refused.stderr == "Error: unknown partner lpg; known partners: bri, pln, pos, telkom\n"


def test_partner_commands_in_indonesian(cli_runner: KopflowRunner, coop: str) -> None:
    cli_runner.lang = "id"
    steps = as_json(cli_runner("partner", "steps", coop, "bri", "--json"))["steps"]
    assert steps[0]["label"] == "Rekening koperasi dibuka di BRI"
    shown = cli_runner("partner", "steps", coop, "bri").stdout
    assert f"{coop} dengan bri" in shown and "belum ada" in shown
