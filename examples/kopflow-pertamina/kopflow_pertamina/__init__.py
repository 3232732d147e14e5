"""Pertamina Patra Niaga onboarding: the cooperative becomes an LPG 3 kg sub-base (sub-pangkalan).

An outside partner plugin, shipped as its own distribution (``kopflow-pertamina``) and found
through the ``kopflow`` entry-point group; it imports only ``kopflow.plugin``. The four steps
are required and strictly ordered (kopflow's docs/domain.md, "Partners"): registered in
SIMKOPDES, verified by Pertamina's regional office against the existing LPG agent, ratified in
the dealer system (DDMS), merchant app active with the monthly cylinder allocation; an optional
fifth step records Pertamina closing the sub-base.

It is kopflow's reference plugin: it implements every hook of the plugin API, each the way a
real partner would use it, and docs/plugins.md's tutorial quotes this file (kopflow's tests
fail if a hook is left out or the tutorial and this code drift apart).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kopflow.plugin import (
    CoopView,
    FieldSpec,
    PartnerSpec,
    PluginInfo,
    Queries,
    StepSpec,
    for_steps,
    hookimpl,
    localize,
    pass_queries,
)

if TYPE_CHECKING:
    import click

__version__ = "0.1.0"

#: Allocations are set per region, 100 to 300 cylinders a month (200 was one region's starting
#: figure); there is no national cap. Anything above this is treated as a typing error.
MAX_PLAUSIBLE_ALLOCATION = 1000

#: What a cooperative may receive in a month, whatever allocation was recorded: 200 tabung
#: (3 kg cylinders), the cap the Pasuruan district cites (kopflow's docs/domain.md).
MONTHLY_CAP = 200

#: Where ``kopflow partner deliver`` sends notifications: a JSON-lines file standing in for
#: Pertamina's system (a real plugin would call its API here).
SINK_VARIABLE = "KOPFLOW_PERTAMINA_SINK"

#: Where the after-hooks write the field officer's worklist (JSON lines); unset: no worklist.
WORKLIST_VARIABLE = "KOPFLOW_PERTAMINA_WORKLIST"


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
    # Pertamina only signs up a legal entity with a business identity (NIB) that is registered
    # in SIMKOPDES: the legal bundle must be complete, so the cooperative is in consolidation.
    enroll_from="consolidation",
    enroll_requires=("sk_ahu", "nib", "simkopdes_account"),
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
                # LPG held at the site, in tonnes: 200 cylinders of 3 kg are 0.6 t.
                FieldSpec("storage_capacity", "decimal",
                          _label("Kapasitas gudang", "Storage capacity"), required=False,
                          min=0, exclusive="min", unit=_label("ton", "tonnes")),
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
        StepSpec(
            "closed",
            _label("Sub-pangkalan ditutup oleh Pertamina", "Sub-base closed by Pertamina"),
            "partner",
            required=False,
            after=("merchant_active",),
            fields=(
                FieldSpec("reason", "choice", _label("Alasan penutupan", "Why it was closed"),
                          choice_labels={
                              "cooperative_request": _label("Atas permintaan koperasi",
                                                            "At the cooperative's request"),
                              "breach": _label("Pelanggaran ketentuan sub-pangkalan",
                                               "Breach of the sub-base rules"),
                              "agent_ended": _label("Agen LPG mengakhiri kemitraan",
                                                    "The LPG agent ended the partnership"),
                          }),
                FieldSpec("date", "date", _label("Tanggal penutupan", "Date closed")),
            ),
        ),
    ),
)  # fmt: skip

#: The full keys of the steps, in order (``pertamina.registered``, ...).
STEP_KEYS = tuple(PARTNER.key(s.id) for s in PARTNER.steps)


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    """Pertamina's identity; ``name`` matches the entry-point name."""
    return PluginInfo(name="pertamina", version=__version__)


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    """Declare Pertamina and its steps."""
    register(PARTNER)


@hookimpl
@for_steps("pertamina.merchant_active")  # asked about this step only; unmarked: every step
def kopflow_validate_step(
    coop: CoopView, partner: str | None, step: str, evidence: Mapping[str, object]
) -> list[str] | None:
    """The monthly allocation is a positive number of cylinders, and plausibly sized."""
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


