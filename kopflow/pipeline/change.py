"""The change pipeline's two objects: the :class:`Workspace` every change of one engine shares
(database, actor, plugins, definition) and the :class:`Change`, one write transaction.

A change queues its rows and audit events in memory and writes them at once, so a
cooperative's update and the event recording it are flushed in the same transaction by one
``executemany`` per table (issue #7; issue #5 for the speed). The rules modules take a
``Change``; they never see the engine, and nothing here knows a rule.
"""

from __future__ import annotations

import gc
import getpass
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from functools import cache, partial
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from kopflow import authz
from kopflow.errors import ConflictError, KopflowError, PermissionDeniedError, RefusedError
from kopflow.log import bind_context, get_logger
from kopflow.pipeline.work import CoopWork, History, LazyEvidence, newest_states
from kopflow.store import db

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from structlog.typing import FilteringBoundLogger

    from kopflow.audit.chain import ChainWriter
    from kopflow.flow.spec import StepSpec, Workflow
    from kopflow.host.manager import PluginHost
    from kopflow.plugin import CoopView

T = TypeVar("T")

SPILL = 2000  # events a bulk batch queues at most before writing them (see Change.spill)

# The tables a change inserts into, in the order ``flush`` writes them (parents first).
_PARENTS = ("actor", "coop", "coop_village")
_CHILDREN = ("step_record", "transition", "enrollment", "outbox")
# Partnership (issue #16): the directory, forums, attendance and leads, parents first.
_PARTNERSHIP = (
    "partner_org",
    "partner_cap",
    "forum",
    "forum_partner",
    "forum_attendance",
    "lead",
    "lead_record",
)

Mark = tuple[Any, ...]

# The columns of the rows the bulk hot paths queue (Change.insert_row), one tuple each.
STEP_RECORD = ("coop_id", "step", "version", "status", "evidence", "reason", "actor", "at",
               "audit_seq")  # fmt: skip
TRANSITION = ("coop_id", "event", "source", "dest", "reason", "actor", "at", "audit_seq")
_CLAIM = ("scope", "value", "coop_id", "step", "audit_seq")

# Tables a bulk batch appends to with PostgreSQL's COPY where the login may (issue #15), from
# this many rows queued on. unique_value's rows are later marked released, never moved: COPY
# appends them as INSERT would, and its unique violation is INSERT's (see _claim_values).
COPY_TABLES = ("step_record", "transition", "enrollment", "unique_value")
COPY_AT_LEAST = 64

# The columns of a cooperative's row that bulk changes read (issue #15: its timestamps were
# most of reading whole rows, and no rule of a bulk change reads them): what the rules, the
# version check and plugins' views read.
BULK_COLUMNS = (
    "id",
    "name",
    "kecamatan",
    "kabupaten",
    "workflow",
    "workflow_version",
    "stage",
    "previous_stage",
    "version",
)

# The hook that asks for outbox rows (issue #13); a bulk load reads views when it is implemented.
NOTIFY_HOOK = "kopflow_partner_notification"


class Context(Protocol):
    """What reading rules need: the definition and the plugins. A :class:`Workspace` (outside a
    transaction) and a :class:`Change` (the definition pinned for the transaction) both are."""

    @property
    def workflow(self) -> Workflow: ...

    @property
    def plugins(self) -> PluginHost: ...


