"""Reads about partner onboarding: the partners, one cooperative's partner steps, and where the
enrolled cooperatives stand with a partner.

Nothing here writes. ``partner_status`` is a constant number of SQL statements per partner,
whatever the number of cooperatives: it never loops over cooperatives in Python.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kopflow.i18n import label

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.flow.spec import Workflow
    from kopflow.host.manager import PluginHost
    from kopflow.pipeline.work import CoopWork
    from kopflow.plugin import PartnerSpec

#: What ``partner status`` reports for a cooperative that has done every required step.
COMPLETE = "complete"


def owners(host: PluginHost) -> dict[str, str]:
    """Partner code -> the name of the plugin that registered it."""
    return {code: p.name for p in host.plugins for code in p.partners if p.status == "ok"}


def partner_rows(host: PluginHost, workflow: Workflow) -> list[dict[str, Any]]:
    """One row per registered partner, by code: name, plugin, step counts and the steps.

    Args:
        host: the loaded plugins.
        workflow: the definition in use; it names the partners every cooperative needs.

    Returns:
        ``code``, ``name``, ``plugin``, ``required_steps``, ``optional_steps``,
        ``required_for_every_coop``, ``steps`` (``key``, ``label``, ``required``, ``after``),
        and the enrolment rules (issue #13): ``enroll_from`` (a stage id or ``None``) and
        ``enroll_requires`` (workflow step ids).
    """
    owner = owners(host)
    rows = []
    for code in sorted(host.partners):
        spec = host.partners[code]
        required = sum(1 for s in spec.steps if s.required)
        rows.append(
            {
                "code": code,
                "name": label(spec.name, code),
                "plugin": owner.get(code),
                "required_steps": required,
                "optional_steps": len(spec.steps) - required,
                "required_for_every_coop": code in workflow.required_partners,
                "steps": [
                    {
                        "key": spec.key(s.id),
                        "label": label(s.label, s.id),
                        "required": s.required,
                        "after": [spec.key(a) for a in s.after],
                    }
                    for s in spec.steps
                ],
                "enroll_from": spec.enroll_from,
                "enroll_requires": list(spec.enroll_requires),
            }
        )
    return rows


def coop_partner_steps(spec: PartnerSpec, work: CoopWork) -> dict[str, Any]:
    """Every step of one partner for one cooperative, in the partner's declared order.

    Each step's ``status`` is ``done``, ``missing`` (required, not done) or ``optional`` (not
    required, not done); ``ready`` says whether the steps it comes after are all done, so it
    can be completed now; ``evidence`` is the current evidence of a done step.

    Args:
        spec: the partner.
        work: the cooperative, as the engine loaded it.

    Returns:
        ``coop``, ``partner``, ``enrolled``, ``stage``, ``complete`` (every required step done)
        and ``steps``.
    """
    steps = []
    for order, step in enumerate(spec.steps, start=1):
        key = spec.key(step.id)
        state = work.steps.get(key)
        done = bool(state and state.done)
        status = "done" if done else ("missing" if step.required else "optional")
        steps.append(
            {
                "order": order,
                "step": key,
                "label": label(step.label, step.id),
                "required": step.required,
                "status": status,
                "after": [spec.key(a) for a in step.after],
                "ready": not done and all(work.is_done(spec.key(a)) for a in step.after),
                "version": state.version if state else 0,
                "evidence": json.loads(state.evidence_json) if state and done else None,
            }
        )
    return {
        "coop": work.id,
        "partner": spec.code,
        "enrolled": spec.code in work.partners,
        "stage": work.row["stage"],
        "complete": all(s["status"] != "missing" for s in steps),
        "steps": steps,
    }


def partner_status(
    conn: Connection,
    host: PluginHost,
    *,
    partner: str | None = None,
    kabupaten: str | None = None,
) -> list[dict[str, Any]]:
    """How many enrolled cooperatives stand at each step of a partner (or of every partner).

    A cooperative *stands at* the first required step, in the partner's declared order, that
    is not done (its newest version is not ``done``), or at ``complete`` when every required
    step is done. Optional steps are never stood at; for every step, ``done`` counts the
    enrolled cooperatives whose newest version of it is done. One statement per partner, driven
    by the enrollment table joined to the partner's rows of ``step_record``.

    Args:
        conn: a read connection.
        host: the loaded plugins (the partners' steps come from them).
        partner: one partner code; ``None`` for every registered partner.
        kabupaten: only cooperatives of this kabupaten/kota.

    Returns:
        Per partner: ``partner``, ``name``, ``enrolled``, ``complete`` and ``steps`` (each
        ``order``, ``step``, ``label``, ``required``, ``at``, ``done``).

    Raises:
        NotFoundError: ``partner`` is not registered (the message lists those that are).
    """
    codes = [host.partner(partner).code] if partner else sorted(host.partners)
    return [_one_partner(conn, host.partners[code], kabupaten) for code in codes]


def _one_partner(conn: Connection, spec: PartnerSpec, kabupaten: str | None) -> dict[str, Any]:
    from sqlalchemy import Integer, and_, case, func, literal, select

    from kopflow.store import tables

    enr, coop, rec = tables.enrollment, tables.coop, tables.step_record
    keys = [spec.key(s.id) for s in spec.steps]
    # Per enrolled cooperative, one 0/1 column per step: 1 when the step's newest version is
    # done (its highest version is also its highest done version; never recorded gives
    # NULL = NULL, so 0). One join and one GROUP BY instead of a lookup per step: 0.85 s
    # instead of 1.75 s for BRI's ten steps on 80,000 cooperatives (SQLite).
    flags = []
    for i, key in enumerate(keys):
        newest = func.max(case((rec.c.step == key, rec.c.version)))
        newest_done = func.max(
            case((and_(rec.c.step == key, rec.c.status == "done"), rec.c.version))
        )
        flags.append(case((newest == newest_done, 1), else_=0).label(f"d{i}"))
    joined = enr.outerjoin(rec, and_(rec.c.coop_id == enr.c.coop_id, rec.c.step.in_(keys)))
    inner = select(*flags).select_from(joined).where(enr.c.partner == spec.code)
    if kabupaten:
        inner = inner.join(coop, coop.c.id == enr.c.coop_id).where(coop.c.kabupaten == kabupaten)
    # MATERIALIZED (SQLite 3.35+, PostgreSQL 12+): flattened into the queries below, the
    # aggregation would be run again for the CASE and for each SUM.
    per_coop = inner.group_by(enr.c.coop_id).cte("per_coop").prefix_with("MATERIALIZED")
    whens = [
        (per_coop.c[f"d{i}"] == 0, literal(keys[i])) for i, s in enumerate(spec.steps) if s.required
    ]
    stand_at = case(*whens, else_=literal(COMPLETE)) if whens else literal(COMPLETE)
    # Group by a named column, not by the CASE: PostgreSQL would not see two renderings of the
    # CASE, each with its own bound parameters, as the same expression.
    classified = select(stand_at.label("stand_at"), *per_coop.c).subquery("classified")
    query = select(
        classified.c.stand_at,
        func.count().label("coops"),
        *(func.sum(classified.c[f"d{i}"], type_=Integer).label(f"d{i}") for i in range(len(keys))),
    ).group_by(classified.c.stand_at)
    at: dict[str, int] = {}
    done = [0] * len(keys)
    for row in conn.execute(query).mappings():
        at[row["stand_at"]] = int(row["coops"])
        for i in range(len(keys)):
            done[i] += int(row[f"d{i}"] or 0)
    steps = [
        {
            "order": i + 1,
            "step": keys[i],
            "label": label(s.label, s.id),
            "required": s.required,
            "at": at.get(keys[i], 0),
            "done": done[i],
        }
        for i, s in enumerate(spec.steps)
    ]
    return {
        "partner": spec.code,
        "name": label(spec.name, spec.code),
        "enrolled": sum(at.values()),
        "complete": at.get(COMPLETE, 0),
        "steps": steps,
    }