@hookimpl
def kopflow_guard_enroll(coop: CoopView, partner: str) -> list[str] | None:
    """LPG 3 kg is sold from the groceries outlet: the business plan must plan one.

    ``enroll_from`` and ``enroll_requires`` check stages and steps done; what a step's evidence
    says is for this hook.
    """
    if partner != "pertamina":
        return None  # every plugin is asked about every partner: answer only for yours
    units = coop.evidence_of("business_plan").get("units")
    if not isinstance(units, tuple) or "sembako" not in units:
        return [localize(
            {"id": "LPG 3 kg dijual di gerai sembako: rencana usaha (langkah Rencana dan "
                   "proposal usaha) harus memuat Gerai sembako",
             "en": "LPG 3 kg is sold from the groceries outlet: the business plan (step "
                   "Business plan and proposal) must plan a Groceries outlet"},
        )]  # fmt: skip
    return None


@hookimpl
def kopflow_guard(coop: CoopView, event: str, source: str, dest: str) -> list[str] | None:
    """A live sub-base holds subsidised LPG: it cannot be dissolved until Pertamina closed it."""
    if event != "dissolve" or "pertamina" not in coop.partners:
        return None  # not our business: never refuse events you do not understand
    merchant = coop.evidence_of("pertamina.merchant_active")
    if merchant and not coop.is_done("pertamina.closed"):
        return [localize(
            {"id": "koperasi ini sub-pangkalan LPG aktif (merchant {merchant}); minta Pertamina "
                   "menutupnya dan catat langkah Sub-pangkalan ditutup oleh Pertamina dulu",
             "en": "this cooperative is an active LPG sub-base (merchant {merchant}); have "
                   "Pertamina close it and record the step Sub-base closed by Pertamina first"},
            merchant=merchant["merchant_id"],
        )]  # fmt: skip
    return None


@hookimpl
def kopflow_after_step(
    coop: CoopView, step: str, evidence: Mapping[str, object], audit_seq: int
) -> None:
    """Put the next Pertamina step on the field officer's worklist (best effort: the outbox,
    not this hook, is how Pertamina's system hears of changes)."""
    if step not in STEP_KEYS:
        return
    following = STEP_KEYS[STEP_KEYS.index(step) + 1 :]
    _worklist({"seq": audit_seq, "coop": coop.id, "done": step,
               "next": following[0] if following else None})  # fmt: skip


@hookimpl
def kopflow_after_transition(
    coop: CoopView, event: str, source: str, dest: str, audit_seq: int
) -> None:
    """A sub-base's cooperative that starts or stops operating: the agent must know."""
    if "pertamina" in coop.partners and "operating" in (source, dest):
        _worklist({"seq": audit_seq, "coop": coop.id, "stage": dest,
                   "tell_agent": coop.evidence_of("pertamina.verified").get("agent_name")})  # fmt: skip


def _worklist(line: dict[str, object]) -> None:
    path = os.environ.get(WORKLIST_VARIABLE)
    if path:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, sort_keys=True) + "\n")


@hookimpl
def kopflow_partner_notification(
    coop: CoopView, action: str, details: Mapping[str, object], audit_seq: int
) -> dict[str, dict[str, object]] | None:
    """Tell Pertamina's system of its enrolments, its steps and its cooperatives' stages.

    No I/O here: kopflow writes the payload to its outbox in the change's own transaction,
    and ``kopflow partner deliver`` hands it to :func:`kopflow_deliver` later.
    """
    if "pertamina" not in coop.partners:
        return None
    if action == "partner.enrolled" and "pertamina" not in _strings(details.get("partners")):
        return None  # enrolled with another partner: not news for Pertamina
    step = details.get("step")
    if action.startswith("step.") and step not in STEP_KEYS:
        return None
    payload: dict[str, object] = {"coop": coop.id, "kabupaten": coop.kabupaten, "stage": coop.stage}
    if step in STEP_KEYS:
        payload["step"] = step
        payload["evidence"] = _jsonable(details.get("evidence"))
    return {"pertamina": payload}


@hookimpl
def kopflow_deliver(
    partner: str, key: int, action: str, coop_id: str | None, payload: Mapping[str, object]
) -> None:
    """Append the notification to the sink file, once per key: kopflow delivers at least once
    (again after a crash), so the receiving side drops a key it already holds."""
    target = os.environ.get(SINK_VARIABLE)
    if not target:  # recorded as the row's error; the next `deliver` tries again
        raise RuntimeError(
            f"{SINK_VARIABLE} is not set: where should Pertamina's notifications go?"
        )
    sink = Path(target)
    if key in {row["key"] for row in read_sink(sink)}:
        return
    line = {"key": key, "action": action, "coop": coop_id, "payload": dict(payload)}
    with sink.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, sort_keys=True) + "\n")


