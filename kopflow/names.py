"""Finding what a user names: a cooperative, a kabupaten/kota, a kecamatan, a stage, a step,
a partner.

One resolver every command uses, so a name is accepted, refused or suggested the same way
everywhere (issue #12): case does not matter, the ``Kabupaten``/``Kota``/``Kecamatan``
prefixes are optional, a stage or step may be named by its id or by its label in either
language, and a name that matches nothing is an error with the nearest names (difflib) from
the right region, never an empty result. Reads only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from kopflow.errors import InputError, KopflowError, NotFoundError
from kopflow.i18n import N_, Named, Word, listed

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.flow.spec import Workflow
    from kopflow.plugin import PartnerSpec

# "Kabupaten Buleleng", "Kab. Buleleng", "Kota Adm. Jakarta Pusat", "Kecamatan Sawan", "Kec. Sawan"
_PREFIX = re.compile(r"^(kabupaten|kab\.?|kota|kecamatan|kec\.?)\s+(adm\.?\s+)?", re.IGNORECASE)


def plain(name: str) -> str:
    """``name`` as names are compared: without its prefix, lower case, single spaces."""
    name = " ".join(name.split())
    return _PREFIX.sub("", name).casefold()


def _pick(
    name: str,
    known: Mapping[str, Sequence[str]],
    *,
    kind: str,
    exact: Iterable[str] = (),
    nothing: tuple[str, Mapping[str, object]] | None = None,
) -> str:
    """The one value ``name`` means among ``known`` (value -> the names it answers to).

    Raises:
        NotFoundError: nothing matches; the message names the closest values.
        InputError: several values match; the message names them.
    """
    if name in exact:
        return name
    key = plain(name)
    found = sorted({value for value, names in known.items() if key in {plain(n) for n in names}})
    if len(found) == 1:
        return found[0]
    if found:
        raise InputError(
            "{name!r} names several {kind}: {found}", name=name, kind=kind, found=", ".join(found)
        )
    by_name = {plain(n): value for value, names in known.items() for n in names}
    close = difflib.get_close_matches(key, list(by_name), n=6, cutoff=0.6)
    suggestions = list(dict.fromkeys(by_name[c] for c in close))[:3]
    if not suggestions and nothing is not None:  # nothing close: what there is, or where to look
        raise NotFoundError(nothing[0], **nothing[1])
    raise NotFoundError(
        "unknown {kind} {name!r}; did you mean: {close}",
        kind=kind,
        name=name,
        close=", ".join(suggestions) or "-",
    )


def resolve_kabupaten(conn: Connection, name: str) -> str:
    """The kabupaten/kota ``name`` names among the registered cooperatives' ("buleleng",
    "Kabupaten Buleleng", "kab. buleleng" all give "Kabupaten Buleleng")."""
    from kopflow.store.rows import param_mark

    # Statement text: `kopflow status --region` on SQLite imports no SQLAlchemy (issue #15).
    sql = f"SELECT 1 FROM coop WHERE kabupaten = {param_mark(conn)} LIMIT 1"
    if conn.exec_driver_sql(sql, (name,)).first():
        return name
    rows = conn.exec_driver_sql("SELECT DISTINCT kabupaten FROM coop").scalars()
    known = sorted(str(k) for k in rows)
    nothing = (
        N_("unknown kabupaten/kota {name!r}; cooperatives are registered in: {known}"),
        {
            "name": name,
            "known": ", ".join(known[:10]) + (", ..." if len(known) > 10 else "") or "-",
        },
    )
    return _pick(name, {k: [k] for k in known}, kind=Word(N_("kabupaten/kota")), nothing=nothing)


def resolve_kecamatan(conn: Connection, name: str, *, kabupaten: str | None = None) -> str:
    """The kecamatan ``name`` names (of ``kabupaten`` when given): "sawan", "Kecamatan Sawan"."""
    from sqlalchemy import select

    from kopflow.store import tables

    table = tables.coop
    query = select(table.c.kecamatan)
    if kabupaten:
        query = query.where(table.c.kabupaten == kabupaten)
    if conn.execute(query.where(table.c.kecamatan == name).limit(1)).first():
        return name
    known = [str(k) for k in conn.execute(query.distinct()).scalars()]
    return _pick(name, {k: [k] for k in known}, kind=Word(N_("kecamatan")))


def resolve_stage(workflow: Workflow, name: str) -> str:
    """The id of the stage ``name`` names: its id or its label in either language."""
    known = {s.id: [s.id, *s.label.values()] for s in workflow.stages}
    stages = listed([Named(s.id, s.label) for s in workflow.stages])
    nothing = (N_("unknown stage '{stage}'; stages: {stages}"), {"stage": name, "stages": stages})
    return _pick(name, known, kind=Word(N_("stage")), exact=known, nothing=nothing)


def resolve_event(workflow: Workflow, name: str) -> str:
    """The name of the event ``name`` names: its name or its label in either language."""
    known = {e.name: [e.name, *e.label.values()] for e in workflow.events}
    nothing = (
        N_("unknown event {event}; events of this workflow: {known}"),
        {"event": name, "known": ", ".join(known)},
    )
    return _pick(name, known, kind=Word(N_("event")), exact=known, nothing=nothing)


_NO_PARTNER = N_("unknown partner {code}; known partners: {known}")


def resolve_partner(
    partners: Mapping[str, PartnerSpec], name: str, *, unknown_ok: bool = False
) -> str:
    """The code of the partner ``name`` names: its code in any case ("BRI") or its name.

    With ``unknown_ok`` a name close to no partner at all comes back as it is, for the plugin
    host to refuse: it knows the partners of plugins that failed to load, and why.
    """
    known = {code: [code, *spec.name.values()] for code, spec in partners.items()}
    nothing = (_NO_PARTNER, {"code": name, "known": ", ".join(sorted(known)) or "-"})
    try:
        return _pick(name, known, kind=Word(N_("partner")), exact=known, nothing=nothing)
    except NotFoundError as err:
        if unknown_ok and err.msgid == _NO_PARTNER:
            return name
        raise


def resolve_step(workflow: Workflow, partners: Mapping[str, PartnerSpec], name: str) -> str:
    """The key of the step ``name`` names: a stage's step by id or label ("nib", "NIB"), or a
    partner's as ``code.step`` in any case ("BRI.account") or by its label."""
    known: dict[str, list[str]] = {
        st.id: [st.id, *st.label.values()] for s in workflow.stages for st in s.steps
    }
    for code, spec in partners.items():
        for st in spec.steps:
            known[f"{code}.{st.id}"] = [f"{code}.{st.id}", *st.label.values()]
    if name in known:
        return name
    if "." in name:
        code, _dot, rest = name.partition(".")
        # A partner's step the partner lacks: the caller's error lists that partner's steps.
        return f"{resolve_partner(partners, code, unknown_ok=True)}.{rest}"
    nothing = (
        N_("unknown step {step}; see 'kopflow workflow show' for the steps of each stage"),
        {"step": name},
    )
    return _pick(name, known, kind=Word(N_("step")), nothing=nothing)


