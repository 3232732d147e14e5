"""The district report as HTML: one section per question a district head or an auditor asks.

Takes the :class:`kopflow.report.data.ReportData` that :func:`kopflow.report.data.collect` read and
renders it in the current language; reads nothing from the database itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kopflow.i18n import _, label
from kopflow.report.markup import Column, attrs, esc, figure, generated_by, num, page, table
from kopflow.report.svg import PALETTE, FunnelStep, Segment, funnel, stacked_bars, workflow_diagram

if TYPE_CHECKING:
    from kopflow.engine import Kopflow
    from kopflow.report.data import PartnerPipeline, ReportData


def render(engine: Kopflow, data: ReportData) -> str:
    """The whole report page."""
    title = _("Cooperative progress report: {region}", region=data.region)
    sections = [
        _header(data, title),
        _stages(data),
        _kecamatan(data),
        _partners(data),
        _partnership(data),
        _overdue(data),
        _diagram(engine),
        _audit(data),
    ]
    return page(title, "\n".join(sections), footer=generated_by(data.generated_at))


def _section(ident: str, heading: str, *parts: str) -> str:
    return f'<section id="{ident}"><h2>{esc(heading)}</h2>{"".join(parts)}</section>'


def _note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def _header(data: ReportData, title: str) -> str:
    late = sum(s.overdue for s in data.stages)
    main = [s for s in data.stages if not s.side]
    last = main[-1] if main else None
    links = [
        ("stages", _("Stages")),
        ("kecamatan", _("Subdistricts")),
        ("partners", _("Partners")),
        ("kemitraan", _("Partnerships")),
        ("overdue", _("Overdue")),
        ("workflow", _("Workflow")),
        ("audit", _("Audit trail")),
    ]
    cards = [
        ("", num(data.total), _("cooperatives registered")),
        ("ok", num(last.count), _("in stage {stage}", stage=last.label)) if last else None,
        ("late" if late else "ok", num(late), _("past their stage's deadline")),
        (
            "ok" if data.audit.ok else "late",
            num(data.audit.head_seq),
            _("audit events verified") if data.audit.ok else _("audit chain broken"),
        ),
    ]
    as_of = _("As of {day}", day=data.as_of.isoformat())
    workflow = _("Workflow: {workflow}", workflow=data.workflow)
    return (
        f"<header><h1>{esc(title)}</h1>"
        f'<p class="meta">{esc(as_of)}</p>'
        f'<p class="meta">{esc(workflow)}</p>'
        '<nav class="toc">'
        + "".join(f'<a href="#{ident}">{esc(text)}</a>' for ident, text in links)
        + '</nav><div class="cards">'
        + "".join(
            f'<div class="card {css}"><span class="value">{value}</span>'
            f'<span class="what">{esc(what)}</span></div>'
            for css, value, what in filter(None, cards)
        )
        + "</div></header>"
    )


def _stages(data: ReportData) -> str:
    main = [s for s in data.stages if not s.side]
    steps = [
        FunnelStep(s.id, s.label, s.reached, _("{count} in this stage now", count=num(s.count)))
        for s in main
    ]
    chart = figure(
        funnel(steps, _("Stage funnel")),
        _(
            "How many cooperatives reached each stage of the main line (those in it now and "
            "those further on); suspended and dissolved ones are counted in the table only."
        ),
        figure_id="funnel",
    )
    columns = [
        Column("label", _("Stage")),
        Column("count", _("Cooperatives now"), numeric=True),
        Column("reached", _("Reached the stage"), numeric=True),
        Column("overdue", _("Past the deadline"), numeric=True),
        Column("sla", _("Deadline (days in stage)"), numeric=True),
    ]
    rows = [
        {
            "label": s.label,
            "count": s.count,
            "reached": s.reached if not s.side else None,
            "overdue": s.overdue,
            "sla": s.sla_days if s.sla_days else "–",
            "_attrs": attrs(data_stage=s.id, data_count=s.count, data_overdue=s.overdue),
        }
        for s in data.stages
    ]
    total = {
        "label": _("Total"),
        "count": data.total,
        "overdue": sum(s.overdue for s in data.stages),
    }
    return _section(
        "stages",
        _("Cooperatives per stage"),
        chart,
        table(columns, rows, table_id="stage-table", total=total, row_attrs="_attrs"),
    )


def _kecamatan(data: ReportData) -> str:
    shown = [
        s for s in data.stages if not s.side or any(k.counts.get(s.id) for k in data.kecamatan)
    ]
    segments = [Segment(s.id, s.label, PALETTE[i % len(PALETTE)]) for i, s in enumerate(shown)]
    chart = figure(
        stacked_bars(
            [(k.name, k.counts) for k in data.kecamatan],
            segments,
            _("Cooperatives per stage in each kecamatan"),
            chart_id="kecamatan-chart",
        ),
        _("Each bar is one kecamatan, split by the stage its cooperatives are in."),
    )
    columns = [Column("name", _("Subdistrict (kecamatan)"))]
    columns += [Column(s.id, s.label, numeric=True) for s in shown]
    columns += [
        Column("total", _("Total"), numeric=True),
        Column("overdue", _("Past the deadline"), numeric=True),
        Column("share", _("Left the first stage"), numeric=True),
    ]
    rows = [
        {
            "name": k.name,
            **{s.id: k.counts.get(s.id, 0) for s in shown},
            "total": k.total,
            "overdue": k.overdue,
            "share": f"{round(100 * k.moved_on / k.total) if k.total else 0} %",
            "_attrs": attrs(data_kecamatan=k.name),
        }
        for k in data.kecamatan
    ]
    return _section(
        "kecamatan",
        _("Cooperatives per kecamatan"),
        chart,
        _note(_("Sorted by name; the last column shows which kecamatan lag behind.")),
        table(columns, rows, table_id="kecamatan-table", row_attrs="_attrs"),
    )


def _partners(data: ReportData) -> str:
    parts = [
        _note(
            _(
                "For each partner: how many enrolled cooperatives completed each step, and how "
                "many wait at it (their first required step not yet done)."
            )
        )
    ]
    for pipeline in data.partners:
        parts.append(_partner(pipeline))
    return _section("partners", _("Partner onboarding"), *parts)


def _partner(p: PartnerPipeline) -> str:
    heading = _("Partner: {partner}", partner=p.name)
    if p.required:
        heading += " " + _("(required for every cooperative)")
    out = [f'<div class="partner"{attrs(data_partner=p.code)}><h3>{esc(heading)}</h3>']
    if not p.enrolled:
        out.append(_note(_("No cooperative of this region is enrolled with this partner yet.")))
        return "".join(out) + "</div>"
    slowest = max(p.steps, key=lambda s: s.waiting, default=None)
    summary = _(
        "{enrolled} cooperatives enrolled, {complete} with every required step done.",
        enrolled=num(p.enrolled),
        complete=num(p.complete),
    )
    if slowest is not None and slowest.waiting:
        summary += " " + _("Most are waiting at: {step}.", step=slowest.label)
    out.append(_note(summary))
    if p.undelivered:  # issue #13: notifications the partner has not received yet
        out.append(
            _note(
                _(
                    "{count} notifications to this partner not delivered yet, {failed} of them "
                    "failed: see 'kopflow partner outbox {partner}'.",
                    count=num(p.undelivered),
                    failed=num(p.failed),
                    partner=p.code,
                )
            )
        )
    if p.steps:
        done, waiting = _("Step done"), _("Waiting at this step")
        segments = [Segment("done", done, PALETTE[2]), Segment("waiting", waiting, PALETTE[1])]
        out.append(
            figure(
                stacked_bars(
                    [(s.label, {"done": s.done, "waiting": s.waiting}) for s in p.steps],
                    segments,
                    heading,
                    chart_id=f"partner-{p.code}-chart",
                ),
                _("Steps in the order the partner declares them."),
            )
        )
        columns = [
            Column("label", _("Step")),
            Column("required", _("Required")),
            Column("done", done, numeric=True),
            Column("waiting", waiting, numeric=True),
        ]
        rows = [
            {
                "label": s.label,
                "required": _("yes") if s.required else _("no"),
                "done": s.done,
                "waiting": s.waiting,
                "_attrs": attrs(data_step=s.key),
            }
            for s in p.steps
        ]
        out.append(table(columns, rows, row_attrs="_attrs"))
    return "".join(out) + "</div>"


def _partnership(data: ReportData) -> str:
    """Kemitraan (issue #16): the region's forums with attendance and conversion, and per
    partner the leads, signed agreements and enrolments, with a chart."""
    p = data.partnership
    heading = _("Partnerships")
    if not p or not (p["forums"] or p["partners"]):
        return _section(
            "kemitraan", heading, _note(_("No forum or lead is recorded for this region yet."))
        )
    parts = [
        _note(
            _(
                "{leads} leads with partners, {agreements} agreements signed; {coops} "
                "cooperatives have at least one signed agreement.",
                leads=num(p["leads"]),
                agreements=num(p["agreements"]),
                coops=num(p["coops_with_agreement"]),
            )
        )
    ]
    if p["partners"]:
        open_, signed, enrolled = _("Leads not signed"), _("Agreements signed"), _("Enrolled")
        segments = [
            Segment("signed", signed, PALETTE[2]),
            Segment("open", open_, PALETTE[1]),
        ]
        parts.append(
            figure(
                stacked_bars(
                    [
                        (
                            r["partner"],
                            {"signed": r["agreements"], "open": r["leads"] - r["agreements"]},
                        )
                        for r in p["partners"]
                    ],
                    segments,
                    _("Leads and agreements per partner"),
                    chart_id="kemitraan-chart",
                ),
                _("Each partner's leads in the region; the signed ones first."),
            )
        )
        columns = [
            Column("partner", _("Partner")),
            Column("leads", _("Leads"), numeric=True),
            Column("agreements", signed, numeric=True),
            Column("enrolled", enrolled, numeric=True),
        ]
        rows = [{**r, "_attrs": attrs(data_partner_leads=r["partner"])} for r in p["partners"]]
        parts.append(table(columns, rows, table_id="kemitraan-partners", row_attrs="_attrs"))
    if p["forums"]:
        columns = [
            Column("name", _("Forum")),
            Column("starts", _("Date")),
            Column("attended", _("Attended"), numeric=True),
            Column("rate", _("Attendance")),
            Column("leads", _("Leads"), numeric=True),
            Column("agreements", _("Agreements"), numeric=True),
            Column("d30", _("In 30 days"), numeric=True),
            Column("d60", _("In 60 days"), numeric=True),
            Column("d90", _("In 90 days"), numeric=True),
        ]
        rows = [
            {
                **f,
                "rate": f"{f['attendance_rate']:.0%}",
                "d30": f["agreements_within"]["30"],
                "d60": f["agreements_within"]["60"],
                "d90": f["agreements_within"]["90"],
                "_attrs": attrs(data_forum=f["id"], data_attended=f["attended"]),
            }
            for f in p["forums"]
        ]
        parts.append(table(columns, rows, table_id="kemitraan-forums", row_attrs="_attrs"))
    return _section("kemitraan", heading, *parts)


def _overdue(data: ReportData) -> str:
    columns = [
        Column("id", _("Cooperative")),
        Column("village", _("Village")),
        Column("kecamatan", _("Subdistrict (kecamatan)")),
        Column("stage", _("Stage")),
        Column("since", _("In the stage since")),
        Column("days_in_stage", _("Days in the stage"), numeric=True),
        Column("days_overdue", _("Days past the deadline"), numeric=True),
        Column("missing", _("Still missing")),
    ]
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "village": r.village,
            "kecamatan": r.kecamatan,
            "stage": r.stage_label,
            "since": r.since,
            "days_in_stage": r.days_in_stage,
            "days_overdue": r.days_overdue,
            "missing": (
                '<ul class="missing">' + "".join(f"<li>{esc(m)}</li>" for m in r.missing) + "</ul>"
                if r.missing
                else esc(_("nothing: it can move on"))
            ),
            "_attrs": attrs(data_coop=r.id, data_stage=r.stage, data_days_overdue=r.days_overdue),
        }
        for r in data.overdue
    ]
    note = _(
        "{count} cooperatives have been in their stage longer than its deadline on {day}, "
        "most days past the deadline first.",
        count=num(len(rows)),
        day=data.as_of.isoformat(),
    )
    return _section(
        "overdue",
        _("Cooperatives past their stage's deadline"),
        _note(note),
        table(
            columns,
            rows,
            table_id="overdue-table",
            raw=["missing"],
            row_attrs="_attrs",
            empty=_("No cooperative is past its deadline on {day}.", day=data.as_of.isoformat()),
        ),
    )


def _diagram(engine: Kopflow) -> str:
    from kopflow.flow.diagram import edges

    wf = engine.workflow
    svg = workflow_diagram(
        wf,
        edges(wf),
        {s.id: label(s.label, s.id) for s in wf.stages},
        {e.name: label(e.label, e.name) for e in wf.events},
        _("Workflow diagram"),
    )
    return _section(
        "workflow",
        _("Stages and moves between them"),
        figure(
            svg,
            _(
                "Drawn from the same definition the engine runs. The main line runs left to "
                "right; dashed lines lead to and from the side stages below."
            ),
        ),
    )


def _audit(data: ReportData) -> str:
    audit = data.audit
    if audit.ok:
        status = (
            '<p class="status-ok">'
            + esc(_("The audit chain verifies up to event {seq}.", seq=num(audit.head_seq)))
            + "</p>"
        )
    else:
        status = (
            '<p class="status-bad">'
            + esc(
                _(
                    "The audit chain does NOT verify: {problem}. It holds up to event {seq}.",
                    problem=audit.problem,
                    seq=num(audit.head_seq),
                )
            )
            + "</p>"
        )
    cp = audit.checkpoint
    if cp is None:
        checkpoint = _("No checkpoint recorded.")
    elif cp.matches:
        checkpoint = _(
            "Checkpoint signed by {key} at {timestamp} for event {seq}: matches the stored chain.",
            key=cp.key,
            timestamp=cp.timestamp,
            seq=num(cp.size),
        )
    else:
        checkpoint = _(
            "Checkpoint signed by {key} at {timestamp} for event {seq}: does NOT match the "
            "stored chain.",
            key=cp.key,
            timestamp=cp.timestamp,
            seq=num(cp.size),
        )
        if cp.problem:
            checkpoint += f" ({cp.problem})"
    css = "status-bad" if cp is not None and not cp.matches else ""
    return _section(
        "audit",
        _("Audit trail"),
        status,
        f'<p class="{css}" id="checkpoint-status">{esc(checkpoint)}</p>',
        _note(_("Log identifier: {log_id}", log_id=audit.log_id)),
    )
