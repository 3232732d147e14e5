"""Pos Indonesia onboarding: the cooperation agreement (PKS), then the postal agent activated.

A built-in partner written exactly as an outside one: it imports only ``kopflow.plugin``.
Both steps are required and in that order (docs/domain.md, "Partners"). Which services the
logistics point handles (parcels, medicines with Kimia Farma, social assistance) is recorded
but optional.
"""

from __future__ import annotations

from collections.abc import Callable

from kopflow.plugin import FieldSpec, PartnerSpec, PluginInfo, StepSpec, hookimpl

__version__ = "0.1.0"

SERVICES = ("parcels", "medicines", "social_assistance")

PARTNER = PartnerSpec(
    code="pos",
    name={"id": "Pos Indonesia", "en": "Pos Indonesia"},
    description={
        "id": "Perjanjian kerja sama (PKS), lalu koperasi menjadi agen pos / titik logistik",
        "en": "Cooperation agreement (PKS), then the cooperative becomes a postal agent / logistics point",
    },
    steps=(
        StepSpec(
            "pks",
            {
                "id": "Perjanjian kerja sama (PKS) ditandatangani",
                "en": "Cooperation agreement (PKS) signed",
            },
            "partner",
            fields=(
                FieldSpec("pks_number", "reference", {"id": "Nomor PKS", "en": "PKS number"}),
                FieldSpec("date", "date", {"id": "Tanggal penandatanganan", "en": "Date signed"}),
            ),
        ),
        StepSpec(
            "agent",
            {
                "id": "Agen pos / titik logistik aktif",
                "en": "Postal agent / logistics point active",
            },
            "partner",
            after=("pks",),
            fields=(
                FieldSpec("agent_id", "reference", {"id": "ID agen pos", "en": "Postal agent id"}),
                FieldSpec("date", "date", {"id": "Tanggal aktif", "en": "Date activated"}),
                FieldSpec(
                    "services",
                    "choice",
                    {"id": "Layanan", "en": "Services"},
                    required=False,
                    choices=SERVICES,
                    multiple=True,
                ),  # fmt: skip
            ),
        ),
    ),
    # The cooperation agreement (PKS) is signed with a legal entity that has a business
    # identity number; partner steps start in onboarding anyway.
    enroll_from="onboarding",
    enroll_requires=("sk_ahu", "nib"),
)


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    """Pos Indonesia's identity."""
    return PluginInfo(name="pos", version=__version__)


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    """Declare Pos Indonesia and its steps."""
    register(PARTNER)