class Workspace:
    """What every change of one engine shares: the database, who acts, the plugins, the
    definition new cooperatives run, and the log. It opens reads and runs changes.

    Args:
        url: the resolved database URL.
        actor: who acts on SQLite; None means ``KOPFLOW_ACTOR``, else the OS user. On
            PostgreSQL the database login acts, and a name other than it is refused.
        plugins: a plugin host; None builds one from entry points and the environment.
        workflow: the name of the definition.
    """

    def __init__(
        self, url: str, *, actor: str | None, plugins: PluginHost | None, workflow: str
    ) -> None:
        self.url = url
        self._actor_name = actor or os.environ.get("KOPFLOW_ACTOR") or None
        self._plugins = plugins
        self.workflow_name = workflow
        self._actor: authz.ActorInfo | None = None
        self.log: FilteringBoundLogger = get_logger()

    @property
    def workflow(self) -> Workflow:
        """The definition as the file holds it now (a change pins its own copy)."""
        from kopflow.flow.spec import find_workflow

        return find_workflow(self.workflow_name)

    @property
    def plugins(self) -> PluginHost:
        """The plugin host, built from entry points on first use."""
        if self._plugins is None:
            from kopflow.host.manager import make_plugin_host

            self._plugins = make_plugin_host()
        return self._plugins

    def login_name(self, conn: Connection) -> str:
        """Who is acting: the database login on PostgreSQL, else ``--actor`` or the OS user."""
        if not db.is_sqlite(self.url):
            # Issue #4: on PostgreSQL the database login is the actor, so the database's own
            # grants (kopflow db grant) and the audit log name the same person. --actor and
            # KOPFLOW_ACTOR may only repeat it (docs/database.md).
            login = str(conn.exec_driver_sql("SELECT current_user").scalar())
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
            from kopflow.store.rows import param_mark

            name = self.login_name(conn)
            sql = (
                f"SELECT role, region, partner, enabled FROM actor WHERE name = {param_mark(conn)}"
            )
            found = conn.exec_driver_sql(sql, (name,)).first()
            if found is None:
                raise PermissionDeniedError(
                    "unknown actor {actor}; an admin can add them with "
                    "'kopflow actor add {actor} --role ...'",
                    actor=name,
                )
            role, region, partner, enabled = found
            if not enabled:
                raise PermissionDeniedError("actor {actor} is disabled", actor=name)
            self._actor = authz.ActorInfo(name, role, region, partner)
            bind_context(actor=name)
        return self._actor

    def act_as(self, actor: authz.ActorInfo) -> None:
        """Take ``actor`` as the acting person (``init``: the first admin is not yet a row)."""
        self._actor = actor

    def reading(self) -> AbstractContextManager[Connection]:
        """A read connection on a database with the current schema."""
        return _reading(self.url)

    def refused(self, err: KopflowError, **context: Any) -> None:
        """Log a refused change once (issue #4: every refusal is logged, not just printed)."""
        self.log.warning("refused", reason=str(err), **context)
        err.logged = True  # the CLI logs the others once

    def write(self, fn: Callable[[Change], T], *, dry_run: bool = False) -> T:
        """Run ``fn`` on a new :class:`Change` in one write transaction and commit what it
        queued, or roll everything back on ``dry_run`` or an error."""
        with db.write_transaction(self.url) as conn:
            db.require_schema(conn)
            actor = self.actor(conn)
            # Before the chain lock: an auditor's login may not take it (db grant).
            authz.require_write(actor)
            # One definition for the whole transaction: looking the file up again for every
            # step of a bulk batch cost more than the work itself, and a file edited meanwhile
            # must not mix two definitions in one change.
            change = Change(self, conn, actor, datetime.now(UTC), self.workflow)
            change.record_workflow()
            start = change.chain.seq
            with _gc_paused():
                result = fn(change)
                change.flush()
            if dry_run:
                conn.rollback()
        if not dry_run and change.chain.seq > start:
            # Every committed transaction names its audit events, so any log line can be
            # matched with the chain (issue #7), bulk batches and actor changes included.
            self.log.info(
                "audit events committed",
                events=change.chain.seq - start,
                audit_seq_first=start + 1,
                audit_seq_last=change.chain.seq,
            )
        return result


