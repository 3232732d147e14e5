"""Read-only questions about cooperatives: find one, list, show, count, what can be done next.

Nothing here writes; every query uses an index (see the migrations) and none scans history
except a single cooperative's own timeline.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from kopflow.errors import InputError
from kopflow.names import check_area, resolve_kabupaten, resolve_kecamatan, resolve_stage

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.flow.spec import Workflow
    from kopflow.pipeline.change import Context
    from kopflow.pipeline.work import CoopWork


def as_of_moment(as_of: date | None) -> datetime:
    """The end of day ``as_of`` (default: today) in UTC.

    Days in a stage are then whole calendar days, the same count whatever the time of day.
    """
    day = as_of if as_of is not None else datetime.now(UTC).date()
    return datetime.combine(day, time.max, tzinfo=UTC)


def stages_as_of(
    conn: Connection,
    workflow: Workflow,
    moment: datetime,
    *,
    kabupaten: str | None = None,
    kecamatan: str | None = None,
) -> dict[str, tuple[str, datetime]]:
    """Each cooperative registered by ``moment`` with the stage it stood in then, and since when.

    The stage is rebuilt from the ``transition`` rows up to ``moment`` (the last one's
    destination; before any, the first one's source, else the stage it is in now); a
    cooperative counts from its ``coop.registered`` audit event. Reads every cooperative of the
    region once: for ``--as-of`` only, where today's row would tell a story that was not true
    then (issue #12).
    """
    from sqlalchemy import func, select

    from kopflow.store import tables

    coop_t, trans_t, audit_t = tables.coop, tables.transition, tables.audit_event
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    registered = (
        select(audit_t.c.coop_id, func.min(audit_t.c.at).label("at"))
        .where(audit_t.c.action == "coop.registered", audit_t.c.at <= stamp)
        .group_by(audit_t.c.coop_id)
        .subquery()
    )
    query = select(coop_t.c.id, coop_t.c.stage, registered.c.at).join(
        registered, registered.c.coop_id == coop_t.c.id
    )
    if kabupaten:
        query = query.where(coop_t.c.kabupaten == kabupaten)
    if kecamatan:
        query = query.where(coop_t.c.kecamatan == kecamatan)
    found: dict[str, tuple[str, datetime]] = {}
    for coop_id, stage, at in conn.execute(query):
        since = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
        found[str(coop_id)] = (str(stage), since)
    if not found:
        return found
    moves = select(trans_t.c.coop_id, trans_t.c.source, trans_t.c.dest, trans_t.c.at).order_by(
        trans_t.c.at, trans_t.c.id
    )
    if kabupaten or kecamatan:
        moves = moves.where(trans_t.c.coop_id.in_(query.with_only_columns(coop_t.c.id)))
    first: set[str] = set()
    for coop_id, source, dest, at in conn.execute(moves):
        if coop_id not in found:
            continue
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if at > moment:
            if coop_id not in first:  # it had not moved yet: it stood where it started
                found[coop_id] = (str(source), found[coop_id][1])
            first.add(coop_id)
            continue
        first.add(coop_id)
        found[coop_id] = (str(dest), at)
    return found


def _overdue_clause(workflow: Workflow, moment: datetime) -> Any:
    from sqlalchemy import and_, false, or_

    from kopflow.store import tables

    table = tables.coop
    parts = [
        and_(table.c.stage == stage, table.c.stage_since < limit)
        for stage, limit in _overdue_limits(workflow, moment)
    ]
    return or_(*parts) if parts else false()


def _overdue_limits(workflow: Workflow, moment: datetime) -> list[tuple[str, datetime]]:
    """(stage, the ``stage_since`` before which a cooperative in it is overdue) per stage with
    a deadline: overdue once more than sla_days calendar days have passed. On the deadline day
    itself a cooperative is due, not late (the rule days_overdue in list_coops follows)."""
    day_start = datetime.combine(moment.date(), time.min, tzinfo=UTC)
    return [(s.id, day_start - timedelta(days=s.sla_days)) for s in workflow.stages if s.sla_days]


def list_coops(
    conn: Connection,
    workflow: Workflow,
    *,
    stage: str | None = None,
    kecamatan: str | None = None,
    kabupaten: str | None = None,
    overdue: bool = False,
    as_of: date | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Cooperatives matching the filters, with days in stage and days past the SLA."""
    from sqlalchemy import select

    from kopflow.store import tables

    table = tables.coop
    moment = as_of_moment(as_of)
    query = select(
        table.c.id,
        table.c.village,
        table.c.kecamatan,
        table.c.kabupaten,
        table.c.stage,
        table.c.stage_since,
        table.c.version,
    )
    # Every filter names something that exists, or the reader is told (issue #12)
    if kabupaten:
        kabupaten = resolve_kabupaten(conn, kabupaten)
    if kecamatan:
        kecamatan = resolve_kecamatan(conn, kecamatan, kabupaten=kabupaten)
    if stage:
        stage = resolve_stage(workflow, stage)
        if as_of is None:
            query = query.where(table.c.stage == stage)
    if kecamatan:
        query = query.where(table.c.kecamatan == kecamatan)
    if kabupaten:
        query = query.where(table.c.kabupaten == kabupaten)
    sla = {s.id: s.sla_days for s in workflow.stages}
    if as_of is not None:
        return _list_as_of(
            conn, workflow, query, moment, stage, kabupaten, kecamatan, overdue, limit
        )
    if overdue:
        query = query.where(_overdue_clause(workflow, moment)).order_by(
            table.c.stage_since, table.c.id
        )
    else:
        query = query.order_by(table.c.kabupaten, table.c.kecamatan, table.c.village, table.c.id)
    if limit:
        query = query.limit(limit)
    rows = [_listed(row, moment, sla) for row in conn.execute(query).mappings()]
    if not rows:
        check_area(conn, kecamatan=kecamatan, kabupaten=kabupaten)
    return rows


def _listed(row: Any, moment: datetime, sla: dict[str, int | None]) -> dict[str, Any]:
    days = (moment - row["stage_since"]).days
    limit_days = sla.get(row["stage"])
    return {
        **row,
        "stage_since": row["stage_since"].strftime("%Y-%m-%d"),
        "days_in_stage": days,
        "days_overdue": max(0, days - limit_days) if limit_days else 0,
    }


def _list_as_of(
    conn: Connection,
    workflow: Workflow,
    query: Any,
    moment: datetime,
    stage: str | None,
    kabupaten: str | None,
    kecamatan: str | None,
    overdue: bool,
    limit: int | None,
) -> list[dict[str, Any]]:
    """:func:`list_coops` on a past day: each cooperative as it stood then (issue #12)."""
    then = stages_as_of(conn, workflow, moment, kabupaten=kabupaten, kecamatan=kecamatan)
    sla = {s.id: s.sla_days for s in workflow.stages}
    rows = []
    for row in conn.execute(query).mappings():
        if row["id"] not in then:
            continue
        old_stage, since = then[row["id"]]
        if stage and old_stage != stage:
            continue
        listed = _listed({**row, "stage": old_stage, "stage_since": since}, moment, sla)
        if overdue and not listed["days_overdue"]:
            continue
        rows.append((since, listed))
    if overdue:
        rows.sort(key=lambda item: (item[0], item[1]["id"]))
    else:
        rows.sort(
            key=lambda item: (
                item[1]["kabupaten"],
                item[1]["kecamatan"],
                item[1]["village"],
                item[1]["id"],
            )
        )
    return [listed for _since, listed in (rows[:limit] if limit else rows)]


def status_counts(
    conn: Connection,
    *,
    by: str | None = None,
    kabupaten: str | None = None,
    workflow: Workflow | None = None,
    as_of: date | None = None,
) -> list[dict[str, Any]]:
    """Count cooperatives per stage (and per kecamatan or kabupaten), with overdue counts."""
    from kopflow.store.rows import bound, param_mark

    if kabupaten:
        kabupaten = resolve_kabupaten(conn, kabupaten)  # never an empty table for a typo
    if by not in (None, "kecamatan", "kabupaten"):
        raise InputError("--by takes kecamatan or kabupaten, not {by}", by=by)
    if as_of is not None and workflow is not None:
        return _counts_as_of(conn, workflow, as_of_moment(as_of), by, kabupaten)
    # Statement text: `kopflow status` on SQLite never imports SQLAlchemy (issue #15).
    names = {"kecamatan": ("kabupaten", "kecamatan", "stage"), "kabupaten": ("kabupaten", "stage")}
    group = ", ".join(names.get(by or "", ("stage",)))
    mark = param_mark(conn)
    params: list[Any] = []
    late = []
    for stage, limit in _overdue_limits(workflow, as_of_moment(as_of)) if workflow else ():
        late.append(f"(stage = {mark} AND stage_since < {mark})")
        params += [stage, bound(conn, "coop", "stage_since", limit)]
    where = ""
    if kabupaten:
        where = f"WHERE kabupaten = {mark} "
        params.append(kabupaten)
    sql = (
        f"SELECT {group}, count(*) AS count, "
        f"sum(CASE WHEN {' OR '.join(late) or '1 = 0'} THEN 1 ELSE 0 END) "
        f"AS overdue FROM coop {where}GROUP BY {group} ORDER BY {group}"
    )
    keys = [*group.split(", "), "count", "overdue"]
    return [
        {**dict(zip(keys, row, strict=True)), "overdue": int(row[-1] or 0)}
        for row in conn.exec_driver_sql(sql, tuple(params))
    ]


def _counts_as_of(
    conn: Connection, workflow: Workflow, moment: datetime, by: str | None, kabupaten: str | None
) -> list[dict[str, Any]]:
    """:func:`status_counts` on a past day, from each cooperative's transitions (issue #12)."""
    from sqlalchemy import select

    from kopflow.store import tables

    then = stages_as_of(conn, workflow, moment, kabupaten=kabupaten)
    table = tables.coop
    query = select(table.c.id, table.c.kabupaten, table.c.kecamatan)
    if kabupaten:
        query = query.where(table.c.kabupaten == kabupaten)
    sla = {s.id: s.sla_days for s in workflow.stages}
    counts: dict[tuple[str, ...], list[int]] = {}
    for coop_id, kab, kec in conn.execute(query):
        if coop_id not in then:
            continue
        stage, since = then[coop_id]
        key = (kab, kec, stage) if by == "kecamatan" else (kab, stage) if by else (stage,)
        tally = counts.setdefault(key, [0, 0])
        tally[0] += 1
        limit_days = sla.get(stage)
        tally[1] += bool(limit_days and (moment - since).days > limit_days)
    names = (
        ("kabupaten", "kecamatan", "stage")
        if by == "kecamatan"
        else (("kabupaten", "stage") if by else ("stage",))
    )
    return [
        {**dict(zip(names, key, strict=True)), "count": n, "overdue": late}
        for key, (n, late) in sorted(counts.items())
    ]


def timeline(conn: Connection, coop_id: str) -> list[dict[str, Any]]:
    """Every step version and transition of one cooperative, in the order they happened."""
    from kopflow.store.rows import table_rows_in

    items: list[dict[str, Any]] = []
    for row in table_rows_in(conn, "step_record", "coop_id", [coop_id]):
        items.append(
            {
                "kind": "step",
                "what": row["step"],
                "status": row["status"],
                "version": row["version"],
                "evidence": json.loads(row["evidence"]),
                "reason": row["reason"],
                "actor": row["actor"],
                "at": row["at"],
                "audit_seq": row["audit_seq"],
            }
        )
    for row in table_rows_in(conn, "transition", "coop_id", [coop_id]):
        items.append(
            {
                "kind": "transition",
                "what": row["event"],
                "from": row["source"],
                "to": row["dest"],
                "reason": row["reason"],
                "actor": row["actor"],
                "at": row["at"],
                "audit_seq": row["audit_seq"],
            }
        )
    for row in table_rows_in(conn, "enrollment", "coop_id", [coop_id]):
        items.append(
            {
                "kind": "enrollment",
                "what": row["partner"],
                "actor": row["actor"],
                "at": row["at"],
                "audit_seq": row["audit_seq"],
            }
        )
    items.sort(key=lambda item: item["audit_seq"])
    for item in items:
        item["at"] = item["at"].strftime("%Y-%m-%dT%H:%M:%SZ")
    return items


def step_table(context: Context, work: CoopWork) -> list[dict[str, Any]]:
    """Every step of the workflow and of enrolled partners, with its state for ``work``."""
    rows: list[dict[str, Any]] = []
    for stage in context.workflow.main_stages():
        for step in stage.steps:
            rows.append(_step_row(work, stage.id, step.id, step.required, step.label))
    for code in sorted(work.partners):
        partner = context.plugins.partners.get(code)
        if partner is None:
            # Its plugin was uninstalled or switched off (issue #3): the records stay and show.
            for key in sorted(k for k in work.steps if k.startswith(code + ".")):
                rows.append(_step_row(work, code, key, False, {}))
            continue
        for step in partner.steps:
            rows.append(_step_row(work, code, f"{code}.{step.id}", step.required, step.label))
    return rows


def _step_row(
    work: CoopWork, group: str, step: str, required: bool, label: dict[str, str]
) -> dict[str, Any]:
    from kopflow.i18n import label as pick

    state = work.steps.get(step)
    return {
        "group": group,
        "step": step,
        "label": pick(label, step),
        "required": required,
        "done": bool(state and state.done),
        "version": state.version if state else 0,
        "evidence": json.loads(state.evidence_json) if state and state.done else None,
    }


def registration(conn: Connection, coop_id: str) -> dict[str, Any] | None:
    """Where a cooperative's register begins: its ``coop.registered`` audit event (who, when,
    from which source), ``None`` if the chain has none (a database older than the event)."""
    from kopflow.store.rows import param_mark

    mark = param_mark(conn)
    found = conn.exec_driver_sql(
        "SELECT seq, actor, at, body FROM audit_event "
        f"WHERE coop_id = {mark} AND action = {mark} ORDER BY seq LIMIT 1",
        (coop_id, "coop.registered"),
    ).first()
    if found is None:
        return None
    seq, actor, at, body = found
    return {
        "audit_seq": seq,
        "actor": actor,
        "at": str(at)[:19] + "Z",
        "details": json.loads(body).get("details", {}),
    }


def coop_record(context: Context, conn: Connection, work: CoopWork) -> dict[str, Any]:
    """Everything ``coop show`` shows of one cooperative: its row, villages, partners, steps,
    what can be done next and its timeline."""
    from kopflow.store.rows import table_rows_in

    # Statement text: `kopflow coop show` on SQLite never imports SQLAlchemy (issue #15).
    villages = table_rows_in(conn, "coop_village", "coop_id", [work.id])
    return {
        "coop": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in work.row.items()},
        "villages": [dict(r) for r in villages],
        "partners": sorted(work.partners),
        "steps": step_table(context, work),
        "next": next_actions(context, work),
        "timeline": timeline(conn, work.id),
        "registered": registration(conn, work.id),
    }


def next_actions(context: Context, work: CoopWork) -> dict[str, Any]:
    """What can be done now: steps that are open, events possible, and what blocks advancing."""
    from kopflow.rules.transition import missing_for, required_steps

    wf = context.workflow
    stage = work.row["stage"]
    open_steps: list[str] = []
    if not wf.stage(stage).side:
        for step in wf.stage(stage).steps:
            if not work.is_done(step.id) and all(work.is_done(d) for d in step.after):
                open_steps.append(step.id)
        main = [s.id for s in wf.main_stages()]
        if main.index(stage) >= main.index(wf.onboarding_stage):
            for code in sorted(work.partners):
                spec = context.plugins.partners.get(code)  # None: its plugin is not installed
                for step in spec.steps if spec is not None else ():
                    key = f"{code}.{step.id}"
                    if not work.is_done(key) and all(
                        work.is_done(f"{code}.{d}") for d in step.after
                    ):
                        open_steps.append(key)
    forward = wf.advance_event(stage)
    blocking = missing_for(context, work, stage) if forward else []
    required = required_steps(context, stage) if forward else {}
    missing = [  # step keys, for scripts (issue #12); "reasons" says it in sentences
        key
        for code, keys in required.items()
        if code is None or code in work.partners
        for key in keys
        if not work.is_done(key)
    ]
    return {
        "coop": work.id,
        "stage": stage,
        "version": work.row["version"],
        "open_steps": open_steps,
        "advance_event": forward.name if forward else None,
        "can_advance": bool(forward) and not blocking,
        "missing": missing,
        "missing_partners": [c for c in wf.required_partners if c not in work.partners]
        if stage == wf.onboarding_stage
        else [],
        "reasons": blocking,
        "events": [e.name for e in wf.events_from(stage)],
    }
