"""Issue #13, field types: an exact ``decimal`` (``Decimal`` in Python, its exact text in the
audit body) with bounds that may exclude and a unit; a plugin's own choice labels; the
cross-step date order and uniqueness checks on a partner's fields. On both backends, through
the engine and the CLI, with the made-up partner of tests/plugins/gudang.py."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from engine_helpers import drive_to, rows, seeds

from kopflow.audit.canonical import canonical_bytes
from kopflow.errors import EvidenceError
from kopflow.flow.spec import FieldSpec, load_workflow, validate_file

PLUGIN = str(Path(__file__).parent / "plugins" / "gudang.py")
CAPACITY = FieldSpec(
    "capacity", "decimal", {"id": "Kapasitas", "en": "Capacity"}, min=0, exclusive="min"
)


@pytest.mark.parametrize(
    ("given", "parsed"),
    [("0.5", "0.5"), ("0,5", "0.5"), ("0.50", "0.5"), (0.5, "0.5"), ("12", "12"), (3, "3"),
     (" 1.25 ", "1.25"), ("100.000", "100"), (Decimal("2.0"), "2")],
)  # fmt: skip
def test_a_decimal_is_exact(given: object, parsed: str) -> None:
    value = CAPACITY.parse(given)
    assert type(value) is Decimal and value == Decimal(parsed) and str(value) == parsed


@pytest.mark.parametrize(
    ("given", "message"),
    [("0", "capacity: 0 must be above 0"), ("-0.5", "capacity: -0.5 must be above 0"),
     ("1e3", "capacity: '1e3' is not a decimal number; write e.g. 0.5 or 0,5"),
     ("1.500,5", "capacity: '1.500,5' is not a decimal number; write e.g. 0.5 or 0,5"),
     ("abc", "capacity: 'abc' is not a decimal number; write e.g. 0.5 or 0,5")],
)  # fmt: skip
def test_a_decimal_out_of_bounds_or_malformed_is_refused(given: str, message: str) -> None:
    with pytest.raises(EvidenceError) as err:
        CAPACITY.parse(given)
    assert str(err.value) == message


def test_exclusive_picks_the_bound() -> None:
    label = {"id": "x", "en": "x"}
    both = FieldSpec("x", "decimal", label, min=0, max=1, exclusive=True)
    inclusive = FieldSpec("x", "integer", label, min=0, max=1)
    upper = FieldSpec("x", "integer", label, min=0, max=1, exclusive="max")
    assert both.parse("0.999") == Decimal("0.999")
    for bad in ("0", "1"):
        with pytest.raises(EvidenceError):
            both.parse(bad)
    assert (inclusive.parse("0"), inclusive.parse("1"), upper.parse("0")) == (0, 1, 0)
    with pytest.raises(EvidenceError, match="1 must be below 1"):
        upper.parse("1")


@pytest.fixture
def engine(db_url: str) -> Any:
    """An initialised database whose plugins are the built-ins and ``gudang``, with one
    cooperative in partner onboarding enrolled with it."""
    from kopflow.engine import Kopflow
    from kopflow.host.manager import make_plugin_host

    host = make_plugin_host(extra_modules=[PLUGIN], load_entry_points=True)
    assert host.errors == []
    kopflow = Kopflow(db_url, plugins=host)
    kopflow.init()
    kopflow.register(seeds(2), source="test")
    for coop in ("KDMP-900001", "KDMP-900002"):
        drive_to(kopflow, coop, "onboarding")
        kopflow.enroll(coop, ["gudang"])
    return kopflow


def audit_body(engine: Any, seq: int) -> bytes:
    """The audit event ``seq``'s body as stored and hashed, checked to be its canonical form."""
    (row,) = rows(engine, "SELECT body FROM audit_event WHERE seq = :seq", seq=seq)
    body = row["body"].encode("utf-8")
    assert canonical_bytes(json.loads(body)) == body
    return body


def test_a_decimal_round_trips_and_is_audited_as_its_exact_text(engine: Any) -> None:
    import gudang  # type: ignore[import-not-found]  # tests/plugins/gudang.py, loaded by the host

    evidence = {"date": "2025-06-01", "capacity": "0.5", "kind": "cold"}
    done = engine.complete_step("KDMP-900001", "gudang.survey", evidence)
    assert gudang.SEEN[-1]["capacity"] == Decimal("0.5")  # the hook sees a Decimal
    assert b'"capacity":"0.5"' in audit_body(engine, done.audit_seq)
    (stored,) = rows(engine, "SELECT evidence FROM step_record WHERE step = 'gudang.survey'")
    assert json.loads(stored["evidence"])["capacity"] == "0.5"
    record = engine.partner_steps("KDMP-900001", "gudang")
    assert record["steps"][0]["evidence"] == {
        "capacity": "0.5",
        "date": "2025-06-01",
        "kind": "cold",
    }
    # Read back, a view (hooks, the read API) gives the Decimal again, not the stored text.
    engine.complete_step("KDMP-900001", "gudang.contract", {"number": "S-1", "date": "2025-06-02"})
    assert gudang.VIEWS[-1].evidence_of("gudang.survey")["capacity"] == Decimal("0.5")
    (survey,) = engine.queries().partner_steps("KDMP-900001", "gudang")[:1]
    assert survey.evidence["capacity"] == Decimal("0.5")
    # A correction that names another field keeps the decimal as it was.
    engine.complete_step("KDMP-900001", "gudang.survey", {"kind": "dry"}, reason="typo")
    again = engine.partner_steps("KDMP-900001", "gudang")["steps"][0]["evidence"]
    assert again["capacity"] == "0.5" and again["kind"] == "dry"


