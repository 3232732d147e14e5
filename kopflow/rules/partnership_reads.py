"""Reads of partnership work (issue #16): the directory beside the plugins' partners, forums
with their attendance and conversion, leads, a partner's numbers by kecamatan, a cooperative's
partnerships, and a kabupaten's summary for the report.

Nothing here writes. Each read is a few SQL statements whatever the number of cooperatives;
a lead's state is its newest ``lead_record`` version, found by one grouped subquery.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from kopflow.errors import InputError, KopflowError, NotFoundError
from kopflow.i18n import label
from kopflow.rules.partnership import directory, forum_row

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.flow.spec import Workflow
    from kopflow.host.manager import PluginHost

# Days after a forum within which its leads' agreements are counted (the issue's 30/60/90).
WINDOWS = (30, 60, 90)

_CURRENT = (
    "SELECT l.id, l.coop_id, l.partner, l.commodity, l.quantity, l.forum_id, l.at, "
    "r.status, r.on_date, r.details, c.kecamatan, c.kabupaten, c.name "
    "FROM lead l "
    "JOIN (SELECT lead_id, MAX(version) AS version FROM lead_record GROUP BY lead_id) n "
    "ON n.lead_id = l.id "
    "JOIN lead_record r ON r.lead_id = l.id AND r.version = n.version "
    "JOIN coop c ON c.id = l.coop_id"
)


def _leads(conn: Connection, where: str = "", **params: Any) -> list[dict[str, Any]]:
    from kopflow.store.rows import mappings

    sql = _CURRENT + (f" WHERE {where}" if where else "") + " ORDER BY l.coop_id, l.id"
    rows = []
    for item in mappings(conn, sql, params):
        item["details"] = json.loads(item["details"])
        item["at"] = str(item["at"])[:19]
        rows.append(item)
    return rows


def resolve_partner(conn: Connection, host: PluginHost, name: str) -> str:
    """The code of the partner ``name`` names: a directory or plugin partner's code (any
    case) or its name."""
    entries = directory(conn)
    wanted = name.strip().casefold()
    names: dict[str, str] = {code: code for code in (*entries, *host.partners)}
    for code, entry in entries.items():
        names[str(entry["name"]).casefold()] = code
    for code, spec in host.partners.items():
        for text in spec.name.values():
            names[text.casefold()] = code
    if wanted in names:
        return names[wanted]
    raise NotFoundError(
        "unknown partner {code}; known partners: {known}",
        code=name,
        known=", ".join(sorted({*entries, *host.partners})) or "-",
    )


def partner_directory(
    conn: Connection, host: PluginHost, workflow: Workflow | None = None
) -> list[dict[str, Any]]:
    """Every partner: the directory's and the plugins', by code. A plugin's partner keeps the
    fields of :func:`kopflow.rules.partners.partner_rows`; every row says whether it is in the
    directory (``in_directory``) and which plugin, if any, declares it (``plugin``)."""
    from kopflow.rules.partners import owners, partner_rows

    entries = directory(conn)
    plugin_rows = {r["code"]: r for r in partner_rows(host, workflow)} if workflow else {}
    owner = owners(host)
    rows = []
    for code in sorted({*entries, *host.partners}):
        entry = entries.get(code)
        spec = host.partners.get(code)
        row: dict[str, Any] = dict(plugin_rows.get(code) or {})
        if not row:
            row = {
                "code": code,
                "name": label(spec.name, code) if spec else entry["name"] if entry else code,
                "plugin": owner.get(code),
                "required_steps": 0,
                "optional_steps": 0,
                "required_for_every_coop": False,
                "enroll_from": None,
                "enroll_requires": [],
                "steps": [],
            }
        row.update(
            {
                "kind": entry["kind"] if entry else None,
                "office": entry["office"] if entry else None,
                "contact": entry["contact"] if entry else None,
                "offers": [o["commodity"] for o in entry["offers"]] if entry else [],
                "in_directory": entry is not None,
            }
        )
        rows.append(row)
    return rows


def partner_report(
    conn: Connection, host: PluginHost, code: str, kabupaten: str | None
) -> dict[str, Any]:
    """One partner: its directory entry, caps, and per kecamatan the leads, agreements and
    enrolments of the cooperatives (of ``kabupaten`` when given)."""
    from sqlalchemy import text

    row = next((r for r in partner_directory(conn, host) if r["code"] == code), None)
    if row is None:
        raise NotFoundError("unknown partner {code}; known partners: {known}", code=code, known="-")
    entry = directory(conn).get(code)
    caps = [
        {"commodity": r[0], "kabupaten": r[1] or None, "cap": r[2], "unit": r[3]}
        for r in conn.execute(
            text(
                "SELECT commodity, kabupaten, cap, unit FROM partner_cap WHERE partner = :p "
                "AND id IN (SELECT MAX(id) FROM partner_cap GROUP BY partner, commodity, kabupaten) "
                "ORDER BY commodity, kabupaten"
            ),
            {"p": code},
        )
    ]
    where, params = "l.partner = :p", {"p": code}
    if kabupaten:
        where += " AND c.kabupaten = :k"
        params["k"] = kabupaten
    leads = _leads(conn, where, **params)
    enrol_sql = (
        "SELECT c.kecamatan, COUNT(*) FROM enrollment e JOIN coop c ON c.id = e.coop_id "
        "WHERE e.partner = :p"
        + (" AND c.kabupaten = :k" if kabupaten else "")
        + " GROUP BY c.kecamatan"
    )
    enrolled = {str(r[0]): int(r[1]) for r in conn.execute(text(enrol_sql), params)}
    by_kec: dict[str, dict[str, Any]] = {}
    for lead in leads:
        item = by_kec.setdefault(
            lead["kecamatan"],
            {"kecamatan": lead["kecamatan"], "leads": 0, "agreements": 0, "enrolled": 0},
        )
        item["leads"] += 1
        item["agreements"] += lead["status"] == "agreement"
    for kec, count in enrolled.items():
        by_kec.setdefault(kec, {"kecamatan": kec, "leads": 0, "agreements": 0, "enrolled": 0})
        by_kec[kec]["enrolled"] = count
    per_kec = [by_kec[k] for k in sorted(by_kec)]
    return {
        **row,
        "offers": entry["offers"] if entry else [],
        "caps": caps,
        "kabupaten": kabupaten,
        "leads": len(leads),
        "agreements": sum(1 for lead in leads if lead["status"] == "agreement"),
        "enrolled": sum(enrolled.values()),
        "by_kecamatan": per_kec,
    }


def forum_list(conn: Connection, kabupaten: str | None) -> list[dict[str, Any]]:
    """Forums (of ``kabupaten``), newest first, with their attendance and leads counted."""
    from sqlalchemy import text

    sql = (
        "SELECT f.id, f.name, f.kind, f.starts, f.ends, f.kabupaten, "
        "(SELECT COUNT(*) FROM forum_attendance a WHERE a.forum_id = f.id) AS attended, "
        "(SELECT COUNT(*) FROM lead l WHERE l.forum_id = f.id) AS leads "
        "FROM forum f"
        + (" WHERE f.kabupaten = :k" if kabupaten else "")
        + " ORDER BY f.starts DESC, f.id"
    )
    return [dict(r) for r in conn.execute(text(sql), {"k": kabupaten}).mappings()]


def forum_report(conn: Connection, code: str) -> dict[str, Any]:
    """A forum: its details, partners invited and present, attendance and its rate among the
    kabupaten's cooperatives, the leads born there, and how many became agreements within
    30, 60 and 90 days of its last day."""
    from sqlalchemy import text

    forum = forum_row(conn, code)
    fid = forum["id"]
    partners: dict[str, list[str]] = {"invited": [], "present": []}
    for partner, status in conn.execute(
        text("SELECT partner, status FROM forum_partner WHERE forum_id = :f ORDER BY partner"),
        {"f": fid},
    ):
        partners[str(status)].append(str(partner))
    attendees = [
        dict(r)
        for r in conn.execute(
            text(
                "SELECT a.coop_id, c.name, c.kecamatan, a.rep_name, a.rep_role FROM forum_attendance a "
                "JOIN coop c ON c.id = a.coop_id WHERE a.forum_id = :f ORDER BY a.coop_id"
            ),
            {"f": fid},
        ).mappings()
    ]
    region = int(
        conn.execute(
            text("SELECT COUNT(*) FROM coop WHERE kabupaten = :k"), {"k": forum["kabupaten"]}
        ).scalar_one()
    )
    leads = _leads(conn, "l.forum_id = :f", f=fid)
    ends = date.fromisoformat(forum["ends"])
    agreements = [lead for lead in leads if lead["status"] == "agreement"]
    within = {
        str(days): sum(
            1
            for lead in agreements
            if lead["on_date"] and (date.fromisoformat(lead["on_date"]) - ends).days <= days
        )
        for days in WINDOWS
    }
    by_state: dict[str, int] = {}
    for lead in leads:
        by_state[lead["status"]] = by_state.get(lead["status"], 0) + 1
    return {
        "forum": {k: (str(v)[:19] if k == "at" else v) for k, v in forum.items()},
        "partners_invited": partners["invited"],
        "partners_present": partners["present"],
        "region_coops": region,
        "attended": len(attendees),
        "attendance_rate": round(len(attendees) / region, 4) if region else 0.0,
        "attendees": attendees,
        "leads": len(leads),
        "leads_by_state": by_state,
        "lead_coops": len({lead["coop_id"] for lead in leads}),
        "agreements": len(agreements),
        "agreements_within": within,
        "lead_rows": leads,
    }


def lead_list(
    conn: Connection,
    *,
    coop: str | None = None,
    partner: str | None = None,
    forum: str | None = None,
    kabupaten: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Leads with their current state, filtered."""
    clauses, params = [], {}
    for column, key, value in (
        ("l.coop_id", "c0", coop),
        ("l.partner", "p0", partner),
        ("l.forum_id", "f0", forum),
        ("c.kabupaten", "k0", kabupaten),
        ("r.status", "s0", status),
    ):
        if value:
            clauses.append(f"{column} = :{key}")
            params[key] = value
    return _leads(conn, " AND ".join(clauses), **params)


