"""Tests for kopflow.flow.spec: loading and validating definitions, and parsing evidence."""

from __future__ import annotations

import datetime
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from kopflow import i18n
from kopflow.errors import EvidenceError, NotFoundError, WorkflowError
from kopflow.flow.spec import (
    FIELD_TYPES,
    FieldSpec,
    StepSpec,
    Workflow,
    find_workflow,
    load_workflow,
    validate_file,
    workflows_dir,
)

SHIPPED = Path(__file__).resolve().parent.parent / "workflows"
TODAY = datetime.date(2025, 8, 1)
LABEL = {"id": "Label", "en": "Label"}


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are asserted in English, whatever the machine's locale."""
    i18n.set_language("en")
    yield
    i18n.set_language(None)


@pytest.fixture
def kdkmp() -> Workflow:
    return load_workflow(SHIPPED / "kdkmp.yaml")


def write(tmp_path: Path, text: str, name: str = "wf.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


# A small valid definition the problem tests break one piece at a time.
MINIMAL = """\
    name: mini
    version: 1
    label: {id: Mini, en: Mini}
    roles: [officer]
    choices:
      units: {sembako: {id: Sembako, en: Groceries}}
    onboarding_stage: first
    initial: first
    stages:
      - id: first
        label: {id: Satu, en: One}
        sla_days: 10
        steps:
          - id: alpha
            label: {id: A, en: A}
            role: officer
      - id: last
        label: {id: Akhir, en: Last}
      - id: paused
        label: {id: Jeda, en: Paused}
        side: true
    events:
      - {name: go, label: {id: Maju, en: Go}, from: first, to: last, advance: true}
      - {name: pause, label: {id: Jeda, en: Pause}, from: [first, last], to: paused}
      - {name: resume, label: {id: Lanjut, en: Resume}, from: paused, to: "@previous"}
"""


# --- the shipped definitions ----------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_workflow_validates(path: Path) -> None:
    assert validate_file(path) == []


def test_kdkmp_loads_with_the_domain_shape(kdkmp: Workflow) -> None:
    main = [s.id for s in kdkmp.main_stages()]
    assert main == ["formation", "legal", "consolidation", "onboarding", "operating"]
    assert [s.id for s in kdkmp.stages[len(main) :]] == ["suspended", "dissolved"]
    assert kdkmp.stage("dissolved").final and not kdkmp.stage("operating").final
    assert {s.id: s.sla_days for s in kdkmp.main_stages()} == {
        "formation": 60, "legal": 45, "consolidation": 90, "onboarding": 60, "operating": None,
    }  # fmt: skip
    assert [kdkmp.advance_event(s).name for s in main[:-1]] == [  # type: ignore[union-attr]
        "complete_formation", "complete_legal", "complete_consolidation", "start_operation",
    ]  # fmt: skip
    assert kdkmp.advance_event("operating") is None
    assert kdkmp.required_partners == ("bri",)
    assert kdkmp.onboarding_stage == "onboarding"
    assert len(kdkmp.choices["business_units"]) == 7
    assert kdkmp.choice_labels["business_units"]["sembako"]["id"] == "Gerai sembako"
    assert len(kdkmp.digest) == 64


def test_kdkmp_steps_and_fields(kdkmp: Workflow) -> None:
    assert kdkmp.stage_of_step("nib").id == "legal"  # type: ignore[union-attr]
    assert kdkmp.step("bri.account") is None
    assert kdkmp.step("microsite").required is False  # type: ignore[union-attr]
    assert not [s for s in kdkmp.stage("onboarding").steps if s.required]
    board = {f.name: f for f in kdkmp.step("musdesus").fields}["board_size"]  # type: ignore[union-attr]
    assert (board.type, board.min, board.odd) == ("integer", 5, True)
    units = {f.name: f for f in kdkmp.step("business_plan").fields}["units"]  # type: ignore[union-attr]
    assert units.multiple and units.choice_list == "business_units"
    resume = next(e for e in kdkmp.events if e.name == "resume")
    assert resume.dest == "@previous"
    assert all(e.reason_required for e in kdkmp.events if e.name in ("suspend", "dissolve"))


def test_every_step_accepts_note_and_file(kdkmp: Workflow) -> None:
    for stage in kdkmp.stages:
        for step in stage.steps:
            names = [f.name for f in step.fields]
            assert names[-2:] == ["note", "file"], step.id


def test_unknown_stage_lists_the_valid_ones(kdkmp: Workflow) -> None:
    with pytest.raises(NotFoundError, match="unknown stage 'operation'; stages: formation, legal"):
        kdkmp.stage("operation")


def test_find_workflow_uses_the_env_folder_and_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOPFLOW_WORKFLOWS", str(tmp_path))
    write(tmp_path, MINIMAL, "mini.yaml")
    assert workflows_dir() == tmp_path
    first = find_workflow("mini")
    assert find_workflow("mini") is first
    with pytest.raises(NotFoundError, match="unknown workflow 'kdkmp'; available in .*: mini"):
        find_workflow("kdkmp")
    with pytest.raises(NotFoundError):
        find_workflow("../mini")


def test_docs_example_is_valid(tmp_path: Path) -> None:
    """The complete example in docs/workflows.md must stay a valid definition."""
    doc = (SHIPPED.parent / "docs" / "workflows.md").read_text(encoding="utf-8")
    example = doc.split("## A complete small example", 1)[1].split("```yaml\n", 1)[1]
    assert validate_file(write(tmp_path, example.split("```", 1)[0])) == []


def test_workflows_dir_defaults_to_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KOPFLOW_WORKFLOWS", raising=False)
    assert workflows_dir().resolve() == SHIPPED
    assert find_workflow().name == "kdkmp"


# --- definition problems ----------------------------------------------------------------------


def test_minimal_definition_is_valid(tmp_path: Path) -> None:
    assert validate_file(write(tmp_path, MINIMAL)) == []


def test_broken_file_reports_every_problem_with_file_and_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: broken
        version: 0
        label: {id: Rusak}
        roles: [officer]
        choices:
          units: {sembako: {id: Sembako, en: Groceries}}
        onboarding_stage: first
        initial: first
        stagez: []
        stages:
          - id: first
            label: {id: Satu, en: One}
            sla_days: -5
            steps:
              - id: alpha
                label: {id: A, en: A}
                role: wizard
                after: [ghost, beta]
                fields:
                  - {name: when, type: datetime, label: {id: K, en: W}}
                  - {name: code, type: reference, pattern: '[0-9', label: {id: K, en: C}}
                  - {name: pick, type: choice, label: {id: P, en: P}}
                  - {name: pick2, type: choice, choices: colours, label: {id: P, en: P}}
                  - {name: when, type: date, label: {id: K, en: W}}
              - id: beta
                label: {id: B, en: B}
                role: officer
                after: [alpha]
              - id: alpha
                label: {id: A, en: A}
                role: officer
          - id: last
            label: {id: Akhir, en: Last}
          - id: first
            label: {id: Lagi, en: Again}
        events:
          - {name: go, label: {id: Maju, en: Go}, from: first, to: nowhere, advance: true}
          - {name: go, label: {id: Maju, en: Go}, from: first, to: last}
        """,
    )
    f = path
    types = "text, date, integer, rupiah, decimal, choice, reference"
    expected = [
        f"{f}: stagez: unknown key; expected one of name, version, label, roles, choices, "
        "required_partners, onboarding_stage, initial, stages, events",
        f"{f}: version: expected a positive whole number, got 0",
        f"{f}: label.en: required key is missing",
        f"{f}: stages[0].sla_days: expected a positive whole number, got -5",
        f"{f}: stages[0].steps[0].role: unknown role 'wizard'; roles: officer",
        f"{f}: stages[0].steps[0].fields[0].type: unknown field type 'datetime'; "
        f"expected one of {types}",
        f"{f}: stages[0].steps[0].fields[1].pattern: field code: the pattern is refused: "
        "missing ]: [0-9; patterns are RE2 expressions (no backreferences or lookaround)",
        f"{f}: stages[0].steps[0].fields[2].choices: a choice field needs 'choices': "
        "one of the lists under 'choices' (units)",
        f"{f}: stages[0].steps[0].fields[3].choices: a choice field needs 'choices': "
        "one of the lists under 'choices' (units)",
        f"{f}: stages[0].steps[0].fields[4].name: duplicate field name 'when'",
        f"{f}: stages[2].id: duplicate stage id 'first'",
        f"{f}: stages[0].steps[2].id: duplicate step id 'alpha'",
        f"{f}: events[1].name: duplicate event name 'go'",
        f"{f}: events[0].to: unknown stage 'nowhere'; stages: first, last",
        f"{f}: events[0].advance: an advance event must lead from main stages to a later one",
        f"{f}: stages[0].steps[0].after[0]: 'ghost' is not a step of this stage "
        "(alpha, beta, alpha)",
        f"{f}: stages[0].steps: 'after' forms a cycle: alpha -> beta -> alpha",
    ]
    problems = validate_file(path)
    assert sorted(problems) == sorted(expected)
    with pytest.raises(WorkflowError) as caught:
        load_workflow(path)
    assert caught.value.problems == problems


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "from: first, to: last, advance: true}",
            "from: paused, to: last}",
            "stages[0]: main stage 'first' has no way forward: no event leads to another main stage",
        ),
        ("initial: first", "initial: paused", "initial: 'paused' is not a main stage"),
        ("  units: {sembako: {id: Sembako, en: Groceries}}", "  units: {sembako: {id: S}}",
         "choices.units.sembako.en: required key is missing"),
        ("sla_days: 10", "sla_days: ten", "stages[0].sla_days: expected a positive whole number"),
        ("    side: true", "    side: true\n    sla_days: 3",
         "stages[2].sla_days: side stages have no deadline"),
        ("to: \"@previous\"", "to: first, final: yes",
         "events[2].final: unknown key; expected one of name, label, from, to"),
        ("from: paused, to", "from: first, to",
         "events[2].to: '@previous' only returns from side stages"),
        ("role: officer", "role: officer\n        after: [alpha]",
         "stages[0].steps: 'after' forms a cycle: alpha -> alpha"),
    ],
    ids=["no-way-forward", "side-initial", "label-missing-en", "sla-not-int",
         "side-sla", "unknown-event-key", "previous-from-main", "self-after"],
)  # fmt: skip
def test_single_problem_is_found(tmp_path: Path, old: str, new: str, problem: str) -> None:
    text = textwrap.dedent(MINIMAL)
    assert old in text  # the test edits what it means to edit
    problems = validate_file(write(tmp_path, text.replace(old, new, 1)))
    assert any(problem in p for p in problems), problems


def test_unreachable_stage_is_detected(tmp_path: Path) -> None:
    orphan = "  - id: orphan\n    label: {id: Yatim, en: Orphan}\n    side: true\n"
    text = textwrap.dedent(MINIMAL).replace("  - id: paused\n", orphan + "  - id: paused\n")
    path = write(tmp_path, text)
    assert validate_file(path) == [
        f"{path}: stages[2]: stage 'orphan' cannot be reached from the initial stage 'first'",
    ]


def test_yaml_syntax_error_is_one_problem_with_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nstages:\n  - id: a\n   label: [\n")
    problems = validate_file(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: line 4, column 4: invalid YAML: ")


def test_repeated_yaml_key_is_reported(tmp_path: Path) -> None:
    text = textwrap.dedent(MINIMAL).replace("version: 1\n", "version: 1\nversion: 2\n")
    path = write(tmp_path, text)
    assert validate_file(path) == [f"{path}: line 3, column 1: duplicate key 'version'"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "(document): expected a mapping, got None"), ("- a\n", "(document): expected a mapping")],
    ids=["empty", "list"],
)
def test_document_that_is_not_a_mapping(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    assert validate_file(path)[0].startswith(f"{path}: {problem}")


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "gone.yaml"
    assert validate_file(path) == [
        f"{path}: (document): cannot read the file: No such file or directory"
    ]


# --- evidence parsing -------------------------------------------------------------------------


def refused(spec: FieldSpec, raw: object, match: str) -> EvidenceError:
    with pytest.raises(EvidenceError, match=match) as caught:
        spec.parse(raw, today=TODAY)
    assert caught.value.field == spec.name
    assert str(caught.value).startswith(f"{spec.name}: ")
    return caught.value


def musdesus_field(kdkmp: Workflow, name: str) -> FieldSpec:
    return {f.name: f for f in kdkmp.step("musdesus").fields}[name]  # type: ignore[union-attr]


def test_field_types_are_the_documented_ones() -> None:
    assert FIELD_TYPES == ("text", "date", "integer", "rupiah", "decimal", "choice", "reference")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2025-07-21", "2025-07-21"), (" 2025-08-01 ", "2025-08-01"),
     (datetime.date(2025, 1, 2), "2025-01-02"), (datetime.datetime(2025, 1, 2, 9), "2025-01-02")],
    ids=["iso", "spaces", "date", "datetime"],
)  # fmt: skip
def test_date_accepts(raw: object, expected: str) -> None:
    assert FieldSpec("date", "date", LABEL).parse(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [("21/07/2025", "not a date; write YYYY-MM-DD"), ("2025-02-30", "not a date"),
     ("20250721", "not a date"), ("kemarin", "not a date"),
     ("2025-08-02", "2025-08-02 is in the future")],
    ids=["dmy", "feb-30", "compact", "word", "future"],
)  # fmt: skip
def test_date_refuses(raw: str, match: str) -> None:
    refused(FieldSpec("deed_date", "date", LABEL), raw, match)


def test_date_defaults_today_to_the_real_today() -> None:
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    with pytest.raises(EvidenceError, match="in the future"):
        FieldSpec("date", "date", LABEL).parse(tomorrow.isoformat())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1500000", 1_500_000), ("Rp 1.500.000", 1_500_000), ("rp1.500.000", 1_500_000),
     ("Rp. 50.000,-", 50_000), (250_000, 250_000), ("0", 0)],
    ids=["plain", "rp-dots", "lower", "no-sen-mark", "int", "zero"],
)  # fmt: skip
def test_rupiah_accepts(raw: object, expected: int) -> None:
    value = FieldSpec("simpanan_pokok", "rupiah", LABEL).parse(raw, today=TODAY)
    assert value == expected and type(value) is int


@pytest.mark.parametrize(
    ("raw", "match"),
    [("-50000", "cannot be negative"), ("Rp -50.000", "cannot be negative"),
     (-1, "cannot be negative"), ("1.500.000,50", "has a fraction; money is whole rupiah"),
     ("1500,5", "has a fraction"), ("1.5", "has a fraction"), ("1,500,000", "has a fraction"),
     (1500.0, "has a fraction"), ("lima ribu", "not a rupiah amount"), (True, "expected text")],
    ids=["negative", "rp-negative", "negative-int", "sen", "comma", "dot-fraction",
         "english-commas", "float", "words", "bool"],
)  # fmt: skip
def test_rupiah_refuses(raw: object, match: str) -> None:
    refused(FieldSpec("simpanan_wajib", "rupiah", LABEL), raw, match)


def test_integer_bounds_and_odd(kdkmp: Workflow) -> None:
    board = musdesus_field(kdkmp, "board_size")
    assert board.parse("7", today=TODAY) == 7
    assert board.parse(5, today=TODAY) == 5
    refused(board, "6", "6 must be an odd number")
    refused(board, "3", "3 is below the minimum of 5")
    refused(board, "5.0", "'5.0' is not a whole number")
    refused(board, 7.0, "not a whole number")
    refused(musdesus_field(kdkmp, "supervisors_size"), 2, "2 is below the minimum of 3")
    refused(FieldSpec("n", "integer", LABEL, max=10), 11, "11 is above the maximum of 10")
    refused(FieldSpec("n", "integer", LABEL), 2**53, "too large to record")


def test_land_must_be_at_least_600_m2(kdkmp: Workflow) -> None:
    area = {f.name: f for f in kdkmp.step("land_verified").fields}["area_m2"]  # type: ignore[union-attr]
    assert area.parse("600", today=TODAY) == 600
    refused(area, "599", "below the minimum of 600")


def test_choice_single_and_multiple(kdkmp: Workflow) -> None:
    model = musdesus_field(kdkmp, "coop_model")
    assert model.parse("New", today=TODAY) == "new"
    refused(
        model, "new,develop", "'new,develop' is not allowed; choose from new, develop, revitalise"
    )
    refused(model, ["new"], "only one value is allowed")
    units = {f.name: f for f in kdkmp.step("unit_opened").fields}["units"]  # type: ignore[union-attr]
    # canonical order is the list's order, duplicates dropped
    assert units.parse("apotek, sembako,apotek", today=TODAY) == ["sembako", "apotek"]
    assert units.parse(["klinik"], today=TODAY) == ["klinik"]
    error = refused(units, "sembako,lpg", "'lpg' is not allowed; choose from kantor, sembako")
    assert "logistik" in str(error)
    refused(units, ",", "a value is required")


@pytest.mark.parametrize(
    ("step", "field", "good", "bad", "expected"),
    [("nib", "nib", "1234567890123", "123456789012", "13 digits"),
     ("npwp", "npwp", "0123456789012345", "01.234.567.8-901.234", "16 digits"),
     ("bank_account", "account_number", "002101000123456", "0021-0100", "6 to 20 digits")],
    ids=["nib", "npwp", "account"],
)  # fmt: skip
def test_reference_patterns(
    kdkmp: Workflow, step: str, field: str, good: str, bad: str, expected: str
) -> None:
    spec = {f.name: f for f in kdkmp.step(step).fields}[field]  # type: ignore[union-attr]
    assert spec.parse(f" {good} ", today=TODAY) == good
    refused(spec, bad, f"'{bad}' does not have the expected format: {expected}")


def test_reference_without_hint_names_the_pattern() -> None:
    refused(
        FieldSpec("code", "reference", LABEL, pattern="[A-Z]{3}"),
        "ab",
        r"expected format: \[A-Z\]\{3\}",
    )


def test_registry_number_is_not_hard_validated(kdkmp: Workflow) -> None:
    spec = kdkmp.step("registry_number").fields[0]  # type: ignore[union-attr]
    assert (spec.type, spec.pattern) == ("text", None)
    assert spec.parse("KOP/3504/2025-0001", today=TODAY) == "KOP/3504/2025-0001"


def test_text_refuses_non_text_and_blank() -> None:
    spec = FieldSpec("notary_name", "text", LABEL)
    assert spec.parse("  Hj. Siti Aminah, S.H., M.Kn. ") == "Hj. Siti Aminah, S.H., M.Kn."
    refused(spec, {"a": 1}, "expected text, got dict")
    refused(spec, "   ", "a value is required")


# --- step evidence ----------------------------------------------------------------------------


def test_step_validate_parses_every_field(kdkmp: Workflow) -> None:
    step = kdkmp.step("musdesus")
    raw = {
        "date": "2025-06-10", "minutes_number": "005/BA/MUSDESUS/VI/2025", "attendance": "87",
        "coop_model": "new", "board_size": "5", "supervisors_size": "3",
        "simpanan_pokok": "Rp 100.000", "simpanan_wajib": "10000", "note": "", "file": "ba.pdf",
    }  # fmt: skip
    assert step.validate(raw, today=TODAY) == {  # type: ignore[union-attr]
        "date": "2025-06-10", "minutes_number": "005/BA/MUSDESUS/VI/2025", "attendance": 87,
        "coop_model": "new", "board_size": 5, "supervisors_size": 3, "simpanan_pokok": 100_000,
        "simpanan_wajib": 10_000, "file": "ba.pdf",
    }  # fmt: skip


def test_step_validate_refuses_unknown_field() -> None:
    step = StepSpec("nib", LABEL, "officer", fields=(FieldSpec("nib", "reference", LABEL),))
    with pytest.raises(
        EvidenceError, match="nbi: unknown field for step Label; it accepts nib, note, file"
    ) as caught:
        step.validate({"nib": "1234567890123", "nbi": "x"})
    assert caught.value.field == "nbi"


def test_step_validate_refuses_missing_required_and_omits_optional() -> None:
    fields = (
        FieldSpec("decree_number", "text", LABEL),
        FieldSpec("decree_date", "date", LABEL, required=False),
    )
    step = StepSpec("sk_ahu", LABEL, "officer", fields=fields)
    with pytest.raises(
        EvidenceError, match=r"decree_number \(Label\): required by step Label"
    ) as caught:
        step.validate({"decree_date": "2025-07-01"}, today=TODAY)
    assert caught.value.field == "decree_number"
    assert step.validate({"decree_number": "AHU-0012345.AH.01.29.TAHUN 2025"}) == {
        "decree_number": "AHU-0012345.AH.01.29.TAHUN 2025"
    }


def test_step_keeps_a_declared_standard_field() -> None:
    note = FieldSpec("note", "text", LABEL, required=True)
    step = StepSpec("x", LABEL, "officer", fields=(note,))
    assert [f.name for f in step.fields] == ["note", "file"]
    assert step.fields[0] is note


def test_workflows_dir_reads_the_definitions_shipped_in_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed from a wheel, the definitions are kopflow/workflows (issue #12)."""
    import importlib.resources

    monkeypatch.delenv("KOPFLOW_WORKFLOWS", raising=False)
    package = tmp_path / "kopflow"
    (package / "workflows").mkdir(parents=True)
    write(package / "workflows", MINIMAL, "mini.yaml")
    monkeypatch.setattr(importlib.resources, "files", lambda name: package)
    assert workflows_dir() == package / "workflows"
    assert find_workflow("mini").name == "mini"
    monkeypatch.setenv("KOPFLOW_WORKFLOWS", str(SHIPPED))
    assert workflows_dir() == SHIPPED


@pytest.mark.slow
def test_the_wheel_carries_the_definitions_and_no_python_cap(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["-w", str(tmp_path), str(SHIPPED.parent)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("kopflow-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("kopflow/workflows/kdkmp.yaml")
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [
            line
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Python:")
        ]
    assert shipped == (SHIPPED / "kdkmp.yaml").read_bytes()
    assert requires == ["Requires-Python: >=3.11"]
