"""BRI onboarding: the cooperative's account, bank agent, QRIS, relationship manager and loan.

A built-in partner written exactly as an outside one: it imports only ``kopflow.plugin``.
The loan follows PMK 49/2025 (docs/domain.md, "Financing from the state banks"): proposal,
the village head's approval after a village deliberation, the bank's assessment, the
agreement, the report to the Ministry of Finance within 14 working days, disbursement.
Required: the account and a relationship manager (BRI assigns one per cooperative). Optional:
AgenBRILink and QRIS (not every cooperative runs them) and the whole loan flow (not every
cooperative borrows), whose steps must still come in order.
"""

from __future__ import annotations

import datetime
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

# PMK 49/2025; announced in November 2025 to be revised, so kept in one place.
LOAN_CEILING = 3_000_000_000
OPERATING_CEILING = 500_000_000
REPORT_WORKING_DAYS = 14
MAX_TENOR_MONTHS = 72


def _date(name: str, id_: str, en: str) -> FieldSpec:
    return FieldSpec(name, "date", {"id": id_, "en": en})


def _step(
    id_: str, label_id: str, label_en: str, *fields: FieldSpec,
    required: bool = True, after: tuple[str, ...] = (),
) -> StepSpec:  # fmt: skip
    label = {"id": label_id, "en": label_en}
    return StepSpec(id_, label, "partner", required=required, after=after, fields=fields)


DIGITS = {"id": "angka saja, mis. 012301000123301", "en": "digits only, e.g. 012301000123301"}

STEPS = (
    _step(
        "account", "Rekening koperasi dibuka di BRI", "Cooperative account opened at BRI",
        FieldSpec("account_number", "reference", {"id": "Nomor rekening", "en": "Account number"},
                  pattern=r"[0-9]+", hint=DIGITS, unique=True),  # one cooperative's account
        FieldSpec("branch", "text", {"id": "Kantor cabang BRI", "en": "BRI branch office"}),
        _date("date", "Tanggal pembukaan", "Date opened"),
    ),
    _step(
        "relationship_manager", "Relationship manager ditunjuk", "Relationship manager assigned",
        FieldSpec("name", "text", {"id": "Nama relationship manager", "en": "Relationship manager's name"}),
        _date("date", "Tanggal penunjukan", "Date assigned"),
    ),
    _step(
        "agent", "Terdaftar sebagai AgenBRILink", "Enrolled as AgenBRILink agent",
        FieldSpec("agent_id", "reference", {"id": "ID agen AgenBRILink", "en": "AgenBRILink agent id"}),
        _date("date", "Tanggal aktif", "Date active"),
        required=False, after=("account",),
    ),
    _step(
        "qris", "Merchant QRIS aktif", "QRIS merchant active",
        FieldSpec("nmid", "reference", {"id": "NMID (ID merchant QRIS)", "en": "NMID (QRIS merchant id)"}),
        _date("date", "Tanggal aktif", "Date active"),
        required=False, after=("account",),
    ),
    _step(
        "loan_proposal", "Proposal pinjaman diajukan", "Loan proposal submitted",
        FieldSpec("amount", "rupiah", {"id": "Jumlah pinjaman diajukan", "en": "Loan amount proposed"},
                  min=1),
        FieldSpec("operating_amount", "rupiah",
                  {"id": "Bagian untuk biaya operasional", "en": "Part for operating costs"}),
        _date("date", "Tanggal pengajuan", "Date submitted"),
        required=False, after=("account",),
    ),
    _step(
        "village_head_approval", "Persetujuan kepala desa (berdasarkan musdes)",
        "Village head's approval (based on a village deliberation)",
        FieldSpec("musdes_minutes", "reference",
                  {"id": "Nomor berita acara musdes", "en": "Village deliberation minutes number"}),
        FieldSpec("village_head", "text", {"id": "Nama kepala desa", "en": "Village head's name"},
                  required=False),
        _date("date", "Tanggal persetujuan", "Date approved"),
        required=False, after=("loan_proposal",),
    ),
    _step(
        "bank_assessment", "Penilaian bank", "Bank assessment",
        FieldSpec("result", "choice", {"id": "Hasil", "en": "Result"}, choices=("approved", "rejected")),
        _date("date", "Tanggal penilaian", "Date assessed"),
        required=False, after=("village_head_approval",),
    ),
    _step(
        "loan_agreement", "Perjanjian pinjaman ditandatangani", "Loan agreement signed",
        FieldSpec("agreement_number", "reference", {"id": "Nomor perjanjian", "en": "Agreement number"}),
        FieldSpec("amount", "rupiah", {"id": "Jumlah pinjaman", "en": "Loan amount"}, min=1),
        FieldSpec("tenor_months", "integer", {"id": "Jangka waktu (bulan)", "en": "Term (months)"},
                  required=False, min=1, max=MAX_TENOR_MONTHS),
        _date("date", "Tanggal perjanjian", "Date signed"),
        required=False, after=("bank_assessment",),
    ),
    _step(
        "mofin_report", "Dilaporkan ke Kementerian Keuangan", "Reported to the Ministry of Finance",
        FieldSpec("reference", "reference", {"id": "Nomor laporan", "en": "Report number"},
                  required=False),
        _date("date", "Tanggal pelaporan", "Date reported"),
        required=False, after=("loan_agreement",),
    ),
    _step(
        "disbursement", "Pinjaman dicairkan", "Loan disbursed",
        FieldSpec("amount", "rupiah", {"id": "Jumlah dicairkan", "en": "Amount disbursed"}, min=1),
        _date("date", "Tanggal pencairan", "Date disbursed"),
        required=False, after=("mofin_report",),
    ),
)  # fmt: skip

