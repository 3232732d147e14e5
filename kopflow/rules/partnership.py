"""Partnership work before onboarding (issue #16): the partner directory and its caps, forums
with their partners and attendance, and leads that move from interest to agreement.

Every function takes a :class:`~kopflow.pipeline.change.Change` and queues its rows with the
audit event that records them, so each change is one transaction with its event. Attendance
and lead creation are also :class:`~kopflow.pipeline.driver.BulkOp` declarations, run by the
one bulk driver (dry run, chunks, grouped refusals). Nothing here reads for display: that is
:mod:`kopflow.rules.partnership_reads`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.audit.canonical import checked_text
from kopflow.errors import InputError, NotFoundError, PermissionDeniedError, RefusedError
from kopflow.i18n import N_, _
from kopflow.pipeline.driver import BulkOp
from kopflow.pipeline.work import Outcome

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.pipeline.change import Change
    from kopflow.pipeline.work import CoopWork

KINDS = ("bumn", "bumd", "bank", "private", "government")
FORUM_KINDS = ("rakor", "business-matching", "kontak-bisnis", "socialisation", "seminar")
REP_ROLES = ("ketua", "pengurus", "pengawas", "manajer")
# A lead's states and where each may go. An agreement may follow interest directly: not every
# partner asks for a letter of intent first (Pertamina's LPG outlets are ratified in its dealer
# system). Agreements, declines and lapses are final: a new interest is a new lead.
LEAD_STATES = ("interest", "intent", "agreement", "declined", "lapsed")
LEAD_NEXT: dict[str, tuple[str, ...]] = {
    "interest": ("intent", "agreement", "declined", "lapsed"),
    "intent": ("agreement", "declined", "lapsed"),
    "agreement": (),
    "declined": (),
    "lapsed": (),
}
OPEN = ("interest", "intent")
STATE_LABELS = {
    "interest": N_("interest"),
    "intent": N_("letter of intent"),
    "agreement": N_("agreement signed"),
    "declined": N_("declined"),
    "lapsed": N_("lapsed"),
}
_CODE = re.compile(r"[a-z][a-z0-9_-]{0,39}")


def canonical(value: Any) -> str:
    """JSON as stored in the text columns: the audit body's canonical form (sorted keys, no
    spaces, Indonesian text as is). Every value stored so is in its change's audit event too,
    so the subset it allows is the audit's own."""
    return checked_text(value)


def parse_date(value: str, what: str, today: date) -> str:
    """An ISO date (``2025-10-22``), not after ``today``, for ``what`` (a field's name)."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(
            "{what} must be a date as YYYY-MM-DD, got {value!r}", what=what, value=value
        ) from None
    if day > today:
        raise InputError(
            "{what} {day} is after today; record it once it has happened",
            what=what,
            day=day.isoformat(),
        )
    return day.isoformat()


# --- the directory -----------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerInput:
    """A partner as ``partner add`` or the seeds give it."""

    code: str
    name: str
    kind: str
    office: str | None = None
    contact: str | None = None
    offers: tuple[Mapping[str, Any], ...] = ()


def seeds() -> list[PartnerInput]:
    """The built-in directory (``kopflow/seeds/partners.yaml``, shipped in the wheel)."""
    from importlib.resources import files

    import yaml

    text = files("kopflow").joinpath("seeds", "partners.yaml").read_text(encoding="utf-8")
    return [
        PartnerInput(
            code=p["code"],
            name=p["name"],
            kind=p["kind"],
            office=p.get("office"),
            contact=p.get("contact"),
            offers=tuple(p.get("offers") or ()),
        )
        for p in yaml.safe_load(text)["partners"]
    ]


def parse_offer(text: str) -> dict[str, Any]:
    """An offer as the CLI takes it: ``lpg-3kg``, ``lpg-3kg:tabung`` or ``lpg-3kg:tabung:200``
    (commodity, unit, monthly cap per cooperative)."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) > 3 or not _CODE.fullmatch(parts[0].lower()):
        raise InputError(
            "--offer takes COMMODITY[:UNIT[:CAP]], e.g. lpg-3kg:tabung:200, got {text!r}",
            text=text,
        )
    offer: dict[str, Any] = {"commodity": parts[0].lower()}
    if len(parts) > 1 and parts[1]:
        offer["unit"] = parts[1]
    if len(parts) > 2:
        offer["cap"] = _positive(parts[2], "the cap")
    return offer