def test_zero_is_refused_and_nothing_is_written(engine: Any) -> None:
    before = rows(engine, "SELECT count(*) AS n FROM audit_event")[0]["n"]
    with pytest.raises(EvidenceError, match="capacity: 0 must be above 0"):
        engine.complete_step(
            "KDMP-900001", "gudang.survey", {"date": "2025-06-01", "capacity": "0"}
        )
    assert rows(engine, "SELECT count(*) AS n FROM audit_event")[0]["n"] == before


def test_a_partners_fields_get_the_cross_step_checks(engine: Any) -> None:
    """``not_before``, ``unique`` and ``min_date`` on a partner's own fields (issue #12's keys)."""
    survey = {"date": "2025-06-10", "capacity": "2"}
    with pytest.raises(EvidenceError, match="earliest"):
        engine.complete_step("KDMP-900001", "gudang.survey", {**survey, "date": "2025-01-01"})
    engine.complete_step("KDMP-900001", "gudang.survey", survey)
    engine.complete_step("KDMP-900002", "gudang.survey", survey)
    contract = {"number": "SEWA-1", "date": "2025-06-01"}
    with pytest.raises(EvidenceError) as early:
        engine.complete_step("KDMP-900001", "gudang.contract", contract)
    assert "gudang.survey.date" in str(early.value) or "Survey date" in str(early.value)
    engine.complete_step("KDMP-900001", "gudang.contract", {**contract, "date": "2025-06-11"})
    with pytest.raises(EvidenceError) as taken:
        engine.complete_step("KDMP-900002", "gudang.contract", {**contract, "date": "2025-06-11"})
    assert "KDMP-900001" in str(taken.value)


def test_coop_show_and_next_show_the_unit_and_the_choice_labels(
    engine: Any, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kopflow.cli import App, cli

    monkeypatch.setenv("KOPFLOW_LANG", "en")
    evidence = {"date": "2025-06-01", "capacity": "0,5", "kind": "cold"}
    engine.complete_step("KDMP-900001", "gudang.survey", evidence)

    def invoke(*args: str) -> str:
        app = App(plugin_host=engine.plugins, db=engine.url)
        result = runner.invoke(cli, list(args), obj=app, prog_name="kopflow")
        assert result.exit_code == 0, result.output
        return result.stdout

    shown = invoke("coop", "show", "KDMP-900001")
    assert "capacity: 0.5 tonnes" in shown and "kind: Cold store" in shown
    steps = invoke("partner", "steps", "KDMP-900001", "gudang", "--json")
    assert json.loads(steps)["steps"][0]["evidence"]["capacity"] == "0.5"
    described = invoke("next", "KDMP-900002")
    assert "capacity (decimal number, e.g. 0.5, in tonnes, above 0, at most 1000" in described
    assert "kind (one of dry (Dry store), cold (Cold store)" in described


WORKFLOW = Path(__file__).resolve().parent.parent / "workflows" / "kdkmp.yaml"


def with_field(tmp_path: Path, field: str) -> Path:
    """kdkmp.yaml with ``field`` (YAML, one flow mapping) added to the socialisation step."""
    text = WORKFLOW.read_text(encoding="utf-8")
    anchor = "      - id: socialisation\n"
    start = text.index(anchor)
    fields = text.index("        fields:\n", start) + len("        fields:\n")
    path = tmp_path / "kdkmp.yaml"
    path.write_text(text[:fields] + f"          - {field}\n" + text[fields:], encoding="utf-8")
    return path


def test_a_workflow_field_can_be_decimal(tmp_path: Path) -> None:
    path = with_field(
        tmp_path,
        "{name: hall_area, type: decimal, label: {id: Luas balai, en: Hall area}, min: 0, "
        "exclusive: min, max: 2.5, unit: {id: ha, en: ha}, required: false}",
    )
    field = next(
        f for f in load_workflow(path).step("socialisation").fields if f.name == "hall_area"
    )  # type: ignore[union-attr]  # the step exists
    assert (field.min, field.max, field.exclusive) == (Decimal(0), Decimal("2.5"), "min")
    assert field.unit == {"id": "ha", "en": "ha"} and field.parse("0.5") == Decimal("0.5")


def test_workflow_validate_names_a_bad_decimal_field(tmp_path: Path) -> None:
    path = with_field(
        tmp_path,
        "{name: hall_area, type: decimal, label: {id: Luas, en: Area}, min: lots, exclusive: both}",
    )
    problems = validate_file(path)
    assert any("hall_area" in p or "min" in p for p in problems), problems
    assert any(p.endswith("expected a decimal number, e.g. 0.5, got 'lots'") for p in problems)
    assert any(p.endswith("expected true, false, min or max, got 'both'") for p in problems)
