"""Partners with enrolment rules (issue #13), for ``tests/test_enroll_rules.py``:

- ``gudang`` declares none: like a plugin written before the rules, it enrolls a cooperative in
  any stage but a final one (the defaults);
- ``pupuk`` enrolls from the onboarding stage on (``enroll_from``);
- ``idfood`` needs the cooperative's NIB and verified microsite first (``enroll_requires``);
- ``sphp`` is refused by this plugin's ``kopflow_guard_enroll`` with two reasons until the
  cooperative's land is verified and it lies in a pilot kabupaten.
"""

from __future__ import annotations

from collections.abc import Callable

from kopflow.plugin import (
    CoopView,
    FieldSpec,
    PartnerSpec,
    PluginInfo,
    StepSpec,
    hookimpl,
    localize,
)

PILOT = "Kabupaten Pasuruan"


def _partner(code: str, name: str, **rules: object) -> PartnerSpec:
    step = StepSpec(
        "agreement", {"id": "Perjanjian", "en": "Agreement"}, "partner",
        fields=(FieldSpec("date", "date", {"id": "Tanggal", "en": "Date"}),),
    )  # fmt: skip
    return PartnerSpec(code, {"id": name, "en": name}, (step,), **rules)  # type: ignore[arg-type]


PARTNERS = (
    _partner("gudang", "Gudang Desa"),
    _partner("pupuk", "Pupuk Indonesia", enroll_from="onboarding"),
    _partner("idfood", "ID Food", enroll_requires=("nib", "microsite")),
    _partner("sphp", "Bulog SPHP"),
)


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    return PluginInfo(name="enroll_rules", version="0.1.0")


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    for spec in PARTNERS:
        register(spec)


@hookimpl
def kopflow_guard_enroll(coop: CoopView, partner: str) -> list[str] | None:
    if partner != "sphp":
        return None  # not ours
    reasons = []
    if not coop.is_done("land_verified"):
        reasons.append(
            localize({"id": "belum ada lahan gudang terverifikasi",
                      "en": "no verified land for a warehouse yet"})
        )  # fmt: skip
    if coop.kabupaten != PILOT:
        reasons.append(
            localize({"id": "SPHP hanya untuk {pilot}", "en": "SPHP is only for {pilot}"},
                     pilot=PILOT)
        )  # fmt: skip
    return reasons
