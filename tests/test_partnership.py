"""Partnership forums (issue #16) on both backends: the Buleleng rakor (148 cooperatives, nine
partners, attendance for all from one sheet) and the Pasuruan business matching (five partners,
leads for rice, cooking oil and LPG under the 200-tabung cap), with their numbers counted by
hand; the lead pipeline's refusals; who may record what.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from db_helpers import db_state

from kopflow import i18n
from kopflow.engine import ForumInput, Kopflow
from kopflow.errors import InputError, PermissionDeniedError, RefusedError
from kopflow.regions import seeds_from_areaid

BULELENG = "Kabupaten Buleleng"
PASURUAN = "Kabupaten Pasuruan"
NINE = ["bri", "pertamina", "pupuk", "bulog", "idfood", "kimiafarma", "telkom", "pos", "pln"]
FIVE = ["bulog", "pertamina", "pupuk", "idfood", "mandiri"]


def district(engine: Kopflow, kabupaten: str) -> list[dict[str, Any]]:
    """Register a kabupaten's cooperatives from areaid and seed the partner directory."""
    engine.register(seeds_from_areaid(kabupaten=kabupaten), source=f"areaid:{kabupaten}")
    engine.partner_seed()
    return engine.list_coops(kabupaten=kabupaten)


def sheet(path: Path, coops: list[dict[str, Any]]) -> Path:
    """An attendance sheet as an office writes it: each cooperative by its village and
    kecamatan (Buleleng has two villages named Kayuputih), a representative and a role."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Desa", "Kecamatan", "Nama", "Jabatan"])
        for i, c in enumerate(coops):
            role = "ketua" if i % 2 else "manajer"
            writer.writerow([c["village"].upper(), f"Kec. {c['kecamatan']}", f"I Wayan {i}", role])
    return path


def cli(db: str, *args: str) -> Any:
    from click.testing import CliRunner

    from kopflow.cli import cli as root

    return CliRunner().invoke(root, ["--db", db, *args])


def lead_id(engine: Kopflow, coop: str, partner: str) -> str:
    return str(next(x["id"] for x in engine.lead_list(coop=coop, partner=partner)))


def test_buleleng_rakor(kopflow: Kopflow, tmp_path: Path) -> None:
    """148 cooperatives recorded in one command from the sheet after a dry run that writes
    nothing; the report's numbers as counted by hand."""
    engine = kopflow
    coops = district(engine, BULELENG)
    assert len(coops) == 148
    forum = ForumInput(
        code="rakor-buleleng-2025",
        name="Rakor Kemitraan dan Pengembangan Usaha KDKMP",
        kind="rakor",
        starts="2025-10-22",
        ends="2025-10-23",
        kabupaten=BULELENG,
        place="PLUT KUMKM Buleleng",
        office="Dinas Koperasi, UKM dan Perdagangan Kabupaten Buleleng",
    )
    engine.forum_create(forum, invite=NINE)
    path = sheet(tmp_path / "hadir.csv", coops)
    before = db_state(engine.url)
    dry = cli(
        engine.url, "forum", "attend", "rakor-buleleng-2025", "--from-file", str(path), "--dry-run"
    )
    assert dry.exit_code == 0, dry.output
    assert "Dry run" in dry.stdout and "148 recorded, 0 refused" in dry.stdout
    assert db_state(engine.url) == before
    real = cli(engine.url, "forum", "attend", "rakor-buleleng-2025", "--from-file", str(path))
    assert real.exit_code == 0 and "148 recorded, 0 refused" in real.stdout
    engine.forum_partners("rakor-buleleng-2025", NINE, present=True)

    # Leads counted by hand: ten cooperatives (the first ten by id), then states.
    ten = [c["id"] for c in coops[:10]]
    for coop in ten[:6]:
        engine.lead_add(coop, "bulog", "beras-sphp", quantity=500, forum="rakor-buleleng-2025")
    for coop in ten[6:]:
        engine.lead_add(coop, "pertamina", "lpg-3kg", quantity=150, forum="rakor-buleleng-2025")
    engine.lead_add(ten[0], "bri", "agenbrilink", forum="rakor-buleleng-2025")
    engine.lead_add(ten[1], "telkom", "internet")  # born outside the forum
    # agreements: 2025-11-15 (23 days after the forum's last day), 2025-12-10 (48),
    # 2026-01-20 (89), 2026-02-10 (110: outside 90 days); one declined, one lapsed
    signed = {
        ten[0]: "2025-11-15",
        ten[2]: "2025-12-10",
        ten[6]: "2026-01-20",
        ten[7]: "2026-02-10",
    }
    for coop, day in signed.items():
        partner = "bulog" if coop in ten[:6] else "pertamina"
        lead = lead_id(engine, coop, partner)
        engine.lead_advance(lead, "intent", {"number": f"LOI/{coop}", "date": "2025-10-30"})
        engine.lead_advance(lead, "agreement", {"number": f"PKS/{coop}", "date": day})
    engine.lead_advance(lead_id(engine, ten[3], "bulog"), "declined", {"reason": "no storage"})
    engine.lead_advance(lead_id(engine, ten[8], "pertamina"), "lapsed", {"reason": "no answer"})

    report = engine.forum_report("rakor-buleleng-2025")
    assert (report["attended"], report["region_coops"], report["attendance_rate"]) == (
        148,
        148,
        1.0,
    )
    assert sorted(report["partners_invited"]) == sorted(NINE) == sorted(report["partners_present"])
    assert report["leads"] == 11 and report["lead_coops"] == 10  # telkom's was born outside
    assert report["leads_by_state"] == {"agreement": 4, "interest": 5, "declined": 1, "lapsed": 1}
    assert report["agreements_within"] == {"30": 1, "60": 2, "90": 3}
    roles = Counter(a["rep_role"] for a in report["attendees"])
    assert roles == {"manajer": 74, "ketua": 74}

    summary = engine.partnership_summary(BULELENG)
    assert (summary["leads"], summary["agreements"], summary["coops_with_agreement"]) == (12, 4, 4)
    per_partner = {p["partner"]: (p["leads"], p["agreements"]) for p in summary["partners"]}
    assert per_partner == {"bulog": (6, 2), "pertamina": (4, 2), "bri": (1, 0), "telkom": (1, 0)}
    bulog = engine.partner_report("bulog")
    assert (bulog["leads"], bulog["agreements"], bulog["in_directory"], bulog["plugin"]) == (
        6,
        2,
        True,
        None,
    )
    assert sum(k["leads"] for k in bulog["by_kecamatan"]) == 6

    # Attending again changes nothing and writes no event.
    again = engine.forum_attend("rakor-buleleng-2025", [(ten[0], None, None)])
    assert again.done[0].audit_seq is None


