"""Inline SVG charts for the report: the stage funnel, stacked bars and the workflow diagram.

Drawn in Python as plain SVG text, so the report needs no JavaScript and no network to show
or print them. Every text passes through :func:`kopflow.report.markup.esc`; every chart carries a
``<title>`` for screen readers and ``data-*`` attributes that tests read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kopflow.report.markup import attrs, esc, num

if TYPE_CHECKING:
    from kopflow.flow.spec import Workflow

# Okabe-Ito: distinguishable with the common colour-vision deficiencies, and in grey print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def _text_width(text: str, size: float) -> float:
    return len(text) * size * 0.58


def _wrap(text: str, limit: int) -> list[str]:
    """Split ``text`` into lines of at most ``limit`` characters, at spaces."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _svg(width: float, height: float, title: str, body: list[str], **data: object) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img"{attrs(**data)} {FONT}>'
        f"<title>{esc(title)}</title>{''.join(body)}</svg>"
    )


@dataclass(frozen=True)
class FunnelStep:
    """One bar of the funnel: ``value`` sets the width, ``note`` is printed beside it."""

    key: str
    label: str
    value: int
    note: str


def funnel(steps: Sequence[FunnelStep], title: str) -> str:
    """Centred horizontal bars, widest first: how many cooperatives reached each stage."""
    label_w, bar_w, note_w, row_h = 230.0, 420.0, 190.0, 38.0
    top = 8.0
    width = label_w + bar_w + note_w
    peak = max((s.value for s in steps), default=0) or 1
    body: list[str] = []
    for i, step in enumerate(steps):
        y = top + i * row_h
        w = max(2.0, bar_w * step.value / peak)
        x = label_w + (bar_w - w) / 2
        mid = y + row_h / 2
        color = PALETTE[0]
        inside = w >= _text_width(num(step.value), 13) + 12
        value_x, value_fill = (x + w / 2, "#fff") if inside else (x + w + 6, "#1f2933")
        anchor = "middle" if inside else "start"
        body.append(
            f'<g class="funnel-step"{attrs(data_stage=step.key, data_value=step.value)}>'
            f'<text x="{label_w - 10:.0f}" y="{mid + 5:.1f}" text-anchor="end" font-size="13">'
            f"{esc(step.label)}</text>"
            f'<rect x="{x:.1f}" y="{y + 5:.1f}" width="{w:.1f}" height="{row_h - 10:.0f}" '
            f'rx="3" fill="{color}" fill-opacity="{1 - 0.1 * min(i, 5):.2f}"/>'
            f'<text x="{value_x:.1f}" y="{mid + 5:.1f}" text-anchor="{anchor}" font-size="13" '
            f'font-weight="600" fill="{value_fill}">{num(step.value)}</text>'
            f'<text x="{label_w + bar_w + 10:.0f}" y="{mid + 5:.1f}" font-size="12" '
            f'fill="#5f6b76">{esc(step.note)}</text></g>'
        )
    height = top * 2 + row_h * len(steps)
    return _svg(width, height, title, body, id="funnel-chart", class_="funnel")


@dataclass(frozen=True)
class Segment:
    """A kind of value in stacked bars: its key, legend text and colour."""

    key: str
    label: str
    color: str


def stacked_bars(
    rows: Sequence[tuple[str, dict[str, int]]],
    segments: Sequence[Segment],
    title: str,
    *,
    chart_id: str | None = None,
) -> str:
    """One horizontal bar per row, split into ``segments``; a legend on top, totals at the end."""
    widest = max((_text_width(name, 12) for name, _v in rows), default=0.0)
    label_w = min(340.0, max(120.0, widest + 16))
    total_w, row_h = 70.0, 26.0
    width = 760.0
    bar_w = width - label_w - total_w
    body: list[str] = []
    # Legend, wrapped over as many lines as needed.
    x, y = 0.0, 14.0
    for seg in segments:
        item_w = 18 + _text_width(seg.label, 12) + 16
        if x and x + item_w > width:
            x, y = 0.0, y + 20
        body.append(
            f'<rect x="{x:.0f}" y="{y - 10:.0f}" width="12" height="12" fill="{seg.color}"/>'
            f'<text x="{x + 17:.0f}" y="{y:.0f}" font-size="12">{esc(seg.label)}</text>'
        )
        x += item_w
    top = y + 14
    peak = max((sum(v.values()) for _l, v in rows), default=0) or 1
    for i, (name, values) in enumerate(rows):
        y0 = top + i * row_h
        body.append(
            f'<g class="bar"{attrs(data_label=name)}>'
            f'<text x="{label_w - 8:.0f}" y="{y0 + 17:.0f}" text-anchor="end" font-size="12">'
            f"{esc(name)}</text>"
        )
        x0 = label_w
        for seg in segments:
            value = values.get(seg.key, 0)
            if not value:
                continue
            w = bar_w * value / peak
            body.append(
                f'<rect x="{x0:.1f}" y="{y0 + 4:.0f}" width="{w:.1f}" height="{row_h - 8:.0f}" '
                f'fill="{seg.color}"{attrs(data_segment=seg.key, data_value=value)}>'
                f"<title>{esc(seg.label)}: {num(value)}</title></rect>"
            )
            x0 += w
        body.append(
            f'<text x="{x0 + 6:.1f}" y="{y0 + 17:.0f}" font-size="12" fill="#5f6b76">'
            f"{num(sum(values.values()))}</text></g>"
        )
    height = top + row_h * len(rows) + 6
    return _svg(width, height, title, body, id=chart_id, class_="stacked")


