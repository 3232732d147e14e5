"""Pertamina Patra Niaga onboarding: the cooperative becomes an LPG 3 kg sub-base (sub-pangkalan).

An outside partner plugin, shipped as its own distribution (``kopflow-pertamina``) and found
through the ``kopflow`` entry-point group; it imports only ``kopflow.plugin``. The four steps
are required and strictly ordered (kopflow's docs/domain.md, "Partners"): registered in
SIMKOPDES, verified by Pertamina's regional office against the existing LPG agent, ratified in
the dealer system (DDMS), merchant app active with the monthly cylinder allocation.
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

__version__ = "0.1.0"

#: Allocations are set per region, 100 to 300 cylinders a month (200 was one region's starting
#: figure); there is no national cap. Anything above this is treated as a typing error.
MAX_PLAUSIBLE_ALLOCATION = 1000


def _label(id_: str, en: str) -> dict[str, str]:
    return {"id": id_, "en": en}


PARTNER = PartnerSpec(
    code="pertamina",
    name=_label("Pertamina Patra Niaga (LPG 3 kg)", "Pertamina Patra Niaga (LPG 3 kg)"),
    description=_label(
        "Koperasi menjadi sub-pangkalan LPG 3 kg: terdaftar, diverifikasi, diratifikasi di DDMS, "
        "aplikasi merchant aktif",
        "The cooperative becomes an LPG 3 kg sub-base: registered, verified, ratified in DDMS, "
        "merchant app active",
    ),
    steps=(
        StepSpec(
            "registered",
            _label("Terdaftar sebagai calon sub-pangkalan di SIMKOPDES",
                   "Registered as a prospective sub-base in SIMKOPDES"),
            "partner",
            fields=(
                FieldSpec("date", "date", _label("Tanggal pendaftaran", "Date registered")),
                FieldSpec("registration_number", "reference",
                          _label("Nomor pendaftaran", "Registration number"), required=False),
            ),
        ),
        StepSpec(
            "verified",
            _label("Diverifikasi kantor regional Pertamina", "Verified by Pertamina's regional office"),
            "partner",
            after=("registered",),
            fields=(
                FieldSpec("agent_name", "text",
                          _label("Agen LPG yang memasok", "The LPG agent that supplies it")),
                FieldSpec("office", "text", _label("Kantor regional", "Regional office"), required=False),
                FieldSpec("date", "date", _label("Tanggal verifikasi", "Date verified")),
            ),
        ),
        StepSpec(
            "ddms_ratified",
            _label("Kemitraan diratifikasi di DDMS", "Partnership ratified in DDMS"),
            "partner",
            after=("verified",),
            fields=(
                FieldSpec("dealer_number", "reference",
                          _label("Nomor ratifikasi / sub-pangkalan", "Ratification / dealer number")),
                FieldSpec("date", "date", _label("Tanggal ratifikasi", "Date ratified")),
            ),
        ),
        StepSpec(
            "merchant_active",
            _label("Aplikasi merchant aktif", "Merchant app active"),
            "partner",
            after=("ddms_ratified",),
            fields=(
                FieldSpec("merchant_id", "reference", _label("ID merchant", "Merchant id")),
                FieldSpec("monthly_allocation", "integer",
                          _label("Alokasi bulanan (tabung)", "Monthly allocation (cylinders)")),
                FieldSpec("date", "date", _label("Tanggal aktif", "Date active")),
            ),
        ),
    ),
)  # fmt: skip


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    """Pertamina's identity; ``name`` matches the entry-point name."""
    return PluginInfo(name="pertamina", version=__version__)


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    """Declare Pertamina and its four steps."""
    register(PARTNER)


@hookimpl
def kopflow_validate_step(
    coop: CoopView, partner: str | None, step: str, evidence: dict[str, object]
) -> list[str] | None:
    """The monthly allocation is a positive number of cylinders, and plausibly sized."""
    if partner != "pertamina" or step != "merchant_active":
        return None
    allocation = evidence.get("monthly_allocation")
    if not isinstance(allocation, int):
        return None  # blank optional values never reach this hook; the type is kopflow's job
    if allocation <= 0:
        return [localize(
            {"id": "alokasi bulanan harus lebih dari 0 tabung (tertulis {value})",
             "en": "the monthly allocation must be more than 0 cylinders (got {value})"},
            value=allocation,
        )]  # fmt: skip
    if allocation > MAX_PLAUSIBLE_ALLOCATION:
        return [localize(
            {"id": "alokasi bulanan {value} tabung tidak wajar (biasanya 100 sampai 300, "
                   "paling banyak {max}); periksa angkanya",
             "en": "a monthly allocation of {value} cylinders is implausible (usually 100 to 300, "
                   "at most {max}); check the figure"},
            value=allocation, max=MAX_PLAUSIBLE_ALLOCATION,
        )]  # fmt: skip
    return None