def test_a_sheet_row_naming_no_village_refuses_the_sheet(kopflow: Kopflow, tmp_path: Path) -> None:
    engine = kopflow
    coops = district(engine, BULELENG)
    engine.forum_create(ForumInput("rakor-2025", "Rakor", "rakor", "2025-10-22", None, BULELENG))
    path = sheet(tmp_path / "hadir.csv", coops[:20])
    with path.open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(["Desa Tidak Ada", "Made", "ketua"])
    before = db_state(engine.url)
    for extra in ((), ("--dry-run",)):
        result = cli(engine.url, "forum", "attend", "rakor-2025", "--from-file", str(path), *extra)
        assert result.exit_code == 2
        assert "row 22: no cooperative Desa Tidak Ada" in result.stderr
        assert "nothing was recorded" in result.stderr and "Traceback" not in result.output
    assert db_state(engine.url) == before


def test_a_village_name_two_cooperatives_share_needs_the_kecamatan(
    kopflow: Kopflow, tmp_path: Path
) -> None:
    engine = kopflow
    coops = district(engine, BULELENG)
    engine.forum_create(ForumInput("rakor-2025", "Rakor", "rakor", "2025-10-22", None, BULELENG))
    twins = [c for c in coops if c["village"] == "Kayuputih"]
    assert len(twins) == 2
    path = tmp_path / "hadir.csv"
    path.write_text("coop,name,role\nKayuputih,Made,ketua\n", encoding="utf-8")
    result = cli(engine.url, "forum", "attend", "rakor-2025", "--from-file", str(path))
    assert result.exit_code == 2
    assert "row 2: Kayuputih names 2 cooperatives of Kabupaten Buleleng" in result.stderr
    assert all(c["id"] in result.stderr for c in twins)


