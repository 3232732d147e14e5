"""The application API the CLI, the tests, the benchmark and :mod:`kopflow.testing` call.

A façade: each method names what a user does (complete a step, advance, enrol, list, show)
and hands it to the rules module that owns it, through the change pipeline
(:mod:`kopflow.pipeline`), which commits every change with its audit event or nothing. Bulk
methods go through the one bulk driver, in transactions of ``KOPFLOW_BATCH`` cooperatives.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from kopflow import authz
from kopflow.errors import InputError, KopflowError, require_printable
from kopflow.i18n import Named
from kopflow.pipeline.change import Change, Workspace, build_view, find_step, load_coops
from kopflow.pipeline.driver import Progress, change_one, run_bulk
from kopflow.pipeline.work import BulkResult, CoopWork, Outcome
from kopflow.rules.partners import COMPLETE as PARTNER_COMPLETE
from kopflow.rules.partnership import ForumInput, PartnerInput, parse_offer
from kopflow.store import db

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy import Connection
    from structlog.typing import FilteringBoundLogger

    from kopflow.flow.spec import StepSpec, Workflow
    from kopflow.host.manager import PluginHost
    from kopflow.plugin import CoopView, Queries
    from kopflow.regions import CoopSeed
    from kopflow.rules.outbox import DeliveryResult
    from kopflow.rules.roles import GrantPlan
    from kopflow.rules.transfer import MoveResult

T = TypeVar("T")

# The demo's own database (issue #12): the file it uses unless --db names one, and the prefix
# of its audit log's name, which marks a database as the demo's for as long as it lives.
DEMO_DB = "kopflow-demo.db"
DEMO_LOG = "kopflow-demo/"

__all__ = [
    "DEMO_DB",
    "DEMO_LOG",
    "PARTNER_COMPLETE",
    "ForumInput",
    "PartnerInput",
    "parse_offer",
    "BulkResult",
    "CoopWork",
    "Kopflow",
    "Outcome",
    "Progress",
]


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
        self._ws = Workspace(
            db.resolve_url(db_url), actor=actor, plugins=plugins, workflow=workflow
        )

    # --- what every command shares ------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL in use."""
        return self._ws.url

    @property
    def display_name(self) -> str:
        """The database as a user names it: an SQLite file's path, or the URL without password."""
        return db.display_name(self._ws.url)

    @property
    def workflow(self) -> Workflow:
        """The workflow definition as its file holds it now."""
        return self._ws.workflow

    @property
    def plugins(self) -> PluginHost:
        """The plugin host (built from entry points on first use)."""
        return self._ws.plugins

    @property
    def log(self) -> FilteringBoundLogger:
        return self._ws.log

    def actor(self, conn: Connection) -> authz.ActorInfo:
        """The acting person, who must be a known and enabled actor."""
        return self._ws.actor(conn)

    def reading(self) -> AbstractContextManager[Connection]:
        """A read connection on a database with the current schema."""
        return self._ws.reading()

    def resolve(self, conn: Connection, ref: str) -> str:
        """A cooperative id from an id or an unambiguous village name."""
        from kopflow.names import resolve_coop

        return resolve_coop(conn, ref, kabupaten=authz.scope_region(self.actor(conn)))

    def resolve_many(self, conn: Connection, refs: Iterable[str]) -> dict[str, str | KopflowError]:
        """:meth:`resolve` for many references; each maps to an id or to the error."""
        from kopflow.names import resolve_coops

        return resolve_coops(conn, refs)

    def step_spec(self, step: str) -> tuple[StepSpec, str | None, str | None]:
        """(spec, partner code or None, stage id or None) of a step name like ``nib``,
        ``bri.account`` or a step's label."""
        if "." not in step and self.workflow.step(step) is not None:
            # A stage's step by its key names itself (resolve_step): resolving among the
            # partners' steps too would load every plugin, which a stage step never needs
            # (issue #15: `coop show` and the timeline ask for each step they list).
            return find_step(self._ws, step)
        return find_step(self._ws, self.step_name(step))

    # --- names: what a user types, to what the workflow calls it (kopflow.names, issue #12) ---

    def step_name(self, name: str) -> str:
        """The key of the step ``name`` names: id or label, any case (``BRI.account``)."""
        from kopflow.names import resolve_step

        return resolve_step(self.workflow, self.plugins.partners, name)

    def stage_name(self, name: str) -> str:
        """The id of the stage ``name`` names: its id or label in either language."""
        from kopflow.names import resolve_stage

        return resolve_stage(self.workflow, name)

    def event_name(self, name: str) -> str:
        """The name of the event ``name`` names: its name or label in either language; a name
        that names none is left for the state machine to refuse with the possible ones."""
        from kopflow.errors import InputError
        from kopflow.names import resolve_event

        try:
            return resolve_event(self.workflow, name)
        except InputError:
            return name

    def kabupaten_name(self, name: str) -> str:
        """The kabupaten/kota ``name`` names among the registered cooperatives'."""
        from kopflow.names import resolve_kabupaten

        with self.reading() as conn:
            return resolve_kabupaten(conn, name)

    def partner_code(self, name: str) -> str:
        """The code of the partner ``name`` names: its code in any case or its name."""
        from kopflow.names import resolve_partner

        return resolve_partner(self.plugins.partners, name, unknown_ok=True)

    def cooperatives(self, conn: Connection, coop_ids: Sequence[str]) -> dict[str, CoopWork]:
        """Cooperatives as a change sees them: row, step states, partners and villages."""
        return load_coops(conn, coop_ids)

    def view(self, work: CoopWork) -> CoopView:
        """The read-only view of a cooperative that plugin hooks receive."""
        from kopflow.pipeline.change import decimal_fields

        return build_view(work, decimal_fields(self.workflow, self.plugins))

    # --- setting up ---------------------------------------------------------------------

    def init(self, *, demo: bool = False) -> dict[str, Any]:
        """Create or upgrade the schema, start the audit chain and make the caller an admin.

        With ``demo``, the database is the demo's own (its log is named ``kopflow-demo/...``),
        and a database whose log was started otherwise is refused before anything is written:
        the demo's made-up evidence never goes into an officer's data (issue #12). The answer's
        ``demo`` says whether the database is a demo's.
        """
        import uuid

        from sqlalchemy import func, select

        from kopflow.audit.chain import init_chain, read_head
        from kopflow.store import tables

        if demo:
            existing = self._log_id()
            if existing is not None and not existing.startswith(DEMO_LOG):
                raise InputError(
                    "{db} holds work that is not the demo's: the demo writes its made-up "
                    "evidence only into a database of its own; leave out --db (the demo then "
                    "uses ./{demo_db}) or name a new file",
                    db=self.display_name,
                    demo_db=DEMO_DB,
                )
        before, after = db.upgrade_schema(self.url)
        with db.write_transaction(self.url) as conn:
            init_chain(conn, log_id=f"{DEMO_LOG if demo else 'kopflow/'}{uuid.uuid4()}")
            actors = conn.execute(select(func.count()).select_from(tables.actor)).scalar()
            created_admin = None
            if not actors:
                # The first person to initialise a database administers it.
                name = self._ws.login_name(conn)
                admin = authz.ActorInfo(name, "admin")
                self._ws.act_as(admin)
                change = Change(self._ws, conn, admin, datetime.now(UTC), self.workflow)
                change.insert(
                    "actor",
                    {
                        "name": name,
                        "role": "admin",
                        "region": None,
                        "partner": None,
                        "enabled": True,
                        "created_at": change.now,
                        "created_by": name,
                    },
                )
                change.event("db.init", None, {"schema": after, "admin": name})
                change.record_workflow()
                change.flush()
                created_admin = name
            head = read_head(conn)
        return {
            "schema_before": before,
            "schema": after,
            "admin": created_admin,
            "log_id": head.log_id,
            "demo": head.log_id.startswith(DEMO_LOG),
        }

    def _log_id(self) -> str | None:
        """The name of this database's audit log: None for an empty database, "" for one
        that holds tables but no log (another program's, or a schema without its log).

        Reads without creating anything: a missing SQLite file stays missing.
        """
        from sqlalchemy import inspect, text
        from sqlalchemy.engine import make_url

        if db.is_sqlite(self.url):
            path = make_url(self.url).database
            if not path or not os.path.exists(path):
                return None
        with db.read_connection(self.url) as conn:
            tables = inspect(db.sqlalchemy_connection(conn)).get_table_names()
            if "chain_head" not in tables:
                return "" if tables else None
            row = conn.execute(text("SELECT log_id FROM chain_head WHERE id = 1")).first()
        return "" if row is None else str(row[0])

    def upgrade_schema(self) -> tuple[str | None, str]:
        """Bring the schema to the current revision; returns (before, after)."""
        return db.upgrade_schema(self.url)

    def register(
        self, seeds: Iterable[CoopSeed], *, source: str, progress: Progress | None = None
    ) -> tuple[int, int]:
        """Register cooperatives not yet known; returns (added, already present).

        Re-running an import adds nothing: a village already covered is skipped.
        """
        from kopflow.rules.registration import register_seeds

        return register_seeds(self._ws, seeds, source=source, progress=progress)

    # --- steps --------------------------------------------------------------------------

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

        require_printable("--reason", reason)

        step = self.step_name(step)
        return change_one(
            self._ws,
            coop_ref,
            lambda change, work: complete(change, work, step, raw, reason),
            expect_version=expect_version,
            step=step,
        )

    def undo_step(self, coop_ref: str, step: str, *, reason: str) -> Outcome:
        """Mark a step of the current stage as not done, keeping its history."""
        require_printable("--reason", reason)
        from kopflow.rules.steps import undo

        step = self.step_name(step)
        return change_one(
            self._ws, coop_ref, lambda change, work: undo(change, work, step, reason), step=step
        )

    def complete_steps_bulk(
        self,
        rows: Sequence[tuple[str, str, Mapping[str, Any]]],
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Complete many steps; each cooperative's rows are all done or all refused."""
        from kopflow.rules.steps import COMPLETE_BULK

        names: dict[str, str] = {}
        for _ref, step, _raw in rows:  # each name once; one that names nothing is refused per row
            if step not in names:
                try:
                    names[step] = self.step_name(step)
                except KopflowError:
                    names[step] = step
        # Rows that name their steps by id go to the driver as they are: a national run would
        # otherwise build a second tuple per row (issue #5: memory).
        items = (
            rows
            if all(name == step for step, name in names.items())
            else [(ref, names[step], raw) for ref, step, raw in rows]
        )
        return run_bulk(self._ws, COMPLETE_BULK, items, dry_run=dry_run, progress=progress)

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
        require_printable("--reason", reason)
        from kopflow.rules.transition import fire_one

        event = self.event_name(event) if event else None
        return change_one(
            self._ws,
            coop_ref,
            lambda change, work: fire_one(change, work, event, reason),
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
    ) -> BulkResult:
        """Fire one event for every cooperative in ``stage`` (optionally one kecamatan)."""
        require_printable("--reason", reason)
        from kopflow.names import resolve_kabupaten, resolve_kecamatan
        from kopflow.rules.transition import advance_op, select_in_stage

        stage = self.stage_name(stage)
        event = self.event_name(event) if event else None
        spec = self.workflow.event(event) if event else None
        if spec is not None and spec.reason_required and not (reason and reason.strip()):
            # Refused once for the whole command, with the exit code of the single advance
            # (input: 2), not once per cooperative as if the workflow refused each (issue #12).
            raise InputError(
                "event {event} needs a reason: add --reason TEXT",
                event=Named(spec.name, spec.label),
            )
        with self.reading() as conn:
            kabupaten = resolve_kabupaten(conn, kabupaten) if kabupaten else None
            if kecamatan:
                kecamatan = resolve_kecamatan(conn, kecamatan, kabupaten=kabupaten)
        ids = select_in_stage(self._ws, stage=stage, kecamatan=kecamatan, kabupaten=kabupaten)
        op = advance_op(stage, event, reason)
        return run_bulk(self._ws, op, ids, dry_run=dry_run, progress=progress)

    # --- partners -----------------------------------------------------------------------

    def enroll(self, coop_ref: str, partners: Sequence[str], *, dry_run: bool = False) -> Outcome:
        """Enroll a cooperative with partners, whose required steps it must then complete.

        Each partner's enrolment rules and the plugins' ``kopflow_guard_enroll`` must allow
        it; with ``dry_run`` they are all checked and nothing is written.
        """
        from kopflow.rules.enrollment import enroll

        self.plugins.raise_if_broken()
        partners = [self.partner_code(p) for p in partners]
        return change_one(
            self._ws,
            coop_ref,
            lambda change, work: enroll(change, work, partners),
            dry_run=dry_run,
            partners=list(partners),
        )

    def enroll_bulk(
        self,
        coop_refs: Sequence[str],
        partners: Sequence[str],
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Enroll many cooperatives with ``partners``; each is done or refused whole."""
        from kopflow.rules.enrollment import enroll_op

        partners = [self.partner_code(p) for p in partners]
        op = enroll_op(partners)
        return run_bulk(self._ws, op, coop_refs, dry_run=dry_run, progress=progress)

    def enroll_area(
        self,
        partners: Sequence[str],
        *,
        kabupaten: str | None = None,
        kecamatan: str | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Enroll every cooperative of a kabupaten or kecamatan (not dissolved) with
        ``partners``; those the partners' rules refuse are listed with the reasons."""
        from kopflow.names import resolve_kabupaten, resolve_kecamatan
        from kopflow.rules.enrollment import select_in_area

        with self.reading() as conn:
            kabupaten = resolve_kabupaten(conn, kabupaten) if kabupaten else None
            if kecamatan:
                kecamatan = resolve_kecamatan(conn, kecamatan, kabupaten=kabupaten)
        ids = select_in_area(self._ws, kecamatan=kecamatan, kabupaten=kabupaten)
        return self.enroll_bulk(ids, partners, dry_run=dry_run, progress=progress)

    # --- the outbox (issue #13) -----------------------------------------------------------

    def deliver(
        self,
        partner: str | None = None,
        *,
        retries: int | None = None,
        backoff: float | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> DeliveryResult:
        """Deliver the partner notifications waiting in the outbox (``partner deliver``).

        Args:
            partner: only this partner's rows; None: every partner the actor may deliver for.
            retries: tries after the first per row; None: ``KOPFLOW_DELIVER_RETRIES`` or 4.
            backoff: seconds before the first retry, doubled for each next one; None:
                ``KOPFLOW_DELIVER_BACKOFF`` or 1.
            sleep: how to wait between tries (tests pass one that does not sleep).
        """
        import time

        from kopflow.rules.outbox import RetryPolicy, deliver

        policy = RetryPolicy.from_settings(retries, backoff)
        code = self.partner_code(partner) if partner else None
        return deliver(self._ws, code, policy, sleep=sleep or time.sleep)

    def outbox(
        self, partner: str | None = None, *, failed: bool = False, everything: bool = False
    ) -> list[dict[str, Any]]:
        """The outbox rows not yet delivered (only failed ones, or every row), in audit order."""
        from kopflow.rules.outbox import outbox_rows

        code = self.partner_code(partner) if partner else None
        return outbox_rows(self._ws, code, failed=failed, everything=everything)

    def outbox_counts(self) -> dict[str, dict[str, int]]:
        """Pending and failed outbox rows per partner, for ``partner status``."""
        from kopflow.rules.outbox import outbox_counts

        with self.reading() as conn:
            return outbox_counts(conn, self.actor(conn))

    # --- admin --------------------------------------------------------------------------

    def migrate_workflow(self, refs: list[str] | None, *, dry_run: bool = False) -> BulkResult:
        """Move cooperatives (all on older versions when ``refs`` is None) onto this version."""
        from kopflow.rules.migration import MIGRATE, select_to_migrate

        ids = select_to_migrate(self._ws, refs)
        return run_bulk(self._ws, MIGRATE, ids, dry_run=dry_run)

    def add_actor(
        self, name: str, *, role: str, region: str | None = None, partner: str | None = None
    ) -> int:
        """Register an actor; returns the audit sequence number of the change."""
        require_printable("NAME", name)
        require_printable("--region", region)
        from kopflow.rules.actors import add_actor

        return add_actor(self._ws, name, role=role, region=region, partner=partner)

    def disable_actor(self, name: str) -> int:
        """Disable an actor (kept for the record: the audit log names them)."""
        from kopflow.rules.actors import disable_actor

        return disable_actor(self._ws, name)

    def list_actors(self) -> list[dict[str, Any]]:
        """Every actor, enabled or not."""
        from kopflow.rules.actors import list_actors

        return list_actors(self._ws)

    def grant(self, *, dry_run: bool = False) -> GrantPlan:
        """PostgreSQL roles and grants for every actor (``kopflow db grant``)."""
        from kopflow.rules.roles import grant

        return grant(self._ws, dry_run=dry_run)

    def migrate_to(
        self, target: str, *, progress: Callable[[str, int], None] | None = None
    ) -> MoveResult:
        """Copy this database, audit chain included, into the empty database ``target``."""
        from kopflow.rules.transfer import migrate_to

        return migrate_to(self._ws, target, progress=progress)

    # --- reads --------------------------------------------------------------------------

    def list_coops(self, **filters: Any) -> list[dict[str, Any]]:
        """Cooperatives matching the filters of :func:`kopflow.rules.queries.list_coops`."""
        from kopflow.rules.queries import list_coops

        with self.reading() as conn:
            self.actor(conn)
            return list_coops(conn, self.workflow, **filters)

    def status_counts(
        self, *, by: str | None = None, kabupaten: str | None = None, as_of: date | None = None
    ) -> list[dict[str, Any]]:
        """Cooperatives per stage (and per kecamatan or kabupaten), with overdue counts."""
        from kopflow.rules.queries import status_counts

        with self.reading() as conn:
            self.actor(conn)
            return status_counts(
                conn, by=by, kabupaten=kabupaten, workflow=self.workflow, as_of=as_of
            )

    def coop_record(self, coop_ref: str) -> dict[str, Any]:
        """One cooperative in full: row, villages, partners, steps, what is next, timeline."""
        from kopflow.rules.partnership_reads import coop_partnerships
        from kopflow.rules.queries import coop_record

        with self._reading_one(coop_ref) as (conn, work):
            record = coop_record(self._ws, conn, work)
            record["partnerships"] = coop_partnerships(conn, work.id)  # issue #16
            return record

    def next_actions(self, coop_ref: str) -> dict[str, Any]:
        """What can be done now for a cooperative, and what blocks advancing it."""
        from kopflow.rules.queries import next_actions

        with self._reading_one(coop_ref) as (_conn, work):
            return next_actions(self._ws, work)

    @contextmanager
    def _reading_one(self, coop_ref: str) -> Iterator[tuple[Connection, CoopWork]]:
        """A read connection, once the actor is known, and the cooperative ``coop_ref`` names."""
        with self.reading() as conn:
            self.actor(conn)
            coop_id = self.resolve(conn, coop_ref)
            yield conn, load_coops(conn, [coop_id])[coop_id]

    def queries(self) -> Queries:
        """The read API plugin commands receive (``kopflow.plugin.Queries``, issue #13): the
        reads below as plugins may ask them, with the actor's read permissions applied."""
        from kopflow.rules.reads import Reader

        return Reader(self._ws)

    def partner_rows(self) -> list[dict[str, Any]]:
        """Every installed partner with its steps, for ``partner list``."""
        from kopflow.rules.partners import partner_rows

        return partner_rows(self.plugins, self.workflow)

    def partner_steps(self, coop_ref: str, partner: str) -> dict[str, Any]:
        """One cooperative's steps with one partner, in order, with their states."""
        from kopflow.rules.partners import coop_partner_steps

        spec = self.plugins.partner(self.partner_code(partner))
        with self._reading_one(coop_ref) as (_conn, work):
            return coop_partner_steps(spec, work)

    def partner_status(
        self, *, partner: str | None = None, kabupaten: str | None = None
    ) -> list[dict[str, Any]]:
        """Where the cooperatives enrolled with each partner stand (``partner status``)."""
        from kopflow.names import resolve_kabupaten
        from kopflow.rules.partners import partner_status

        with self.reading() as conn:
            self.actor(conn)
            if kabupaten:
                kabupaten = resolve_kabupaten(conn, kabupaten)
            partner = self.partner_code(partner) if partner else None
            return partner_status(conn, self.plugins, partner=partner, kabupaten=kabupaten)

    # --- partnership (issue #16): directory, forums, leads --------------------------------

    def partner_directory(self) -> list[dict[str, Any]]:
        """Every partner, the directory's and the plugins', marked (``partner list``)."""
        from kopflow.rules.partnership_reads import partner_directory

        with self.reading() as conn:
            self.actor(conn)
            return partner_directory(conn, self.plugins, self.workflow)

    def directory_partner(self, name: str) -> str:
        """The code of a directory or plugin partner that ``name`` names."""
        from kopflow.rules.partnership_reads import resolve_partner

        with self.reading() as conn:
            return resolve_partner(conn, self.plugins, name)

    def partner_add(self, partner: PartnerInput) -> int:
        """Add a partner to the directory; returns the audit event's number."""
        from sqlalchemy import select

        from kopflow.rules.partnership import add_partner
        from kopflow.store import tables

        def run(change: Change) -> int:
            known = set(change.conn.execute(select(tables.partner_org.c.code)).scalars())
            return add_partner(change, partner, known=known)

        return self._write(run, partner=partner.code)

    def partner_seed(self) -> list[str]:
        """Add the built-in directory's partners not yet present; returns the codes added."""
        from sqlalchemy import select

        from kopflow.rules.partnership import add_partner, seeds
        from kopflow.store import tables

        def run(change: Change) -> list[str]:
            known = set(change.conn.execute(select(tables.partner_org.c.code)).scalars())
            added = []
            for partner in seeds():
                if partner.code not in known:
                    add_partner(change, partner, known=known)
                    added.append(partner.code)
            return added

        return self._write(run)

    def partner_cap(self, partner: str, commodity: str, cap: int, *, kabupaten: str) -> int:
        """Set a district's own monthly cap per cooperative for a partner's commodity."""
        from kopflow.names import resolve_kabupaten
        from kopflow.rules.partnership import set_cap

        code = self.directory_partner(partner)
        with self.reading() as conn:
            kabupaten = resolve_kabupaten(conn, kabupaten)
        return self._write(
            lambda change: set_cap(change, code, commodity, cap, kabupaten), partner=code
        )

    def partner_report(self, partner: str, *, kabupaten: str | None = None) -> dict[str, Any]:
        """One partner: directory entry, caps, leads, agreements and enrolments by kecamatan."""
        from kopflow.names import resolve_kabupaten
        from kopflow.rules.partnership_reads import partner_report, resolve_partner

        with self.reading() as conn:
            self.actor(conn)
            code = resolve_partner(conn, self.plugins, partner)
            kabupaten = resolve_kabupaten(conn, kabupaten) if kabupaten else None
            return partner_report(conn, self.plugins, code, kabupaten)

    def forum_create(self, forum: ForumInput, *, invite: Sequence[str] = ()) -> int:
        """Record a forum (and the partners invited); returns the audit event's number."""
        from dataclasses import replace

        from kopflow.names import resolve_kabupaten
        from kopflow.rules.partnership import create_forum, forum_partners

        with self.reading() as conn:
            forum = replace(forum, kabupaten=resolve_kabupaten(conn, forum.kabupaten))
        codes = [self.directory_partner(p) for p in invite]

        def run(change: Change) -> int:
            seq = create_forum(change, forum)
            if codes:
                change.flush()  # the forum row first: its partners refer to it
                forum_partners(change, forum.code, codes, "invited")
            return seq

        return self._write(run, forum=forum.code)

    def forum_partners(self, forum: str, partners: Sequence[str], *, present: bool) -> int:
        """Record partners invited to a forum or present at it; 0 when none was new."""
        from kopflow.rules.partnership import forum_partners

        codes = [self.directory_partner(p) for p in partners]
        status = "present" if present else "invited"
        return self._write(lambda change: forum_partners(change, forum, codes, status), forum=forum)

    def forum_attend(
        self,
        forum: str,
        attendees: Sequence[tuple[str, str | None, str | None]],
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Record cooperatives' attendance at a forum through the bulk driver: (cooperative,
        representative's name, role) each; one audit event per cooperative."""
        from kopflow.rules.partnership import attend_op, check_rep_role, forum_row

        with self.reading() as conn:
            self.actor(conn)
            code = forum_row(conn, forum)["id"]
        items = [(ref, name, check_rep_role(role)) for ref, name, role in attendees]
        return run_bulk(self._ws, attend_op(code), items, dry_run=dry_run, progress=progress)

    def forum_area(self, forum: str, *, kecamatan: str | None = None) -> list[str]:
        """The ids of the cooperatives of a forum's kabupaten (or of one of its kecamatan)."""
        from sqlalchemy import select

        from kopflow.names import resolve_kecamatan
        from kopflow.rules.partnership import forum_row
        from kopflow.store import tables

        with self.reading() as conn:
            self.actor(conn)
            row = forum_row(conn, forum)
            query = select(tables.coop.c.id).where(tables.coop.c.kabupaten == row["kabupaten"])
            if kecamatan:
                kecamatan = resolve_kecamatan(conn, kecamatan, kabupaten=row["kabupaten"])
                query = query.where(tables.coop.c.kecamatan == kecamatan)
            return [str(i) for i in conn.execute(query.order_by(tables.coop.c.id)).scalars()]

    def forum_sheet_refs(
        self, forum: str, refs: Sequence[tuple[str, str | None]]
    ) -> dict[tuple[str, str | None], str | KopflowError]:
        """The cooperatives an attendance sheet's rows name, (reference, kecamatan) -> id or
        the error: village names are looked for in the forum's kabupaten first."""
        from kopflow.rules.partnership import forum_row
        from kopflow.rules.partnership_reads import resolve_in_kabupaten

        with self.reading() as conn:
            self.actor(conn)
            kabupaten = forum_row(conn, forum)["kabupaten"]
            return resolve_in_kabupaten(conn, kabupaten, refs)

    def forum_report(self, forum: str) -> dict[str, Any]:
        """A forum's attendance, partners, leads and conversion (``forum show``)."""
        from kopflow.rules.partnership_reads import forum_report

        with self.reading() as conn:
            self.actor(conn)
            return forum_report(conn, forum)

    def forum_list(self, *, kabupaten: str | None = None) -> list[dict[str, Any]]:
        """Forums, newest first (of one kabupaten when given)."""
        from kopflow.names import resolve_kabupaten
        from kopflow.rules.partnership_reads import forum_list

        with self.reading() as conn:
            self.actor(conn)
            kabupaten = resolve_kabupaten(conn, kabupaten) if kabupaten else None
            return forum_list(conn, kabupaten)

    def lead_add(
        self,
        coop_ref: str,
        partner: str,
        commodity: str,
        *,
        quantity: int | None = None,
        forum: str | None = None,
    ) -> Outcome:
        """Record a cooperative's interest in a partner's commodity or service (a new lead)."""
        from kopflow.rules.partnership import add_lead, directory

        code = self.directory_partner(partner)
        plugin_codes = list(self.plugins.partners)

        def apply(change: Change, work: CoopWork) -> Outcome:
            item = (work.id, code, commodity, quantity, forum)
            return add_lead(change, work, item, directory(change.conn), plugin_codes)

        return change_one(self._ws, coop_ref, apply, partner=code)

    def lead_add_bulk(
        self,
        rows: Sequence[tuple[str, str, str, int | None, str | None]],
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> BulkResult:
        """New leads from rows of (cooperative, partner, commodity, quantity, forum); each
        cooperative's rows are all recorded or all refused."""
        from kopflow.rules.partnership import lead_op

        codes: dict[str, str] = {}
        for _ref, partner, *_rest in rows:
            if partner not in codes:
                try:
                    codes[partner] = self.directory_partner(partner)
                except KopflowError:
                    codes[partner] = partner  # refused per cooperative, naming it
        items = [(ref, codes[p], c, q, f) for ref, p, c, q, f in rows]
        op = lead_op(list(self.plugins.partners))
        return run_bulk(self._ws, op, items, dry_run=dry_run, progress=progress)

    def lead_advance(
        self, lead: str, to: str, fields: Mapping[str, str | None]
    ) -> tuple[Outcome, str]:
        """Move a lead to its next state; returns the outcome and the lead's partner."""
        from kopflow.rules.partnership import advance_lead, lead_state

        found: dict[str, str] = {}

        def run(change: Change) -> Outcome:
            row, version, status = lead_state(change.conn, lead)
            found["partner"] = row["partner"]
            work = change.load([row["coop_id"]], views=False, steps=())[row["coop_id"]]
            return advance_lead(change, work, row, version, status, to, fields)

        outcome = self._write(run, lead=lead)
        return outcome, found["partner"]

    def lead_list(self, **filters: str | None) -> list[dict[str, Any]]:
        """Leads with their current state; filters: coop, partner, forum, kabupaten, status."""
        from kopflow.names import resolve_kabupaten
        from kopflow.rules.partnership_reads import lead_list, resolve_partner

        with self.reading() as conn:
            self.actor(conn)
            if filters.get("coop"):
                filters["coop"] = self.resolve(conn, str(filters["coop"]))
            if filters.get("partner"):
                filters["partner"] = resolve_partner(conn, self.plugins, str(filters["partner"]))
            if filters.get("kabupaten"):
                filters["kabupaten"] = resolve_kabupaten(conn, str(filters["kabupaten"]))
            return lead_list(conn, **filters)

    def partnership_summary(self, kabupaten: str) -> dict[str, Any]:
        """A kabupaten's forums, leads, agreements and enrolments per partner (the report)."""
        from kopflow.rules.partnership_reads import region_summary

        with self.reading() as conn:
            self.actor(conn)
            return region_summary(conn, kabupaten)

    def _write(self, fn: Callable[[Change], T], **context: Any) -> T:
        """One change that names no single cooperative up front, logged once if refused."""
        try:
            return self._ws.write(fn)
        except KopflowError as err:
            self._ws.refused(err, **context)
            raise
