"""Telkom onboarding: connectivity and the digital system for the cooperative's outlets.

A built-in partner written exactly as an outside one: it imports only ``kopflow.plugin``.
The details of Telkom's process are unconfirmed (docs/domain.md, "Partners"), so the steps
stay generic: a site survey (optional), the connection installed with its service id
(required), and digital onboarding such as the outlet's inventory system and bookkeeping
training (required, after the connection). Nothing here checks a format that has not been
confirmed.
"""

from __future__ import annotations

from collections.abc import Callable

from kopflow.plugin import FieldSpec, PartnerSpec, PluginInfo, StepSpec, hookimpl

__version__ = "0.1.0"

PARTNER = PartnerSpec(
    code="telkom",
    name={"id": "Telkom Indonesia", "en": "Telkom Indonesia"},
    description={
        "id": "Konektivitas dan sistem digital koperasi (rincian belum dikonfirmasi)",
        "en": "Connectivity and the cooperative's digital system (details unconfirmed)",
    },
    steps=(
        StepSpec(
            "survey",
            {"id": "Survei lokasi", "en": "Site survey"},
            "partner",
            required=False,
            fields=(FieldSpec("date", "date", {"id": "Tanggal survei", "en": "Survey date"}),),
        ),
        StepSpec(
            "connection",
            {"id": "Koneksi terpasang", "en": "Connection installed"},
            "partner",
            fields=(
                FieldSpec("service_id", "reference", {"id": "ID layanan", "en": "Service id"}),
                FieldSpec("date", "date", {"id": "Tanggal pemasangan", "en": "Date installed"}),
            ),
        ),
        StepSpec(
            "digital_onboarding",
            {"id": "Onboarding sistem digital", "en": "Digital onboarding"},
            "partner",
            after=("connection",),
            fields=(FieldSpec("date", "date", {"id": "Tanggal", "en": "Date"}),),
        ),
    ),
    # Telkom's process is unconfirmed: only what any service contract needs, a legal entity;
    # partner steps start in onboarding anyway.
    enroll_from="onboarding",
    enroll_requires=("sk_ahu",),
)


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    """Telkom's identity."""
    return PluginInfo(name="telkom", version=__version__)


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    """Declare Telkom and its steps."""
    register(PARTNER)
