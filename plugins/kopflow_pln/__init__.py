"""PLN onboarding: the bill-payment and electricity-token agent, and two optional services.

A built-in partner written exactly as an outside one: it imports only ``kopflow.plugin``.
Required: the PPOB agent activated (docs/domain.md, "Partners"). Optional, because
unconfirmed: a new power connection for the premises (its PLN customer id is checked: 12
digits) and PLN Icon Plus internet.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kopflow.plugin import (
    CoopView,
    FieldSpec,
    PartnerSpec,
    PluginInfo,
    StepSpec,
    for_steps,
    hookimpl,
    localize,
)

__version__ = "0.1.0"

CUSTOMER_ID = re.compile(r"[0-9]{12}")

PARTNER = PartnerSpec(
    code="pln",
    name={"id": "PLN", "en": "PLN (state electricity company)"},
    description={
        "id": "Agen PPOB (pembayaran tagihan dan token listrik); sambungan baru dan ICONPLUS opsional",
        "en": "PPOB agent (bill payment and electricity tokens); new connection and ICONPLUS optional",
    },
    steps=(
        StepSpec(
            "ppob_agent",
            {
                "id": "Agen PPOB (tagihan & token listrik) aktif",
                "en": "PPOB bill-payment and token agent active",
            },
            "partner",
            fields=(
                FieldSpec("agent_id", "reference", {"id": "ID agen", "en": "Agent id"}),
                FieldSpec("date", "date", {"id": "Tanggal aktif", "en": "Date activated"}),
            ),
        ),  # fmt: skip
        StepSpec(
            "power_connection",
            {"id": "Sambungan listrik baru", "en": "New power connection"},
            "partner",
            required=False,
            fields=(
                FieldSpec(
                    "customer_id", "reference", {"id": "ID pelanggan PLN", "en": "PLN customer id"}
                ),
                FieldSpec("date", "date", {"id": "Tanggal penyambungan", "en": "Date connected"}),
            ),
        ),
        StepSpec(
            "iconplus",
            {"id": "Internet PLN Icon Plus aktif", "en": "PLN Icon Plus internet active"},
            "partner",
            required=False,
            fields=(
                FieldSpec("service_id", "reference", {"id": "ID layanan", "en": "Service id"}),
                FieldSpec("date", "date", {"id": "Tanggal aktif", "en": "Date active"}),
            ),
        ),
    ),
    # A PPOB agent is a business (NIB) that settles bill payments through a bank account in
    # its own name; partner steps start in onboarding anyway.
    enroll_from="onboarding",
    enroll_requires=("sk_ahu", "nib", "bank_account"),
)


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    """PLN's identity."""
    return PluginInfo(name="pln", version=__version__)


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    """Declare PLN and its steps."""
    register(PARTNER)


@hookimpl
@for_steps("pln.power_connection")
def kopflow_validate_step(
    coop: CoopView, partner: str | None, step: str, evidence: dict[str, object]
) -> list[str] | None:
    """A PLN customer id (ID pelanggan) has 12 digits."""
    if partner != "pln" or step != "power_connection":
        return None
    customer = str(evidence.get("customer_id", ""))
    if not CUSTOMER_ID.fullmatch(customer):
        return [localize(
            {"id": "ID pelanggan PLN '{value}' harus 12 angka",
             "en": "PLN customer id '{value}' must be 12 digits"},
            value=customer,
        )]  # fmt: skip
    return None