def _positive(value: Any, what: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1:
        raise InputError(
            "{what} must be a whole number above 0, got {value!r}", what=what, value=value
        )
    return number


def add_partner(change: Change, partner: PartnerInput, *, known: set[str]) -> int:
    """Queue a partner of the directory and its declared caps; returns the event's number.

    ``known``: the codes already in the directory (a code is added once).
    """
    authz.require_write(change.actor)
    if change.actor.role == "partner":
        raise PermissionDeniedError(
            "{actor} works for partner {partner} and may not change the partner directory",
            actor=change.actor.name,
            partner=change.actor.partner,
        )
    code = partner.code.strip().lower()
    if not _CODE.fullmatch(code):
        raise InputError(
            "partner code {code!r} must be lower-case letters, digits, - or _, starting with a "
            "letter (e.g. bulog)",
            code=partner.code,
        )
    if code in known:
        raise InputError(
            "partner {code} is already in the directory: 'kopflow partner show {code}'",
            code=code,
        )
    if partner.kind not in KINDS:
        raise InputError(
            "unknown partner kind {kind!r}; kinds: {kinds}",
            kind=partner.kind,
            kinds=", ".join(KINDS),
        )
    if not partner.name.strip():
        raise InputError("a partner needs a name: --name 'Perum Bulog'")
    offers = [dict(o) for o in partner.offers]
    seq = change.event(
        "partner.added",
        None,
        {
            "partner": code,
            "name": partner.name,
            "kind": partner.kind,
            "office": partner.office,
            "contact": partner.contact,
            "offers": offers,
        },
    )
    change.insert(
        "partner_org",
        {
            "code": code,
            "name": partner.name.strip(),
            "kind": partner.kind,
            "office": partner.office,
            "contact": partner.contact,
            "offers": canonical(offers),
            "actor": change.actor.name,
            "at": change.now,
            "audit_seq": seq,
        },
    )
    for offer in offers:
        if offer.get("cap"):
            _queue_cap(
                change,
                code,
                offer["commodity"],
                "",
                int(offer["cap"]),
                offer.get("unit") or "",
                seq,
            )
    known.add(code)
    return seq


def _queue_cap(
    change: Change, partner: str, commodity: str, kabupaten: str, cap: int, unit: str, seq: int
) -> None:
    change.insert(
        "partner_cap",
        {
            "partner": partner,
            "commodity": commodity,
            "kabupaten": kabupaten,
            "cap": cap,
            "unit": unit,
            "actor": change.actor.name,
            "at": change.now,
            "audit_seq": seq,
        },
    )


def directory(conn: Connection) -> dict[str, dict[str, Any]]:
    """The directory's partners by code, their offers parsed."""
    from sqlalchemy import select

    from kopflow.store import tables

    found: dict[str, dict[str, Any]] = {}
    for row in conn.execute(
        select(tables.partner_org).order_by(tables.partner_org.c.code)
    ).mappings():
        found[row["code"]] = {**row, "offers": json.loads(row["offers"])}
    return found


def set_cap(change: Change, partner: str, commodity: str, cap: int, kabupaten: str) -> int:
    """Queue a district's own monthly cap per cooperative for a partner's commodity."""
    authz.require_region(change.actor, kabupaten, N_("a partner's cap"))
    entry = directory(change.conn).get(partner)
    if entry is None:
        raise NotFoundError(
            "partner {code} is not in the directory; add it first: 'kopflow partner add {code} ...'",
            code=partner,
        )
    offer = _offer(entry, commodity)
    seq = change.event(
        "partner.cap",
        None,
        {"partner": partner, "commodity": offer["commodity"], "kabupaten": kabupaten, "cap": cap},
    )
    _queue_cap(change, partner, offer["commodity"], kabupaten, cap, offer.get("unit") or "", seq)
    return seq


def _offer(entry: Mapping[str, Any], commodity: str) -> Mapping[str, Any]:
    """The offer of a directory partner that ``commodity`` names (its code, any case)."""
    wanted = commodity.strip().lower()
    for offer in entry["offers"]:
        if offer["commodity"] == wanted or str(offer.get("label", "")).lower() == wanted:
            return dict(offer)
    raise InputError(
        "{partner} offers no {commodity}; it offers: {offers}",
        partner=entry["code"],
        commodity=commodity,
        offers=", ".join(o["commodity"] for o in entry["offers"]) or "-",
    )


def cap_for(
    conn: Connection, partner: str, commodity: str, kabupaten: str
) -> tuple[int, str, str] | None:
    """(cap, unit, where) for a partner's commodity in ``kabupaten``: the district's own cap,
    else the partner's cap for every district (``where`` is ``""``), else None."""
    from sqlalchemy import select

    from kopflow.store import tables

    table = tables.partner_cap
    rows = conn.execute(
        select(table.c.kabupaten, table.c.cap, table.c.unit)
        .where(
            table.c.partner == partner,
            table.c.commodity == commodity,
            table.c.kabupaten.in_([kabupaten, ""]),
        )
        .order_by(table.c.id)
    ).all()
    newest: dict[str, tuple[int, str]] = {str(r[0]): (int(r[1]), str(r[2])) for r in rows}
    for where in (kabupaten, ""):
        if where in newest:
            return (*newest[where], where)
    return None


# --- forums ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForumInput:
    """A forum as ``forum create`` gives it."""

    code: str
    name: str
    kind: str
    starts: str
    ends: str | None
    kabupaten: str
    place: str | None = None
    office: str | None = None


def create_forum(change: Change, forum: ForumInput) -> int:
    """Queue a forum; returns its event's number."""
    from sqlalchemy import select

    from kopflow.store import tables

    authz.require_region(change.actor, forum.kabupaten, N_("a forum"))
    code = forum.code.strip().lower()
    if not _CODE.fullmatch(code):
        raise InputError(
            "forum code {code!r} must be lower-case letters, digits, - or _, starting with a "
            "letter (e.g. rakor-buleleng-2025)",
            code=forum.code,
        )
    if forum.kind not in FORUM_KINDS:
        raise InputError(
            "unknown forum kind {kind!r}; kinds: {kinds}",
            kind=forum.kind,
            kinds=", ".join(FORUM_KINDS),
        )
    table = tables.forum
    if change.conn.execute(select(table.c.id).where(table.c.id == code)).first():
        raise InputError("forum {code} exists already: 'kopflow forum show {code}'", code=code)
    starts = parse_date(forum.starts, "--date", change.today)
    ends = parse_date(forum.ends, "--until", change.today) if forum.ends else starts
    if ends < starts:
        raise InputError("--until {ends} is before --date {starts}", ends=ends, starts=starts)
    seq = change.event(
        "forum.created",
        None,
        {
            "forum": code,
            "name": forum.name,
            "kind": forum.kind,
            "starts": starts,
            "ends": ends,
            "kabupaten": forum.kabupaten,
            "place": forum.place,
            "office": forum.office,
        },
    )
    change.insert(
        "forum",
        {
            "id": code,
            "name": forum.name,
            "kind": forum.kind,
            "starts": starts,
            "ends": ends,
            "place": forum.place,
            "office": forum.office,
            "kabupaten": forum.kabupaten,
            "actor": change.actor.name,
            "at": change.now,
            "audit_seq": seq,
        },
    )
    return seq


def forum_row(conn: Connection, code: str) -> dict[str, Any]:
    """A forum's row, or NotFoundError naming the forums that exist."""
    from sqlalchemy import select

    from kopflow.store import tables

    table = tables.forum
    row = conn.execute(select(table).where(table.c.id == code.strip().lower())).mappings().first()
    if row is None:
        known = list(conn.execute(select(table.c.id).order_by(table.c.id).limit(10)).scalars())
        raise NotFoundError(
            "no forum {code}; forums: {known} ('kopflow forum list')",
            code=code,
            known=", ".join(known) or "-",
        )
    return dict(row)


def forum_partners(change: Change, code: str, partners: Sequence[str], status: str) -> int:
    """Queue partners invited to a forum (``status`` ``invited``) or present at it
    (``present``); a partner already so recorded is skipped. Returns the event's number, or
    0 when there was nothing new."""
    from sqlalchemy import select

    from kopflow.store import tables

    forum = forum_row(change.conn, code)
    authz.require_region(change.actor, forum["kabupaten"], N_("a forum"))
    table = tables.forum_partner
    have = set(
        change.conn.execute(
            select(table.c.partner).where(table.c.forum_id == forum["id"], table.c.status == status)
        ).scalars()
    )
    new = [p for p in dict.fromkeys(partners) if p not in have]
    if not new:
        return 0
    seq = change.event(
        "forum.partners", None, {"forum": forum["id"], "partners": new, "status": status}
    )
    for partner in new:
        change.insert(
            "forum_partner",
            {
                "forum_id": forum["id"],
                "partner": partner,
                "status": status,
                "actor": change.actor.name,
                "at": change.now,
                "audit_seq": seq,
            },
        )
    return seq


# One attendance: the cooperative reference, the representative's name and role.
Attendee = tuple[str, str | None, str | None]


def check_rep_role(role: str | None) -> str | None:
    """A representative's role, one of :data:`REP_ROLES` (any case), or None."""
    if role is None or not role.strip():
        return None
    if role.strip().lower() not in REP_ROLES:
        raise InputError(
            "unknown representative role {role!r}; roles: {roles}",
            role=role,
            roles=", ".join(REP_ROLES),
        )
    return role.strip().lower()


def attend_op(code: str) -> BulkOp[Attendee]:
    """Attendance at forum ``code`` of the cooperatives named, one audit event each: a
    cooperative already recorded is left as it is."""

    def load(
        change: Change, ids: list[str], _items: Mapping[str, list[Attendee]]
    ) -> dict[str, CoopWork]:
        from kopflow.store.rows import rows_in

        forum = change.memoized("forum", lambda: forum_row(change.conn, code))
        sql = "SELECT coop_id FROM forum_attendance"
        also = ("forum_id", [forum["id"]])
        change.memo["attended"] = {
            r[0] for r in rows_in(change.conn, sql, "coop_id", ids, also=also)
        }
        return change.load(ids, views=False, steps=())

    def apply(change: Change, work: CoopWork, items: list[Attendee]) -> list[Outcome]:
        forum = change.memo["forum"]
        kabupaten = work.row["kabupaten"]
        authz.require_region(change.actor, kabupaten, N_("attendance"))
        if kabupaten != forum["kabupaten"]:
            raise RefusedError(
                "{coop} is in {kabupaten}; forum {forum} is of {region}",
                coop=work.id,
                kabupaten=kabupaten,
                forum=forum["id"],
                region=forum["kabupaten"],
            )
        if work.id in change.memo["attended"]:
            return [
                Outcome(work.id, True, _("attendance already recorded"), stage=work.row["stage"])
            ]
        _ref, rep_name, rep_role = items[-1]
        seq = change.event(
            "forum.attended",
            work.id,
            {"forum": forum["id"], "rep_name": rep_name, "rep_role": rep_role},
        )
        change.insert(
            "forum_attendance",
            {
                "forum_id": forum["id"],
                "coop_id": work.id,
                "rep_name": rep_name,
                "rep_role": rep_role,
                "actor": change.actor.name,
                "at": change.now,
                "audit_seq": seq,
            },
        )
        change.memo["attended"].add(work.id)
        return [
            Outcome(work.id, True, _("attended {forum}", forum=forum["id"]), seq, work.row["stage"])
        ]

    return BulkOp(
        name="forum.attend",
        apply=apply,
        load=load,
        group=True,
        ref=lambda item: item[0],
        log_context={"forum": code},
    )


# --- leads -------------------------------------------------------------------------------

# One new lead: cooperative reference, partner code, commodity, monthly quantity, forum code.
NewLead = tuple[str, str, str, int | None, str | None]


def _prefetch_leads(change: Change, ids: Sequence[str]) -> None:
    """Each cooperative's open (partner, commodity) pairs, read once per chunk."""
    from kopflow.store.rows import rows_in

    sql = (
        "SELECT l.coop_id, l.partner, l.commodity, l.id, r.status FROM lead l "
        "JOIN lead_record r ON r.lead_id = l.id AND r.version = "
        "(SELECT MAX(version) FROM lead_record WHERE lead_id = l.id)"
    )
    found: dict[str, dict[tuple[str, str], str]] = change.memo.setdefault("open_leads", {})
    for coop_id in ids:
        found[coop_id] = {}
    for coop_id, partner, commodity, lead_id, status in rows_in(
        change.conn, sql, "l.coop_id", list(ids)
    ):
        if status in OPEN:
            found[coop_id][(partner, commodity)] = lead_id


def add_lead(
    change: Change,
    work: CoopWork,
    lead: NewLead,
    partners: Mapping[str, Mapping[str, Any]],
    plugin_partners: Sequence[str],
) -> Outcome:
    """Queue a new lead (state ``interest``) of a cooperative with a partner.

    ``partners``: the directory; ``plugin_partners``: codes the plugins declare (a partner with
    a plugin but no directory entry may be named; its commodities are not checked).
    """
    _ref, partner, commodity, quantity, forum_code = lead
    authz.require_lead(change.actor, work.row["kabupaten"], work.id, partner)
    entry = partners.get(partner)
    if entry is None and partner not in plugin_partners:
        raise NotFoundError(
            "unknown partner {code}; known partners: {known}",
            code=partner,
            known=", ".join(sorted({*partners, *plugin_partners})) or "-",
        )
    commodity = commodity.strip().lower()
    unit = ""
    if entry is not None and entry["offers"]:
        offer = _offer(entry, commodity)
        commodity, unit = offer["commodity"], offer.get("unit") or ""
    if quantity is not None and quantity < 1:
        raise InputError("the quantity must be a whole number above 0, got {value}", value=quantity)
    caps = change.memo.setdefault("caps", {})
    key = (partner, commodity, work.row["kabupaten"])
    if key not in caps:
        caps[key] = cap_for(change.conn, *key)
    cap = caps[key]
    if cap is not None and quantity is not None and quantity > cap[0]:
        raise RefusedError(
            "{quantity} {unit} a month of {commodity} is over {partner}'s cap of {cap} {unit} "
            "a month per cooperative in {kabupaten}",
            quantity=quantity,
            unit=cap[1] or unit,
            commodity=commodity,
            partner=partner,
            cap=cap[0],
            kabupaten=work.row["kabupaten"],
        )
    forum_id = None
    if forum_code:
        forums = change.memo.setdefault("forums", {})
        if forum_code not in forums:
            forums[forum_code] = forum_row(change.conn, forum_code)
        forum_id = forums[forum_code]["id"]
    open_leads = change.memo.setdefault("open_leads", {})
    if work.id not in open_leads:
        _prefetch_leads(change, [work.id])
    held = open_leads[work.id].get((partner, commodity))
    if held is not None:
        raise RefusedError(
            "{coop} already has an open lead {lead} with {partner} for {commodity}; "
            "advance it with 'kopflow lead advance {lead} ...'",
            coop=work.id,
            lead=held,
            partner=partner,
            commodity=commodity,
        )
    details = {
        "partner": partner,
        "commodity": commodity,
        "quantity": quantity,
        "unit": (cap[1] if cap else unit) or None,
        "forum": forum_id,
    }
    seq = change.event("lead.added", work.id, details)
    lead_id = f"L-{seq}"
    change.insert(
        "lead",
        {
            "id": lead_id,
            "coop_id": work.id,
            "partner": partner,
            "commodity": commodity,
            "quantity": quantity,
            "forum_id": forum_id,
            "actor": change.actor.name,
            "at": change.now,
            "audit_seq": seq,
        },
    )
    change.insert(
        "lead_record",
        {
            "lead_id": lead_id,
            "version": 1,
            "status": "interest",
            "details": canonical({"lead": lead_id, **details}),
            "on_date": None,
            "actor": change.actor.name,
            "at": change.now,
            "audit_seq": seq,
        },
    )
    open_leads[work.id][(partner, commodity)] = lead_id
    return Outcome(
        work.id,
        True,
        _(
            "lead {lead}: {commodity} with {partner}",
            lead=lead_id,
            commodity=commodity,
            partner=partner,
        ),
        seq,
        work.row["stage"],
    )


def lead_op(plugin_partners: Sequence[str]) -> BulkOp[NewLead]:
    """Bulk lead creation: each cooperative's rows are all recorded or all refused."""

    def load(
        change: Change, ids: list[str], _items: Mapping[str, list[NewLead]]
    ) -> dict[str, CoopWork]:
        change.memoized("directory", lambda: directory(change.conn))
        _prefetch_leads(change, ids)
        return change.load(ids, views=False, steps=())

    def apply(change: Change, work: CoopWork, items: list[NewLead]) -> list[Outcome]:
        return [
            add_lead(change, work, item, change.memo["directory"], plugin_partners)
            for item in items
        ]

    return BulkOp(
        name="lead.add",
        apply=apply,
        load=load,
        group=True,
        ref=lambda item: item[0],
    )


def lead_state(conn: Connection, lead_id: str) -> tuple[dict[str, Any], int, str]:
    """A lead's row, its newest version and state; NotFoundError for an unknown id."""
    from sqlalchemy import func, select

    from kopflow.store import tables

    lead_t, rec = tables.lead, tables.lead_record
    key = lead_id.strip().upper()
    row = conn.execute(select(lead_t).where(lead_t.c.id == key)).mappings().first()
    if row is None:
        raise NotFoundError(
            "no lead {lead}; 'kopflow lead list' shows the leads and their ids", lead=lead_id
        )
    version = conn.execute(select(func.max(rec.c.version)).where(rec.c.lead_id == key)).scalar_one()
    status = conn.execute(
        select(rec.c.status).where(rec.c.lead_id == key, rec.c.version == version)
    ).scalar_one()
    return dict(row), int(version), str(status)


def advance_lead(
    change: Change,
    work: CoopWork,
    lead: Mapping[str, Any],
    version: int,
    status: str,
    to: str,
    fields: Mapping[str, str | None],
) -> Outcome:
    """Queue a lead's next state: ``intent`` (optional number, date, document),
    ``agreement`` (number and date required; term, document), or ``declined`` / ``lapsed``
    (a reason required)."""
    authz.require_lead(change.actor, work.row["kabupaten"], work.id, lead["partner"])
    if to not in LEAD_STATES:
        raise InputError(
            "unknown lead state {state!r}; states: {states}",
            state=to,
            states=", ".join(LEAD_STATES),
        )
    if to not in LEAD_NEXT[status]:
        allowed = ", ".join(LEAD_NEXT[status])
        if not allowed:
            raise RefusedError(
                "lead {lead} is {state} already: a lead ends there; a new interest is a new lead",
                lead=lead["id"],
                state=_(STATE_LABELS[status]),
            )
        raise RefusedError(
            "lead {lead} is at {state}; from there it may go to: {allowed}",
            lead=lead["id"],
            state=_(STATE_LABELS[status]),
            allowed=allowed,
        )
    given = {k: v.strip() for k, v in fields.items() if v is not None and v.strip()}
    if to == "agreement":
        missing = [f"--{k}" for k in ("number", "date") if k not in given]
        if missing:
            raise InputError(
                "an agreement needs its number and date: add {missing}",
                missing=" ".join(missing),
            )
    if to in ("declined", "lapsed") and "reason" not in given:
        raise InputError(
            "a {state} lead needs a reason: add --reason TEXT", state=_(STATE_LABELS[to])
        )
    on_date = parse_date(given["date"], "--date", change.today) if "date" in given else None
    if on_date is not None:
        given["date"] = on_date
    details = {"lead": lead["id"], "from": status, "to": to, **given}
    seq = change.event("lead.advanced", work.id, details)
    change.insert(
        "lead_record",
        {
            "lead_id": lead["id"],
            "version": version + 1,
            "status": to,
            "details": canonical(details),
            "on_date": on_date,
            "actor": change.actor.name,
            "at": change.now,
            "audit_seq": seq,
        },
    )
    return Outcome(
        work.id,
        True,
        _("lead {lead}: {state}", lead=lead["id"], state=_(STATE_LABELS[to])),
        seq,
        work.row["stage"],
    )