def resolve_coop(
    conn: Connection, ref: str, *, kabupaten: str | None = None, suggest: bool = True
) -> str:
    """The id of the cooperative ``ref`` names: an id, or a village name that is unambiguous
    (in any case). ``kabupaten``, the actor's region, is where suggestions come from first;
    ``suggest=False`` (bulk input) skips looking for close village names."""
    from kopflow.store.rows import param_mark

    # Statement text, not SQLAlchemy's: single-cooperative commands on SQLite never import it
    # (issue #15). lower(coop_village.name) as the expression index on it is written.
    mark = param_mark(conn)
    ref = ref.strip()
    found = conn.exec_driver_sql(f"SELECT id FROM coop WHERE id = {mark}", (ref.upper(),)).scalar()
    if found:
        return str(found)
    matches = conn.exec_driver_sql(
        "SELECT coop.id, coop_village.name, coop_village.kecamatan, coop.kabupaten "
        "FROM coop JOIN coop_village ON coop_village.coop_id = coop.id "
        f"WHERE lower(coop_village.name) = {mark} ORDER BY coop.id",
        (ref.lower(),),
    ).all()
    ids: list[str] = sorted({m[0] for m in matches})
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise _no_coop(conn, ref, kabupaten, suggest=suggest)
    candidates = "; ".join(f"{m[0]} ({m[1]}, Kec. {m[2]}, {m[3]})" for m in matches[:10])
    raise InputError(
        "{ref} names {count} cooperatives; use an id: {candidates}",
        ref=ref,
        count=len(ids),
        candidates=candidates,
    )