class Change:
    """One write transaction: its connection, actor and time, the definition and plugin
    fingerprint pinned for it, and the rows and audit events it will write, with marks to drop
    one refused cooperative's part of a bulk batch.

    Built by :meth:`Workspace.write`; the rules modules queue work on it and never commit.
    """

    def __init__(
        self,
        workspace: Workspace,
        conn: Connection,
        actor: authz.ActorInfo,
        now: datetime,
        workflow: Workflow,
    ) -> None:
        self.workspace = workspace
        self.conn = conn
        self.actor = actor
        self.now = now
        self.workflow = workflow
        self.log = workspace.log
        # The local day evidence dates may not be after, read once per transaction as ``now``
        # is: asking the clock for every step of a bulk batch was a tenth of validating it.
        self.today = date.today()
        # Imported here, not at the top: a read command loads this module without writing, and
        # the chain's imports would cost every command's start-up (issue #5).
        from kopflow.audit.chain import ChainWriter

        self.chain: ChainWriter = ChainWriter(conn)  # takes the chain lock: writers queue here
        self._specs: dict[str, tuple[StepSpec, str | None, str | None]] = {}
        # What the rules derive once per transaction from the definition and the plugins.
        self.memo: dict[str, Any] = {}
        self._implements: dict[str, bool] = {}
        self._fingerprint: dict[str, str] | None = None
        self._fingerprint_text: dict[str, str] | None = None
        self.coop_updates: dict[str, dict[str, Any]] = {}
        # Each update_coop's prior state (None: none pending), so rollback_to costs what was
        # done since the mark, not a copy of the whole batch per cooperative (quadratic).
        self._undo: list[tuple[str, dict[str, Any] | None]] = []
        self._undone: set[str] = set()  # cooperatives with an _undo entry since the newest mark
        # Rows queued per table as tuples, and the runs of them with the same columns: (index
        # of the run's first row, the columns). A bulk batch queues tens of thousands of rows
        # of one shape: a tuple per row, not a dictionary turned into one at the flush (#15).
        names = (*_PARENTS, *_CHILDREN, *_PARTNERSHIP, "unique_value")
        self.inserts: dict[str, list[tuple[Any, ...]]] = {t: [] for t in names}
        self._runs: dict[str, list[tuple[int, tuple[str, ...]]]] = {t: [] for t in names}
        # The table list of each row queued, in order: a mark is its length and rollback_to
        # pops the rows queued since, so marking (once per cooperative of a bulk batch) does
        # not count every table's rows (issue #15).
        self._queued: list[list[tuple[Any, ...]]] = []
        # Unique identifiers (issue #12): who holds (key, value) as this change sees it, the
        # earlier entries for rollback_to, and the (coop, step) pairs whose values go first.
        self._owners: dict[tuple[str, str], str | None] = {}
        self._owner_log: list[tuple[tuple[str, str], str | None]] = []
        self.releases: list[tuple[str, str, int]] = []

    @property
    def plugins(self) -> PluginHost:
        return self.workspace.plugins

    # --- what the rules ask -------------------------------------------------------------

    def step_spec(self, step: str) -> tuple[StepSpec, str | None, str | None]:
        """(spec, partner code or None, stage id or None) of ``nib`` or ``bri.account``,
        looked up once per transaction (issue #5)."""
        found = self._specs.get(step)
        if found is None:
            found = self._specs[step] = find_step(self, step)
        return found

    def fingerprint(self) -> dict[str, str]:
        """The plugins in use, as every audit event records them; read once per transaction."""
        if self._fingerprint is None:
            self._fingerprint = self.plugins.fingerprint()
        return self._fingerprint

    def check_version(self, work: CoopWork) -> None:
        """Refuse a cooperative that runs another version of the definition than this one."""
        wf = self.workflow
        if (work.row["workflow"], work.row["workflow_version"]) != (wf.name, wf.version):
            raise RefusedError(
                "{coop} runs workflow {have}; the definition is now {want}: "
                "run 'kopflow workflow migrate {coop}' to move it explicitly",
                coop=work.id,
                have=f"{work.row['workflow']} v{work.row['workflow_version']}",
                want=f"{wf.name} v{wf.version}",
            )

    def view(self, work: CoopWork) -> CoopView:
        """The read-only view of a cooperative that plugin hooks receive."""
        return build_view(work, self._decimals())

    def _decimals(self) -> dict[str, frozenset[str]]:
        # Once per transaction: a bulk batch builds a view per step.
        return self.memoized("decimals", lambda: decimal_fields(self.workflow, self.plugins))

    def memoized(self, key: str, make: Callable[[], T]) -> T:
        """``memo[key]``, made by ``make()`` on first use: what a rule works out once per
        transaction from the definition and the plugins (``setdefault`` would make it anew,
        and drop it, on every call). ``make`` never returns None (None is "not made yet")."""
        found: T | None = self.memo.get(key)
        if found is None:
            found = self.memo[key] = make()
        return found

    def implements(self, hook: str) -> bool:
        """Whether a plugin implements ``hook``, asked once per transaction (the plugins do not
        change during one): a bulk batch asks for every row (issue #15)."""
        found = self._implements.get(hook)
        if found is None:
            found = self._implements[hook] = self.plugins.implements(hook)
        return found

    def view_maker(self, work: CoopWork) -> Callable[[], CoopView]:
        """Views of ``work`` for hooks called while its row and partners stay as they are (a
        bulk completion's steps of one cooperative): the fields are built once, and each view
        gets its own snapshot of the evidence, as :meth:`view` gives it (issue #15)."""
        return partial(_view_from, _coop_view_type(), view_fields(work), work, self._decimals())

    def load(
        self,
        coop_ids: Sequence[str],
        *,
        views: bool = True,
        steps: Collection[str] | None = None,
        lazy_rest: bool = False,
        columns: Sequence[str] | None = None,
        partners: bool = True,
    ) -> dict[str, CoopWork]:
        """The cooperatives a change works on (see :func:`load_coops`). With ``lazy_rest`` the
        steps not named in ``steps`` are read when a plugin's view first asks, as they stood
        when this change began."""
        rest_as_of = self.chain.seq if lazy_rest else None
        return load_coops(
            self.conn,
            coop_ids,
            views=views,
            steps=steps,
            rest_as_of=rest_as_of,
            reading=self.workspace.reading,
            columns=columns,
            partners=partners,
        )

    def resolve(self, ref: str) -> str:
        """A cooperative id from an id or an unambiguous village name."""
        from kopflow.names import resolve_coop

        # An officer's typo is answered with the names of their own kabupaten (issue #12).
        return resolve_coop(self.conn, ref, kabupaten=authz.scope_region(self.actor))

    def resolve_many(self, refs: Iterable[str]) -> dict[str, str | KopflowError]:
        """:meth:`resolve` for many references: ids in one query, anything else one by one.

        Returns:
            Each reference's cooperative id, or the error :meth:`resolve` raises for it.
        """
        from kopflow.names import resolve_coops

        return resolve_coops(self.conn, refs)

    def record_workflow(self) -> None:
        """Remember the definition in use; refuse one edited without a new version."""
        from kopflow.store.rows import param_mark

        wf = self.workflow
        mark = param_mark(self.conn)
        row = self.conn.exec_driver_sql(
            f"SELECT digest, source FROM workflow_def WHERE name = {mark} AND version = {mark}",
            (wf.name, wf.version),
        ).first()
        if row is None:
            from kopflow.store.rows import insert_many

            columns = ("name", "version", "digest", "source", "first_used_at")
            values = (wf.name, wf.version, wf.digest, _read(wf.path), self.now)
            insert_many(self.conn, "workflow_def", columns, [values])
        elif row[0] != wf.digest and not _same_content(row[1], _read(wf.path)):
            raise RefusedError(
                "workflow {name} version {version} was changed after cooperatives started "
                "using it; give the changed file a new version, then run 'kopflow workflow migrate'",
                name=wf.name,
                version=wf.version,
            )

    def prefetch_owners(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Read who holds these (key, value) identifiers, in one query for a bulk chunk."""
        from kopflow.store.rows import rows_in

        wanted = {pair for pair in pairs if pair not in self._owners}
        if not wanted:
            return
        sql = "SELECT scope, value, coop_id FROM unique_value"
        values = sorted({value for _key, value in wanted})
        # The scopes too, so the read is probes of the (scope, value) index of held values:
        # by value alone PostgreSQL scanned every held row against the whole array, a bulk
        # chunk's cost growing with the rows held times the values asked (issue #15: 10 s of
        # server CPU in a 260,000-event lifecycle, bench/run.py --only pg).
        scopes = ("scope", sorted({key for key, _value in wanted}))
        held = "AND released_seq IS NULL"
        for key, value, coop_id in rows_in(self.conn, sql, "value", values, also=scopes, tail=held):
            if (key, value) in wanted:
                self._owners[(key, value)] = coop_id
        for pair in wanted:
            self._owners.setdefault(pair, None)

    def owner(self, key: str, value: str) -> str | None:
        """The cooperative holding identifier ``value`` of ``key`` (``"nib.nib"``), or None.

        Exact: every writer holds the chain lock (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's
        row lock) from before this read to its commit, so no other change can claim the value
        meanwhile; the primary key of ``unique_value`` is the database's own guarantee.
        """
        if (key, value) not in self._owners:
            self.prefetch_owners([(key, value)])
        return self._owners[(key, value)]

    def _set_owner(self, pair: tuple[str, str], coop_id: str | None) -> None:
        self._owner_log.append((pair, self._owners.get(pair)))
        self._owners[pair] = coop_id

    def claim(self, coop_id: str, step: str, key: str, value: str, seq: int) -> None:
        """Queue ``coop_id``'s hold on an identifier, recorded by the step event ``seq``."""
        self._set_owner((key, value), coop_id)
        self.insert_row("unique_value", _CLAIM, (key, value, coop_id, step, seq))

    def release(self, coop_id: str, step: str, held: Iterable[tuple[str, str]], seq: int) -> None:
        """Queue the release, by the event ``seq``, of the identifiers ``coop_id`` holds
        through ``step`` (``held``: the (key, value) pairs its current evidence records),
        written before any new claim."""
        self.releases.append((coop_id, step, seq))
        for pair in held:
            if self.owner(*pair) == coop_id:
                self._set_owner(pair, None)

    # --- what the rules queue -----------------------------------------------------------

    def event(
        self,
        action: str,
        coop_id: str | None,
        details: dict[str, Any],
        encoded: Mapping[str, str] | None = None,
        text: str | None = None,
    ) -> int:
        """Append the audit event of a change; returns its sequence number.

        ``encoded``: the canonical text of members of ``details`` already encoded
        (:func:`~kopflow.audit.canonical.checked_text`), spliced into the body as they are;
        ``text`` (with ``encoded``): the canonical text of the whole ``details``
        (:meth:`~kopflow.audit.chain.ChainWriter.append`'s ``details_text``).
        """
        return self.chain.append(
            actor=self.actor.name,
            role=self.actor.role,
            action=action,
            coop_id=coop_id,
            details=details,
            at=self.now,
            encoded=encoded,
            details_text=text,
        )

    def encoded_fingerprint(self) -> dict[str, str]:
        """``{"plugins": text}``: the fingerprint's canonical text, for :meth:`event`'s
        ``encoded``; encoded once per transaction (every event records it)."""
        found = self._fingerprint_text
        if found is None:
            from kopflow.audit.canonical import checked_text

            try:
                found = {"plugins": checked_text(self.fingerprint())}
            except ValueError:
                found = {}  # then the event itself refuses it, naming the place
            self._fingerprint_text = found
        return found

    def notify(
        self,
        work: CoopWork,
        action: str,
        details: Mapping[str, Any],
        seq: int,
        view: Callable[[], CoopView] | None = None,
    ) -> None:
        """Queue the outbox rows plugins ask for about the event ``seq`` (issue #13).

        Queued like the change's other rows, so they commit with it, and a refused cooperative
        of a bulk batch (``rollback_to``) or a refused change leaves none.
        """
        if not self.implements(NOTIFY_HOOK):
            return
        shown = {k: v for k, v in details.items() if k != "plugins"}
        asked = self.plugins.partner_notifications(
            coop=view() if view is not None else self.view(work),
            action=action,
            details=shown,
            audit_seq=seq,
        )
        for partner, payload in asked:
            self.insert(
                "outbox",
                {
                    "audit_seq": seq,
                    "partner": partner,
                    "coop_id": work.id,
                    "action": action,
                    "payload": payload,
                    "created_at": self.now,
                    "status": "pending",
                    "attempts": 0,
                    "last_error": None,
                    "delivered_at": None,
                },
            )

    def insert(self, table: str, row: dict[str, Any]) -> None:
        """Queue a row for ``table``."""
        self.insert_row(table, tuple(row), tuple(row.values()))

    def insert_row(self, table: str, columns: tuple[str, ...], values: tuple[Any, ...]) -> None:
        """Queue a row for ``table``: ``values`` of ``columns`` (for a bulk hot path, the same
        ``columns`` object for every row)."""
        rows = self.inserts[table]
        runs = self._runs[table]
        if not runs or runs[-1][1] != columns:
            runs.append((len(rows), columns))
        rows.append(values)
        self._queued.append(rows)

    def update_coop(self, coop_id: str, seen_version: int, **values: Any) -> int:
        """Queue a compare-and-set update of a cooperative; returns its new version.

        Several changes to one cooperative in one transaction become one update checked
        against the version first read.
        """
        pending = self.coop_updates.get(coop_id)
        if coop_id not in self._undone:
            # The state before the first update since the newest mark is all rollback_to
            # needs: later ones of the same cooperative are undone with it (a bulk completion
            # updates one per step: copying it each time cost more than the update).
            self._undone.add(coop_id)
            self._undo.append((coop_id, None if pending is None else dict(pending)))
        if pending is None:
            # The first update of the cooperative (a bulk advance's only one): built at once,
            # its keys in the order the updates below would give them.
            version = seen_version + 1
            self.coop_updates[coop_id] = {
                "b_id": coop_id,
                "b_version": seen_version,
                **values,
                "version": version,
                "updated_at": self.now,
                "updated_by": self.actor.name,
            }
            return int(version)
        # The first update set the version, the time and the actor, the same for the whole
        # change: only the values and the version change (a bulk completion's every step).
        if values:
            pending.update(values)
        version = pending["version"] = pending["version"] + 1
        return int(version)

    def mark(self) -> Mark:
        """A point to return to if the cooperative being worked on is refused."""
        self._undone.clear()
        return (
            self.chain.mark(),
            len(self._queued),
            len(self._undo),
            len(self._owner_log),
            len(self.releases),
        )

    def rollback_to(self, mark: Mark) -> None:
        """Forget everything queued since ``mark``."""
        chain_mark, queued_count, undo_count, owner_count, release_count = mark
        self.chain.rollback_to(chain_mark)
        queued = self._queued
        while len(queued) > queued_count:
            queued.pop().pop()  # the newest row queued is the last of its table's
        for name, runs in self._runs.items():  # a refusal: rare, so every table's
            while runs and runs[-1][0] >= len(self.inserts[name]):
                runs.pop()
        while len(self._owner_log) > owner_count:
            pair, holder = self._owner_log.pop()
            self._owners[pair] = holder
        del self.releases[release_count:]
        self._undone.clear()
        while len(self._undo) > undo_count:
            coop_id, before = self._undo.pop()
            if before is None:
                del self.coop_updates[coop_id]
            else:
                self.coop_updates[coop_id] = before

    def spill(self, limit: int = SPILL) -> None:
        """Write what is queued once it holds ``limit`` events; the transaction stays open.

        Bounds a bulk batch's memory (issue #5). Call it only between cooperatives: a mark
        taken before a spill cannot be rolled back to after it.
        """
        if self.chain.pending >= limit:
            self.flush()

    def flush(self) -> None:
        """Write all queued rows and events; a lost compare-and-set fails the whole change."""
        from kopflow.store.rows import insert_runs

        # Driver-level executemany (issue #5): SQLAlchemy's per-row parameter handling cost
        # more than the inserts themselves; the stored values are the same.
        for name in _PARENTS:
            if self.inserts[name]:
                insert_runs(self.conn, name, self.inserts[name], self._runs[name])
        if self.coop_updates:
            self._update_coops()
        if self.releases:
            self._release()
        copy = self._copyable()
        for name in (*_CHILDREN, *_PARTNERSHIP):
            if self.inserts[name]:
                rows, runs = self.inserts[name], self._runs[name]
                insert_runs(self.conn, name, rows, runs, copy=name in copy)
        if self.inserts["unique_value"]:
            self._claim_values(copy="unique_value" in copy)
        self.chain.flush()
        for rows in self.inserts.values():
            rows.clear()
        for runs in self._runs.values():
            runs.clear()
        self._queued.clear()
        self.coop_updates.clear()
        self._undo.clear()
        self._undone.clear()
        self._owner_log.clear()
        self.releases.clear()

    def _copyable(self) -> frozenset[str]:
        """The append-only tables of bulk batches this change writes with ``COPY`` (issue #15):
        on PostgreSQL where the login may (:func:`~kopflow.store.rows.copyable`), asked once per
        transaction, and only for a batch big enough to gain from it."""
        if self.conn.dialect.name == "sqlite":
            return frozenset()
        if sum(len(self.inserts[name]) for name in COPY_TABLES) < COPY_AT_LEAST:
            return frozenset()  # a single change: one more query would cost more than it saves
        from kopflow.store.rows import copyable

        return self.memoized("copyable", lambda: copyable(self.conn, COPY_TABLES))

    def _claim_values(self, copy: bool) -> None:
        """Insert the identifiers claimed; the primary key refuses one another cooperative
        holds. ``owner`` has checked them under the chain lock, so this is the database's own
        guarantee, met only by a writer that bypassed the lock: the whole change is refused."""
        from kopflow.store.rows import insert_runs, is_integrity_error

        try:
            rows, runs = self.inserts["unique_value"], self._runs["unique_value"]
            insert_runs(self.conn, "unique_value", rows, runs, copy=copy)
        except Exception as err:
            # COPY's unique violation too (copy_many raises SQLAlchemy's)
            if not is_integrity_error(err):
                raise
            raise ConflictError(
                "an identifier being recorded was recorded for another cooperative meanwhile; "
                "look again and retry"
            ) from None

    def _release(self) -> None:
        from kopflow.store.rows import param_mark

        # Only the rows still held: a row once released keeps the event that released it.
        mark = param_mark(self.conn)
        sql = (
            f"UPDATE unique_value SET released_seq = {mark} "
            f"WHERE coop_id = {mark} AND step = {mark} AND released_seq IS NULL"
        )
        for coop_id, step, seq in self.releases:  # corrections and undos: one cooperative each
            self.conn.exec_driver_sql(sql, (seq, coop_id, step))

    def _update_coops(self) -> None:
        from kopflow.store.rows import update_many

        # Group by the columns changed, in the order they were set (the rules set them in a
        # fixed order, so sorting each cooperative's was work for nothing): executemany needs
        # one statement shape.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for params in self.coop_updates.values():
            groups.setdefault(tuple(params), []).append(params)
        for keys, rows in groups.items():
            values = [k for k in keys if not k.startswith("b_")]
            get = itemgetter(*values, "b_id", "b_version")  # two keys at least: a tuple
            changed = update_many(
                self.conn, "coop", values, ["id", "version"], [get(p) for p in rows]
            )
            if changed != len(rows):
                self._raise_conflict(rows)

    def _raise_conflict(self, rows: list[dict[str, Any]]) -> None:
        from sqlalchemy import select

        from kopflow.store import tables

        table = tables.coop
        for params in rows:
            current = self.conn.execute(
                select(table.c.version, table.c.updated_by, table.c.updated_at).where(
                    table.c.id == params["b_id"]
                )
            ).first()
            if current is not None and current[0] != params["b_version"]:
                raise conflict(params["b_id"], current[1], current[2])
        raise ConflictError("a cooperative was changed by someone else; look again and retry")


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _same_content(recorded: str, current: str) -> bool:
    """Whether two texts of a definition say the same, comments and layout aside.

    The digest covers the file's bytes, so a comment edited in a definition in use (a source
    cited anew, issue #11) would otherwise stop every change until a new version is made.
    Only reached when the digests differ.
    """
    import yaml

    try:
        return bool(yaml.safe_load(recorded) == yaml.safe_load(current))
    except yaml.YAMLError:
        return False


def conflict(coop_id: str, actor: str, at: datetime) -> ConflictError:
    """The error for a cooperative someone else changed since it was read."""
    return ConflictError(
        "{coop} was changed by {actor} at {at}; look again and retry",
        coop=coop_id,
        actor=actor,
        at=at.strftime("%Y-%m-%d %H:%M:%S UTC"),
    )


def find_step(context: Context, step: str) -> tuple[StepSpec, str | None, str | None]:
    """(spec, partner code or None, stage id or None) of a step name like ``nib`` (a stage's)
    or ``bri.account`` (a partner's).

    Raises:
        NotFoundError: naming the partner's steps, or pointing at ``kopflow workflow show``.
    """
    from kopflow.errors import NotFoundError

    if "." in step:
        found = context.plugins.partner_step(step)
        if found is None:
            code = step.split(".", 1)[0]
            partner = context.plugins.partner(code)  # names the known partners if unknown
            raise NotFoundError(
                "partner {partner} has no step {step}; its steps: {known}",
                partner=code,
                step=step,
                known=", ".join(f"{code}.{s.id}" for s in partner.steps),
            )
        return found[1], found[0].code, None
    spec = context.workflow.step(step)
    if spec is None:
        raise NotFoundError(
            "unknown step {step}; see 'kopflow workflow show' for the steps of each stage",
            step=step,
        )
    stage = context.workflow.stage_of_step(step)
    return spec, None, stage.id if stage else None


def load_coops(
    conn: Connection,
    coop_ids: Sequence[str],
    *,
    views: bool = True,
    steps: Collection[str] | None = None,
    rest_as_of: int | None = None,
    reading: Callable[[], AbstractContextManager[Connection]] | None = None,
    columns: Sequence[str] | None = None,
    partners: bool = True,
) -> dict[str, CoopWork]:
    """Rows, current step states, partners and villages of some cooperatives, in four queries.

    ``views=False`` is for a bulk change that builds no plugin view from them: what only views
    show is left out, the steps' evidence (most of what a history holds) and the villages.
    ``steps`` names the only steps whose states are read (none: no query), for a bulk change
    that reads only those. With ``rest_as_of`` (the chain's head when the change began) the
    other steps' states are read when first asked for, as they stood then, by a plugin's view,
    which so sees what a full load would have shown it; ``reading`` opens a connection for that
    if the change's own has closed by then. ``columns`` names the only columns of the rows
    read (:data:`BULK_COLUMNS` for bulk changes); None reads whole rows. ``partners=False``
    leaves the partners out (each cooperative's set empty), for a change no rule of which reads
    them (``views=False`` too).
    """
    from kopflow.store.rows import id_range, rows_in, table_rows_in

    ids = list(coop_ids)
    within = id_range(conn, ids)  # a batch of consecutive cooperatives: read as a range
    works: dict[str, CoopWork] = {}
    for row in table_rows_in(conn, "coop", "id", ids, columns, within):
        works[row["id"]] = CoopWork(row, {}, set())
    # The rest are plain columns: read at the driver (issue #5: a bulk batch reads every step
    # version of 2000 cooperatives, and SQLAlchemy rows cost more than the reading).
    columns = "coop_id, step, version, status, " + ("evidence" if views else "''")
    history: list[Any] = []
    if steps is None or steps:
        only = None if steps is None else ("step", list(steps))
        history = rows_in(
            conn, f"SELECT {columns} FROM step_record", "coop_id", ids, also=only, within=within
        )
    for coop_id, states in newest_states(history).items():
        works[coop_id].steps = states
    if steps is not None and rest_as_of is not None and reading is not None:
        loaded = frozenset(steps)
        for coop_id, work in works.items():
            work.rest = History(reading, conn, coop_id, rest_as_of, loaded)
    if partners:
        enrolled = "SELECT coop_id, partner FROM enrollment"
        for coop_id, partner in rows_in(conn, enrolled, "coop_id", ids, within=within):
            works[coop_id].partners.add(partner)
    if views:
        villages = "SELECT coop_id, region_id FROM coop_village"
        order = "ORDER BY coop_id, region_id"
        for coop_id, region_id in rows_in(
            conn, villages, "coop_id", ids, tail=order, within=within
        ):
            works[coop_id].villages.append(region_id)
    return works


def decimal_fields(workflow: Workflow, plugins: PluginHost) -> dict[str, frozenset[str]]:
    """The decimal fields of every step, by step key, for views to read them as ``Decimal``."""
    steps = [(st.id, st) for stage in workflow.stages for st in stage.steps]
    steps += [(p.key(st.id), st) for p in plugins.partners.values() for st in p.steps]
    found = {key: frozenset(f.name for f in st.fields if f.type == "decimal") for key, st in steps}
    return {key: names for key, names in found.items() if names}


def build_view(work: CoopWork, decimals: Mapping[str, frozenset[str]] | None = None) -> CoopView:
    """The read-only view of a cooperative that plugin hooks receive (``decimals``: the
    decimal fields per step key, read back as ``Decimal``)."""
    return _view_from(_coop_view_type(), view_fields(work), work, decimals)


def view_fields(work: CoopWork) -> dict[str, Any]:
    """The fields of ``work``'s view but its evidence, as ``CoopView`` holds them."""
    row = work.row
    return {
        "id": work.id,
        "name": row["name"],
        "kabupaten": row["kabupaten"],
        "kecamatan": row["kecamatan"],
        "villages": tuple(work.villages),
        "stage": row["stage"],
        "workflow": row["workflow"],
        "partners": tuple(sorted(work.partners)),
    }


def _view_from(
    cls: type[CoopView],
    fields: dict[str, Any],
    work: CoopWork,
    decimals: Mapping[str, frozenset[str]] | None,
) -> CoopView:
    return cls._build(fields, LazyEvidence(work.steps, work.rest, decimals))


@cache
def _coop_view_type() -> type[CoopView]:
    # Imported on first use (the plugin API pulls in pluggy), then kept: an import statement
    # in ``build_view`` cost a sixth of building a view, and a bulk batch builds one per step.
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


@contextmanager
def _reading(url: str) -> Iterator[Connection]:
    """A read connection, after checking the schema."""
    with db.read_connection(url) as conn:
        db.require_schema(conn)
        yield conn
