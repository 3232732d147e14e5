"""Finding what a user names: a cooperative by id or village name, a kecamatan or kabupaten.

One resolver every command uses, so a name is accepted, refused or suggested the same way
everywhere. Reads only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from kopflow.errors import InputError, KopflowError, NotFoundError

if TYPE_CHECKING:
    from sqlalchemy import Connection


def resolve_coop(conn: Connection, ref: str) -> str:
    """The id of the cooperative ``ref`` names: an id, or a village name that is unambiguous."""
    from sqlalchemy import func, select

    from kopflow.store import tables

    coop_t, village_t = tables.coop, tables.coop_village
    ref = ref.strip()
    found = conn.execute(select(coop_t.c.id).where(coop_t.c.id == ref.upper())).scalar()
    if found:
        return str(found)
    matches = conn.execute(
        select(coop_t.c.id, village_t.c.name, village_t.c.kecamatan, coop_t.c.kabupaten)
        .join(village_t, village_t.c.coop_id == coop_t.c.id)
        .where(func.lower(village_t.c.name) == ref.lower())
        .order_by(coop_t.c.id)
    ).all()
    ids: list[str] = sorted({m[0] for m in matches})
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise NotFoundError(
            "no cooperative {ref}: give its id (e.g. KDMP-050509) or its village name", ref=ref
        )
    candidates = "; ".join(f"{m[0]} ({m[1]}, Kec. {m[2]}, {m[3]})" for m in matches[:10])
    raise InputError(
        "{ref} names {count} cooperatives; use an id: {candidates}",
        ref=ref,
        count=len(ids),
        candidates=candidates,
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
            resolved[ref] = resolve_coop(conn, ref)
        except KopflowError as err:
            resolved[ref] = err
    return resolved
