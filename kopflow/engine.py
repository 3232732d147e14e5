"""The application API the CLI, tests and plugins use: every change to a cooperative.

It owns the transaction boundary: a change, its history rows and its audit event are queued in
one :class:`~kopflow.pipeline.change.Unit` and committed together or not at all. Bulk commands work in
batches that commit one by one, so an interrupted run leaves each cooperative whole.
"""

from __future__ import annotations

import gc
import getpass
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.errors import (
    InputError,
    KopflowError,
    NotFoundError,
    PermissionDeniedError,
    RefusedError,
)
from kopflow.i18n import _
from kopflow.log import bind_context, get_logger
from kopflow.pipeline.work import (
    BulkResult,
    CoopWork,
    History,
    LazyEvidence,
    Outcome,
    newest_states,
)
from kopflow.store import db

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.flow.spec import StepSpec, Workflow
    from kopflow.host.manager import PluginHost
    from kopflow.pipeline.change import Unit
    from kopflow.plugin import CoopView
    from kopflow.regions import CoopSeed


def _batch_size() -> int:
    """Cooperatives per transaction in bulk commands: ``KOPFLOW_BATCH`` (tests, tuning), else 2000."""
    try:
        return max(1, int(os.environ.get("KOPFLOW_BATCH") or 2000))
    except ValueError:
        return 2000


BATCH = _batch_size()
Progress = Callable[[int], None]