def test_pasuruan_business_matching(kopflow: Kopflow) -> None:
    """Leads for rice, cooking oil and LPG; LPG over the 200-tabung cap is refused with the cap
    in the message, and a district's own cap replaces it."""
    engine = kopflow
    coops = district(engine, PASURUAN)
    engine.forum_create(
        ForumInput("bm-pasuruan-2025", "Business Matching KDKMP", "business-matching",
                   "2025-10-08", None, PASURUAN),
        invite=FIVE,
    )  # fmt: skip
    engine.forum_partners("bm-pasuruan-2025", FIVE, present=True)
    first = [c["id"] for c in coops[:12]]
    engine.forum_attend("bm-pasuruan-2025", [(c, None, None) for c in first])
    before = db_state(engine.url)
    with pytest.raises(RefusedError) as refused:
        engine.lead_add(first[0], "pertamina", "lpg-3kg", quantity=250, forum="bm-pasuruan-2025")
    assert "cap of 200 tabung a month" in str(refused.value)
    assert db_state(engine.url) == before
    rows = [
        *((c, "bulog", "beras-sphp", 1000, "bm-pasuruan-2025") for c in first[:5]),
        *((c, "idfood", "minyak-goreng", 300, "bm-pasuruan-2025") for c in first[3:8]),
        *((c, "pertamina", "lpg-3kg", 200, "bm-pasuruan-2025") for c in first[6:10]),
        (first[10], "pertamina", "lpg-3kg", 201, "bm-pasuruan-2025"),  # over the cap
        (first[11], "bulog", "beras-sphp", 100, "bm-pasuruan-2025"),
        (first[11], "bulog", "lpg-3kg", 100, "bm-pasuruan-2025"),  # Bulog has no LPG
    ]
    dry = engine.lead_add_bulk(rows, dry_run=True)
    assert (len(dry.done), len(dry.refused)) == (14, 2)
    assert db_state(engine.url) == before
    result = engine.lead_add_bulk(rows)
    assert (len(result.done), len(result.refused)) == (14, 2)
    reasons = {o.coop_id: o.message for o in result.refused}
    assert "over pertamina's cap of 200 tabung" in reasons[first[10]]
    assert "bulog offers no lpg-3kg" in reasons[first[11]]  # its rice row is refused with it
    engine.partner_cap("pertamina", "lpg-3kg", 150, kabupaten=PASURUAN)
    with pytest.raises(RefusedError, match="cap of 150 tabung"):
        engine.lead_add(first[11], "pertamina", "lpg-3kg", quantity=180)
    for coop in first[6:8]:
        lead = lead_id(engine, coop, "pertamina")
        engine.lead_advance(lead, "agreement", {"number": f"DDMS/{coop}", "date": "2025-11-01"})
    report = engine.forum_report("bm-pasuruan-2025")
    assert (report["attended"], report["leads"], report["lead_coops"], report["agreements"]) == (
        12,
        14,
        10,
        2,
    )
    assert report["attendance_rate"] == round(12 / len(coops), 4)
    assert report["agreements_within"] == {"30": 2, "60": 2, "90": 2}
    assert sorted(report["partners_present"]) == sorted(FIVE)
    by_commodity = Counter(x["commodity"] for x in engine.lead_list(forum="bm-pasuruan-2025"))
    assert by_commodity == {"beras-sphp": 5, "minyak-goreng": 5, "lpg-3kg": 4}


def test_lead_pipeline_refusals(kopflow: Kopflow) -> None:
    engine = kopflow
    coops = district(engine, BULELENG)
    coop = coops[0]["id"]
    engine.lead_add(coop, "bulog", "beras-sphp", quantity=100)
    lead = lead_id(engine, coop, "bulog")
    with pytest.raises(RefusedError, match="already has an open lead"):
        engine.lead_add(coop, "Perum Bulog", "beras-sphp")
    before = db_state(engine.url)
    with pytest.raises(InputError, match="needs its number and date: add --number --date"):
        engine.lead_advance(lead, "agreement", {"term": "2 tahun"})
    with pytest.raises(InputError, match="needs its number and date: add --date"):
        engine.lead_advance(lead, "agreement", {"number": "PKS/1"})
    with pytest.raises(InputError, match="needs a reason"):
        engine.lead_advance(lead, "declined", {})
    assert db_state(engine.url) == before
    engine.lead_advance(lead, "intent", {"date": "2025-10-30"})
    outcome, partner = engine.lead_advance(
        lead, "agreement", {"number": "PKS/1", "date": "2025-11-02"}
    )
    assert partner == "bulog" and "agreement signed" in outcome.message
    with pytest.raises(RefusedError, match="a lead ends there"):
        engine.lead_advance(lead, "lapsed", {"reason": "late"})
    states = [x["status"] for x in engine.lead_list(coop=coop)]
    assert states == ["agreement"]
    record = engine.coop_record(coop)["partnerships"]
    assert record["leads"][0]["number"] == "PKS/1"