# --- the workflow diagram ---------------------------------------------------------------------

_BOX_W, _BOX_H, _GAP, _MARGIN = 150.0, 54.0, 96.0, 20.0


def workflow_diagram(
    workflow: Workflow,
    edge_list: Sequence[tuple[str, str, str]],
    stage_labels: dict[str, str],
    event_labels: dict[str, str],
    title: str,
) -> str:
    """The stages as boxes, the main line left to right, side stages below it.

    Forward moves along the main line are labelled arrows between neighbours; any other move
    between main stages arcs above; moves to and from side stages are drawn in one colour per
    event, named in a legend under the drawing.
    """
    main = [s.id for s in workflow.stages if not s.side]
    side = [s.id for s in workflow.stages if s.side]
    finals = {s.id for s in workflow.stages if s.final}
    pitch = _BOX_W + _GAP
    width = _MARGIN * 2 + len(main) * _BOX_W + (len(main) - 1) * _GAP
    top = _MARGIN + 36  # room for arcs above the main line
    side_y = top + _BOX_H + 150
    pos: dict[str, tuple[float, float]] = {
        sid: (_MARGIN + i * pitch, top) for i, sid in enumerate(main)
    }
    span = width - 2 * _MARGIN
    for i, sid in enumerate(side):
        centre = _MARGIN + span * (i + 1) / (len(side) + 1)
        pos[sid] = (centre - _BOX_W / 2, side_y)
    side_events = sorted({e for s, d, e in edge_list if s in side or d in side})
    colors = {e: PALETTE[(i + 1) % len(PALETTE)] for i, e in enumerate(side_events)}
    body = [_markers(colors)]
    for source, dest, event in edge_list:
        body.append(_edge(source, dest, event, pos, main, colors, event_labels))
    for sid, (x, y) in pos.items():
        body.append(
            _box(sid, x, y, stage_labels.get(sid, sid), sid == workflow.initial, sid in finals)
        )
    legend_y = side_y + _BOX_H + 30 if side else top + _BOX_H + 30
    x = _MARGIN
    for event in side_events:
        text = event_labels.get(event, event)
        body.append(
            f'<line x1="{x:.0f}" y1="{legend_y - 4:.0f}" x2="{x + 26:.0f}" y2="{legend_y - 4:.0f}" '
            f'stroke="{colors[event]}" stroke-width="2" stroke-dasharray="5 3"/>'
            f'<text x="{x + 32:.0f}" y="{legend_y:.0f}" font-size="12">{esc(text)}</text>'
        )
        x += 32 + _text_width(text, 12) + 24
    height = legend_y + 14
    return _svg(width, height, title, body, id="workflow-diagram", class_="diagram")


def _markers(colors: dict[str, str]) -> str:
    def marker(ident: str, color: str) -> str:
        return (
            f'<marker id="{ident}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{color}"/></marker>'
        )

    items = [marker("wf-arrow", "#1f2933")]
    items += [marker(f"wf-arrow-{i}", c) for i, c in enumerate(colors.values())]
    return "<defs>" + "".join(items) + "</defs>"