def coop_partnerships(conn: Connection, coop_id: str) -> dict[str, Any]:
    """A cooperative's forums attended and its leads with their states (``coop show``)."""
    from kopflow.store.rows import mappings

    # Without SQLAlchemy on SQLite: `kopflow coop show` never imports it (issue #15).
    forums = mappings(
        conn,
        "SELECT f.id, f.name, f.starts, a.rep_name, a.rep_role FROM forum_attendance a "
        "JOIN forum f ON f.id = a.forum_id WHERE a.coop_id = :c ORDER BY f.starts, f.id",
        {"c": coop_id},
    )
    leads = [
        {
            k: lead[k]
            for k in ("id", "partner", "commodity", "quantity", "forum_id", "status", "on_date")
        }
        | {"number": lead["details"].get("number")}
        for lead in _leads(conn, "l.coop_id = :c", c=coop_id)
    ]
    return {"forums": forums, "leads": leads}


def region_summary(conn: Connection, kabupaten: str) -> dict[str, Any]:
    """A kabupaten's partnership numbers for the report: its forums with attendance and
    conversion, and per partner the leads, agreements and enrolments."""
    from sqlalchemy import text

    forums = [forum_report(conn, f["id"]) for f in forum_list(conn, kabupaten)]
    leads = _leads(conn, "c.kabupaten = :k", k=kabupaten)
    enrolled = {
        str(r[0]): int(r[1])
        for r in conn.execute(
            text(
                "SELECT e.partner, COUNT(*) FROM enrollment e JOIN coop c ON c.id = e.coop_id "
                "WHERE c.kabupaten = :k GROUP BY e.partner"
            ),
            {"k": kabupaten},
        )
    }
    partners: dict[str, dict[str, Any]] = {}
    for lead in leads:
        item = partners.setdefault(
            lead["partner"],
            {"partner": lead["partner"], "leads": 0, "agreements": 0, "enrolled": 0},
        )
        item["leads"] += 1
        item["agreements"] += lead["status"] == "agreement"
    for code, count in enrolled.items():
        if code in partners:
            partners[code]["enrolled"] = count
    with_agreement = {lead["coop_id"] for lead in leads if lead["status"] == "agreement"}
    return {
        "kabupaten": kabupaten,
        "forums": [
            {
                "id": f["forum"]["id"],
                "name": f["forum"]["name"],
                "starts": f["forum"]["starts"],
                "attended": f["attended"],
                "region_coops": f["region_coops"],
                "attendance_rate": f["attendance_rate"],
                "leads": f["leads"],
                "agreements": f["agreements"],
                "agreements_within": f["agreements_within"],
            }
            for f in forums
        ],
        "partners": [partners[k] for k in sorted(partners)],
        "leads": len(leads),
        "agreements": sum(1 for lead in leads if lead["status"] == "agreement"),
        "coops_with_agreement": len(with_agreement),
    }


