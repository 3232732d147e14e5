"""The read API plugin commands receive (issue #13): :class:`kopflow.plugin.Queries`, built on
the reads the CLI already uses (the resolver, ``load_coops``, ``status_counts``,
``partner_status``), with the actor's read permissions applied (``kopflow.authz.read_*``).

Nothing here writes. Every method opens its own read connection, checks the actor, and returns
snapshots (views whose evidence is already loaded) that hold no connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.errors import InputError, PermissionDeniedError
from kopflow.pipeline.change import decimal_fields, load_coops
from kopflow.pipeline.work import LazyEvidence
from kopflow.rules.partners import COMPLETE

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.pipeline.change import Workspace
    from kopflow.pipeline.work import CoopWork
    from kopflow.plugin import CoopDetail, CoopView, PartnerSpec, StepInfo


class Reader:
    """:class:`kopflow.plugin.Queries` for one engine's workspace (``Kopflow.queries()``)."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._decimals: dict[str, frozenset[str]] | None = None

    # --- the questions ---------------------------------------------------------------------

    def cooperatives(
        self,
        *,
        kabupaten: str | None = None,
        kecamatan: str | None = None,
        stage: str | None = None,
        partner: str | None = None,
        partner_state: str | None = None,
    ) -> list[CoopView]:
        from sqlalchemy import select

        from kopflow.names import resolve_kabupaten, resolve_kecamatan, resolve_stage
        from kopflow.store import tables

        coop_t, enrol_t = tables.coop, tables.enrollment
        with self._ws.reading() as conn:
            actor = self._ws.actor(conn)
            region = resolve_kabupaten(conn, kabupaten) if kabupaten else None
            region = authz.read_region(actor, region)
            code = authz.read_partner(actor, self._partner(partner) if partner else None)
            wanted = self._state(code, partner_state)
            query = select(coop_t.c.id).order_by(coop_t.c.id)
            if region is not None:
                query = query.where(coop_t.c.kabupaten == region)
            if kecamatan:
                place = resolve_kecamatan(conn, kecamatan, kabupaten=region)
                query = query.where(coop_t.c.kecamatan == place)
            if stage:
                query = query.where(coop_t.c.stage == resolve_stage(self._ws.workflow, stage))
            if code is not None:
                enrolled = select(enrol_t.c.coop_id).where(enrol_t.c.partner == code)
                query = query.where(coop_t.c.id.in_(enrolled))
            ids = [str(i) for i in conn.execute(query).scalars()]
            works = load_coops(conn, ids) if ids else {}
        views = [self._view(actor, works[i]) for i in ids]
        if wanted is not None and code is not None:
            views = [v for v in views if self.standing(v, code) == wanted]
        return views

    def cooperative(self, coop: str) -> CoopDetail:
        from kopflow.plugin import CoopDetail

        with self._ws.reading() as conn:
            actor, work = self._one(conn, coop)
        view = self._view(actor, work)
        steps = [
            _info(work, view, st.id, st.label, None, stage.id, st.required)
            for stage in self._ws.workflow.stages
            for st in stage.steps
        ]
        for code in sorted(work.partners):
            if authz.may_read_step(actor, code) and code in self._ws.plugins.partners:
                steps += _partner_infos(self._ws.plugins.partners[code], work, view)
        return CoopDetail(view, tuple(steps))

    def partner_steps(self, coop: str, partner: str) -> tuple[StepInfo, ...]:
        code = self._partner(partner)
        with self._ws.reading() as conn:
            actor = self._ws.actor(conn)
            authz.read_partner(actor, code)
            actor, work = self._one(conn, coop)
        return tuple(_partner_infos(self._ws.plugins.partners[code], work, self._view(actor, work)))

    def standing(self, coop: CoopView, partner: str) -> str:
        spec = self._ws.plugins.partners[self._partner(partner)]
        for step in spec.steps:
            if step.required and not coop.is_done(spec.key(step.id)):
                return spec.key(step.id)
        return COMPLETE

    def counts(self, *, kabupaten: str | None = None, partner: str | None = None) -> dict[str, int]:
        from kopflow.names import resolve_kabupaten
        from kopflow.rules.partners import partner_status
        from kopflow.rules.queries import status_counts

        with self._ws.reading() as conn:
            actor = self._ws.actor(conn)
            region = resolve_kabupaten(conn, kabupaten) if kabupaten else None
            region = authz.read_region(actor, region)
            code = authz.read_partner(actor, self._partner(partner) if partner else None)
            if code is None:
                rows = status_counts(conn, kabupaten=region, workflow=self._ws.workflow)
                found: dict[str, int] = {}
                for row in rows:
                    found[row["stage"]] = found.get(row["stage"], 0) + int(row["count"])
                return found
            (status,) = partner_status(conn, self._ws.plugins, partner=code, kabupaten=region)
        counts = {str(row["step"]): int(row["at"]) for row in status["steps"] if row["required"]}
        counts[COMPLETE] = int(status["complete"])
        return counts

    # --- helpers ---------------------------------------------------------------------------

    def _partner(self, name: str) -> str:
        from kopflow.names import resolve_partner

        return resolve_partner(self._ws.plugins.partners, name)

    def _state(self, code: str | None, state: str | None) -> str | None:
        """``partner_state`` as a step key or ``"complete"``; refused when it names nothing."""
        if state is None:
            return None
        if code is None:
            raise InputError("partner_state needs partner: the state of which partner?")
        spec = self._ws.plugins.partners[code]
        keys = [spec.key(s.id) for s in spec.steps if s.required]
        key = state if state == COMPLETE or state in keys else spec.key(state)
        if key != COMPLETE and key not in keys:
            raise InputError(
                "partner {partner} has no required step {step}; it stands at one of {known}",
                partner=code,
                step=state,
                known=", ".join([*keys, COMPLETE]),
            )
        return key

    def _one(self, conn: Connection, ref: str) -> tuple[authz.ActorInfo, CoopWork]:
        """The cooperative ``ref`` names, once the actor may read it."""
        from kopflow.names import resolve_coop

        actor = self._ws.actor(conn)
        coop_id = resolve_coop(conn, ref, kabupaten=authz.scope_region(actor))
        work = load_coops(conn, [coop_id])[coop_id]
        authz.read_region(actor, work.row["kabupaten"])
        if actor.role == "partner" and actor.partner not in work.partners:
            raise PermissionDeniedError(
                "{actor} works for partner {partner} and may not read {coop}, which is not "
                "enrolled with it",
                actor=actor.name,
                partner=actor.partner,
                coop=work.id,
            )
        return actor, work

    def _view(self, actor: authz.ActorInfo, work: CoopWork) -> CoopView:
        """The cooperative as hooks see it, less what the actor may not read."""
        from kopflow.plugin import CoopView

        if self._decimals is None:
            self._decimals = decimal_fields(self._ws.workflow, self._ws.plugins)
        evidence: Mapping[str, Mapping[str, Any]] = LazyEvidence(
            work.steps, work.rest, self._decimals
        )
        partners = tuple(sorted(work.partners))
        if actor.role == "partner":
            evidence = _Visible(evidence, lambda key: authz.may_read_step(actor, _partner_of(key)))
            partners = tuple(p for p in partners if p == actor.partner)
        fields = {
            "id": work.id,
            "name": work.row["name"],
            "kabupaten": work.row["kabupaten"],
            "kecamatan": work.row["kecamatan"],
            "villages": tuple(work.villages),
            "stage": work.row["stage"],
            "workflow": work.row["workflow"],
            "partners": partners,
        }
        return CoopView._build(fields, evidence)