def _box(sid: str, x: float, y: float, text: str, initial: bool, final: bool) -> str:
    lines = _wrap(text, 20)[:3]
    first = y + _BOX_H / 2 - (len(lines) - 1) * 7.5 + 4.5
    spans = "".join(
        f'<tspan x="{x + _BOX_W / 2:.0f}" y="{first + i * 15:.1f}">{esc(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    border = (
        f'<rect x="{x - 4:.0f}" y="{y - 4:.0f}" width="{_BOX_W + 8:.0f}" height="{_BOX_H + 8:.0f}" '
        f'rx="11" fill="none" stroke="#1f2933"/>'
        if final
        else ""
    )
    start = (
        f'<circle cx="{x - 14:.0f}" cy="{y + _BOX_H / 2:.0f}" r="6" fill="#1f2933"/>'
        if initial
        else ""
    )
    return (
        f'<g class="stage"{attrs(data_stage=sid)}>{border}{start}'
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{_BOX_W:.0f}" height="{_BOX_H:.0f}" rx="8" '
        f'fill="#eef4fb" stroke="#0b5394" stroke-width="1.5"/>'
        f'<text text-anchor="middle" font-size="13">{spans}</text></g>'
    )


def _edge(
    source: str,
    dest: str,
    event: str,
    pos: dict[str, tuple[float, float]],
    main: list[str],
    colors: dict[str, str],
    event_labels: dict[str, str],
) -> str:
    sx, sy = pos[source]
    dx, dy = pos[dest]
    label = event_labels.get(event, event)
    data = attrs(data_event=event, data_from=source, data_to=dest)
    if source in main and dest in main:
        if main.index(dest) == main.index(source) + 1:
            y = sy + _BOX_H / 2
            x1, x2 = sx + _BOX_W, dx - 2
            lines = _wrap(label, 16)[:3]
            texts = "".join(
                f'<text x="{(x1 + x2) / 2:.0f}" y="{y - 8 - (len(lines) - 1 - i) * 12:.0f}" '
                f'text-anchor="middle" font-size="10" fill="#5f6b76">{esc(line)}</text>'
                for i, line in enumerate(lines)
            )
            return (
                f'<g class="edge"{data}><line x1="{x1:.0f}" y1="{y:.0f}" x2="{x2:.0f}" '
                f'y2="{y:.0f}" stroke="#1f2933" stroke-width="1.5" marker-end="url(#wf-arrow)"/>'
                f"{texts}</g>"
            )
        x1, x2 = sx + _BOX_W / 2, dx + _BOX_W / 2
        lift = sy - 30
        return (
            f'<g class="edge"{data}><path d="M{x1:.0f},{sy:.0f} Q{(x1 + x2) / 2:.0f},{lift - 20:.0f} '
            f'{x2:.0f},{dy - 2:.0f}" fill="none" stroke="#1f2933" marker-end="url(#wf-arrow)"/>'
            f'<text x="{(x1 + x2) / 2:.0f}" y="{lift:.0f}" text-anchor="middle" font-size="10" '
            f'fill="#5f6b76">{esc(label)}</text></g>'
        )
    color = colors.get(event, PALETTE[7])
    marker = f"wf-arrow-{list(colors).index(event)}" if event in colors else "wf-arrow"
    # Leave from the bottom (or top) of the source box towards the other row, offset per
    # event so a move and its way back do not draw over each other.
    offset = (list(colors).index(event) - (len(colors) - 1) / 2) * 14 if event in colors else 0
    x1 = sx + _BOX_W / 2 + offset
    x2 = dx + _BOX_W / 2 + offset
    # At the side stage, spread the lines over its edge in the order of the main stages.
    on_main, on_side = (source, dest) if source in main else (dest, source)
    if on_main in main:
        fan = pos[on_side][0] + _BOX_W * (main.index(on_main) + 0.5) / len(main)
        if source in main:
            x2 = fan + offset / 4
        else:
            x1 = fan + offset / 4
    if sy == dy:  # between two side stages
        y = sy + _BOX_H / 2 + offset / 2
        x1, x2 = (sx + _BOX_W, dx) if sx < dx else (sx, dx + _BOX_W)
        return (
            f'<g class="edge"{data}><line x1="{x1:.0f}" y1="{y:.0f}" x2="{x2:.0f}" y2="{y:.0f}" '
            f'stroke="{color}" stroke-width="1.5" stroke-dasharray="5 3" marker-end="url(#{marker})"/>'
            f"<title>{esc(label)}</title></g>"
        )
    y1 = sy + _BOX_H if sy < dy else sy
    y2 = dy - 2 if sy < dy else dy + _BOX_H + 2
    return (
        f'<g class="edge"{data}><line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
        f'stroke="{color}" stroke-width="1.2" stroke-dasharray="5 3" stroke-opacity="0.85" '
        f'marker-end="url(#{marker})"><title>{esc(label)}</title></line></g>'
    )