def test_agreement_with_a_plugin_partner_enrols_through_the_engine(kopflow: Kopflow) -> None:
    """--enroll goes through Kopflow.enroll, so the partner's enrolment rules apply: refused in
    formation (the agreement stays signed), done once the cooperative is in onboarding."""
    from engine_helpers import drive_to

    engine = kopflow
    early, ready = (c["id"] for c in district(engine, BULELENG)[:2])
    for coop in (early, ready):
        engine.lead_add(coop, "pos", "agen-pos")
    args = ("agreement", "--number", "PKS-1/POS", "--date", "2025-11-01", "--enroll")
    refused = cli(engine.url, "lead", "advance", lead_id(engine, early, "pos"), *args)
    assert refused.exit_code == 3, refused.output
    assert f"{early}: lead L-" in refused.stdout and "agreement signed" in refused.stdout
    assert "Error: " in refused.stderr
    assert engine.lead_list(coop=early)[0]["status"] == "agreement"
    assert "pos" not in engine.coop_record(early)["partners"]
    drive_to(engine, ready, "onboarding")
    done = cli(engine.url, "lead", "advance", lead_id(engine, ready, "pos"), *args)
    assert done.exit_code == 0, done.output
    assert "enrolled with pos" in done.stdout
    assert "pos" in engine.coop_record(ready)["partners"]


def test_who_may_record(sqlite_url: str) -> None:
    """Officers of the region record forums and leads; a partner's staff only its own leads;
    auditors only read."""
    admin = Kopflow(sqlite_url)
    admin.init()
    coop = district(admin, BULELENG)[0]["id"]
    admin.add_actor("ketut", role="officer", region=BULELENG)
    admin.add_actor("made", role="officer", region=PASURUAN)
    admin.add_actor("bulog1", role="partner", partner="bulog")
    admin.add_actor("audit1", role="auditor")
    forum = ForumInput("rakor", "Rakor", "rakor", "2025-10-22", None, BULELENG)
    with pytest.raises(PermissionDeniedError) as refused_forum:
        Kopflow(sqlite_url, actor="made").forum_create(forum)
    # The record is named in the user's language (translated only when refused).
    assert "may not record a forum of Kabupaten Buleleng" in str(refused_forum.value)
    i18n.set_language("id")
    try:
        with pytest.raises(PermissionDeniedError) as refused_forum:
            Kopflow(sqlite_url, actor="made").forum_create(forum)
        assert "tidak boleh mencatat forum Kabupaten Buleleng" in str(refused_forum.value)
    finally:
        i18n.set_language("en")
    with pytest.raises(PermissionDeniedError):
        Kopflow(sqlite_url, actor="audit1").forum_create(forum)
    Kopflow(sqlite_url, actor="ketut").forum_create(forum)
    Kopflow(sqlite_url, actor="bulog1").lead_add(coop, "bulog", "beras-sphp")
    with pytest.raises(PermissionDeniedError):
        Kopflow(sqlite_url, actor="bulog1").lead_add(coop, "pertamina", "lpg-3kg")
    with pytest.raises(PermissionDeniedError):
        Kopflow(sqlite_url, actor="made").lead_add(coop, "pertamina", "lpg-3kg")
    lead = lead_id(admin, coop, "bulog")
    Kopflow(sqlite_url, actor="bulog1").lead_advance(lead, "intent", {})
    assert Kopflow(sqlite_url, actor="audit1").lead_list(coop=coop)[0]["status"] == "intent"
    refused = Kopflow(sqlite_url, actor="bulog1").forum_attend("rakor", [(coop, None, None)])
    assert len(refused.refused) == 1


def test_partner_list_marks_plugin_and_directory_partners(kopflow: Kopflow) -> None:
    engine = kopflow
    engine.partner_seed()
    result = cli(engine.url, "partner", "list")
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert "plugin + directory" in lines["bri"] and "directory" in lines["bulog"]
    assert "plugin" not in lines["bulog"].replace("directory", "")
    rows = {
        r["code"]: r
        for r in __import__("json").loads(cli(engine.url, "partner", "list", "--json").stdout)
    }
    assert (rows["bri"]["plugin"], rows["bri"]["in_directory"]) == ("bri", True)
    assert (rows["bulog"]["plugin"], rows["bulog"]["in_directory"]) == (None, True)
    assert rows["bri"]["required_steps"] == 2  # the plugin's fields are kept
    assert len(rows) == 11