def read_sink(sink: Path) -> list[dict[str, Any]]:
    """The notifications a sink file holds, oldest first (none if it does not exist)."""
    if not sink.exists():
        return []
    return [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines() if line]


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, (list, tuple)) else []


def _jsonable(value: object) -> object:
    """Evidence as JSON can hold it: a decimal as its exact string, never a float."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value) if isinstance(value, Decimal) else value


@hookimpl
def kopflow_register_commands(cli: click.Group) -> None:
    """``kopflow pertamina allocation REGION``: the LPG each enrolled cooperative receives."""
    import click  # only when kopflow asks for commands: importing the plugin stays cheap

    @cli.group(name="pertamina")
    def pertamina_group() -> None:
        """Pertamina LPG sub-base tools."""

    @pertamina_group.command(name="allocation")
    @click.argument("region")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    @pass_queries
    def allocation_command(kopflow: Queries, region: str, as_json: bool) -> None:
        """The monthly LPG allocation of each cooperative of REGION enrolled with Pertamina.

        REGION is a kabupaten or kota ("Kabupaten Pasuruan", "pasuruan"). Each cooperative
        receives the allocation recorded when its merchant app went live, at most 200 tabung a
        month; one whose merchant app is not active yet receives none.
        """
        rows = allocations(kopflow, region)
        if as_json:
            import json

            click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        click.echo(render(rows))


def allocations(kopflow: Queries, region: str) -> dict[str, Any]:
    """The allocation of every cooperative of ``region`` enrolled with Pertamina, by id.

    ``recorded`` is the monthly allocation of the ``merchant_active`` step (``None`` before it
    is done), ``allocation`` what the cooperative receives: ``recorded`` capped at
    :data:`MONTHLY_CAP`, or 0 before the merchant app is active and once the sub-base is closed.
    """
    coops = kopflow.cooperatives(kabupaten=region, partner="pertamina")
    rows = []
    for coop in coops:
        recorded = coop.evidence_of("pertamina.merchant_active").get("monthly_allocation")
        live = isinstance(recorded, int) and not coop.is_done("pertamina.closed")
        given = min(recorded, MONTHLY_CAP) if live and isinstance(recorded, int) else 0
        rows.append({
            "coop": coop.id,
            "name": coop.name,
            "kecamatan": coop.kecamatan,
            "standing": kopflow.standing(coop, "pertamina"),
            "recorded": recorded,
            "allocation": given,
            "capped": isinstance(recorded, int) and recorded > MONTHLY_CAP,
        })  # fmt: skip
    return {
        "region": coops[0].kabupaten if coops else region,
        "cap": MONTHLY_CAP,
        "cooperatives": rows,
        "total": sum(r["allocation"] for r in rows),
    }


def render(result: dict[str, Any]) -> str:
    """The allocations as a table people read, in the user's language."""
    rows = result["cooperatives"]
    if not rows:
        return localize(
            {"id": "Tidak ada koperasi di {region} yang terdaftar dengan Pertamina.",
             "en": "No cooperative in {region} is enrolled with Pertamina."},
            region=result["region"],
        )  # fmt: skip
    steps = {PARTNER.key(s.id): localize(s.label) for s in PARTNER.steps}
    complete = localize({"id": "selesai (aktif)", "en": "done (active)"})
    headers = [
        localize({"id": "koperasi", "en": "cooperative"}),
        localize({"id": "kecamatan", "en": "kecamatan"}),
        localize({"id": "langkah Pertamina berikutnya", "en": "next Pertamina step"}),
        localize({"id": "tercatat", "en": "recorded"}),
        localize({"id": "alokasi (tabung/bulan)", "en": "allocation (tabung/month)"}),
    ]
    table = [headers]
    for row in rows:
        recorded = "" if row["recorded"] is None else str(row["recorded"])
        given = str(row["allocation"]) + (" *" if row["capped"] else "")
        standing = complete if row["standing"] == "complete" else steps[row["standing"]]
        table.append([row["coop"], row["kecamatan"], standing, recorded, given])
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in table]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(localize(
        {"id": "Jumlah {count} koperasi: {total} tabung per bulan.",
         "en": "Total for {count} cooperatives: {total} tabung a month."},
        count=len(rows), total=result["total"],
    ))  # fmt: skip
    if any(row["capped"] for row in rows):
        lines.append(localize(
            {"id": "* dibatasi {cap} tabung per bulan per koperasi (batas Kabupaten Pasuruan)",
             "en": "* capped at {cap} tabung a month per cooperative (Kabupaten Pasuruan's cap)"},
            cap=result["cap"],
        ))  # fmt: skip
    return "\n".join(lines)