class Kopflow:
    """kopflow for one database, one actor and one workflow.

    Args:
        db_url: ``--db`` value (URL or SQLite path); None reads ``KOPFLOW_DB``.
        actor: who acts on SQLite; None means ``KOPFLOW_ACTOR``, else the OS user. On
            PostgreSQL the database login acts, and a name other than it is refused.
        plugins: a plugin host; None builds one from entry points and the environment.
        workflow: the name of the definition new cooperatives run.
    """

    def __init__(
        self,
        db_url: str | None = None,
        *,
        actor: str | None = None,
        plugins: PluginHost | None = None,
        workflow: str = "kdkmp",
    ) -> None:
        self.url = db.resolve_url(db_url)
        self._actor_name = actor or os.environ.get("KOPFLOW_ACTOR") or None
        self._plugins = plugins
        self._workflow_name = workflow
        # The definition read once for the transaction under way (see ``_write``).
        self._pinned: Workflow | None = None
        self._specs: dict[str, tuple[StepSpec, str | None, str | None]] = {}  # while pinned
        self._fingerprint: dict[str, str] | None = None  # while pinned
        self._actor: authz.ActorInfo | None = None
        self.log = get_logger()

    # --- shared parts -------------------------------------------------------------------

    @property
    def workflow(self) -> Workflow:
        if self._pinned is not None:
            return self._pinned
        from kopflow.flow.spec import find_workflow

        return find_workflow(self._workflow_name)

    @property
    def plugins(self) -> PluginHost:
        if self._plugins is None:
            from kopflow.host.manager import make_plugin_host

            self._plugins = make_plugin_host()
        return self._plugins

    def _login_name(self, conn: Connection) -> str:
        if not db.is_sqlite(self.url):
            # Issue #4: on PostgreSQL the database login is the actor, so the database's own
            # grants (kopflow db grant) and the audit log name the same person. --actor and
            # KOPFLOW_ACTOR may only repeat it (docs/database.md).
            from sqlalchemy import text

            login = str(conn.execute(text("SELECT current_user")).scalar())
            if self._actor_name and self._actor_name != login:
                raise PermissionDeniedError(
                    "on PostgreSQL you act as your database login {login}, not as {actor}; "
                    "connect as {actor} to act as them",
                    login=login,
                    actor=self._actor_name,
                )
            return login
        if self._actor_name:
            return self._actor_name
        return getpass.getuser()

    def actor(self, conn: Connection) -> authz.ActorInfo:
        """The acting person, who must be a known and enabled actor."""
        if self._actor is None:
            from sqlalchemy import select

            from kopflow.store import tables

            name = self._login_name(conn)
            table = tables.actor
            row = conn.execute(select(table).where(table.c.name == name)).mappings().first()
            if row is None:
                raise PermissionDeniedError(
                    "unknown actor {actor}; an admin can add them with "
                    "'kopflow actor add {actor} --role ...'",
                    actor=name,
                )
            if not row["enabled"]:
                raise PermissionDeniedError("actor {actor} is disabled", actor=name)
            self._actor = authz.ActorInfo(name, row["role"], row["region"], row["partner"])
            bind_context(actor=name)
        return self._actor

    def reading(self) -> Any:
        """A read connection on a database with the current schema."""
        return _Reading(self.url)

    def _refused(self, err: KopflowError, **context: Any) -> None:
        # Issue #4: every refused action is logged, not just printed.
        self.log.warning("refused", reason=str(err), **context)
        err.logged = True  # type: ignore[attr-defined]  # the CLI logs the others once

    # --- setting up ---------------------------------------------------------------------

    def init(self) -> dict[str, Any]:
        """Create or upgrade the schema, start the audit chain and make the caller an admin."""
        import uuid

        from kopflow.audit.chain import init_chain, read_head
        from kopflow.store import tables

        before, after = db.upgrade_schema(self.url)
        with db.write_transaction(self.url) as conn:
            init_chain(conn, log_id=f"kopflow/{uuid.uuid4()}")
            from sqlalchemy import func, select

            actors = conn.execute(select(func.count()).select_from(tables.actor)).scalar()
            created_admin = None
            if not actors:
                # The first person to initialise a database administers it.
                name = self._login_name(conn)
                from kopflow.pipeline.change import Unit

                self._actor = authz.ActorInfo(name, "admin")
                unit = Unit(conn, self._actor, datetime.now(UTC))
                unit.insert(
                    "actor",
                    {
                        "name": name,
                        "role": "admin",
                        "region": None,
                        "partner": None,
                        "enabled": True,
                        "created_at": unit.now,
                        "created_by": name,
                    },
                )
                unit.event("db.init", None, {"schema": after, "admin": name})
                self._record_workflow(conn, unit.now)
                unit.flush()
                created_admin = name
            head = read_head(conn)
        return {
            "schema_before": before,
            "schema": after,
            "admin": created_admin,
            "log_id": head.log_id,
        }

    def _record_workflow(self, conn: Connection, now: datetime) -> None:
        """Remember the definition in use; refuse one edited without a new version."""
        from sqlalchemy import insert, select

        from kopflow.store import tables

        wf = self.workflow
        table = tables.workflow_def
        row = conn.execute(
            select(table.c.digest).where(table.c.name == wf.name, table.c.version == wf.version)
        ).first()
        if row is None:
            with open(wf.path, encoding="utf-8") as handle:
                source = handle.read()
            conn.execute(
                insert(table).values(  # type: ignore[arg-type]
                    name=wf.name,
                    version=wf.version,
                    digest=wf.digest,
                    source=source,
                    first_used_at=now,
                )
            )
        elif row[0] != wf.digest:
            raise RefusedError(
                "workflow {name} version {version} was changed after cooperatives started "
                "using it; give the changed file a new version, then run 'kopflow workflow migrate'",
                name=wf.name,
                version=wf.version,
            )

    # --- the write path -----------------------------------------------------------------

    def _write(self, fn: Callable[[Unit], Any], *, dry_run: bool = False) -> Any:
        """Run ``fn`` in one write transaction and commit its unit (roll back on dry run)."""
        from kopflow.pipeline.change import Unit

        # One definition for the whole transaction: looking the file up again for every step
        # of a bulk batch cost more than the work itself, and a file edited meanwhile must not
        # mix two definitions in one change.
        self._pinned = self.workflow
        self._specs = {}
        self._fingerprint = None
        try:
            with db.write_transaction(self.url) as conn:
                db.require_schema(conn)
                actor = self.actor(conn)
                # Before the chain lock: an auditor's login may not take it (db grant).
                authz.require_write(actor)
                unit = Unit(conn, actor, datetime.now(UTC))
                self._record_workflow(conn, unit.now)
                start = unit.chain.seq
                with _gc_paused():
                    result = fn(unit)
                    unit.flush()
                if dry_run:
                    conn.rollback()
        finally:
            self._pinned = None
        if not dry_run and unit.chain.seq > start:
            # Every committed transaction names its audit events, so any log line can be
            # matched with the chain (issue #7), bulk batches and actor changes included.
            self.log.info(
                "audit events committed",
                events=unit.chain.seq - start,
                audit_seq_first=start + 1,
                audit_seq_last=unit.chain.seq,
            )
        return result

    def _load(
        self,
        conn: Connection,
        coop_ids: Sequence[str],
        *,
        views: bool = True,
        steps: Collection[str] | None = None,
        rest_as_of: int | None = None,
    ) -> dict[str, CoopWork]:
        """Rows, current step states, partners and villages of some cooperatives, in four
        queries.

        ``views=False`` is for a bulk change that builds no plugin view from them: what only
        views show is left out, the steps' evidence (most of what a history holds) and the
        villages. ``steps`` names the only steps whose states are read (none: no query), for
        a bulk change that reads only those. With ``rest_as_of`` (the chain's head when the
        change began) the other steps' states are read when first asked for, as they stood
        then: by a plugin's view, which so sees what a full load would have shown it.
        """
        from kopflow.store import tables
        from kopflow.store.rows import rows_in, table_rows_in

        coop_t = tables.coop
        works: dict[str, CoopWork] = {}
        for row in table_rows_in(conn, coop_t, "id", coop_ids):  # type: ignore[arg-type]
            works[row["id"]] = CoopWork(row, {}, set())
        # The rest are plain columns: read at the driver (issue #5: a bulk batch reads every
        # step version of 2000 cooperatives, and SQLAlchemy rows cost more than the reading).
        ids = list(coop_ids)
        columns = "coop_id, step, version, status, " + ("evidence" if views else "''")
        history: list[Any] = []
        if steps is None or steps:
            only = None if steps is None else ("step", list(steps))
            history = rows_in(conn, f"SELECT {columns} FROM step_record", "coop_id", ids, also=only)
        for coop_id, states in newest_states(history).items():
            works[coop_id].steps = states
        if steps is not None and rest_as_of is not None:
            loaded = frozenset(steps)
            for coop_id, work in works.items():
                work.rest = History(self, conn, coop_id, rest_as_of, loaded)
        partners = "SELECT coop_id, partner FROM enrollment"
        for coop_id, partner in rows_in(conn, partners, "coop_id", ids):
            works[coop_id].partners.add(partner)
        if views:
            villages = "SELECT coop_id, region_id FROM coop_village"
            order = "ORDER BY coop_id, region_id"
            for coop_id, region_id in rows_in(conn, villages, "coop_id", ids, tail=order):
                works[coop_id].villages.append(region_id)
        return works

    def _check_version(self, work: CoopWork) -> None:
        wf = self.workflow
        if (work.row["workflow"], work.row["workflow_version"]) != (wf.name, wf.version):
            raise RefusedError(
                "{coop} runs workflow {have}; the definition is now {want}: "
                "run 'kopflow workflow migrate {coop}' to move it explicitly",
                coop=work.id,
                have=f"{work.row['workflow']} v{work.row['workflow_version']}",
                want=f"{wf.name} v{wf.version}",
            )

    def view(self, work: CoopWork) -> Any:
        """The read-only view of a cooperative that plugin hooks receive."""
        return _coop_view_type()._build(
            id=work.id,
            name=work.row["name"],
            kabupaten=work.row["kabupaten"],
            kecamatan=work.row["kecamatan"],
            villages=tuple(work.villages),
            stage=work.row["stage"],
            workflow=work.row["workflow"],
            partners=tuple(sorted(work.partners)),
            evidence=LazyEvidence(work.steps, work.rest),
        )

    def fingerprint(self) -> dict[str, str]:
        """The plugins in use, as every audit event records them; read once per transaction."""
        if self._pinned is None:
            return self.plugins.fingerprint()
        if self._fingerprint is None:
            self._fingerprint = self.plugins.fingerprint()
        return self._fingerprint

    # --- finding cooperatives -----------------------------------------------------------

    def resolve(self, conn: Connection, ref: str) -> str:
        """A cooperative id from an id or an unambiguous village name."""
        from kopflow.rules.queries import resolve_coop

        return resolve_coop(conn, ref)

    def resolve_many(self, conn: Connection, refs: Iterable[str]) -> dict[str, str | KopflowError]:
        """:meth:`resolve` for many references: ids in one query, anything else one by one.

        Returns:
            Each reference's cooperative id, or the error :meth:`resolve` raises for it.
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
                resolved[ref] = self.resolve(conn, ref)
            except KopflowError as err:
                resolved[ref] = err
        return resolved

    # --- registration -------------------------------------------------------------------

    def register(
        self, seeds: Iterable[CoopSeed], *, source: str, progress: Progress | None = None
    ) -> tuple[int, int]:
        """Register cooperatives not yet known; returns (added, already present).

        Re-running an import adds nothing: a village already covered is skipped.
        """
        from kopflow.rules.registration import register_seeds

        return register_seeds(self, seeds, source=source, progress=progress)

    # --- steps --------------------------------------------------------------------------

    def step_spec(self, step: str) -> tuple[StepSpec, str | None, str | None]:
        """(spec, partner code or None, stage id or None) of a step name like ``nib`` or
        ``bri.account``."""
        if self._pinned is None:
            return self._step_spec(step)
        found = self._specs.get(step)  # looked up once per transaction (issue #5)
        if found is None:
            found = self._specs[step] = self._step_spec(step)
        return found

    def _step_spec(self, step: str) -> tuple[StepSpec, str | None, str | None]:
        if "." in step:
            found = self.plugins.partner_step(step)
            if found is None:
                code = step.split(".", 1)[0]
                partner = self.plugins.partner(code)  # names the known partners if unknown
                raise NotFoundError(
                    "partner {partner} has no step {step}; its steps: {known}",
                    partner=code,
                    step=step,
                    known=", ".join(f"{code}.{s.id}" for s in partner.steps),
                )
            return found[1], found[0].code, None
        spec = self.workflow.step(step)
        if spec is None:
            stage = None
            raise NotFoundError(
                "unknown step {step}; see 'kopflow workflow show' for the steps of each stage",
                step=step,
                stage=stage,
            )
        stage_spec = self.workflow.stage_of_step(step)
        return spec, None, stage_spec.id if stage_spec else None

    def complete_step(
        self,
        coop_ref: str,
        step: str,
        raw: Mapping[str, Any],
        *,
        reason: str | None = None,
        expect_version: int | None = None,
    ) -> Outcome:
        """Record a step's evidence (a correction when it is done already, with ``reason``)."""
        from kopflow.rules.steps import complete

        return self._change_one(
            coop_ref,
            lambda unit, work: complete(self, unit, work, step, raw, reason),
            expect_version=expect_version,
            step=step,
        )

    def _change_one(
        self,
        coop_ref: str,
        apply: Callable[[Unit, CoopWork], Outcome],
        *,
        expect_version: int | None = None,
        **context: Any,
    ) -> Outcome:
        """Apply one change to one cooperative in its own transaction; log a refusal."""

        def change(unit: Unit) -> Outcome:
            coop_id = self.resolve(unit.conn, coop_ref)
            work = self._load(unit.conn, [coop_id])[coop_id]
            if expect_version is not None and work.row["version"] != expect_version:
                self._conflict(work)
            return apply(unit, work)

        try:
            outcome: Outcome = self._write(change)
        except KopflowError as err:
            self._refused(err, coop=coop_ref, **context)
            raise
        self._after(outcome)
        return outcome

    def _conflict(self, work: CoopWork) -> None:
        from kopflow.errors import ConflictError

        raise ConflictError(
            "{coop} was changed by {actor} at {at}; look again and retry",
            coop=work.id,
            actor=work.row["updated_by"],
            at=work.row["updated_at"].strftime("%Y-%m-%d %H:%M:%S UTC"),
        )

    def undo_step(self, coop_ref: str, step: str, *, reason: str) -> Outcome:
        """Mark a step of the current stage as not done, keeping its history."""
        from kopflow.rules.steps import undo

        return self._change_one(
            coop_ref, lambda unit, work: undo(self, unit, work, step, reason), step=step
        )

    def complete_steps_bulk(
        self,
        rows: Sequence[tuple[str, str, Mapping[str, Any]]],
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Complete many steps; each cooperative's rows are all done or all refused."""
        from kopflow.rules.steps import complete_bulk

        return complete_bulk(self, rows, dry_run=dry_run, progress=progress)

    # --- transitions --------------------------------------------------------------------

    def advance(
        self,
        coop_ref: str,
        event: str | None = None,
        *,
        reason: str | None = None,
        expect_version: int | None = None,
    ) -> Outcome:
        """Fire ``event`` (default: the forward event of the current stage)."""
        from kopflow.rules.transition import fire_one

        return self._change_one(
            coop_ref,
            lambda unit, work: fire_one(self, unit, work, event, reason),
            expect_version=expect_version,
            trigger=event,  # not ``event=``: structlog's first argument is the log event itself
        )

    def advance_bulk(
        self,
        *,
        stage: str,
        kecamatan: str | None = None,
        kabupaten: str | None = None,
        event: str | None = None,
        reason: str | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
        batch: int = BATCH,
    ) -> BulkResult:
        """Fire one event for every cooperative in ``stage`` (optionally one kecamatan)."""
        from kopflow.rules.transition import fire_bulk

        return fire_bulk(
            self,
            stage=stage,
            kecamatan=kecamatan,
            kabupaten=kabupaten,
            event=event,
            reason=reason,
            dry_run=dry_run,
            progress=progress,
            batch=batch,
        )

    # --- partners -----------------------------------------------------------------------

    def enroll(self, coop_ref: str, partners: Sequence[str]) -> Outcome:
        """Enroll a cooperative with partners, whose required steps it must then complete."""

        self.plugins.raise_if_broken()
        return self._change_one(
            coop_ref,
            lambda unit, work: self._enroll_one(unit, work, partners),
            partners=list(partners),
        )

    def _enroll_one(self, unit: Unit, work: CoopWork, partners: Sequence[str]) -> Outcome:
        coop_id = work.id
        self._check_version(work)
        authz.require_coop(unit.actor, work.row["kabupaten"], coop_id)
        if self.workflow.stage(work.row["stage"]).final:
            raise RefusedError("{coop} is dissolved", coop=coop_id)
        new = []
        for code in partners:
            self.plugins.partner(code)  # unknown partner: error naming the known ones
            if code not in work.partners and code not in new:
                new.append(code)
        if not new:
            return Outcome(coop_id, True, _("already enrolled"), stage=work.row["stage"])
        version = unit.update_coop(coop_id, work.row["version"])
        seq = unit.event(
            "partner.enrolled",
            coop_id,
            {"partners": new, "coop_version": version, "plugins": self.fingerprint()},
        )
        for code in new:
            unit.insert(
                "enrollment",
                {
                    "coop_id": coop_id,
                    "partner": code,
                    "actor": unit.actor.name,
                    "at": unit.now,
                    "audit_seq": seq,
                },
            )
        return Outcome(
            coop_id,
            True,
            _("enrolled with {partners}", partners=", ".join(new)),
            seq,
            work.row["stage"],
        )

    def enroll_bulk(
        self,
        coop_refs: Sequence[str],
        partners: Sequence[str],
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Enroll many cooperatives with ``partners``, in batches; each is done or refused whole.

        The same checks and audit event per cooperative as :meth:`enroll`, one transaction per
        batch (issue #5: enrolling a kabupaten one transaction at a time is slow).
        """
        result = BulkResult(dry_run=dry_run)
        for start in range(0, len(coop_refs), BATCH):
            chunk = coop_refs[start : start + BATCH]

            def change(unit: Unit, chunk: Sequence[str] = chunk) -> list[Outcome]:
                self.plugins.raise_if_broken()
                resolved: dict[str, str] = {}
                for ref, found in self.resolve_many(unit.conn, chunk).items():
                    if isinstance(found, KopflowError):
                        result.refused.append(Outcome(ref, False, str(found)))
                    else:
                        resolved.setdefault(found, ref)
                # Enrolling reads no step and shows no plugin a view.
                works = self._load(unit.conn, list(resolved), views=False, steps=())
                outcomes: list[Outcome] = []
                for coop_id in resolved:
                    mark = unit.mark()
                    try:
                        outcomes.append(self._enroll_one(unit, works[coop_id], partners))
                    except KopflowError as err:
                        unit.rollback_to(mark)
                        self._refused(err, coop=coop_id, partners=list(partners))
                        result.refused.append(Outcome(coop_id, False, str(err)))
                        continue
                    unit.spill()  # between cooperatives: bounded memory
                return outcomes

            done = self._write(change, dry_run=dry_run)
            result.done.extend(done)
            if progress:
                progress(len(chunk))
        return result

    def migrate_workflow(self, refs: list[str] | None, *, dry_run: bool = False) -> BulkResult:
        """Move cooperatives (all on older versions when ``refs`` is None) onto this version."""
        from kopflow.rules.actors import migrate_workflow

        return migrate_workflow(self, refs, dry_run=dry_run)

    # --- after commit -------------------------------------------------------------------

    def _after(self, outcome: Outcome, *, log: bool = True) -> None:
        """Log a committed change and run the plugins' after-hooks, which cannot undo it."""
        if log and outcome.audit_seq is not None:
            self.log.info("committed", coop=outcome.coop_id, audit_seq=outcome.audit_seq)
        if outcome.after is not None:
            after, outcome.after = outcome.after, None  # frees the change's state (issue #5)
            after()


@cache
def _coop_view_type() -> type[CoopView]:
    # Imported on first use (the plugin API pulls in pluggy), then kept: an import statement
    # in ``view`` cost a sixth of building a view, and a bulk batch builds one per step.
    from kopflow.plugin import CoopView

    return CoopView


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a transaction's rows are built (issue #5).

    A bulk batch keeps tens of thousands of small containers alive until it commits, and the
    collector would scan them again and again for nothing (15% of a bulk command's time).
    Reference counting still frees everything else at once; the collector runs again after.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Reading:
    """Context manager: a read connection, after checking the schema."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._cm: Any = None

    def __enter__(self) -> Connection:
        self._cm = db.read_connection(self._url)
        conn: Connection = self._cm.__enter__()
        try:
            db.require_schema(conn)
        except BaseException as err:
            self._cm.__exit__(type(err), err, err.__traceback__)
            raise
        return conn

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


def ensure_input(condition: bool, msgid: str, **params: Any) -> None:
    """Raise an :class:`InputError` unless ``condition`` holds."""
    if not condition:
        raise InputError(msgid, **params)