def _partner_of(key: str) -> str | None:
    """The partner code of a step key (``"bri.account"``: ``"bri"``); ``None`` for the workflow's."""
    return key.partition(".")[0] if "." in key else None


def _partner_infos(spec: PartnerSpec, work: CoopWork, view: CoopView) -> list[StepInfo]:
    return [
        _info(work, view, spec.key(s.id), s.label, spec.code, None, s.required) for s in spec.steps
    ]


def _info(
    work: CoopWork,
    view: CoopView,
    key: str,
    label: dict[str, str],
    partner: str | None,
    stage: str | None,
    required: bool,
) -> StepInfo:
    from kopflow.plugin import StepInfo

    done = view.is_done(key)
    state = work.steps.get(key)
    status = "done" if done else ("missing" if required else "optional")
    return StepInfo(
        key=key,
        label=label,
        partner=partner,
        stage=stage,
        required=required,
        status=status,
        version=state.version if state is not None else 0,
        evidence=view.evidence[key] if done else None,
    )


class _Visible(Mapping[str, Mapping[str, Any]]):
    """Evidence per step, less the steps ``shown`` refuses (another partner's, for a partner)."""

    def __init__(
        self, source: Mapping[str, Mapping[str, Any]], shown: Callable[[str], bool]
    ) -> None:
        self._source, self._shown = source, shown

    def __getitem__(self, key: str) -> Mapping[str, Any]:
        if not self._shown(key):
            raise KeyError(key)
        return self._source[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._shown(key) and key in self._source

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._source if self._shown(k))

    def __len__(self) -> int:
        return sum(1 for _k in self)