def _no_coop(conn: Connection, ref: str, kabupaten: str | None, *, suggest: bool) -> NotFoundError:
    """The error for a reference that names no cooperative: the nearest village names (of the
    actor's kabupaten, else of any) with their ids, or an id that exists as an example."""
    from sqlalchemy import select

    from kopflow.store import tables

    coop_t, village_t = tables.coop, tables.coop_village
    query = select(village_t.c.name, coop_t.c.id, coop_t.c.kecamatan).join(
        coop_t, village_t.c.coop_id == coop_t.c.id
    )
    if kabupaten:
        query = query.where(coop_t.c.kabupaten == kabupaten)
    query = query.order_by(coop_t.c.id)
    rows = conn.execute(query if suggest else query.limit(1)).all()
    by_name: dict[str, list[tuple[str, str]]] = {}
    for name, coop_id, kecamatan in rows:
        by_name.setdefault(str(name).casefold(), []).append((str(coop_id), str(kecamatan)))
    close = (
        difflib.get_close_matches(ref.casefold(), list(by_name), n=3, cutoff=0.75)
        if suggest
        else []
    )
    if close:
        names = {str(r[0]).casefold(): str(r[0]) for r in rows}
        suggestions = "; ".join(
            f"{names[c]} ({coop_id}, Kec. {kec})" for c in close for coop_id, kec in by_name[c][:2]
        )
        return NotFoundError(
            "no cooperative {ref}; did you mean: {close}", ref=ref, close=suggestions
        )
    example = rows[0][1] if rows else "KDMP-050509"
    return NotFoundError(
        "no cooperative {ref}: give its id (e.g. {example}) or its village name",
        ref=ref,
        example=example,
    )


def check_area(
    conn: Connection, *, kecamatan: str | None = None, kabupaten: str | None = None
) -> None:
    """Refuse a kecamatan or kabupaten filter that names no cooperative at all.

    Filters match exactly (and use their indexes), so a typo or another spelling ("banjar")
    would otherwise select nothing without a word; call this when a filter found nothing.

    Raises:
        NotFoundError: naming the close spellings that do exist.
    """
    import difflib

    from sqlalchemy import select

    from kopflow.store import tables

    table = tables.coop
    for kind, column, value in (
        ("kabupaten/kota", table.c.kabupaten, kabupaten),
        ("kecamatan", table.c.kecamatan, kecamatan),
    ):
        if not value or conn.execute(select(column).where(column == value).limit(1)).first():
            continue
        known = list(conn.execute(select(column).distinct()).scalars())
        close = [k for k in known if k.lower() == value.lower()]
        close += [
            k for k in difflib.get_close_matches(value, known, n=3, cutoff=0.6) if k not in close
        ]
        raise NotFoundError(
            "unknown {kind} {name!r}; did you mean: {close}",
            kind=kind,
            name=value,
            close=", ".join(close[:3]) or "-",
        )


def resolve_coops(conn: Connection, refs: Iterable[str]) -> dict[str, str | KopflowError]:
    """:func:`resolve_coop` for many references: ids in one query, anything else one by one.

    Returns:
        Each reference's cooperative id, or the error :func:`resolve_coop` raises for it.
    """
    from kopflow.store.rows import rows_in

    wanted = {ref: ref.strip().upper() for ref in refs}
    ids = list(set(wanted.values()))
    found = {row[0] for row in rows_in(conn, "SELECT id FROM coop", "id", ids)}
    resolved: dict[str, str | KopflowError] = {}
    for ref, key in wanted.items():
        if key in found:
            resolved[ref] = key
            continue
        try:
            resolved[ref] = resolve_coop(conn, ref, suggest=False)
        except KopflowError as err:
            resolved[ref] = err
    return resolved