PARTNER = PartnerSpec(
    code="bri",
    name={"id": "Bank Rakyat Indonesia (BRI)", "en": "Bank Rakyat Indonesia (BRI)"},
    steps=STEPS,
    description={
        "id": "Rekening, AgenBRILink, QRIS, relationship manager dan pinjaman Himbara (PMK 49/2025)",
        "en": "Account, AgenBRILink, QRIS, relationship manager and the Himbara loan (PMK 49/2025)",
    },
    # A bank opens an account and lends only to a legal entity with a tax number, its own
    # account and a SIMKOPDES account ("no SIMKOPDES account means no Himbara loan"); partner
    # steps start in onboarding anyway, so enrolling earlier would only count it too soon.
    enroll_from="onboarding",
    enroll_requires=("sk_ahu", "npwp", "bank_account", "simkopdes_account"),
)


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    """BRI's identity."""
    return PluginInfo(name="bri", version=__version__)


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    """Declare BRI and its steps."""
    register(PARTNER)


def rupiah(amount: int) -> str:
    """``3000000000`` -> ``"Rp 3.000.000.000"`` (Indonesian thousands separator)."""
    return "Rp " + f"{amount:,}".replace(",", ".")


def working_days_after(start: datetime.date, end: datetime.date) -> int:
    """Monday-to-Friday days after ``start`` up to and including ``end`` (no holiday calendar)."""
    days, day = 0, start
    while day < end:
        day += datetime.timedelta(days=1)
        days += day.weekday() < 5
    return days


def _ceilings(amount: object, operating: object) -> list[str]:
    reasons = []
    if isinstance(amount, int) and amount > LOAN_CEILING:
        reasons.append(localize(
            {"id": "jumlah pinjaman {amount} melebihi plafon {max} per koperasi (PMK 49/2025)",
             "en": "loan amount {amount} is above the ceiling of {max} per cooperative (PMK 49/2025)"},
            amount=rupiah(amount), max=rupiah(LOAN_CEILING),
        ))  # fmt: skip
    if isinstance(operating, int) and operating > OPERATING_CEILING:
        reasons.append(localize(
            {"id": "biaya operasional {amount} melebihi batas {max} (PMK 49/2025)",
             "en": "operating costs of {amount} are above the limit of {max} (PMK 49/2025)"},
            amount=rupiah(operating), max=rupiah(OPERATING_CEILING),
        ))  # fmt: skip
    if isinstance(amount, int) and isinstance(operating, int) and operating > amount:
        reasons.append(localize(
            {"id": "biaya operasional {operating} lebih besar dari jumlah pinjaman {amount}",
             "en": "operating costs of {operating} are more than the loan amount of {amount}"},
            operating=rupiah(operating), amount=rupiah(amount),
        ))  # fmt: skip
    return reasons


