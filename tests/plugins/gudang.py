"""Partner ``gudang`` (a warehouse partner, made up) whose fields use issue #13's field types:
an exact decimal capacity in tonnes above 0, a choice list with its own labels, and the
cross-step checks (``not_before`` another of its steps, ``unique``, ``min_date``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from kopflow.plugin import CoopView, FieldSpec, PartnerSpec, PluginInfo, StepSpec, hookimpl

SEEN: list[Mapping[str, object]] = []  # the evidence kopflow_validate_step received
VIEWS: list[CoopView] = []  # and the cooperative it was given

PARTNER = PartnerSpec(
    code="gudang",
    name={"id": "Mitra Gudang", "en": "Warehouse partner"},
    steps=(
        StepSpec("survey", {"id": "Survei gudang", "en": "Warehouse survey"}, "partner", fields=(
            FieldSpec("date", "date", {"id": "Tanggal survei", "en": "Survey date"},
                      min_date="2025-03-27"),
            FieldSpec("capacity", "decimal", {"id": "Kapasitas", "en": "Capacity"},
                      min=Decimal(0), exclusive="min", max=Decimal("1000"),
                      unit={"id": "ton", "en": "tonnes"}),
            FieldSpec("kind", "choice", {"id": "Jenis gudang", "en": "Kind of warehouse"},
                      required=False, choice_labels={
                          "dry": {"id": "Gudang kering", "en": "Dry store"},
                          "cold": {"id": "Gudang pendingin", "en": "Cold store"},
                      }),
        )),
        StepSpec("contract", {"id": "Kontrak sewa", "en": "Lease contract"}, "partner",
                 after=("survey",), fields=(
            FieldSpec("number", "reference", {"id": "Nomor kontrak", "en": "Contract number"},
                      unique=True),
            FieldSpec("date", "date", {"id": "Tanggal kontrak", "en": "Contract date"},
                      not_before=("gudang.survey.date",)),
        )),
    ),
)  # fmt: skip


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    return PluginInfo(name="gudang", version="0.1.0")


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    register(PARTNER)


@hookimpl
def kopflow_validate_step(
    coop: CoopView, partner: str | None, step: str, evidence: Mapping[str, object]
) -> list[str] | None:
    if partner == "gudang":
        SEEN.append(evidence)
        VIEWS.append(coop)
    return None