def resolve_in_kabupaten(
    conn: Connection, kabupaten: str, refs: Sequence[tuple[str, str | None]]
) -> dict[tuple[str, str | None], str | KopflowError]:
    """The cooperatives a sheet's rows name: (reference, kecamatan or None) -> id or error.

    A village name is looked for in ``kabupaten`` first (two kabupaten often share one), and a
    name two villages of the kabupaten share is told apart by the row's kecamatan; an id or a
    name found nowhere there goes to :func:`kopflow.names.resolve_coop`, which suggests the
    nearest names.
    """
    from sqlalchemy import text

    from kopflow.names import resolve_coop

    by_name: dict[str, list[tuple[str, str]]] = {}
    ids: set[str] = set()
    rows = conn.execute(
        text(
            "SELECT c.id, v.name, v.kecamatan FROM coop c JOIN coop_village v ON v.coop_id = c.id "
            "WHERE c.kabupaten = :k ORDER BY c.id"
        ),
        {"k": kabupaten},
    )
    for coop_id, name, kecamatan in rows:
        ids.add(str(coop_id))
        by_name.setdefault(str(name).casefold(), []).append((str(coop_id), str(kecamatan)))
    found: dict[tuple[str, str | None], str | KopflowError] = {}
    for ref, kecamatan in refs:
        key = ref.strip()
        if key.upper() in ids:
            found[(ref, kecamatan)] = key.upper()
            continue
        matches = by_name.get(key.casefold(), [])
        if kecamatan:
            wanted = _plain_kecamatan(kecamatan)
            matches = [m for m in matches if _plain_kecamatan(m[1]) == wanted]
        if len({m[0] for m in matches}) == 1:
            found[(ref, kecamatan)] = matches[0][0]
        elif matches:
            found[(ref, kecamatan)] = InputError(
                "{ref} names {count} cooperatives of {kabupaten}; give the kecamatan in a "
                "kecamatan column, or the id: {candidates}",
                ref=ref,
                count=len(matches),
                kabupaten=kabupaten,
                candidates="; ".join(f"{i} (Kec. {k})" for i, k in matches[:10]),
            )
        else:
            try:
                found[(ref, kecamatan)] = resolve_coop(conn, key, kabupaten=kabupaten)
            except KopflowError as err:
                found[(ref, kecamatan)] = err
    return found


def _plain_kecamatan(name: str) -> str:
    """A kecamatan's name as sheets differ in writing it: no "Kecamatan"/"Kec." and any case."""
    text = " ".join(name.split()).casefold()
    for prefix in ("kecamatan ", "kec. ", "kec "):
        text = text.removeprefix(prefix)
    return text
