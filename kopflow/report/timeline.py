"""One cooperative's record as a printable page (``kopflow coop show COOP --html FILE``).

Every step version and stage change with its actor, time, evidence and audit event, ready to
file: each row names its audit event and the start of that event's hash, so an auditor can
match the printout against ``kopflow audit verify`` and a signed checkpoint later.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kopflow.errors import KopflowError
from kopflow.i18n import _, label
from kopflow.report.markup import Column, attrs, esc, generated_by, num, page, rupiah, table
from kopflow.store.outfile import database_files, write_file

if TYPE_CHECKING:
    from kopflow.engine import Kopflow
    from kopflow.flow.spec import FieldSpec


def write_timeline(
    engine: Kopflow,
    data: dict[str, Any],
    path: Path,
    *,
    force: bool = False,
    protected: Iterable[Path] = (),
) -> None:
    """Write the page for ``data`` (what ``coop show --json`` prints) to ``path``.

    Args:
        force: replace an existing file (``--force``).
        protected: files never to write besides the engine's own database.

    Raises:
        InputError: the file is refused or cannot be written (:mod:`kopflow.store.outfile`).
    """
    from datetime import UTC, datetime

    from sqlalchemy import select

    from kopflow.audit.chain import read_head
    from kopflow.store import tables

    table_ = tables.audit_event
    with engine.reading() as conn:
        head = read_head(conn)
        hashes = dict(
            conn.execute(
                select(table_.c.seq, table_.c.hash).where(table_.c.coop_id == data["coop"]["id"])
            ).all()
        )
    moment = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    document = render_timeline(engine, data, hashes=hashes, head_seq=head.seq, moment=moment)
    content = document.encode("utf-8")
    write_file(
        path,
        lambda handle: handle.write(content),
        force=force,
        protected=[*protected, *database_files(engine.url)],
    )


def render_timeline(
    engine: Kopflow, data: dict[str, Any], *, hashes: dict[int, str], head_seq: int, moment: str
) -> str:
    """The page of one cooperative, in the current language."""
    wf = engine.workflow
    row = data["coop"]
    stage = wf.stage(row["stage"])
    title = _("Record of cooperative {coop}", coop=row["id"])
    villages = ", ".join(
        v["name"] + " (" + _("Kec. {kecamatan}", kecamatan=v["kecamatan"]) + ")"
        for v in data["villages"]
    )
    facts = [
        (_("Name"), row["name"]),
        (_("Villages"), villages or row.get("village", "")),
        (_("Kabupaten/kota"), f"{row['kabupaten']}, {row['provinsi']}"),
        (
            _("Stage now"),
            _(
                "{stage} since {since}",
                stage=label(stage.label, stage.id),
                since=row["stage_since"][:10],
            ),
        ),
        (_("Partners"), ", ".join(_partner_name(engine, p) for p in data["partners"]) or "–"),
        (_("Workflow"), f"{row['workflow']} v{row['workflow_version']}"),
        (_("Record version"), str(row["version"])),
    ]
    head = (
        f'<header><h1>{esc(title)}</h1><dl class="evidence">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
        + "</dl></header>"
    )
    missing = data["next"]["reasons"]
    blocking = (
        '<ul class="missing">' + "".join(f"<li>{esc(m)}</li>" for m in missing) + "</ul>"
        if missing
        else '<p class="note">' + esc(_("Nothing is missing for the next stage.")) + "</p>"
    )
    steps = esc(_("Steps and their evidence"))
    still = esc(_("Still missing before the next stage"))
    events = esc(_("Everything that happened, in order"))
    body = [
        head,
        f'<section id="steps"><h2>{steps}</h2>{_steps(engine, data)}</section>',
        f'<section id="missing"><h2>{still}</h2>{blocking}</section>',
        _partnerships(data.get("partnerships")),
        f'<section id="timeline"><h2>{events}</h2>{_events(engine, data, hashes)}</section>',
        _sign_off(head_seq),
    ]
    return page(title, "\n".join(body), footer=generated_by(moment))


def _steps(engine: Kopflow, data: dict[str, Any]) -> str:
    wf = engine.workflow
    groups = {s.id: label(s.label, s.id) for s in wf.stages}
    rows = []
    for s in data["steps"]:
        state = "done" if s["done"] else ("missing" if s["required"] else "optional")
        text = {"done": _("done"), "missing": _("missing"), "optional": _("optional")}[state]
        rows.append(
            {
                "group": groups.get(s["group"]) or _partner_name(engine, s["group"]),
                "label": s["label"],
                "state": f'<span class="badge {state}">{esc(text)}</span>',
                "version": s["version"] or None,
                "evidence": _evidence(engine, s["step"], s["evidence"] or {}),
                "_attrs": attrs(data_step=s["step"], data_state=state),
            }
        )
    columns = [
        Column("group", _("Stage or partner")),
        Column("label", _("Step")),
        Column("state", _("State")),
        Column("version", _("Version"), numeric=True),
        Column("evidence", _("Evidence")),
    ]
    return table(
        columns, rows, table_id="step-table", raw=["state", "evidence"], row_attrs="_attrs"
    )


def _events(engine: Kopflow, data: dict[str, Any], hashes: dict[int, str]) -> str:
    wf = engine.workflow
    stages = {s.id: label(s.label, s.id) for s in wf.stages}
    events = {e.name: label(e.label, e.name) for e in wf.events}
    rows = []
    for item in data["timeline"]:
        kind, what = item["kind"], item["what"]
        if kind == "transition":
            heading = _("Stage changed: {event}", event=events.get(what, what))
            details = esc(
                _(
                    "from {source} to {dest}",
                    source=stages.get(item["from"], item["from"]),
                    dest=stages.get(item["to"], item["to"]),
                )
            )
        elif kind == "enrollment":
            heading = _("Enrolled with partner {partner}", partner=_partner_name(engine, what))
            details = ""
        else:
            name = _step_name(engine, what)
            if item["status"] == "done":
                heading = _(
                    "Step recorded: {step} (version {version})", step=name, version=item["version"]
                )
            else:
                heading = _(
                    "Step undone: {step} (version {version})", step=name, version=item["version"]
                )
            details = _evidence(engine, what, item.get("evidence") or {})
        if item.get("reason"):
            details += "<p>" + esc(_("Reason: {reason}", reason=item["reason"])) + "</p>"
        digest = hashes.get(item["audit_seq"], "")
        rows.append(
            {
                "seq": item["audit_seq"],
                "at": item["at"].replace("T", " ").rstrip("Z"),
                "actor": item["actor"],
                "what": esc(heading),
                "details": details,
                "hash": f'<span class="mono" title="{esc(digest)}">{esc(digest[:16])}</span>',
                "_attrs": attrs(data_seq=item["audit_seq"], data_kind=kind),
            }
        )
    columns = [
        Column("seq", _("Audit event"), numeric=True),
        Column("at", _("Time (UTC)")),
        Column("actor", _("Actor")),
        Column("what", _("What happened")),
        Column("details", _("Evidence and details")),
        Column("hash", _("Event hash (start)")),
    ]
    return table(
        columns,
        rows,
        table_id="timeline-table",
        raw=["what", "details", "hash"],
        row_attrs="_attrs",
        empty=_("Nothing recorded yet."),
    )


def _partnerships(data: dict[str, Any] | None) -> str:
    """The forums the cooperative attended and its leads with partners (issue #16)."""
    if not data or not (data["forums"] or data["leads"]):
        return ""
    parts = []
    if data["forums"]:
        columns = [
            Column("id", _("Forum")),
            Column("name", _("Name")),
            Column("starts", _("Date")),
            Column("rep_name", _("Representative")),
            Column("rep_role", _("Role")),
        ]
        parts.append(table(columns, data["forums"]))
    if data["leads"]:
        from kopflow.rules.partnership import STATE_LABELS

        columns = [
            Column("id", _("Lead")),
            Column("partner", _("Partner")),
            Column("commodity", _("Commodity")),
            Column("quantity", _("Quantity"), numeric=True),
            Column("state", _("State")),
            Column("on_date", _("Date")),
            Column("number", _("Number")),
        ]
        rows = [
            {**x, "_attrs": attrs(data_lead=x["id"]), "state": _state(STATE_LABELS, x["status"])}
            for x in data["leads"]
        ]
        parts.append(table(columns, rows, row_attrs="_attrs"))
    heading = esc(_("Partnerships"))
    return f'<section id="kemitraan"><h2>{heading}</h2>{"".join(parts)}</section>'


def _state(labels: dict[str, str], status: str) -> str:
    msgid = labels.get(status, status)
    return _(msgid)


def _sign_off(head_seq: int) -> str:
    note = _(
        "When this page was made, the audit log ended at event {seq}. Check the hashes above "
        "with 'kopflow audit verify'.",
        seq=num(head_seq),
    )
    checked, date = esc(_("Checked by")), esc(_("Date"))
    return (
        f'<section id="sign-off"><p class="note">{esc(note)}</p>'
        f"<p>{checked}: ____________________ &nbsp; {date}: ____________</p></section>"
    )


def _partner_name(engine: Kopflow, code: str) -> str:
    spec = engine.plugins.partners.get(code)
    return label(spec.name, code) if spec is not None else code


def _fields(engine: Kopflow, step: str) -> dict[str, FieldSpec]:
    try:
        spec, _partner, _stage = engine.step_spec(step)
    except KopflowError:  # a partner whose plugin is not loaded now: show raw field names
        return {}
    return {f.name: f for f in spec.fields}


def _step_name(engine: Kopflow, step: str) -> str:
    try:
        spec, partner, _stage = engine.step_spec(step)
    except KopflowError:
        return step
    name = label(spec.label, step)
    return f"{_partner_name(engine, partner)}: {name}" if partner else name


def _evidence(engine: Kopflow, step: str, evidence: dict[str, Any]) -> str:
    """Evidence as a list of field label and value, values shown as people write them."""
    if not evidence:
        return ""
    fields = _fields(engine, step)
    choice_labels = engine.workflow.choice_labels
    order = {name: i for i, name in enumerate(fields)}
    items = []
    for name, value in sorted(
        evidence.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])
    ):
        spec = fields.get(name)
        items.append(
            f"<dt>{esc(label(spec.label, name) if spec else name)}</dt>"
            f"<dd>{esc(_value(spec, value, choice_labels))}</dd>"
        )
    return '<dl class="evidence">' + "".join(items) + "</dl>"


def _value(
    spec: FieldSpec | None, value: Any, choices: dict[str, dict[str, dict[str, str]]]
) -> str:
    if spec is not None and spec.type == "rupiah" and isinstance(value, int):
        return rupiah(value)
    if spec is not None and spec.type == "choice":
        names = choices.get(spec.choice_list or "", {})
        values = value if isinstance(value, list) else [value]
        # A plugin's own labels (issue #13), else the definition's list.
        return ", ".join(
            label(spec.choice_label(str(v)) or names.get(str(v)), str(v)) for v in values
        )
    if spec is not None and spec.unit is not None and value is not None:
        return f"{value} {label(spec.unit)}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