def _check_proposal(coop: CoopView, evidence: dict[str, object]) -> list[str]:
    return _ceilings(evidence.get("amount"), evidence.get("operating_amount"))


def _check_agreement(coop: CoopView, evidence: dict[str, object]) -> list[str]:
    reasons = _ceilings(evidence.get("amount"), None)
    if coop.evidence_of("bri.bank_assessment").get("result") == "rejected":
        reasons.append(localize({
            "id": "penilaian bank menolak pinjaman ini; catat penilaian baru sebelum perjanjian",
            "en": "the bank assessment rejected this loan; record a new assessment before an agreement",
        }))  # fmt: skip
    return reasons


def _check_report(coop: CoopView, evidence: dict[str, object]) -> list[str]:
    signed = coop.evidence_of("bri.loan_agreement").get("date")
    reported = evidence.get("date")
    if not isinstance(signed, str) or not isinstance(reported, str):
        return []
    start, end = datetime.date.fromisoformat(signed), datetime.date.fromisoformat(reported)
    if end < start:
        return [localize(
            {"id": "tanggal laporan {reported} sebelum tanggal perjanjian {signed}",
             "en": "the report date {reported} is before the agreement date {signed}"},
            reported=reported, signed=signed,
        )]  # fmt: skip
    late = working_days_after(start, end)
    if late > REPORT_WORKING_DAYS:
        return [localize(
            {"id": "dilaporkan {days} hari kerja setelah perjanjian {signed}; batasnya {max} hari kerja",
             "en": "reported {days} working days after the agreement of {signed}; the limit is {max}"},
            days=late, signed=signed, max=REPORT_WORKING_DAYS,
        )]  # fmt: skip
    return []


def _check_disbursement(coop: CoopView, evidence: dict[str, object]) -> list[str]:
    agreement = coop.evidence_of("bri.loan_agreement")
    agreed, paid = agreement.get("amount"), evidence.get("amount")
    reasons = []
    if isinstance(agreed, int) and isinstance(paid, int) and paid > agreed:
        reasons.append(localize(
            {"id": "jumlah dicairkan {paid} melebihi jumlah perjanjian {agreed}",
             "en": "the amount disbursed, {paid}, is above the agreed amount of {agreed}"},
            paid=rupiah(paid), agreed=rupiah(agreed),
        ))  # fmt: skip
    signed, date = agreement.get("date"), evidence.get("date")
    if isinstance(signed, str) and isinstance(date, str) and date < signed:  # ISO dates sort
        reasons.append(localize(
            {"id": "tanggal pencairan {date} sebelum tanggal perjanjian {signed}",
             "en": "the disbursement date {date} is before the agreement date {signed}"},
            date=date, signed=signed,
        ))  # fmt: skip
    return reasons


_CHECKS = {
    "loan_proposal": _check_proposal,
    "loan_agreement": _check_agreement,
    "mofin_report": _check_report,
    "disbursement": _check_disbursement,
}


@hookimpl
@for_steps(*(f"bri.{step}" for step in _CHECKS))  # asked about the steps it checks only
def kopflow_validate_step(
    coop: CoopView, partner: str | None, step: str, evidence: dict[str, object]
) -> list[str] | None:
    """Check the loan against PMK 49/2025: ceilings, assessment, reporting deadline, payout."""
    check = _CHECKS.get(step) if partner == "bri" else None
    return check(coop, evidence) if check else None
